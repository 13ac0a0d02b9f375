import { fc, test } from '@fast-check/vitest';
import { type Frame, type FrameGroup, timingFrame } from '@syncap/core';
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

test.prop([streamsArb(5, 30, 100), fc.array(fc.nat(), { minLength: 1, maxLength: 200 }), fc.array(fc.nat(), { minLength: 1, maxLength: 200 })], {
  numRuns: 300,
})('approximate: output does not depend on how the camera streams interleave', (gaps, picksA, picksB) => {
  const streams = toFrames(gaps);
  const cams = streams.map((_, i) => `c${i}`);
  const a = runPolicy({ name: 'approximate', queueSize: 1000 }, cams, interleave(streams, picksA));
  const b = runPolicy({ name: 'approximate', queueSize: 1000 }, cams, interleave(streams, picksB));
  expect(a.groups.map(key)).toEqual(b.groups.map(key));
  expect(checkInvariants(a, streams.flat())).toBeNull();
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
    const result = runPolicy({ name: 'approximate', queueSize: 1000 }, cams, interleave(streams, picks), { flush: true });
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
