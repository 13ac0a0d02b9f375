import { z } from 'zod';
import type { ApproximatePolicyOptions } from './approximate-policy.js';
import type { BarrierPolicyOptions } from './barrier-policy.js';
import type { EpsilonPolicyOptions } from './epsilon-policy.js';
import { ConfigError } from './errors.js';
import type { ExactPolicyOptions } from './exact-policy.js';
import { POLICY_NAMES, type PolicyName } from './grouping-policy.js';
import type { HybridPolicyOptions } from './hybrid-policy.js';
import type { LatestPolicyOptions } from './latest-policy.js';
import { describeIssues } from './schema-issues.js';
import type { WindowPolicyOptions } from './window-policy.js';

/** A policy chosen by name with its options (what configs, flags and the server carry). */
export type PolicyConfig =
  | ({ readonly name: 'barrier' } & BarrierPolicyOptions)
  | ({ readonly name: 'window' } & WindowPolicyOptions)
  | ({ readonly name: 'approximate' } & ApproximatePolicyOptions)
  | ({ readonly name: 'exact' } & ExactPolicyOptions)
  | ({ readonly name: 'hybrid' } & HybridPolicyOptions)
  | ({ readonly name: 'epsilon' } & EpsilonPolicyOptions)
  | ({ readonly name: 'latest' } & LatestPolicyOptions);

const ns = z.number().min(0, 'a non-negative number of ns');
const count = z.number().int('a whole number').min(1, 'at least 1');
const unit = z.number().min(0, 'a number from 0 to 1').max(1, 'a number from 0 to 1');
const positive = z.number().gt(0, 'a positive number');

/**
 * Each policy's options (rig.yaml `policy:`, `replay` flags, `capture --policy`, the
 * server's policy). Unknown keys are errors that name the key. `queueSize` means what a
 * policy holds: frames per camera (window, approximate, epsilon), timestamps (exact), groups (barrier).
 */
const policyOptionsSchema = z.discriminatedUnion('name', [
  z
    .object({ name: z.literal('barrier'), maxWaitNs: ns.optional(), maxPendingGroups: count.optional(), queueSize: count.optional() })
    .strict()
    .transform(({ queueSize, ...rest }) => (queueSize === undefined ? rest : { ...rest, maxPendingGroups: rest.maxPendingGroups ?? queueSize })),
  z
    .object({ name: z.literal('window'), toleranceNs: ns.optional(), maxWaitNs: ns.optional(), minCameras: count.optional(), queueSize: count.optional() })
    .strict(),
  z
    .object({
      name: z.literal('approximate'),
      queueSize: count.optional(),
      maxIntervalNs: ns.optional(),
      toleranceNs: ns.optional(),
      minIntervalNs: z.record(z.string(), ns).optional(),
      agePenalty: z.number().min(0, 'a non-negative number (ROS age_penalty; default 0.1)').optional(),
      orderIndependent: z.boolean().optional(),
    })
    .strict()
    .refine((o) => o.maxIntervalNs === undefined || o.toleranceNs === undefined || o.maxIntervalNs === o.toleranceNs, {
      path: ['toleranceNs'],
      message: 'the same bound as maxIntervalNs: give one of them',
    }),
  z.object({ name: z.literal('exact'), queueSize: count.optional() }).strict(),
  z
    .object({
      name: z.literal('epsilon'),
      epsilonNs: z
        .number({ error: (issue) => (issue.input === undefined ? 'required: a non-negative number of ns' : 'a non-negative number of ns') })
        .min(0, 'a non-negative number of ns'),
      queueSize: count.optional(),
    })
    .strict(),
  z
    .object({
      name: z.literal('latest'),
      pivot: z.string().min(1, 'a camera id').optional(),
      rateEmaAlpha: unit.optional(),
      errorEmaAlpha: unit.optional(),
      rateStepChangeMargin: positive.optional(),
      stallPeriods: positive.optional(),
    })
    .strict(),
  z
    .object({
      name: z.literal('hybrid'),
      thresholdNs: ns.optional(),
      fallback: z.enum(['window', 'approximate']).optional(),
      toleranceNs: ns.optional(),
      maxWaitNs: ns.optional(),
      minCameras: count.optional(),
      queueSize: count.optional(),
      monitorWindow: count.optional(),
      hysteresis: z.number().gt(0).max(1).optional(),
      monitoring: z.boolean().optional(),
    })
    .strict(),
]);

/**
 * The one schema of a policy config (see above). The name is checked first, so that a
 * wrong one says which names there are; then the options of that policy.
 */
export const policyConfigSchema = z
  .object({ name: z.enum(POLICY_NAMES as [PolicyName, ...PolicyName[]]) })
  .loose()
  .pipe(policyOptionsSchema);

/** Whether `name` is a policy name. */
export function isPolicyName(name: string): name is PolicyName {
  return (POLICY_NAMES as readonly string[]).includes(name);
}

/**
 * Validates a policy config from any source; the error names the source, the key and
 * what is allowed (`rig.yaml: policy.toleranceNs: a non-negative number of ns`).
 */
export function parsePolicyConfig(input: unknown, source = 'policy'): PolicyConfig {
  const result = policyConfigSchema.safeParse(input);
  if (!result.success) throw new ConfigError(describeIssues(result.error, source));
  return result.data as PolicyConfig;
}
