import { fc, test } from '@fast-check/vitest';
import type { PolicyConfig } from '@syncap/core';
import { simulateRig } from '@syncap/sim';
import { expect } from 'vitest';
import { checkInvariants, runPolicy } from '../support/run-policy.js';

// Rigs of 2–16 cameras with jitter, drops, stalls, ppm error and start latency.
const rigArb = fc.record({
  seed: fc.integer(),
  cameras: fc.integer({ min: 2, max: 16 }),
  fps: fc.constantFrom(15, 30, 60, 120),
  jitterNs: fc.integer({ min: 0, max: 3_000_000 }),
  heavy: fc.boolean(),
  dropRate: fc.double({ min: 0, max: 0.2, noNaN: true }),
  stallsPerSec: fc.constantFrom(0, 0, 0.5),
  ppm: fc.integer({ min: -50, max: 50 }),
  startLatencyJitterNs: fc.integer({ min: 0, max: 5_000_000 }),
});

const policyArb: fc.Arbitrary<PolicyConfig> = fc.oneof(
  fc.record({ name: fc.constant('barrier' as const), maxWaitNs: fc.integer({ min: 0, max: 200_000_000 }), maxPendingGroups: fc.integer({ min: 1, max: 64 }) }),
  fc.record({
    name: fc.constant('window' as const),
    toleranceNs: fc.integer({ min: 0, max: 20_000_000 }),
    maxWaitNs: fc.integer({ min: 0, max: 200_000_000 }),
    minCameras: fc.integer({ min: 1, max: 4 }),
    queueSize: fc.integer({ min: 1, max: 64 }),
  }),
  fc.record({
    name: fc.constant('approximate' as const),
    queueSize: fc.integer({ min: 1, max: 20 }),
    toleranceNs: fc.option(fc.integer({ min: 0, max: 20_000_000 }), { nil: undefined }),
  }),
  fc.record({ name: fc.constant('exact' as const), queueSize: fc.integer({ min: 1, max: 20 }) }),
  fc.record({
    name: fc.constant('approximate' as const),
    queueSize: fc.integer({ min: 1, max: 20 }),
    orderIndependent: fc.constant(true),
    agePenalty: fc.double({ min: 0, max: 2, noNaN: true }),
    maxIntervalNs: fc.option(fc.integer({ min: 0, max: 20_000_000 }), { nil: undefined }),
  }),
  fc.record({ name: fc.constant('epsilon' as const), epsilonNs: fc.integer({ min: 0, max: 20_000_000 }), queueSize: fc.integer({ min: 1, max: 20 }) }),
  fc.record({
    name: fc.constant('hybrid' as const),
    thresholdNs: fc.integer({ min: 100_000, max: 10_000_000 }),
    fallback: fc.constantFrom('window' as const, 'approximate' as const),
  }),
);

test.prop([rigArb, policyArb, fc.boolean()], { numRuns: 150 })(
  'every policy: no frame in two groups, groups in time order, every frame grouped, discarded or pending',
  (rig, policy, flush) => {
    const run = simulateRig({
      seed: rig.seed,
      cameras: rig.cameras,
      fps: rig.fps,
      durationNs: 1e9,
      camera: {
        jitterNs: rig.jitterNs,
        jitterShape: rig.heavy ? 'heavy' : 'gaussian',
        dropRate: rig.dropRate,
        stallsPerSec: rig.stallsPerSec,
        ppm: rig.ppm,
        startLatencyJitterNs: rig.startLatencyJitterNs,
      },
    });
    const result = runPolicy(policy, run.cameraIds, run.frames, { flush });
    // Barrier groups are ordered by sequence index, not time: a partial group under jitter beyond
    // half a period may start earlier than its predecessor. The hybrid contains a barrier.
    const timeOrdered = policy.name !== 'barrier' && policy.name !== 'hybrid';
    expect(checkInvariants(result, run.frames, { ordered: timeOrdered })).toBeNull();
    if (flush) expect(result.policy.pendingFrames).toBe(0);
    if (policy.name === 'window' && policy.toleranceNs !== undefined) {
      for (const g of result.groups) expect(g.spanNs).toBeLessThanOrEqual(policy.toleranceNs);
    }
    if (policy.name === 'approximate') {
      const bound = policy.maxIntervalNs ?? policy.toleranceNs;
      for (const g of result.groups) {
        expect(g.complete).toBe(true);
        if (bound !== undefined) expect(g.spanNs).toBeLessThanOrEqual(bound);
      }
    }
    if (policy.name === 'epsilon') {
      for (const g of result.groups) {
        expect(g.complete).toBe(true);
        expect(g.spanNs).toBeLessThanOrEqual(policy.epsilonNs);
      }
    }
  },
);
