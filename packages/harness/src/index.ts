/**
 * @syncap/harness — whole rigs, composed from the real server, node and client code on
 * simulated hosts: the rig simulator (`runRigSimulation`), simulated nodes paced to the
 * wall clock over real WebSockets (`RealtimeSimNodes`), and soak campaigns (`runSoak`).
 * One rig spec (`RigSpec`) and one set of CLI flags (`addRigFlags`) serve them all.
 */

export {
  collect,
  finiteNumber,
  keyedNonNegativeInt,
  nonNegativeInt,
  nonNegativeNumber,
  positiveInt,
  positiveNumber,
  probability,
} from './cli/flag-parsers.js';
export { addRigFlags, MULTI_HOST_RIG_FLAGS, type RigFlag, rigSpecFromFlags } from './cli/rig-flags.js';
export { runProgram } from './cli/run-program.js';
export { RealtimePacer } from './realtime-pacer.js';
export { RealtimeSimNodes, type RealtimeSimNodesOptions } from './realtime-rig.js';
export { type RigSimulationOptions, type RigSimulationSummary, runRigSimulation } from './rig-simulation.js';
export { formatRigPixels, parseRigPixels, RIG_DEFAULTS, type RigPixels, type RigSpec, rigSpec } from './rig-spec.js';
export { createSimHost, createSimMachine, type SimHost, type SimHostOptions, type SimMachine, startSimProcess } from './sim-host.js';
export { runSoak, type SoakOptions } from './soak/soak-campaign.js';
export { SOAK_INVARIANTS, type SoakViolation } from './soak/soak-invariants.js';
export type { RecoveryStats, SoakProgress, SoakSummary } from './soak/soak-summary.js';
