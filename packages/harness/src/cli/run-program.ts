import { SyncapError } from '@syncap/core';
import { type Command, CommanderError } from 'commander';

/**
 * Runs a syncap CLI program as a process: a usage error exits 2 (commander printed it),
 * a typed error prints one line naming the problem and exits 1 (2 for bad configuration),
 * anything else is a bug and prints its stack. A command may set its own failure code
 * (soak: an invariant was violated).
 */
export async function runProgram(program: Command, argv: readonly string[]): Promise<void> {
  // A reader that goes away (`| head`) must not crash a capture that is recording: later writes are dropped.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
  });
  program.exitOverride();
  for (const c of program.commands) c.exitOverride();
  try {
    await program.parseAsync([...argv], { from: 'user' });
    process.exitCode ??= 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      process.exitCode = error.exitCode === 0 ? 0 : 2;
      return;
    }
    if (error instanceof SyncapError) {
      process.stderr.write(`${program.name()}: ${error.message}\n`);
      process.exitCode = error.code === 'E_CONFIG' ? 2 : 1;
      return;
    }
    process.stderr.write(`${program.name()}: unexpected error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = 1;
  }
}
