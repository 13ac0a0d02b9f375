import { randomBytes } from 'node:crypto';
import { type Command, InvalidArgumentError } from 'commander';
import { createLogger } from '../logger.js';
import { startServerApp } from '../server-app.js';

function port(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n > 65535) throw new InvalidArgumentError(`--port takes a TCP port (0–65535; 0 picks a free one), got "${value.slice(0, 40)}"`);
  return n;
}

interface ServeFlags {
  port: number;
  host: string;
  token?: string;
  record?: string;
  adjust?: boolean;
}

/**
 * What `syncap-server` does without a subcommand: the sync server, its dashboard,
 * /metrics and /healthz. Its options are the program's own (so `--help` lists them).
 */
export function addServeOptions(program: Command): Command {
  return program
    .option('--port <port>', 'TCP port for nodes, dashboard and metrics', port, 8888)
    .option('--host <address>', 'address to bind (0.0.0.0 to accept other hosts)', '127.0.0.1')
    .option('--token <token>', 'token nodes must present (default: $SYNCAP_TOKEN, else a random one is printed)')
    .option('--record <dir>', 'write the global-group index (global-groups.jsonl) into this directory')
    .option('--adjust', 'send shift-phase commands to nodes whose phase is off the reference (for nodes without PTP or phase lock)')
    .action(async (flags: ServeFlags) => {
      const log = createLogger('syncap-server');
      let token = flags.token ?? process.env.SYNCAP_TOKEN;
      if (!token) {
        token = randomBytes(12).toString('base64url');
        log.warn(`no --token or SYNCAP_TOKEN given: nodes must use --token ${token}`);
      }
      const app = await startServerApp({ host: flags.host, port: flags.port, token, log, recordDir: flags.record, adjust: flags.adjust });
      log.info(`syncap-server listening: nodes join ws://${flags.host}:${app.port}, dashboard ${app.url}, metrics ${app.url}metrics`);
      // Machine-readable first line for scripts and tests.
      if (!process.stdout.isTTY) process.stdout.write(`${JSON.stringify({ listening: app.url, port: app.port })}\n`);
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      log.info('shutting down');
      await app.close();
    });
}
