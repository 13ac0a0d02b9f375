import { runProgram } from '@syncap/harness';
import { Command } from 'commander';
import { captureCommand } from './commands/capture-command.js';
import { configCommand } from './commands/config-command.js';
import { controlsCommand } from './commands/controls-command.js';
import { devicesCommand } from './commands/devices-command.js';
import { joinCommand } from './commands/join-command.js';
import { recordCommand } from './commands/record-command.js';
import { replayCommand } from './commands/replay-command.js';
import { simCommand } from './commands/sim-command.js';
import { soakCommand } from './commands/soak-command.js';

/** The `syncap-node` program. */
export function buildProgram(): Command {
  return new Command('syncap-node')
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
    .addCommand(configCommand())
    .addCommand(recordCommand());
}

/** Runs the CLI as a process (`bin/syncap-node.js`): sets the exit code, one line per typed error. */
export function run(argv: readonly string[]): Promise<void> {
  return runProgram(buildProgram(), argv);
}
