import type { Frame } from '@syncap/core';
import { SeededRandom } from './seeded-random.js';
import { SimCamera, type SimCameraOptions, type SimFrameTruth } from './sim-camera.js';
import { SimScheduler } from './sim-scheduler.js';

export interface SimRigOptions {
  readonly seed: number;
  readonly cameras: number;
  readonly fps: number;
  readonly durationNs: number;
  /** Start instant of the run (virtual). Default 1 s. */
  readonly startNs?: bigint;
  /** Applied to every camera; `perCamera` overrides by index. */
  readonly camera?: Partial<Omit<SimCameraOptions, 'id' | 'fps'>>;
  readonly perCamera?: (index: number, random: SeededRandom) => Partial<Omit<SimCameraOptions, 'id'>>;
}

export interface SimRigRun {
  readonly cameraIds: readonly string[];
  readonly fps: number;
  /** Delivered frames in arrival order. */
  readonly frames: readonly Frame[];
  /** Every exposure (delivered or lost) with its ground truth. */
  readonly truths: readonly SimFrameTruth[];
  /** Ground-truth exposure index of each delivered frame. */
  readonly indexOf: ReadonlyMap<Frame, number>;
}

/**
 * Runs N simulated cameras started together and returns what they delivered, in
 * arrival order, with ground truth. A pure function of its options.
 */
export function simulateRig(options: SimRigOptions): SimRigRun {
  const scheduler = new SimScheduler(0n);
  const random = new SeededRandom(options.seed);
  const startNs = options.startNs ?? 1_000_000_000n;
  const cameraIds: string[] = [];
  const frames: Frame[] = [];
  const truths: SimFrameTruth[] = [];
  const indexOf = new Map<Frame, number>();
  const cameras: SimCamera[] = [];
  for (let i = 0; i < options.cameras; i++) {
    const id = `cam${i}`;
    cameraIds.push(id);
    const r = random.fork(id);
    const cam = new SimCamera(scheduler, r, { id, fps: options.fps, ...options.camera, ...options.perCamera?.(i, r.fork('config')) });
    let lastTruthIndex = -1;
    cam.onTruth((t) => {
      truths.push(t);
      lastTruthIndex = t.index;
    });
    cam.onFrame((f) => {
      frames.push(f);
      indexOf.set(f, lastTruthIndex);
      f.data?.release();
    });
    cameras.push(cam);
  }
  // SimCamera's open() and start() complete synchronously (no awaits before their effects),
  // so the cameras are streaming before virtual time advances.
  for (const cam of cameras) {
    void cam.open();
    void cam.start({ atNs: startNs });
  }
  scheduler.runUntil(startNs + BigInt(Math.round(options.durationNs)));
  return { cameraIds, fps: options.fps, frames, truths, indexOf };
}
