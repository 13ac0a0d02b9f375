import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const NODE_BIN = fileURLToPath(new URL('../../apps/node/bin/syncap-node.js', import.meta.url));

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the built `syncap-node` CLI as a child process (the same file `npx syncap-node` runs). */
export function runNodeCli(args: readonly string[], options: { input?: string; timeoutMs?: number } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      process.execPath,
      [NODE_BIN, ...args],
      { maxBuffer: 256 * 1024 * 1024, timeout: options.timeoutMs ?? 60_000 },
      (error, stdout, stderr) => {
        if (error && typeof error.code !== 'number') return reject(error);
        resolve({ code: error ? (error.code as number) : 0, stdout, stderr });
      },
    );
    if (options.input !== undefined) child.stdin!.end(options.input);
  });
}
