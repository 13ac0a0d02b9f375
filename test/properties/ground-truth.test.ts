import { fc, test } from '@fast-check/vitest';
import { type Frame, type FrameGroup, NS_PER_S } from '@syncap/core';
import { simulateRig } from '@syncap/sim';
import { expect } from 'vitest';
import { checkInvariants, runPolicy } from '../support/run-policy.js';

// Cameras started together, same rate, timestamp jitter bounded below a quarter period.
const rigArb = fc.record({
  seed: fc.integer(),
  cameras: fc.integer({ min: 2, max: 16 }),
  fps: fc.constantFrom(10, 30, 60),
  jitterFraction: fc.double({ min: 0, max: 0.249, noNaN: true }),
  heavy: fc.boolean(),
  dropRate: fc.double({ min: 0, max: 0.15, noNaN: true }),
});

function groupsByTruth(groups: readonly FrameGroup[], indexOf: ReadonlyMap<Frame, number>): Map<number, Set<Frame>> {
  const out = new Map<number, Set<Frame>>();
  for (const g of groups) {
    const indices = new Set([...g.frames.values()].map((f) => indexOf.get(f)!));
    if (indices.size !== 1) throw new Error(`group ${g.id} mixes exposures ${[...indices].join(', ')}`);
    out.set([...indices][0]!, new Set(g.frames.values()));
  }
  return out;
}

function truthSets(frames: readonly Frame[], indexOf: ReadonlyMap<Frame, number>): Map<number, Set<Frame>> {
  const out = new Map<number, Set<Frame>>();
  for (const f of frames) {
    const k = indexOf.get(f)!;
    if (!out.has(k)) out.set(k, new Set());
    out.get(k)!.add(f);
  }
  return out;
}

type Rig = typeof rigArb extends fc.Arbitrary<infer T> ? T : never;

function simulate(rig: Rig, drops: boolean) {
  const periodNs = NS_PER_S / rig.fps;
  const clip = rig.jitterFraction * periodNs;
  return {
    periodNs,
    run: simulateRig({
      seed: rig.seed,
      cameras: rig.cameras,
      fps: rig.fps,
      durationNs: 2e9,
      camera: { jitterNs: clip / 2, jitterClipNs: clip, jitterShape: rig.heavy ? 'heavy' : 'gaussian', dropRate: drops ? rig.dropRate : 0 },
    }),
  };
}

test.prop([rigArb], { numRuns: 60 })('window recovers exactly the ground-truth groups when jitter < period/4', (rig) => {
  const { periodNs, run } = simulate(rig, true);
  const toleranceNs = periodNs / 2;
  const result = runPolicy({ name: 'window', toleranceNs, maxWaitNs: 10 * periodNs, minCameras: 1 }, run.cameraIds, run.frames, { flush: true });
  expect(checkInvariants(result, run.frames)).toBeNull();
  expect(result.discarded.size).toBe(0);
  for (const g of result.groups) expect(g.spanNs).toBeLessThanOrEqual(toleranceNs);
  expect(groupsByTruth(result.groups, run.indexOf)).toEqual(truthSets(run.frames, run.indexOf));
});

test.prop([rigArb], { numRuns: 60 })('approximate recovers exactly the ground-truth groups when jitter < period/4', (rig) => {
  const { periodNs, run } = simulate(rig, false);
  const toleranceNs = periodNs / 2;
  const result = runPolicy({ name: 'approximate', toleranceNs, queueSize: 50 }, run.cameraIds, run.frames, { flush: true });
  expect(checkInvariants(result, run.frames)).toBeNull();
  for (const g of result.groups) expect(g.spanNs).toBeLessThanOrEqual(toleranceNs);
  // ApproximateTime only forms complete sets: every exposure delivered by all cameras.
  const complete = new Map([...truthSets(run.frames, run.indexOf)].filter(([, s]) => s.size === rig.cameras));
  expect(groupsByTruth(result.groups, run.indexOf)).toEqual(complete);
});

test.prop([rigArb], { numRuns: 60 })('barrier stays sequence-locked through random drops: a drop leaves a hole in its own group only', (rig) => {
  const { run } = simulate(rig, true);
  const result = runPolicy({ name: 'barrier' }, run.cameraIds, run.frames, { flush: true });
  expect(checkInvariants(result, run.frames)).toBeNull();
  expect(result.discarded.size).toBe(0);
  const got = groupsByTruth(result.groups, run.indexOf);
  expect(got).toEqual(truthSets(run.frames, run.indexOf));
  for (const g of result.groups) {
    const k = run.indexOf.get([...g.frames.values()][0]!)!;
    const lost = run.truths.filter((t) => t.index === k && !t.delivered).map((t) => t.cameraId);
    expect([...g.missing].sort()).toEqual(lost.sort());
  }
});
