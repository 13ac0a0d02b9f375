import { closeSync, createWriteStream, mkdirSync, openSync, readFileSync, type WriteStream } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Clock, ConfigError, frameGroupRecord, type PolicyConfig, SyncapError } from '@syncap/core';
import { hostTimers, randomSessionId, realtimeClock } from '@syncap/host';
import { listenWs, SyncServer, type SyncServerOptions, type WsListener } from '@syncap/net';
import type { Logger } from 'pino';
import { DashboardFeed } from './dashboard-feed.js';
import { HttpGuard, READ_TOKEN_COOKIE } from './http-guard.js';
import { ServerMetrics } from './server-metrics.js';

export interface ServerAppOptions {
  readonly host?: string;
  readonly port?: number;
  readonly token: string;
  /**
   * Required by the dashboard, /events, /api/status and /metrics (they show node ids,
   * addresses, cameras and clock offsets): `Authorization: Bearer`, `?token=` or the
   * cookie the dashboard page sets. Default: none (fine on loopback).
   */
  readonly readToken?: string;
  /** Host names (besides IP literals, localhost and this host's name) browsers may use to reach the dashboard. */
  readonly allowHosts?: readonly string[];
  readonly log: Logger;
  /** The rig timebase. Default: this host's realtime clock (PTP-disciplined on a rig). */
  readonly clock?: Clock;
  readonly policy?: PolicyConfig;
  /** Write the global-group index (JSON Lines) into this directory. */
  readonly recordDir?: string;
  /** Send phase adjustments to nodes (see SyncServerOptions.adjust). */
  readonly adjust?: boolean;
  /** Passed to the SyncServer: the report skew bound, the reconnect grace period, the hello deadline. */
  readonly sync?: Pick<SyncServerOptions, 'maxReportSkewNs' | 'reconnectGraceMs' | 'helloTimeoutMs' | 'maxPendingHellos'>;
}

export interface ServerApp {
  readonly url: string;
  readonly port: number;
  readonly sync: SyncServer;
  /** Names this run of the server: global-group records carry it (their ids restart with each run). */
  readonly runId: string;
  close(): Promise<void>;
}

const publicDir = fileURLToPath(new URL('../public/', import.meta.url));
const require = createRequire(import.meta.url);

/** Files the dashboard needs, all served from this package and its dependencies (no CDN). No data: they need no token. */
const STATIC: Record<string, { file: () => string; type: string }> = {
  '/dashboard.js': { file: () => join(publicDir, 'dashboard.js'), type: 'text/javascript; charset=utf-8' },
  '/dashboard.css': { file: () => join(publicDir, 'dashboard.css'), type: 'text/css; charset=utf-8' },
  '/vendor/uPlot.iife.min.js': { file: () => require.resolve('uplot/dist/uPlot.iife.min.js'), type: 'text/javascript; charset=utf-8' },
  '/vendor/uPlot.min.css': { file: () => require.resolve('uplot/dist/uPlot.min.css'), type: 'text/css; charset=utf-8' },
};

/** HTTP deadlines: a client that sends no request, or sends it slowly, is cut off (the dashboard's live feed is a response, not a request). */
const HTTP_TIMEOUTS = { headersTimeout: 5000, requestTimeout: 10_000, connectionsCheckingInterval: 1000 };

/**
 * The syncap-server process: one HTTP port serving the dashboard (/), its live feed
 * (/events), /metrics, /healthz and /api/status, with WebSocket upgrades going to
 * the SyncServer (nodes join ws://host:port). A server that cannot start (the port in
 * use, an address it cannot bind, a record directory it cannot write) throws a
 * SyncapError and leaves nothing running.
 */
export async function startServerApp(options: ServerAppOptions): Promise<ServerApp> {
  const log = options.log;
  const host = options.host ?? '127.0.0.1';
  if (host.trim() === '') throw new ConfigError('--host is empty: give an address (127.0.0.1, or 0.0.0.0 to accept other hosts)');
  const runId = randomSessionId();
  // Before anything runs: a record directory that cannot be written fails the start.
  const index = options.recordDir ? openIndex(options.recordDir) : undefined;
  const sync = new SyncServer({
    token: options.token,
    clock: options.clock ?? realtimeClock,
    timers: hostTimers,
    policy: options.policy,
    adjust: options.adjust,
    ...options.sync,
    log: (level, message, fields) => log[level](fields ?? {}, message),
    onListenerError: (error) => log.error({ err: error }, 'a SyncServer listener threw'),
  });
  const metrics = new ServerMetrics(sync);
  const feed = new DashboardFeed(sync);
  const guard = new HttpGuard({ bindHost: host, allowHosts: options.allowHosts, readToken: options.readToken });
  const startedAt = Date.now();
  if (index) {
    index.stream.on('error', (error) => log.error({ err: error }, `cannot write the global-group index ${index.path}`));
    sync.onEvent((e) => {
      // A slow disk drops index lines rather than buffering without bound.
      if (e.type !== 'global-group' || index.stream.writableLength > 16 * 1024 * 1024) return;
      index.stream.write(`${JSON.stringify({ run: runId, ...frameGroupRecord(e.group) })}\n`);
    });
    log.info({ run: runId }, `recording the global-group index to ${index.path}`);
  }

  const http: Server = createServer(HTTP_TIMEOUTS, (req, res) => {
    void route(req, res).catch((error: Error) => {
      log.error({ err: error }, 'request failed');
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end('internal error\n');
    });
  });

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://x');
    const path = url.pathname;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    const hostProblem = guard.hostProblem(req);
    if (hostProblem) {
      res.writeHead(403, { 'content-type': 'text/plain' }).end(`${hostProblem}\n`);
      return;
    }
    const asset = STATIC[path];
    if (asset) {
      res.writeHead(200, { 'content-type': asset.type, 'cache-control': 'no-cache' });
      res.end(readFileSync(asset.file()));
      return;
    }
    if (path === '/healthz') {
      const status = sync.status();
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ status: 'ok', uptimeS: Math.round((Date.now() - startedAt) / 1000), nodes: status.nodes.filter((n) => n.connected).length }));
      return;
    }
    if (!guard.authorized(req, url)) {
      res
        .writeHead(401, { 'content-type': 'text/plain', 'www-authenticate': 'Bearer realm="syncap"' })
        .end('this server needs its read token: open /?token=<read token>, or send Authorization: Bearer <read token>\n');
      return;
    }
    switch (path) {
      case '/': {
        const cookie = options.readToken
          ? { 'set-cookie': `${READ_TOKEN_COOKIE}=${encodeURIComponent(options.readToken)}; HttpOnly; SameSite=Strict; Path=/` }
          : {};
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-cache', ...cookie });
        res.end(readFileSync(join(publicDir, 'index.html')));
        return;
      }
      case '/metrics': {
        const { contentType, body } = await metrics.render();
        res.writeHead(200, { 'content-type': contentType }).end(body);
        return;
      }
      case '/api/status':
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(sync.status()));
        return;
      case '/events':
        feed.attach(res);
        return;
      default:
        res.writeHead(404, { 'content-type': 'text/plain' }).end(`no such page: ${path.slice(0, 80)}\n`);
    }
  }

  const port = options.port ?? 8888;
  try {
    await new Promise<void>((resolve, reject) => {
      http.once('error', reject);
      http.listen(port, host, () => resolve());
    });
  } catch (error) {
    // Nothing may keep the process alive after a failed start: the policy tick, the feed, the index.
    feed.close();
    sync.close();
    index?.stream.destroy();
    throw bindError(error as NodeJS.ErrnoException, host, port);
  }
  const actualPort = (http.address() as { port: number }).port;
  const ws: WsListener = await listenWs((c) => sync.accept(c), { server: http });
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${actualPort}/`;
  return {
    url,
    port: actualPort,
    sync,
    runId,
    close: async () => {
      feed.close();
      sync.close();
      await ws.close();
      http.closeAllConnections();
      await new Promise((r) => http.close(r));
      await new Promise<void>((r) => (index ? index.stream.end(() => r()) : r()));
    },
  };
}

/** Opens (appends to) the global-group index at once, so that an unusable directory fails the start, not a later write. */
function openIndex(dir: string): { path: string; stream: WriteStream } {
  const path = join(dir, 'global-groups.jsonl');
  let fd: number;
  try {
    mkdirSync(dir, { recursive: true });
    fd = openSync(path, 'a');
  } catch (error) {
    const e = error as NodeJS.ErrnoException;
    throw new SyncapError('E_IO', `--record ${dir}: cannot write ${path} (${e.code ?? e.message}): give a directory this user can write`, { cause: error });
  }
  try {
    return { path, stream: createWriteStream(path, { fd, flags: 'a' }) };
  } catch (error) {
    closeSync(fd);
    throw error;
  }
}

/** What went wrong binding the port, as a SyncapError that names the flag to change. */
function bindError(error: NodeJS.ErrnoException, host: string, port: number): SyncapError {
  const where = `${host}:${port}`;
  switch (error.code) {
    case 'EADDRINUSE':
      return new ConfigError(`port ${port} on ${host} is in use: choose another with --port (0 picks a free one)`, { cause: error });
    case 'EACCES':
      return new ConfigError(`not allowed to listen on ${where} (ports below 1024 need privileges): choose another --port`, { cause: error });
    case 'EADDRNOTAVAIL':
      return new ConfigError(`--host ${host} is not an address of this machine: give one of its addresses, 127.0.0.1 or 0.0.0.0`, { cause: error });
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return new ConfigError(`--host ${host} does not resolve (${error.code}): give an address such as 127.0.0.1 or 0.0.0.0`, { cause: error });
    default:
      return new SyncapError('E_IO', `cannot listen on ${where}: ${error.message}`, { cause: error });
  }
}
