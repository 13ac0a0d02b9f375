import { fc, test } from '@fast-check/vitest';
import { ApproximatePolicy, type Frame, timingFrame } from '@syncap/core';
import { describe, expect, it } from 'vitest';
import { RosApproximateReference, rosDurationTimes } from '../support/ros-approximate-reference.js';

/**
 * The default ApproximatePolicy is ROS ApproximateTime: the same groups, published on the
 * arrival of the same frame, as an independent model of approximate_time.h — including
 * overflowing queues, age penalties, max interval and inter-message lower bounds.
 * (test/properties/ros-message-filters.test.ts checks the same against ROS's own C++.)
 */

interface Case {
  readonly cameras: number;
  /** Arrival order: (camera, gap since that camera's previous frame). */
  readonly arrivals: ReadonlyArray<readonly [number, number]>;
  readonly queueSize: number;
  readonly agePenalty: number;
  readonly maxIntervalNs?: number;
  readonly lowerBoundNs?: readonly number[];
}

const caseArb: fc.Arbitrary<Case> = fc.integer({ min: 2, max: 5 }).chain((cameras) =>
  fc.record({
    cameras: fc.constant(cameras),
    // Small gaps make equal times across cameras (ties) and sub-ns rounding of the age penalty common.
    arrivals: fc.array(fc.tuple(fc.integer({ min: 0, max: cameras - 1 }), fc.integer({ min: 1, max: 40 })), { minLength: 1, maxLength: 120 }),
    queueSize: fc.integer({ min: 1, max: 8 }),
    agePenalty: fc.oneof(fc.constantFrom(0, 0.1, 0.25, 1), fc.double({ min: 0, max: 3, noNaN: true })),
    maxIntervalNs: fc.option(fc.integer({ min: 0, max: 60 }), { nil: undefined }),
    lowerBoundNs: fc.option(fc.array(fc.integer({ min: 0, max: 30 }), { minLength: cameras, maxLength: cameras }), { nil: undefined }),
  }),
);

function framesOf(c: Case): Frame[] {
  const last = new Array<bigint>(c.cameras).fill(1_000_000_000_000n);
  const seq = new Array<number>(c.cameras).fill(0);
  return c.arrivals.map(([cam, gap]) => {
    last[cam] = last[cam]! + BigInt(gap);
    return timingFrame(`c${cam}`, seq[cam]!++, last[cam]!);
  });
}

function runSyncap(c: Case, frames: readonly Frame[]) {
  const ids = Array.from({ length: c.cameras }, (_, i) => `c${i}`);
  const index = new Map(frames.map((f, i) => [f, i]));
  const emitted: { at: number; members: number[] }[] = [];
  let at = 0;
  const policy = new ApproximatePolicy(
    ids.map((id) => ({ id })),
    { group: (g) => emitted.push({ at, members: [...g.frames.values()].map((f) => index.get(f)!) }), discard: () => {} },
    {
      queueSize: c.queueSize,
      agePenalty: c.agePenalty,
      ...(c.maxIntervalNs !== undefined ? { maxIntervalNs: c.maxIntervalNs } : {}),
      ...(c.lowerBoundNs ? { minIntervalNs: Object.fromEntries(c.lowerBoundNs.map((ns, i) => [`c${i}`, ns])) } : {}),
    },
  );
  for (; at < frames.length; at++) policy.push(frames[at]!);
  return emitted;
}

function runReference(c: Case, frames: readonly Frame[]) {
  const reference = new RosApproximateReference({
    cameras: c.cameras,
    queueSize: c.queueSize,
    agePenalty: c.agePenalty,
    ...(c.maxIntervalNs !== undefined ? { maxIntervalNs: BigInt(c.maxIntervalNs) } : {}),
    ...(c.lowerBoundNs ? { lowerBoundNs: c.lowerBoundNs.map(BigInt) } : {}),
  });
  for (const [id, f] of frames.entries()) reference.add({ camera: Number(f.cameraId.slice(1)), t: f.rigTimeNs, id });
  return reference.emitted;
}

describe('approximate is ROS ApproximateTime by default', () => {
  test.prop([caseArb], { numRuns: 2000 })('same groups, published on the same frame, as a model of approximate_time.h', (c) => {
    const frames = framesOf(c);
    expect(runSyncap(c, frames)).toEqual(runReference(c, frames));
  });

  it('defaults to ROS age_penalty 0.1: a later set must be more than a little tighter to win', () => {
    // {a1, b0, c0} spans 1041–1082 (41 ns); the later {a1, b1, c0} spans 1082–1122 (40 ns).
    // Without a penalty the tighter one wins; with ROS's 10% the earlier one is published.
    const frames = [
      timingFrame('a', 0, 1001n),
      timingFrame('b', 0, 1041n),
      timingFrame('a', 1, 1082n),
      timingFrame('c', 0, 1082n),
      timingFrame('b', 1, 1122n),
      timingFrame('c', 1, 1164n),
    ];
    const groups = (options: { agePenalty?: number }) => {
      const out: string[] = [];
      const p = new ApproximatePolicy(
        [{ id: 'a' }, { id: 'b' }, { id: 'c' }],
        { group: (g) => out.push([...g.frames.values()].map((f) => f.seq).join()), discard: () => {} },
        options,
      );
      for (const f of frames) p.push(f);
      p.flush();
      return out;
    };
    expect(groups({})).toEqual(['1,0,0']);
    expect(groups({ agePenalty: 0.1 })).toEqual(['1,0,0']);
    expect(groups({ agePenalty: 0 })).toEqual(['1,1,0']);
  });

  it('rounds the age-penalised duration to the ns as ROS 1 does', () => {
    // 5 ns × 1.1 = 5.5 ns → 6 ns (ros::Duration::fromSec rounds half away from zero).
    expect(rosDurationTimes(5n, 1.1)).toBe(6n);
    for (const [d, scale] of [
      [5, 1.1],
      [0, 1.1],
      [999_999_999, 1.1],
      [1_000_000_000, 1.25],
      [123_456_789_012, 1.1],
      [33_333_333, 1],
    ] as const) {
      const mine = new ApproximatePolicy([{ id: 'a' }, { id: 'b' }], { group: () => {}, discard: () => {} }, { agePenalty: scale - 1 }) as unknown as {
        aged(d: number): number;
      };
      expect(BigInt(mine.aged(d))).toBe(rosDurationTimes(BigInt(d), scale));
    }
  });
});
