import { ApproximatePolicy, ExactPolicy, type Frame, timingFrame } from '@syncap/core';
import { SeededRandom, simulateRig } from '@syncap/sim';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildRosPeer, type RosPeerGroup, rosPeerUnavailable, runRosPeer } from '../../bench/ros-peer.js';

/**
 * syncap's approximate and exact against ROS 1 message_filters' own C++ (Debian's
 * libmessage-filters-dev, driven by bench/ros-message-filters-peer.cpp) on fixed traces:
 * the same groups, published on the arrival of the same frame.
 */
const reason = rosPeerUnavailable() ?? null;
if (reason) {
  if (process.env.CI === 'true') throw new Error(`the ROS message_filters comparison cannot run under CI: ${reason}`);
  console.warn(`ROS message_filters comparison skipped: ${reason}`);
}

interface Emitted {
  readonly policy: { push(f: Frame): void };
  readonly groups: RosPeerGroup[];
}

/** Runs frames through a syncap policy, noting for each group the index of the frame that published it. */
function runSyncap(
  make: (out: { group: (g: { frames: ReadonlyMap<string, Frame> }) => void; discard: () => void }) => Emitted['policy'],
  frames: readonly Frame[],
) {
  const index = new Map(frames.map((f, i) => [f, i]));
  const groups: RosPeerGroup[] = [];
  let at = 0;
  const policy = make({ group: (g) => groups.push({ at, members: [...g.frames.values()].map((f) => index.get(f)!) }), discard: () => {} });
  for (; at < frames.length; at++) policy.push(frames[at]!);
  return groups;
}

function encode(frames: readonly Frame[], cameraIds: readonly string[]) {
  const position = new Map(cameraIds.map((id, i) => [id, i]));
  return { cameraOf: Uint8Array.from(frames, (f) => position.get(f.cameraId)!), timeNs: BigInt64Array.from(frames, (f) => f.rigTimeNs) };
}

interface ApproximateCase {
  readonly seed: number;
  readonly cameras: number;
  readonly fps: number;
  readonly jitterNs: number;
  readonly dropRate: number;
  readonly queueSize: number;
  readonly agePenalty?: number;
  readonly maxIntervalNs?: number;
  /** Inter-frame lower bound for every camera, ns. */
  readonly boundNs?: number;
}

const APPROXIMATE_CASES: ApproximateCase[] = [
  { seed: 1, cameras: 2, fps: 30, jitterNs: 2_000_000, dropRate: 0.05, queueSize: 10 },
  { seed: 2, cameras: 3, fps: 30, jitterNs: 5_000_000, dropRate: 0.1, queueSize: 2 },
  { seed: 3, cameras: 4, fps: 60, jitterNs: 50_000, dropRate: 0.01, queueSize: 10 },
  { seed: 4, cameras: 3, fps: 30, jitterNs: 300_000, dropRate: 0.1, queueSize: 1 },
  { seed: 5, cameras: 5, fps: 15, jitterNs: 3_000_000, dropRate: 0.05, queueSize: 3, agePenalty: 0 },
  { seed: 6, cameras: 6, fps: 30, jitterNs: 4_000_000, dropRate: 0.1, queueSize: 5, agePenalty: 0.5 },
  { seed: 7, cameras: 7, fps: 60, jitterNs: 1_000_000, dropRate: 0.05, queueSize: 4, maxIntervalNs: 2_000_000 },
  { seed: 8, cameras: 8, fps: 30, jitterNs: 2_000_000, dropRate: 0.02, queueSize: 10, boundNs: 25_000_000 },
  { seed: 9, cameras: 9, fps: 30, jitterNs: 3_000_000, dropRate: 0.1, queueSize: 3, boundNs: 20_000_000, agePenalty: 0.25 },
  { seed: 10, cameras: 9, fps: 60, jitterNs: 100_000, dropRate: 0.01, queueSize: 10 },
  { seed: 11, cameras: 3, fps: 30, jitterNs: 6_000_000, dropRate: 0.15, queueSize: 2, boundNs: 30_000_000, maxIntervalNs: 10_000_000 },
  { seed: 12, cameras: 2, fps: 120, jitterNs: 1_000_000, dropRate: 0.3, queueSize: 1, agePenalty: 2 },
];

/** Hardware-triggered cameras: identical stamps, drops, shuffled arrival, some frames arriving a few instants late. */
function triggered(seed: number, cameras: number, instants: number): Frame[] {
  const random = new SeededRandom(seed);
  const frames: Array<{ frame: Frame; arrival: number }> = [];
  for (let k = 0; k < instants; k++) {
    for (let c = 0; c < cameras; c++) {
      if (random.chance(0.1)) continue;
      frames.push({ frame: timingFrame(`cam${c}`, k, 1_000_000_000n + BigInt(k) * 33_333_333n), arrival: k + random.uniform(0, random.chance(0.1) ? 4 : 0.9) });
    }
  }
  // Arrival order, but each camera's frames stay in order (as a driver delivers them).
  const byCamera = new Map<string, number>();
  return frames
    .sort((a, b) => a.arrival - b.arrival)
    .map((x) => x.frame)
    .filter((f) => {
      const last = byCamera.get(f.cameraId) ?? -1;
      if (f.seq <= last) return false;
      byCamera.set(f.cameraId, f.seq);
      return true;
    });
}

describe.runIf(reason === null)("against ROS 1 message_filters' C++", () => {
  beforeAll(() => {
    buildRosPeer();
  }, 600_000);

  it.each(APPROXIMATE_CASES)('ApproximateTime: identical groups at identical moments (%o)', (c) => {
    const run = simulateRig({
      seed: c.seed,
      cameras: c.cameras,
      fps: c.fps,
      durationNs: 3e9,
      camera: { jitterNs: c.jitterNs, dropRate: c.dropRate, stallsPerSec: 0.3 },
    });
    const frames = run.frames;
    const mine = runSyncap(
      (out) =>
        new ApproximatePolicy(
          run.cameraIds.map((id) => ({ id })),
          out,
          {
            queueSize: c.queueSize,
            ...(c.agePenalty !== undefined ? { agePenalty: c.agePenalty } : {}),
            ...(c.maxIntervalNs !== undefined ? { maxIntervalNs: c.maxIntervalNs } : {}),
            ...(c.boundNs !== undefined ? { minIntervalNs: Object.fromEntries(run.cameraIds.map((id) => [id, c.boundNs!])) } : {}),
          },
        ),
      frames,
    );
    const ros = runRosPeer(
      {
        policy: 'approximate',
        cameras: c.cameras,
        queueSize: c.queueSize,
        ...(c.agePenalty !== undefined ? { agePenalty: c.agePenalty } : {}),
        ...(c.maxIntervalNs !== undefined ? { maxIntervalNs: c.maxIntervalNs } : {}),
        ...(c.boundNs !== undefined ? { lowerBoundNs: run.cameraIds.map(() => c.boundNs!) } : {}),
        ...encode(frames, run.cameraIds),
      },
      { groups: true },
    );
    expect(ros.emitted!.length).toBeGreaterThan(10);
    expect(mine).toEqual(ros.emitted);
  });

  it.each([
    [1, 2, 10],
    [2, 4, 1],
    [3, 4, 3],
    [4, 9, 10],
    [5, 9, 2],
  ])('ExactTime: identical groups at identical moments (seed %i, %i cameras, queue %i)', (seed, cameras, queueSize) => {
    const frames = triggered(seed, cameras, 400);
    const ids = Array.from({ length: cameras }, (_, i) => `cam${i}`);
    const mine = runSyncap(
      (out) =>
        new ExactPolicy(
          ids.map((id) => ({ id })),
          out,
          { queueSize },
        ),
      frames,
    );
    const ros = runRosPeer({ policy: 'exact', cameras, queueSize, ...encode(frames, ids) }, { groups: true });
    expect(ros.emitted!.length).toBeGreaterThan(50);
    expect(mine).toEqual(ros.emitted);
  });
});
