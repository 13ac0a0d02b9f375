import { ApproximatePolicy, type ApproximatePolicyOptions } from './approximate-policy.js';
import { BarrierPolicy, type BarrierPolicyOptions } from './barrier-policy.js';
import { ConfigError } from './errors.js';
import { ExactPolicy, type ExactPolicyOptions } from './exact-policy.js';
import { type CameraSpec, type GroupingPolicy, POLICY_NAMES, type PolicyName, type PolicyOutput } from './grouping-policy.js';
import { HybridPolicy, type HybridPolicyOptions } from './hybrid-policy.js';
import { WindowPolicy, type WindowPolicyOptions } from './window-policy.js';

/** A policy chosen by name with its options (what configs and CLIs carry). */
export type PolicyConfig =
  | ({ readonly name: 'barrier' } & BarrierPolicyOptions)
  | ({ readonly name: 'window' } & WindowPolicyOptions)
  | ({ readonly name: 'approximate' } & ApproximatePolicyOptions)
  | ({ readonly name: 'exact' } & ExactPolicyOptions)
  | ({ readonly name: 'hybrid' } & HybridPolicyOptions);

export function isPolicyName(name: string): name is PolicyName {
  return (POLICY_NAMES as readonly string[]).includes(name);
}

/** Builds a policy from its config. Throws ConfigError for an unknown name or a bad option. */
export function createPolicy(config: PolicyConfig, cameras: readonly CameraSpec[], out: PolicyOutput): GroupingPolicy {
  switch (config.name) {
    case 'barrier':
      return new BarrierPolicy(cameras, out, config);
    case 'window':
      return new WindowPolicy(cameras, out, config);
    case 'approximate':
      return new ApproximatePolicy(cameras, out, config);
    case 'exact':
      return new ExactPolicy(cameras, out, config);
    case 'hybrid':
      return new HybridPolicy(cameras, out, config);
    default:
      throw new ConfigError(`unknown policy "${(config as { name: string }).name}": choose one of ${POLICY_NAMES.join(', ')}`);
  }
}
