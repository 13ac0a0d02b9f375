/**
 * @syncap/sim — deterministic simulation on virtual time: a discrete-event scheduler,
 * seeded random streams, cameras with ground truth, drifting and PTP-disciplined clocks,
 * the sync network, fault plans, and timestamp traces (record and replay). Nothing here
 * reads the real clock; one seed replays a run exactly (DESIGN §6).
 */

export { FAULT_KINDS, type Fault, type FaultKind, type FaultPlanOptions, planFaults } from './fault-plan.js';
export { ErrorModelClock, type HostClock, perfectClock } from './host-clock.js';
export { ProcessTimers } from './process-timers.js';
export { PTP_SERVO_GAINS, PtpServoSim, type PtpServoSimOptions } from './ptp-servo-sim.js';
export { SeededRandom } from './seeded-random.js';
export { SimCamera, type SimCameraOptions, type SimFrameTruth, type SimPixelsOptions } from './sim-camera.js';
export { SimClock, type SimClockOptions } from './sim-clock.js';
export { type SimLinkOptions, SimNetwork } from './sim-network.js';
export { type SimRigOptions, type SimRigRun, simulateRig } from './sim-rig.js';
export { flushMicrotasks, SimScheduler, type TaskHandle } from './sim-scheduler.js';
export { MIN_STAMP_WIDTH, type PatternFormat, type PatternStamp, readPatternStamp, renderTestPattern } from './test-pattern.js';
export {
  formatTraceFrame,
  formatTraceHeader,
  parseTraceFrame,
  parseTraceHeader,
  TRACE_VERSION,
  type TraceFrameRecord,
  type TraceHeader,
  traceFrameSchema,
  traceHeaderSchema,
} from './trace-format.js';
export { TraceRecorder } from './trace-recorder.js';
export { type ReplayOptions, type ReplaySummary, replayTrace } from './trace-replay.js';
