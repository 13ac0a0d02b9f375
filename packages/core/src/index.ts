/**
 * @syncap/core — frames, frame groups, the grouping policies, the capture manager and
 * the time and offset math they rest on. Pure TypeScript: no I/O, no `node:` imports,
 * no host globals; clocks, timers, randomness and devices are passed in (DESIGN §1).
 *
 * Internals other syncap packages share (RingQueue, PolicyBase, …) are in
 * `@syncap/core/internal`, not here.
 */

export { ApproximatePolicy, type ApproximatePolicyOptions, ROS_AGE_PENALTY } from './approximate-policy.js';
export { BarrierPolicy, type BarrierPolicyOptions } from './barrier-policy.js';
export type { CameraDevice, CameraEvent, CameraInfo, StartOptions, StartResult } from './camera-device.js';
export type { CaptureStatsSnapshot } from './capture-stats.js';
export { ClockMapper, type ClockMapperOptions, type ClockSample } from './clock-mapper.js';
export { EpsilonPolicy, type EpsilonPolicyOptions } from './epsilon-policy.js';
// Errors
export {
  ConfigError,
  DeviceError,
  ERROR_CODES,
  type ErrorCode,
  errorMessage,
  isErrorCode,
  ParseError,
  StateError,
  SyncapError,
  toSyncapError,
} from './errors.js';
export { ExactPolicy, type ExactPolicyOptions } from './exact-policy.js';
export { type ExposureCorrection, type ExposureTiming, midExposureCorrection } from './exposure-time.js';
// Frames, cameras, groups
export { type Frame, type FrameData, FrameFlags, type TimestampSource, timingFrame } from './frame.js';
export { FrameGroup, type FrameGroupRecord, type FrameTimes, frameGroupRecord, frameTimes } from './frame-group.js';
// Grouping policies
export {
  type CameraSpec,
  DISCARD_REASONS,
  type DiscardReason,
  type GroupingPolicy,
  POLICY_NAMES,
  type PolicyName,
  type PolicyOutput,
} from './grouping-policy.js';
export { isH264Keyframe } from './h264-access-unit.js';
export { type HybridMode, HybridPolicy, type HybridPolicyOptions, type HybridSwitchEvent } from './hybrid-policy.js';
export { LatestPolicy, type LatestPolicyOptions } from './latest-policy.js';
export { type ErrorSink, Listeners, type Unsubscribe } from './listeners.js';
export { type Agreement, agreesWith, type Interval, marzullo } from './marzullo.js';
// Phase and offset math
export { medianPhaseNs, nextGridInstantNs, phaseOfNs, wrapPhaseNs } from './phase.js';
export { PhaseLock, type PhaseLockAction, type PhaseLockOptions, type PhaseLockState } from './phase-lock.js';
export { isPolicyName, type PolicyConfig, parsePolicyConfig, policyConfigSchema } from './policy-config.js';
export { createPolicy } from './policy-factory.js';
export type { Random } from './random.js';
export { IDENTITY_TIMEBASE, type RigTimebase } from './rig-timebase.js';
export { type LinearFit, linearRegression, median, minBy } from './robust-stats.js';
// The capture manager
export { type ManagerEvent, type PolicyBuilder, SyncCaptureManager, type SyncCaptureManagerOptions } from './sync-capture-manager.js';
// Time and the two timebases
export {
  type Clock,
  type DurationNs,
  formatInstantNs,
  type InstantNs,
  NS_PER_MS,
  NS_PER_S,
  parseInstantNs,
  periodNsFromFps,
  seqForwardDistance,
  type Timers,
} from './time.js';
export { WindowPolicy, type WindowPolicyOptions } from './window-policy.js';
