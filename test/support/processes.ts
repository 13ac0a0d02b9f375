import { type ChildProcess, spawn } from 'node:child_process';

export { NODE_BIN, SERVER_BIN } from './cli.js';

export interface Started {
  readonly child: ChildProcess;
  readonly stdout: string[];
  readonly stderr: string[];
}

/** Starts a CLI as a child process, collecting its output line by line. */
export function startProcess(bin: string, args: readonly string[]): Started {
  const child = spawn(process.execPath, [bin, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const stdout: string[] = [];
  const stderr: string[] = [];
  let outRest = '';
  let errRest = '';
  child.stdout!.setEncoding('utf8').on('data', (c: string) => {
    const lines = (outRest + c).split('\n');
    outRest = lines.pop()!;
    stdout.push(...lines);
  });
  child.stderr!.setEncoding('utf8').on('data', (c: string) => {
    const lines = (errRest + c).split('\n');
    errRest = lines.pop()!;
    stderr.push(...lines);
  });
  return { child, stdout, stderr };
}

/** Resolves when `check` returns a value (polled on each output line and every 100 ms), or rejects after `timeoutMs`. */
export function waitFor<T>(check: () => T | undefined | Promise<T | undefined>, timeoutMs: number, what: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const poll = async () => {
      try {
        const v = await check();
        if (v !== undefined) return resolve(v);
      } catch {
        // not ready yet
      }
      if (Date.now() - started > timeoutMs) return reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
      setTimeout(poll, 100);
    };
    void poll();
  });
}

/** Stops a child with SIGTERM and resolves with its exit code. */
export function stop(p: Started): Promise<number | null> {
  return new Promise((resolve) => {
    // Exited, or killed by a signal (a SIGKILLed child has no exit code).
    if (p.child.exitCode !== null || p.child.signalCode !== null) return resolve(p.child.exitCode);
    p.child.once('exit', (code) => resolve(code));
    p.child.kill('SIGTERM');
  });
}
