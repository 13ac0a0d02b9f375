import { ApproximatePolicy } from './approximate-policy.js';
import { BarrierPolicy } from './barrier-policy.js';
import { EpsilonPolicy } from './epsilon-policy.js';
import { ConfigError } from './errors.js';
import { ExactPolicy } from './exact-policy.js';
import { type CameraSpec, type GroupingPolicy, POLICY_NAMES, type PolicyOutput } from './grouping-policy.js';
import { HybridPolicy } from './hybrid-policy.js';
import { LatestPolicy } from './latest-policy.js';
import type { PolicyConfig } from './policy-config.js';
import { WindowPolicy } from './window-policy.js';

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
    case 'epsilon':
      return new EpsilonPolicy(cameras, out, config);
    case 'latest':
      return new LatestPolicy(cameras, out, config);
    default:
      throw new ConfigError(`unknown policy "${(config as { name: string }).name}": choose one of ${POLICY_NAMES.join(', ')}`);
  }
}
