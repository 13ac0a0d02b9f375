import { randomBytes } from 'node:crypto';
import { collect, positiveNumber } from '@syncap/harness';
import { tokenFromSources } from '@syncap/host';
import { type Command, InvalidArgumentError } from 'commander';
import { isLoopback } from '../http-guard.js';
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
  tokenFile?: string;
  readToken?: string;
  readTokenFile?: string;
  allowHost: string[];
  record?: string;
  adjust?: boolean;
  maxReportSkewS: number;
  reconnectGraceS: number;
  helloTimeoutS: number;
}

/**
 * What `syncap-server` does without a subcommand: the sync server, its dashboard,
 * /metrics and /healthz. Its options are the program's own (so `--help` lists them).
 */
export function addServeOptions(program: Command): Command {
  return program
    .option('--port <port>', 'TCP port for nodes, dashboard and metrics', port, 8888)
    .option('--host <address>', 'address to bind (0.0.0.0 to accept other hosts: then give a --read-token)', '127.0.0.1')
    .option('--token <token>', 'token nodes must present (default: $SYNCAP_TOKEN, else a random one is printed); it shows in ps: prefer --token-file')
    .option('--token-file <path>', 'read the node token from this file (mode 600)')
    .option('--read-token <token>', 'token the dashboard, /events, /api/status and /metrics require (default: $SYNCAP_READ_TOKEN; none on loopback)')
    .option('--read-token-file <path>', 'read the read token from this file (mode 600)')
    .option('--allow-host <name>', 'a host name browsers may use for the dashboard, besides IP addresses, localhost and this host (repeatable)', collect, [])
    .option('--record <dir>', 'write the global-group index (global-groups.jsonl) into this directory')
    .option('--adjust', 'send shift-phase commands to nodes whose phase is off the reference (for nodes without PTP or phase lock)')
    .option('--max-report-skew-s <s>', "reject group reports further than this from the server's clock", positiveNumber('--max-report-skew-s'), 5)
    .option(
      '--reconnect-grace-s <s>',
      'keep a node whose connection dropped this long for it to reconnect, then forget it',
      positiveNumber('--reconnect-grace-s'),
      10,
    )
    .option('--hello-timeout-s <s>', 'close connections that have not said hello within this long', positiveNumber('--hello-timeout-s'), 5)
    .action(async (flags: ServeFlags) => {
      const log = createLogger('syncap-server');
      let token = tokenFromSources({ value: flags.token, file: flags.tokenFile, env: process.env.SYNCAP_TOKEN }, { flag: '--token', file: '--token-file' });
      const readToken = tokenFromSources(
        { value: flags.readToken, file: flags.readTokenFile, env: process.env.SYNCAP_READ_TOKEN },
        { flag: '--read-token', file: '--read-token-file' },
      );
      if (!token) {
        token = randomBytes(12).toString('base64url');
        log.warn(`no --token, --token-file or SYNCAP_TOKEN given: nodes must use --token ${token}`);
      }
      if (!isLoopback(flags.host) && !readToken)
        log.warn(
          `--host ${flags.host} accepts other hosts, and the dashboard, /events, /api/status and /metrics need no token: ` +
            'anyone who reaches this port sees node ids, addresses, cameras and clock offsets. Give --read-token-file (or --read-token).',
        );
      const app = await startServerApp({
        host: flags.host,
        port: flags.port,
        token,
        readToken,
        allowHosts: flags.allowHost,
        log,
        recordDir: flags.record,
        adjust: flags.adjust,
        sync: {
          maxReportSkewNs: flags.maxReportSkewS * 1e9,
          reconnectGraceMs: flags.reconnectGraceS * 1000,
          helloTimeoutMs: flags.helloTimeoutS * 1000,
        },
      });
      log.info(`syncap-server listening: nodes join ws://${flags.host}:${app.port}, dashboard ${app.url}, metrics ${app.url}metrics`);
      // Machine-readable first line for scripts and tests.
      if (!process.stdout.isTTY) process.stdout.write(`${JSON.stringify({ listening: app.url, port: app.port, run: app.runId })}\n`);
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      log.info('shutting down');
      await app.close();
    });
}
