import { fc, test } from '@fast-check/vitest';
import { type Frame, type FrameGroup, type PolicyConfig, timingFrame } from '@syncap/core';
import { expect } from 'vitest';
import { checkInvariants, runPolicy } from '../support/run-policy.js';

/** Per-camera streams of strictly increasing timestamps. */
const streamsArb = (maxCameras: number, maxFrames: number, maxGap: number) =>
  fc
    .integer({ min: 2, max: maxCameras })
    .chain((n) => fc.array(fc.array(fc.integer({ min: 1, max: maxGap }), { minLength: 1, maxLength: maxFrames }), { minLength: n, maxLength: n }));

function toFrames(gapsPerCamera: number[][]): Frame[][] {
  return gapsPerCamera.map((gaps, c) => {
    let t = 0n;
    // A per-camera offset keeps timestamps of different cameras distinct.
    return gaps.map((gap, i) => {
      t += BigInt(gap * 64);
      return timingFrame(`c${c}`, i, t + BigInt(c));
    });
  });
}

/** Merges streams in the order given by `picks` (each pick chooses among streams not yet exhausted). */
function interleave(streams: Frame[][], picks: number[]): Frame[] {
  const pos = streams.map(() => 0);
  const out: Frame[] = [];
  let p = 0;
  for (;;) {
    const open = streams.map((_s, i) => i).filter((i) => pos[i]! < streams[i]!.length);
    if (open.length === 0) return out;
    const i = open[(picks[p++ % Math.max(1, picks.length)] ?? 0) % open.length]!;
    out.push(streams[i]![pos[i]!++]!);
  }
}

const key = (g: FrameGroup) => [...g.frames.values()].map((f) => `${f.cameraId}#${f.seq}`).join(',');

test.prop(
  [
    streamsArb(5, 30, 100),
    fc.array(fc.nat(), { minLength: 1, maxLength: 200 }),
    fc.array(fc.nat(), { minLength: 1, maxLength: 200 }),
    fc.option(fc.oneof(fc.constant(0), fc.double({ min: 0, max: 2, noNaN: true })), { nil: undefined }),
    // Frames of a camera are at least 64 ns apart (toFrames), so any bound up to 64 ns holds.
    fc.option(fc.integer({ min: 0, max: 64 }), { nil: undefined }),
  ],
  { numRuns: 1000 },
)('approximate, orderIndependent: output does not depend on how the camera streams interleave', (gaps, picksA, picksB, agePenalty, boundNs) => {
  const streams = toFrames(gaps);
  const cams = streams.map((_, i) => `c${i}`);
  const config: PolicyConfig = {
    name: 'approximate',
    orderIndependent: true,
    queueSize: 1000,
    ...(agePenalty !== undefined ? { agePenalty } : {}),
    ...(boundNs !== undefined ? { minIntervalNs: Object.fromEntries(cams.map((c) => [c, boundNs])) } : {}),
  };
  const a = runPolicy(config, cams, interleave(streams, picksA));
  const b = runPolicy(config, cams, interleave(streams, picksB));
  expect(a.groups.map(key)).toEqual(b.groups.map(key));
  expect(checkInvariants(a, streams.flat())).toBeNull();
});

test('approximate, ROS default: what it publishes by a given moment can depend on the interleaving (orderIndependent removes that)', () => {
  // Found by the property above without orderIndependent (ROS age_penalty 0.1, no overflow).
  const streams = toFrames([[30], [29, 69], [11, 18], [66, 1], [29, 71]]);
  const cams = streams.map((_, i) => `c${i}`);
  const published = (config: PolicyConfig, picks: number[]) => runPolicy(config, cams, interleave(streams, picks)).groups.map(key);
  const ros: PolicyConfig = { name: 'approximate', queueSize: 1000 };
  expect(published(ros, [0])).toEqual([]);
  expect(published(ros, [326894587, 0])).toEqual(['c0#0,c1#0,c2#1,c3#0,c4#0']);
  const independent: PolicyConfig = { ...ros, orderIndependent: true };
  expect(published(independent, [0])).toEqual(['c0#0,c1#0,c2#1,c3#0,c4#0']);
  expect(published(independent, [326894587, 0])).toEqual(['c0#0,c1#0,c2#1,c3#0,c4#0']);
});

/** Smallest span of any set with one frame per camera (after each camera's cursor) that contains `pivot`. */
function bruteForceMinSpan(streams: Frame[][], cursor: number[], pivotCam: number, pivot: Frame): number {
  let best = Number.POSITIVE_INFINITY;
  const choose = (c: number, min: bigint, max: bigint) => {
    if (c === streams.length) {
      best = Math.min(best, Number(max - min));
      return;
    }
    if (c === pivotCam) return choose(c + 1, min < pivot.rigTimeNs ? min : pivot.rigTimeNs, max > pivot.rigTimeNs ? max : pivot.rigTimeNs);
    for (let i = cursor[c]!; i < streams[c]!.length; i++) {
      const t = streams[c]![i]!.rigTimeNs;
      choose(c + 1, min < t ? min : t, max > t ? max : t);
    }
  };
  choose(0, pivot.rigTimeNs, pivot.rigTimeNs);
  return best;
}

test.prop([streamsArb(4, 6, 50), fc.array(fc.nat(), { minLength: 1, maxLength: 50 })], { numRuns: 500 })(
  'approximate: each group has the minimal span among the candidate sets containing its pivot (brute-force oracle)',
  (gaps, picks) => {
    const streams = toFrames(gaps);
    const cams = streams.map((_, i) => `c${i}`);
    // Minimal span is the property of agePenalty 0 (ROS's default 0.1 trades span for earliness).
    const result = runPolicy({ name: 'approximate', queueSize: 1000, agePenalty: 0 }, cams, interleave(streams, picks), { flush: true });
    const cursor = streams.map(() => 0);
    for (const g of result.groups) {
      // The pivot is the latest of the cameras' first remaining frames.
      let pivotCam = 0;
      for (let c = 1; c < streams.length; c++) {
        if (streams[c]![cursor[c]!]!.rigTimeNs >= streams[pivotCam]![cursor[pivotCam]!]!.rigTimeNs) pivotCam = c;
      }
      const pivot = streams[pivotCam]![cursor[pivotCam]!]!;
      expect(g.frames.get(`c${pivotCam}`)).toBe(pivot);
      expect(g.spanNs).toBe(bruteForceMinSpan(streams, cursor, pivotCam, pivot));
      for (const [cam, f] of g.frames) cursor[Number(cam.slice(1))] = streams[Number(cam.slice(1))]!.indexOf(f) + 1;
    }
  },
);
