import { createWriteStream, openSync } from 'node:fs';
import { SyncapError } from '@syncap/core';
import { addRigFlags, positiveNumber, type RigFlag, rigSpecFromFlags, runSoak } from '@syncap/harness';
import { FAULT_KINDS, type FaultKind } from '@syncap/sim';
import { Command, InvalidArgumentError } from 'commander';

interface SoakFlags {
  seed?: number;
  hours: number;
  hosts: number;
  cameras: number;
  fps: number;
  faultEveryS: number;
  faults?: FaultKind[];
  events?: string;
  recoveryBoundS: number;
  stopOnViolation?: boolean;
}

const RIG_FLAGS: readonly RigFlag[] = ['hosts', 'cameras', 'fps'];

function faultKinds(value: string): FaultKind[] {
  const kinds = value.split(',').map((k) => k.trim());
  for (const k of kinds) {
    if (!(FAULT_KINDS as readonly string[]).includes(k))
      throw new InvalidArgumentError(`unknown fault kind "${k.slice(0, 40)}"; kinds: ${FAULT_KINDS.join(', ')}`);
  }
  return kinds as FaultKind[];
}

/** `syncap-node soak`: the whole rig on virtual time under faults drawn from a seed, invariants checked as it runs. */
export function soakCommand(): Command {
  const command = new Command('soak').description('run the whole rig on virtual time under faults drawn from a seed, checking the invariants continuously');
  // The seed is the rig flag's, but without a default: a run without --seed explores a random one (printed).
  command.option('--seed <n>', 'seed: one seed determines the whole run, faults included (default: a random one, printed)', (v) => {
    if (!/^\d+$/.test(v) || !Number.isSafeInteger(Number(v))) throw new InvalidArgumentError(`--seed takes a non-negative integer, got "${v.slice(0, 40)}"`);
    return Number(v);
  });
  addRigFlags(command, RIG_FLAGS)
    .option('--hours <h>', 'virtual hours to run', positiveNumber('--hours'), 1)
    .option('--fault-every-s <s>', 'mean virtual time between faults', positiveNumber('--fault-every-s'), 120)
    .option('--faults <kinds>', `comma-separated fault kinds to inject (default: all): ${FAULT_KINDS.join(', ')}`, faultKinds)
    .option('--recovery-bound-s <s>', 'time the rig has to recover to lock after a fault, before clock slewing', positiveNumber('--recovery-bound-s'), 30)
    .option('--events <file>', 'write every event of the run (JSON Lines) to this file')
    .option('--stop-on-violation', 'stop at the first invariant violation')
    .addHelpText(
      'after',
      [
        '',
        'Prints SEED=<seed> first and a JSON summary as the last line of stdout; progress goes to stderr.',
        'Exit code 1 when an invariant was violated; the command that replays the run is printed.',
        'Heap is checked (24 h ≤ 1.1 × 1 h) when Node runs with --expose-gc, as `npm run soak` does.',
        '',
        'Example:',
        '  npm run soak -- --seed 7 --hours 24 --hosts 4 --cameras 2',
      ].join('\n'),
    )
    .action(async (flags: SoakFlags) => {
      const seed = flags.seed ?? Math.floor(Math.random() * 2 ** 31);
      process.stdout.write(`SEED=${seed}\n`);
      const gc = (globalThis as { gc?: () => void }).gc;
      if (!gc) process.stderr.write('syncap-node soak: heap not checked: run Node with --expose-gc (npm run soak does)\n');
      const events = flags.events ? createWriteStream('', { fd: openOrFail(flags.events) }) : undefined;
      const summary = await runSoak({
        spec: { ...rigSpecFromFlags(flags as unknown as Record<string, unknown>, RIG_FLAGS), seed },
        hours: flags.hours,
        faultEveryS: flags.faultEveryS,
        faultKinds: flags.faults,
        recoveryBoundS: flags.recoveryBoundS,
        stopOnViolation: flags.stopOnViolation,
        measureHeap: gc
          ? () => {
              gc();
              return process.memoryUsage().heapUsed;
            }
          : undefined,
        onEvent: events ? (line) => events.write(`${line}\n`) : undefined,
        onHour: (hour, p) =>
          process.stderr.write(
            `soak: ${hour} h virtual: ${p.faults} faults, ${p.framesExposed} frames, ${p.violations} violations${p.heapMiB !== undefined ? `, heap ${p.heapMiB} MiB` : ''}\n`,
          ),
      });
      if (events) await new Promise<void>((resolve) => events.end(resolve));
      if (!summary.ok) {
        const replay = [
          'npm run soak --',
          `--seed ${seed}`,
          `--hours ${flags.hours}`,
          `--hosts ${flags.hosts}`,
          `--cameras ${flags.cameras}`,
          flags.fps !== 30 ? `--fps ${flags.fps}` : '',
          flags.faultEveryS !== 120 ? `--fault-every-s ${flags.faultEveryS}` : '',
          flags.faults ? `--faults ${flags.faults.join(',')}` : '',
          flags.recoveryBoundS !== 30 ? `--recovery-bound-s ${flags.recoveryBoundS}` : '',
          '--events events.jsonl',
        ]
          .filter(Boolean)
          .join(' ');
        process.stderr.write(`soak: ${summary.violations.length} invariant violations (first: ${summary.violations[0]?.message})\nreplay: ${replay}\n`);
        process.exitCode = 1;
      }
      process.stdout.write(`${JSON.stringify(summary)}\n`);
    });
  return command;
}

/** Opens the events file before the run starts, so a bad path fails at once with its reason. */
function openOrFail(path: string): number {
  try {
    return openSync(path, 'w');
  } catch (error) {
    throw new SyncapError('E_IO', `--events ${path}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such directory' : (error as Error).message}`);
  }
}
