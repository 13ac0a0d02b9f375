import { fc, test } from '@fast-check/vitest';
import { type FrameGroup, HybridPolicy, type HybridSwitchEvent, NS_PER_S } from '@syncap/core';
import { simulateRig } from '@syncap/sim';
import { expect } from 'vitest';
import { checkInvariants, runPolicy } from '../support/run-policy.js';

// One camera starts whole periods late: its k-th frame is the others' (k+shift)-th, so a
// sequence-locked barrier groups frames a period or more apart until it re-locks.
test.prop(
  [
    fc.record({
      seed: fc.integer(),
      cameras: fc.integer({ min: 2, max: 8 }),
      fps: fc.constantFrom(30, 60),
      shift: fc.integer({ min: 1, max: 3 }),
      late: fc.nat(),
      jitterNs: fc.integer({ min: 0, max: 200_000 }),
      fallback: fc.constantFrom('window' as const, 'approximate' as const),
    }),
  ],
  { numRuns: 60 },
)('hybrid falls back when the span passes the threshold, re-locks, switches back, and loses no frame', (rig) => {
  const periodNs = NS_PER_S / rig.fps;
  const lateCamera = rig.late % rig.cameras;
  const run = simulateRig({
    seed: rig.seed,
    cameras: rig.cameras,
    fps: rig.fps,
    durationNs: 3e9,
    camera: { jitterNs: rig.jitterNs, jitterClipNs: 500_000 },
    perCamera: (i) => (i === lateCamera ? { startLatencyNs: rig.shift * periodNs } : {}),
  });
  const switches: HybridSwitchEvent[] = [];
  const relocks: number[] = [];
  const groups: FrameGroup[] = [];
  const discards: { reason: string; afterGroups: number }[] = [];
  const hybrid = new HybridPolicy(
    run.cameraIds.map((id) => ({ id })),
    { group: (g) => groups.push(g), discard: (_f, reason) => discards.push({ reason, afterGroups: groups.length }) },
    { thresholdNs: 5_000_000, fallback: rig.fallback },
  );
  hybrid.onSwitch((e) => switches.push(e));
  hybrid.onRelockRequest(() => relocks.push(groups.length));
  for (const f of run.frames) hybrid.push(f);
  hybrid.flush();

  expect(
    checkInvariants(runPolicy({ name: 'hybrid', thresholdNs: 5_000_000, fallback: rig.fallback }, run.cameraIds, run.frames, { flush: true }), run.frames, {
      ordered: false,
    }),
  ).toBeNull();
  expect(switches.map((s) => s.to).slice(0, 2)).toEqual(['fallback', 'barrier']);
  expect(switches[0]!.medianSpanNs).toBeGreaterThan(5_000_000);
  expect(switches[0]!.reason).toMatch(/threshold|timed out/);
  expect(relocks.length).toBeGreaterThanOrEqual(1);
  expect(hybrid.mode).toBe('barrier');
  // Only groups cut by the start of the late camera may be short; after the re-lock every group is tight.
  const afterRelock = groups.filter((g) => g.id > switches[1]!.afterGroupId);
  expect(afterRelock.length).toBeGreaterThan(rig.fps);
  for (const g of afterRelock.slice(0, -1)) expect(g.spanNs).toBeLessThan(5_000_000);
  // Nothing lost in the hand-overs: every frame leaves in a group or as a counted discard, and
  // discards happen only while the barrier is mis-locked (frames arriving after their group
  // timed out) or at the switch (frames whose partner the mis-locked barrier had already used).
  const grouped = groups.reduce((n, g) => n + g.size, 0);
  expect(grouped + discards.length).toBe(run.frames.length);
  for (const d of discards) expect(['late', 'stale']).toContain(d.reason);
  const relockedAt = groups.findIndex((g) => g.id > switches[1]!.afterGroupId);
  expect(discards.filter((d) => d.afterGroups > relockedAt)).toEqual([]);
});
