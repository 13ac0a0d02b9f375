import { fc, test } from '@fast-check/vitest';
import { type DiscardReason, type Frame, timingFrame } from '@syncap/core';
import { simulateRig } from '@syncap/sim';
import { describe, expect, it } from 'vitest';
import { checkInvariants, runPolicy } from '../support/run-policy.js';

/**
 * A plain model of ROS 2 ApproximateEpsilonTime (approximate_epsilon_time.hpp): per camera a
 * vector of frames; when all have one, publish the heads if all are within epsilon of the
 * oldest, else erase the heads that are; a camera's vector is trimmed from the front past the
 * queue size only while some camera has none.
 */
function rosEpsilon(cameras: number, epsilon: bigint, queueSize: number, frames: ReadonlyArray<{ camera: number; t: bigint }>): number[][] {
  const vectors: Array<Array<{ t: bigint; id: number }>> = Array.from({ length: cameras }, () => []);
  const out: number[][] = [];
  frames.forEach(({ camera, t }, id) => {
    vectors[camera]!.push({ t, id });
    if (vectors.every((v) => v.length > 0)) {
      while (vectors.every((v) => v.length > 0)) {
        const oldest = vectors.reduce((min, v) => (v[0]!.t < min ? v[0]!.t : min), vectors[0]![0]!.t);
        if (vectors.every((v) => v[0]!.t <= oldest + epsilon)) {
          out.push(vectors.map((v) => v.shift()!.id));
        } else {
          for (const v of vectors) if (v[0]!.t <= oldest + epsilon) v.shift();
        }
      }
    } else if (vectors[camera]!.length > queueSize) {
      vectors[camera]!.shift();
    }
  });
  return out;
}

const arrivalsArb = fc.integer({ min: 2, max: 5 }).chain((cameras) =>
  fc.record({
    cameras: fc.constant(cameras),
    arrivals: fc.array(fc.tuple(fc.integer({ min: 0, max: cameras - 1 }), fc.integer({ min: 1, max: 50 })), { minLength: 1, maxLength: 150 }),
    epsilonNs: fc.integer({ min: 0, max: 60 }),
    queueSize: fc.integer({ min: 1, max: 6 }),
  }),
);

describe('epsilon (ROS 2 ApproximateEpsilonTime)', () => {
  test.prop([arrivalsArb], { numRuns: 1500 })('the same groups as a model of ApproximateEpsilonTime, and every frame accounted for with a reason', (c) => {
    const last = new Array<bigint>(c.cameras).fill(5_000n);
    const seq = new Array<number>(c.cameras).fill(0);
    const frames: Frame[] = c.arrivals.map(([cam, gap]) => {
      last[cam] = last[cam]! + BigInt(gap);
      return timingFrame(`c${cam}`, seq[cam]!++, last[cam]!);
    });
    const cams = Array.from({ length: c.cameras }, (_, i) => `c${i}`);
    const run = runPolicy({ name: 'epsilon', epsilonNs: c.epsilonNs, queueSize: c.queueSize }, cams, frames);
    const index = new Map(frames.map((f, i) => [f, i]));
    const expected = rosEpsilon(
      c.cameras,
      BigInt(c.epsilonNs),
      c.queueSize,
      frames.map((f) => ({ camera: Number(f.cameraId.slice(1)), t: f.rigTimeNs })),
    );
    expect(run.groups.map((g) => [...g.frames.values()].map((f) => index.get(f)!))).toEqual(expected);
    expect(checkInvariants(run, frames)).toBeNull();
    for (const reason of run.discarded.values()) expect(['stale', 'overflow']).toContain(reason);
    // At most queueSize + 1 frames per camera are ever held (ROS trims one per frame past the size).
    expect(run.policy.pendingFrames).toBeLessThanOrEqual(c.cameras * (c.queueSize + 1));
  });

  test.prop(
    [
      fc.record({
        seed: fc.integer(),
        cameras: fc.integer({ min: 2, max: 12 }),
        fps: fc.constantFrom(15, 30, 60),
        jitterNs: fc.integer({ min: 0, max: 3_000_000 }),
        dropRate: fc.double({ min: 0, max: 0.2, noNaN: true }),
        epsilonNs: fc.integer({ min: 0, max: 10_000_000 }),
        queueSize: fc.integer({ min: 1, max: 20 }),
      }),
      fc.boolean(),
    ],
    { numRuns: 60 },
  )('on simulated rigs: no frame twice, spans within epsilon, complete and ordered groups, drops counted with a reason', (rig, flush) => {
    const run = simulateRig({
      seed: rig.seed,
      cameras: rig.cameras,
      fps: rig.fps,
      durationNs: 1e9,
      camera: { jitterNs: rig.jitterNs, dropRate: rig.dropRate },
    });
    const result = runPolicy({ name: 'epsilon', epsilonNs: rig.epsilonNs, queueSize: rig.queueSize }, run.cameraIds, run.frames, { flush });
    expect(checkInvariants(result, run.frames)).toBeNull();
    for (const g of result.groups) {
      expect(g.complete).toBe(true);
      expect(g.spanNs).toBeLessThanOrEqual(rig.epsilonNs);
    }
    // Jitter can stamp a frame before its camera's previous one: such a frame, and only such a
    // frame, may be discarded as out of order; every other discard is stale or overflow.
    const lastByCamera = new Map<string, bigint>();
    const backwards = new Set<Frame>();
    for (const f of run.frames) {
      const last = lastByCamera.get(f.cameraId);
      if (last !== undefined && f.rigTimeNs <= last) backwards.add(f);
      else lastByCamera.set(f.cameraId, f.rigTimeNs);
    }
    const counts: Partial<Record<DiscardReason, number>> = {};
    for (const [f, r] of result.discarded) {
      counts[r] = (counts[r] ?? 0) + 1;
      if (r === 'out-of-order') expect(backwards.has(f), `${f.cameraId}#${f.seq} discarded as out of order`).toBe(true);
    }
    expect(Object.keys(counts).every((r) => r === 'stale' || r === 'overflow' || r === 'out-of-order')).toBe(true);
    if (flush) expect(result.policy.pendingFrames).toBe(0);
  });

  it('publishes at once when every camera has a frame within epsilon, and drops the heads that cannot pair', () => {
    const frames = [timingFrame('a', 0, 100n), timingFrame('b', 0, 180n), timingFrame('a', 1, 200n), timingFrame('b', 1, 205n)];
    const run = runPolicy({ name: 'epsilon', epsilonNs: 10, queueSize: 5 }, ['a', 'b'], frames);
    // a0 is 80 ns before b0: a0 goes (stale). a1 is 20 ns after b0: b0 goes. a1 and b1 pair.
    expect(run.groups.map((g) => [...g.frames.values()].map((f) => `${f.cameraId}${f.seq}`).join())).toEqual(['a1,b1']);
    expect([...run.discarded].map(([f, r]) => `${f.cameraId}${f.seq}:${r}`)).toEqual(['a0:stale', 'b0:stale']);
  });

  it('needs epsilonNs, and says so', () => {
    expect(() => runPolicy({ name: 'epsilon' } as never, ['a', 'b'], [])).toThrow(/epsilonNs is required/);
  });
});
