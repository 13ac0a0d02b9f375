import { SyncapError } from '@syncap/core';
import { Command, CommanderError } from 'commander';
import { demoCommand } from './commands/demo-command.js';
import { addServeOptions } from './commands/serve-command.js';

/** The `syncap-server` program: the sync server itself, and `demo` (the server with simulated nodes). */
export function buildProgram(): Command {
  const program = new Command('syncap-server')
    .description('syncap sync server: nodes join over WebSocket (ws://host:port); dashboard at /, Prometheus metrics at /metrics, /healthz')
    .version('0.1.0')
    .showHelpAfterError('(run with --help for usage)')
    // `demo --port 0` is demo's --port, not the server's: options after a command are the command's.
    .enablePositionalOptions()
    .addCommand(demoCommand());
  return addServeOptions(program);
}

/** Runs the CLI; typed errors become one clear line and a non-zero exit. */
export async function run(argv: readonly string[]): Promise<void> {
  const program = buildProgram();
  program.exitOverride();
  for (const c of program.commands) c.exitOverride();
  try {
    await program.parseAsync([...argv], { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) {
      process.exitCode = error.exitCode === 0 ? 0 : 2;
      return;
    }
    const code = (error as NodeJS.ErrnoException).code;
    if (error instanceof SyncapError || code === 'EADDRINUSE' || code === 'EACCES') {
      process.stderr.write(`syncap-server: ${(error as Error).message}\n`);
      process.exitCode = error instanceof SyncapError && error.code === 'E_CONFIG' ? 2 : 1;
      return;
    }
    process.stderr.write(`syncap-server: unexpected error: ${(error as Error).stack ?? String(error)}\n`);
    process.exitCode = 1;
  }
}
