import { fc, test } from '@fast-check/vitest';
import { type FrameGroup, type ManagerEvent, SyncCaptureManager } from '@syncap/core';
import { SeededRandom, SimCamera, SimScheduler } from '@syncap/sim';
import { describe, expect, it } from 'vitest';

function rig(seed: number, cameras: number, options: { fps?: number; ppm?: (i: number) => number; buffers?: number; dropRate?: number } = {}) {
  const scheduler = new SimScheduler(0n);
  const random = new SeededRandom(seed);
  const cams = Array.from(
    { length: cameras },
    (_, i) =>
      new SimCamera(scheduler, random.fork(`cam${i}`), {
        id: `cam${i}`,
        fps: options.fps ?? 30,
        ppm: options.ppm?.(i) ?? 0,
        jitterNs: 50_000,
        buffers: options.buffers ?? 32,
        dropRate: options.dropRate ?? 0,
      }),
  );
  return { scheduler, cams };
}

test.prop([fc.integer(), fc.integer({ min: 2, max: 16 }), fc.integer({ min: 1, max: 24 }), fc.constantFrom('barrier', 'window', 'approximate', 'hybrid')], {
  numRuns: 25,
})('bounded memory: with a consumer that stops reading, every queue stays within its bound', async (seed, cameras, capacity, policy) => {
  // 32 buffers per camera: room for what a policy holds (ApproximateTime: 10 per camera) plus the queue.
  const { scheduler, cams } = rig(seed, cameras, { buffers: 32, dropRate: 0.05 });
  const manager = new SyncCaptureManager({ policy: { name: policy } as never, clock: scheduler.clock, timers: scheduler.timers, queueCapacity: capacity });
  for (const c of cams) manager.addCamera(c, { fps: 30 });
  await manager.start();
  let maxQueued = 0;
  let maxPending = 0;
  let maxBuffers = 0;
  for (let t = 0; t < 50; t++) {
    await scheduler.runUntilAsync(scheduler.nowNs + 100_000_000n);
    maxQueued = Math.max(maxQueued, manager.queuedGroups);
    maxPending = Math.max(maxPending, manager.activePolicy!.pendingFrames);
    maxBuffers = Math.max(maxBuffers, ...cams.map((c) => c.buffersInUse));
  }
  const stats = manager.stats();
  expect(manager.queueCapacity).toBe(Math.min(capacity, 16));
  expect(maxQueued).toBeLessThanOrEqual(manager.queueCapacity);
  // The oldest groups go, counted; the cameras never starve for buffers.
  expect(stats.droppedGroups).toBeGreaterThan(0);
  for (const c of cams) expect(c.counts['no-buffer']).toBe(0);
  // Policies bound pending frames by their queue options (64 per camera at most here).
  expect(maxPending).toBeLessThanOrEqual(64 * cameras);
  expect(maxBuffers).toBeLessThanOrEqual(32);
  await manager.stop();
});

describe('SyncCaptureManager on the sim scheduler', () => {
  it('delivers groups through nextGroup and the async iterator, then ends after stop()', async () => {
    const { scheduler, cams } = rig(7, 4);
    const manager = new SyncCaptureManager({ policy: { name: 'barrier' }, clock: scheduler.clock, timers: scheduler.timers });
    for (const c of cams) manager.addCamera(c, { fps: 30 });
    const { atNs } = await manager.start();
    expect(atNs).toBe(50_000_000n);
    await scheduler.runUntilAsync(1_000_000_000n);
    const first = await manager.nextGroup(100);
    expect(first?.complete).toBe(true);
    expect(first?.size).toBe(4);
    expect(first!.spanNs).toBeLessThan(1_000_000);
    // A waiter that nothing serves times out on virtual time.
    while (manager.queuedGroups > 0) (await manager.nextGroup(0))!.release();
    const waiting = manager.nextGroup(1);
    await scheduler.runUntilAsync(scheduler.nowNs + 2_000_000n);
    const maybe = await waiting;
    expect(maybe === null || maybe.size === 4).toBe(true);
    await manager.stop();
    const rest: FrameGroup[] = [];
    for await (const g of manager) rest.push(g);
    expect(manager.stats().groups).toBeGreaterThan(25);
    expect(await manager.nextGroup(10)).toBeNull();
  });

  it('keeps grouping the other cameras when one is lost, and reports it', async () => {
    const { scheduler, cams } = rig(3, 3);
    const manager = new SyncCaptureManager({ policy: { name: 'window', toleranceNs: 1_000_000 }, clock: scheduler.clock, timers: scheduler.timers });
    const events: ManagerEvent[] = [];
    manager.onEvent((e) => events.push(e));
    for (const c of cams) manager.addCamera(c);
    await manager.start();
    await scheduler.runUntilAsync(500_000_000n);
    cams[1]!.disconnect();
    const before = manager.stats().groups;
    await scheduler.runUntilAsync(1_500_000_000n);
    const stats = manager.stats();
    expect(stats.lostCameras).toEqual(['cam1']);
    expect(events.some((e) => e.type === 'camera' && e.event.type === 'lost' && e.event.cameraId === 'cam1')).toBe(true);
    // ~30 more groups in that second, each missing cam1.
    expect(stats.groups - before).toBeGreaterThan(25);
    expect(stats.incompleteGroups).toBeGreaterThan(25);
    await manager.stop();
  });

  it('a camera that cannot open fails start() with its name, and nothing is left running', async () => {
    const scheduler = new SimScheduler(0n);
    const r = new SeededRandom(1);
    const ok = new SimCamera(scheduler, r.fork('a'), { id: 'a', fps: 30 });
    const bad = new SimCamera(scheduler, r.fork('b'), { id: 'b', fps: 30, failOpen: 'no such device /dev/video9' });
    const manager = new SyncCaptureManager({ policy: { name: 'window' }, clock: scheduler.clock, timers: scheduler.timers });
    manager.addCamera(ok);
    manager.addCamera(bad);
    await expect(manager.start()).rejects.toThrow(/b: .*no such device \/dev\/video9/);
    await scheduler.runUntilAsync(1_000_000_000n);
    expect(ok.counts.exposed).toBe(0);
  });

  it('hybrid: drifting cameras make it fall back, the manager re-locks them, and it switches back', async () => {
    // cam0 runs 2000 ppm fast: 66 µs per frame at 30 fps, past the 5 ms threshold within ~2.5 s.
    const { scheduler, cams } = rig(11, 3, { ppm: (i) => (i === 0 ? 2000 : 0) });
    const manager = new SyncCaptureManager({ policy: { name: 'hybrid', thresholdNs: 5_000_000 }, clock: scheduler.clock, timers: scheduler.timers });
    const events: ManagerEvent[] = [];
    manager.onEvent((e) => events.push(e));
    for (const c of cams) manager.addCamera(c, { fps: 30 });
    await manager.start();
    await scheduler.runUntilAsync(6_000_000_000n);
    const kinds = events
      .filter((e) => e.type === 'policy-switch' || e.type === 'relocked')
      .map((e) => (e.type === 'policy-switch' ? `${e.event.from}->${e.event.to}` : e.type));
    expect(kinds.slice(0, 3)).toEqual(['barrier->fallback', 'relocked', 'fallback->barrier']);
    expect(manager.stats().policySwitches).toBeGreaterThanOrEqual(2);
    await manager.stop();
  });
});
