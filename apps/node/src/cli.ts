import { SyncapError } from '@syncap/core';
import { Command, CommanderError } from 'commander';
import { captureCommand } from './commands/capture-command.js';
import { configCommand } from './commands/config-command.js';
import { controlsCommand } from './commands/controls-command.js';
import { devicesCommand } from './commands/devices-command.js';
import { joinCommand } from './commands/join-command.js';
import { replayCommand } from './commands/replay-command.js';
import { simCommand } from './commands/sim-command.js';
import { soakCommand } from './commands/soak-command.js';

/** The `syncap-node` program. Exported for tests; `bin/syncap-node.js` runs it. */
export function buildProgram(): Command {
  const program = new Command('syncap-node')
    .description('syncap node: synchronized multi-camera capture — capture, join a rig, simulate, replay and record')
    .version('0.1.0')
    .showHelpAfterError('(run with --help for usage)')
    .addCommand(replayCommand())
    .addCommand(simCommand())
    .addCommand(soakCommand())
    .addCommand(captureCommand())
    .addCommand(joinCommand())
    .addCommand(devicesCommand())
    .addCommand(controlsCommand())
    .addCommand(configCommand());
  return program;
}

/** Runs the CLI; typed errors become one clear line and exit code 1 (2 for usage errors). */
export async function main(argv: readonly string[]): Promise<number> {
  const program = buildProgram();
  program.exitOverride();
  for (const c of program.commands) c.exitOverride();
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : 2;
    if (error instanceof SyncapError) {
      process.stderr.write(`syncap-node: ${error.message}\n`);
      return error.code === 'E_CONFIG' ? 2 : 1;
    }
    throw error;
  }
}

/** Runs the CLI as a process: sets the exit code, reports unexpected errors with their stack. */
export async function run(argv: readonly string[]): Promise<void> {
  try {
    const code = await main(argv);
    // A command may have set its own failure code (soak: an invariant was violated).
    process.exitCode = code !== 0 ? code : (process.exitCode ?? 0);
  } catch (error) {
    process.stderr.write(`syncap-node: unexpected error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = 1;
  }
}
