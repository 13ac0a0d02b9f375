import { execFile } from 'node:child_process';
import { NODE_BIN } from '../support/cli.js';

export interface SoakRun {
  readonly code: number;
  readonly firstLine: string;
  readonly summary: {
    ok: boolean;
    eventsDigest: string;
    events: number;
    invariants: Record<string, { checks: number; violations: number }>;
    violations: Array<{ message: string }>;
    faultsInjected: Record<string, number>;
    recoveries: Record<string, { count: number; maxS: number; boundS: number }>;
    frames: { exposed: number; grouped: number; inFlightAtEnd: number; lostByCause: Record<string, number> };
    heapMiBByHour?: number[];
  };
  readonly stderr: string;
}

/** Runs `syncap-node soak` as `npm run soak` does (with --expose-gc) and parses its output. */
export function runSoakCli(args: readonly string[], timeoutMs = 600_000): Promise<SoakRun> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['--expose-gc', NODE_BIN, 'soak', ...args], { maxBuffer: 64 * 1024 * 1024, timeout: timeoutMs }, (error, stdout, stderr) => {
      if (error && typeof error.code !== 'number') return reject(error);
      const lines = stdout.trim().split('\n');
      try {
        resolve({ code: error ? (error.code as number) : 0, firstLine: lines[0] ?? '', summary: JSON.parse(lines.at(-1) ?? ''), stderr });
      } catch {
        reject(new Error(`soak printed no JSON summary:\n${stdout}\n${stderr}`));
      }
    });
  });
}

/** What a failing run says: its violations and the command that replays it. */
export function explain(run: SoakRun): string {
  return `${run.summary.violations
    .slice(0, 5)
    .map((v) => v.message)
    .join('\n')}\n${run.stderr}`;
}
