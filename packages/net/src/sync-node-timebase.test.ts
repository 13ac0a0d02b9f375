import { ClockMapper, type ManagerEvent } from '@syncap/core';
import { SeededRandom, SimCamera, SimScheduler } from '@syncap/sim';
import { describe, expect, it } from 'vitest';
import { SyncNode } from './sync-node.js';

// The rig clock of a multi-host node reads PTP/realtime (here 1.7e18 ns, like 2023), while its
// cameras take start instants in CLOCK_MONOTONIC (here 5 s after boot): a restart the hybrid
// asks for must reach the cameras as a monotonic instant, or they never start again.
const RIG_MINUS_TRUE = 1_700_000_000_000_000_000n;
const MONO_MINUS_TRUE = 5_000_000_000n;

describe('SyncNode: one clock, two timebases', () => {
  it('a hybrid relock inside a SyncNode whose rig clock is far from monotonic restarts the cameras at the intended instant', async () => {
    const scheduler = new SimScheduler(1_000_000_000n);
    const random = new SeededRandom(3);
    const monotonic = { hostFromTrue: (t: bigint) => t + MONO_MINUS_TRUE, trueFromHost: (m: bigint) => m - MONO_MINUS_TRUE };
    // Two cameras 10 ms apart: the barrier's spans exceed the hybrid's 5 ms threshold and it asks for a relock.
    const cameras = [0, 10_000_000].map(
      (phaseNs, i) => new SimCamera(scheduler, random.fork(`c${i}`), { id: `c${i}`, fps: 30, phaseNs, startLatencyNs: 0, exposureNs: 0, clock: monotonic }),
    );
    const firstExposures: Array<{ camera: string; truthNs: bigint }> = [];
    for (const c of cameras) c.onTruth((t) => t.index === 0 && firstExposures.push({ camera: t.cameraId, truthNs: t.truthNs }));
    const node = new SyncNode({
      nodeId: 'n',
      cameras: cameras.map((device) => ({ device, fps: 30 })),
      policy: { name: 'hybrid', thresholdNs: 5_000_000 },
      mapper: new ClockMapper(),
      sampleClock: () => ({
        monotonicNs: monotonic.hostFromTrue(scheduler.nowNs),
        offsetNs: RIG_MINUS_TRUE - MONO_MINUS_TRUE,
        uncertaintyNs: 100,
      }),
      monotonic: { nowNs: () => monotonic.hostFromTrue(scheduler.nowNs) },
      timers: scheduler.timers,
      phaseLock: false,
    });
    const relocks: Array<Extract<ManagerEvent, { type: 'relocked' }>> = [];
    node.manager.onEvent((e) => e.type === 'relocked' && relocks.push(e));
    await node.start();
    await scheduler.runUntilAsync(scheduler.nowNs + 3_000_000_000n);

    expect(relocks.length).toBe(1);
    const atTrueNs = relocks[0]!.atNs - RIG_MINUS_TRUE;
    // Each camera's first exposure after the restart is at the rig instant asked for (plus its own phase).
    const after = firstExposures.filter((f) => f.truthNs >= atTrueNs);
    expect(after).toEqual([
      { camera: 'c0', truthNs: atTrueNs },
      { camera: 'c1', truthNs: atTrueNs + 10_000_000n },
    ]);
    // And they stream again: a second of frames from each camera after the relock.
    const framesAt = node.manager.stats().framesByCamera;
    await scheduler.runUntilAsync(scheduler.nowNs + 1_000_000_000n);
    const framesAfter = node.manager.stats().framesByCamera;
    for (const c of ['c0', 'c1']) expect(framesAfter[c]! - framesAt[c]!).toBeGreaterThanOrEqual(29);
    await node.stop();
  });
});
