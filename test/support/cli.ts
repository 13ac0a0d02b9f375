import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const NODE_BIN = fileURLToPath(new URL('../../apps/node/bin/syncap-node.js', import.meta.url));
export const SERVER_BIN = fileURLToPath(new URL('../../apps/server/bin/syncap-server.js', import.meta.url));

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** How long a CLI stopped at its timeout has to exit before it is killed. */
const KILL_AFTER_MS = 5_000;

/** The last `n` lines of a command's output, for an error message. */
function tail(text: string, n: number): string {
  return text.trimEnd().split('\n').slice(-n).join('\n') || '(nothing)';
}

/**
 * Runs a built CLI (`bin`) as a child process, as `npx` runs it, and collects its output. A run
 * that outlasts `timeoutMs` is stopped with SIGTERM and rejected, with the tails of its output:
 * a CLI that stops cleanly on SIGTERM would otherwise look like one that finished.
 */
export function runCli(
  bin: string,
  args: readonly string[],
  options: { input?: string; timeoutMs?: number; env?: NodeJS.ProcessEnv } = {},
): Promise<CliResult> {
  const timeoutMs = options.timeoutMs ?? 60_000;
  return new Promise((resolve, reject) => {
    let timedOut = false;
    const child = execFile(process.execPath, [bin, ...args], { maxBuffer: 256 * 1024 * 1024, env: options.env ?? process.env }, (error, stdout, stderr) => {
      clearTimeout(timer);
      if (timedOut)
        return reject(
          new Error(`${[bin, ...args].join(' ')} did not finish within ${timeoutMs} ms; stdout ended:\n${tail(stdout, 3)}\nstderr ended:\n${tail(stderr, 10)}`),
        );
      if (error && typeof error.code !== 'number') return reject(error);
      resolve({ code: error ? (error.code as number) : 0, stdout, stderr });
    });
    // SIGTERM lets the CLI stop as a user's Ctrl-C would; one that hangs in its shutdown is
    // killed, so that no test leaves a process behind.
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGTERM');
      setTimeout(() => child.kill('SIGKILL'), KILL_AFTER_MS).unref();
    }, timeoutMs);
    if (options.input !== undefined) child.stdin!.end(options.input);
  });
}

/** Runs `syncap-node`. */
export function runNodeCli(args: readonly string[], options: { input?: string; timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): Promise<CliResult> {
  return runCli(NODE_BIN, args, options);
}

/** Runs `syncap-server`. */
export function runServerCli(args: readonly string[], options: { input?: string; timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): Promise<CliResult> {
  return runCli(SERVER_BIN, args, options);
}
