import { createWriteStream, mkdirSync, readFileSync, type WriteStream } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Clock, frameGroupRecord, type PolicyConfig } from '@syncap/core';
import { hostTimers, realtimeClock } from '@syncap/host';
import { listenWs, SyncServer, type WsListener } from '@syncap/net';
import type { Logger } from 'pino';
import { DashboardFeed } from './dashboard-feed.js';
import { ServerMetrics } from './server-metrics.js';

export interface ServerAppOptions {
  readonly host?: string;
  readonly port?: number;
  readonly token: string;
  readonly log: Logger;
  /** The rig timebase. Default: this host's realtime clock (PTP-disciplined on a rig). */
  readonly clock?: Clock;
  readonly policy?: PolicyConfig;
  /** Write the global-group index (JSON Lines) into this directory. */
  readonly recordDir?: string;
  /** Send phase adjustments to nodes (see SyncServerOptions.adjust). */
  readonly adjust?: boolean;
}

export interface ServerApp {
  readonly url: string;
  readonly port: number;
  readonly sync: SyncServer;
  close(): Promise<void>;
}

const publicDir = fileURLToPath(new URL('../public/', import.meta.url));
const require = createRequire(import.meta.url);

/** Files the dashboard needs, all served from this package and its dependencies (no CDN). */
const STATIC: Record<string, { file: () => string; type: string }> = {
  '/': { file: () => join(publicDir, 'index.html'), type: 'text/html; charset=utf-8' },
  '/dashboard.js': { file: () => join(publicDir, 'dashboard.js'), type: 'text/javascript; charset=utf-8' },
  '/dashboard.css': { file: () => join(publicDir, 'dashboard.css'), type: 'text/css; charset=utf-8' },
  '/vendor/uPlot.iife.min.js': { file: () => require.resolve('uplot/dist/uPlot.iife.min.js'), type: 'text/javascript; charset=utf-8' },
  '/vendor/uPlot.min.css': { file: () => require.resolve('uplot/dist/uPlot.min.css'), type: 'text/css; charset=utf-8' },
};

/**
 * The syncap-server process: one HTTP port serving the dashboard (/), its live feed
 * (/events), /metrics, /healthz and /api/status, with WebSocket upgrades going to
 * the SyncServer (nodes join ws://host:port).
 */
export async function startServerApp(options: ServerAppOptions): Promise<ServerApp> {
  const log = options.log;
  const sync = new SyncServer({
    token: options.token,
    clock: options.clock ?? realtimeClock,
    timers: hostTimers,
    policy: options.policy,
    adjust: options.adjust,
    log: (level, message, fields) => log[level](fields ?? {}, message),
    onListenerError: (error) => log.error({ err: error }, 'a SyncServer listener threw'),
  });
  const metrics = new ServerMetrics(sync);
  const feed = new DashboardFeed(sync);
  const startedAt = Date.now();
  let index: WriteStream | undefined;
  if (options.recordDir) {
    mkdirSync(options.recordDir, { recursive: true });
    const path = join(options.recordDir, 'global-groups.jsonl');
    index = createWriteStream(path, { flags: 'a' });
    index.on('error', (error) => log.error({ err: error }, `cannot write the global-group index ${path}`));
    sync.onEvent((e) => {
      if (e.type !== 'global-group' || !index || index.writableLength > 16 * 1024 * 1024) return;
      index.write(`${JSON.stringify(frameGroupRecord(e.group))}\n`);
    });
    log.info(`recording the global-group index to ${path}`);
  }

  const http: Server = createServer((req, res) => {
    void route(req, res).catch((error: Error) => {
      log.error({ err: error }, 'request failed');
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end('internal error\n');
    });
  });

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    const asset = STATIC[path];
    if (asset) {
      res.writeHead(200, { 'content-type': asset.type, 'cache-control': 'no-cache' });
      res.end(readFileSync(asset.file()));
      return;
    }
    switch (path) {
      case '/metrics': {
        const { contentType, body } = await metrics.render();
        res.writeHead(200, { 'content-type': contentType }).end(body);
        return;
      }
      case '/healthz': {
        const status = sync.status();
        res
          .writeHead(200, { 'content-type': 'application/json' })
          .end(JSON.stringify({ status: 'ok', uptimeS: Math.round((Date.now() - startedAt) / 1000), nodes: status.nodes.filter((n) => n.connected).length }));
        return;
      }
      case '/api/status':
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(sync.status()));
        return;
      case '/events':
        feed.attach(res);
        return;
      default:
        res.writeHead(404, { 'content-type': 'text/plain' }).end(`no such page: ${path}\n`);
    }
  }

  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    http.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        error.code === 'EADDRINUSE'
          ? Object.assign(new Error(`port ${options.port ?? 8888} on ${host} is in use: choose another with --port`), { code: 'EADDRINUSE' })
          : error,
      ),
    );
    http.listen(options.port ?? 8888, host, () => resolve());
  });
  const port = (http.address() as { port: number }).port;
  const ws: WsListener = await listenWs((c) => sync.accept(c), { server: http });
  const url = `http://${host}:${port}/`;
  return {
    url,
    port,
    sync,
    close: async () => {
      feed.close();
      sync.close();
      await ws.close();
      http.closeAllConnections();
      await new Promise((r) => http.close(r));
      await new Promise<void>((r) => (index ? index.end(() => r()) : r()));
    },
  };
}
