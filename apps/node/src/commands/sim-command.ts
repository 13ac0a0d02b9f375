import { addRigFlags, MULTI_HOST_RIG_FLAGS, positiveNumber, type RigFlag, rigSpecFromFlags, runRigSimulation } from '@syncap/harness';
import { Command } from 'commander';

const RIG_FLAGS: readonly RigFlag[] = [...MULTI_HOST_RIG_FLAGS, 'timestamping', 'netLoss', 'mixedExposure'];

/** `syncap-node sim`: the whole rig on virtual time, with ground-truth skew next to the floor PTP noise implies. */
export function simCommand(): Command {
  const command = new Command('sim').description(
    'simulate a whole rig (sync server, hosts with PTP-disciplined clocks, cameras) on virtual time and report ground-truth skew',
  );
  addRigFlags(command, RIG_FLAGS)
    .option('--duration-s <s>', 'virtual seconds to run', positiveNumber('--duration-s'), 20)
    .option('--json', 'print the summary as one JSON object (the last line)')
    .addHelpText(
      'after',
      '\nThe summary reports ground-truth exposure skew within complete global groups after lock\n(trueSkewP50Ns/P99Ns/MaxNs) next to floorP99Ns, the skew the injected PTP noise alone implies.\n\nExample:\n  syncap-node sim --hosts 4 --cameras 2 --fps 60 --seed 7 --duration-s 30 --ptp-noise-ns 5000 --json',
    )
    .action(async (flags: Record<string, unknown> & { durationS: number; json?: boolean }) => {
      const spec = rigSpecFromFlags(flags, RIG_FLAGS);
      const summary = await runRigSimulation({ ...spec, durationS: flags.durationS });
      if (flags.json) {
        process.stdout.write(`${JSON.stringify(summary)}\n`);
        return;
      }
      const us = (ns: number) => `${(ns / 1000).toFixed(1)} µs`;
      process.stdout.write(
        [
          `rig: ${summary.hosts} hosts × ${summary.cameras} cameras at ${summary.fps} fps, ${summary.durationS} s virtual, seed ${summary.seed}`,
          `global groups: ${summary.groups} (${summary.incompleteGroups} incomplete), frames dropped: ${summary.drops}`,
          `phase lock: ${spec.phaseLock !== false ? `all cameras locked ${(summary.lockTimeMs / 1000).toFixed(2)} s after PTP settled, ${summary.restarts} restarts` : 'off'}`,
          `true skew after lock: p50 ${us(summary.trueSkewP50Ns)}, p99 ${us(summary.trueSkewP99Ns)}, max ${us(summary.trueSkewMaxNs)} (${summary.measuredGroups} groups)`,
          `floor from PTP noise alone: p99 ${us(summary.floorP99Ns)}; reported span p99 ${us(summary.reportedSpanP99Ns)}`,
          '',
        ].join('\n'),
      );
    });
  return command;
}
