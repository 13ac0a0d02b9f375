import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const NODE_BIN = fileURLToPath(new URL('../../apps/node/bin/syncap-node.js', import.meta.url));
export const SERVER_BIN = fileURLToPath(new URL('../../apps/server/bin/syncap-server.js', import.meta.url));

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a built CLI (`bin`) as a child process, as `npx` runs it, and collects its output. */
export function runCli(
  bin: string,
  args: readonly string[],
  options: { input?: string; timeoutMs?: number; env?: NodeJS.ProcessEnv } = {},
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      process.execPath,
      [bin, ...args],
      { maxBuffer: 256 * 1024 * 1024, timeout: options.timeoutMs ?? 60_000, env: options.env ?? process.env },
      (error, stdout, stderr) => {
        if (error && typeof error.code !== 'number') return reject(error);
        resolve({ code: error ? (error.code as number) : 0, stdout, stderr });
      },
    );
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
