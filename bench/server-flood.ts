/**
 * bench/server-flood: a real `syncap-server` process on 127.0.0.1 under hostile clients,
 * with its file descriptors limited (default 300, as on a small box), next to the same
 * server unloaded in the same run:
 *
 * - idle flood: N WebSocket connections (default 5,000) that never say hello. Reports how
 *   many the server holds (its open descriptors) over time and for how long, its RSS,
 *   /healthz latency during the flood, and how long a real node takes to be welcomed;
 * - echo flood: 50 unauthenticated hellos carrying a 1 MB unknown key. Reports how much
 *   the server's log and RSS grew, and whether a dashboard client (/events) stays connected.
 *
 * With `--baseline <dir>` (a checkout of another commit, its node_modules linked), the
 * same floods run against that tree's server too, in the same run.
 *
 * Usage: npx tsx bench/server-flood.ts [--connections 5000] [--fd-limit 300] [--baseline <dir>]
 * stdout: JSON Lines (units in the key names); stderr: a summary.
 */
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { request } from 'node:http';
import { fileURLToPath } from 'node:url';
import { WebSocket } from 'ws';
import { numberFlag, stringFlag } from './bench-flags.js';

const connections = numberFlag('--connections', 5000);
const fdLimit = numberFlag('--fd-limit', 300);
const baseline = stringFlag('--baseline');
const THIS_TREE = fileURLToPath(new URL('..', import.meta.url)).replace(/\/$/, '');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Server {
  pid: number;
  port: number;
  logBytes: () => number;
  stop: () => Promise<void>;
}

/** syncap-server of a tree, run from its sources (tsx, the tree's own tsconfig paths), with the descriptor limit applied to it alone. */
async function startServer(tree: string): Promise<Server> {
  // No single quote in it: it goes through sh in single quotes.
  const main = `const m = await import(${JSON.stringify(`${tree}/apps/server/src/cli.ts`)}); await m.run(${JSON.stringify(['--port', '0', '--token', 'bench'])});`;
  const child = spawn('sh', ['-c', `ulimit -n ${fdLimit} && exec "${process.execPath}" --import tsx --input-type=module -e '${main}'`], {
    cwd: tree,
    env: { ...process.env, TSX_TSCONFIG_PATH: `${tree}/tsconfig.check.json` },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let logBytes = 0;
  child.stderr!.on('data', (d: Buffer) => {
    logBytes += d.length;
  });
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout!.setEncoding('utf8').on('data', (c: string) => {
      out += c;
      const line = out.split('\n').find((l) => l.startsWith('{"listening"'));
      if (line) resolve(JSON.parse(line).port);
    });
    child.once('exit', (code) => reject(new Error(`syncap-server of ${tree} exited with ${code}`)));
  });
  return {
    pid: child.pid!,
    port,
    logBytes: () => logBytes,
    stop: () =>
      new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

const fds = (pid: number) => readdirSync(`/proc/${pid}/fd`).length;
const rssMiB = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;

function get(port: number, path: string): Promise<{ status: number; ms: number }> {
  const t0 = process.hrtime.bigint();
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path, timeout: 5000, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, ms: Number(process.hrtime.bigint() - t0) / 1e6 }));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve({ status: 0, ms: Number(process.hrtime.bigint() - t0) / 1e6 }));
    req.end();
  });
}

async function healthz(port: number, n: number): Promise<{ p50Ms: number; p99Ms: number; failed: number }> {
  const ms: number[] = [];
  let failed = 0;
  for (let i = 0; i < n; i++) {
    const r = await get(port, '/healthz');
    if (r.status === 200) ms.push(r.ms);
    else failed++;
    await sleep(10);
  }
  ms.sort((a, b) => a - b);
  const pct = (p: number) => Math.round((ms[Math.min(ms.length - 1, Math.floor((p / 100) * ms.length))] ?? Number.NaN) * 100) / 100;
  return { p50Ms: pct(50), p99Ms: pct(99), failed };
}

/** One hello from a real node: whether it was welcomed. */
function hello(port: number, nodeId: string, session: string): Promise<boolean> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}`);
    ws.on('error', () => resolve(false));
    ws.on('close', () => resolve(false));
    ws.on('open', () => ws.send(JSON.stringify({ type: 'hello', v: 1, nodeId, token: 'bench', cameras: [{ id: 'c', fps: 30 }], session })));
    ws.on('message', (d) => {
      resolve(JSON.parse(d.toString()).type === 'welcome');
      ws.close(1000);
    });
  });
}

/** A real node joining as SyncClient does (retrying 250 ms after a refusal): ms until welcomed, and the attempts it took. */
async function join(port: number, nodeId: string): Promise<{ ms: number; attempts: number; welcomed: boolean }> {
  const t0 = Date.now();
  for (let attempts = 1; Date.now() - t0 < 15_000; attempts++) {
    if (await hello(port, nodeId, `${nodeId}-${t0}`)) return { ms: Date.now() - t0, attempts, welcomed: true };
    await sleep(250);
  }
  return { ms: Date.now() - t0, attempts: Number.NaN, welcomed: false };
}

async function idleFlood(tree: string, label: 'none' | 'flood') {
  const s = await startServer(tree);
  await sleep(300);
  const before = { fds: fds(s.pid), rssMiB: rssMiB(s.pid) };
  const sockets: WebSocket[] = [];
  let peakServerFds = before.fds;
  let peakRss = before.rssMiB;
  const sample = setInterval(() => {
    peakServerFds = Math.max(peakServerFds, fds(s.pid));
    peakRss = Math.max(peakRss, rssMiB(s.pid));
  }, 50);
  const t0 = Date.now();
  const flood = (async () => {
    if (label === 'none') return;
    for (let i = 0; i < connections; i++) {
      const ws = new WebSocket(`ws://127.0.0.1:${s.port}`);
      ws.on('error', () => undefined);
      sockets.push(ws);
      if (i % 100 === 99) await sleep(2);
    }
  })();
  const health = healthz(s.port, 200);
  // A real node joins while the flood is under way.
  await sleep(100);
  const node = await join(s.port, `real-${label}`);
  await flood;
  const floodMs = Date.now() - t0;
  const held: Record<string, number> = {};
  for (const at of [1, 3, 6, 10]) {
    await sleep(Math.max(0, t0 + at * 1000 - Date.now()));
    held[`serverFdsAt${at}s`] = fds(s.pid);
  }
  const h = await health;
  clearInterval(sample);
  const openAt10s = sockets.filter((ws) => ws.readyState === WebSocket.OPEN).length;
  for (const ws of sockets) ws.terminate();
  await s.stop();
  return {
    bench: 'server-flood',
    case: 'idle connections that never say hello',
    server: tree === THIS_TREE ? 'this tree' : tree,
    load: label,
    connections: label === 'flood' ? connections : 0,
    floodOpenedInMs: label === 'flood' ? floodMs : 0,
    fdLimit,
    serverFdsBefore: before.fds,
    peakServerFds,
    ...held,
    floodSocketsStillOpenAt10s: openAt10s,
    healthzP50Ms: h.p50Ms,
    healthzP99Ms: h.p99Ms,
    healthzFailed: h.failed,
    realNodeWelcomed: node.welcomed,
    realNodeJoinMs: node.ms,
    realNodeAttempts: node.attempts,
    rssBeforeMiB: Math.round(before.rssMiB),
    peakRssMiB: Math.round(peakRss),
  };
}

async function echoFlood(tree: string, label: string) {
  const s = await startServer(tree);
  await sleep(300);
  const before = { log: s.logBytes(), rssMiB: rssMiB(s.pid) };
  if (label === 'flood') {
    const key = 'k'.repeat(1_000_000);
    await Promise.all(
      Array.from(
        { length: 50 },
        (_, i) =>
          new Promise<void>((resolve) => {
            const ws = new WebSocket(`ws://127.0.0.1:${s.port}`, { maxPayload: 2 * 1024 * 1024 });
            ws.on('error', () => resolve());
            ws.on('close', () => resolve());
            ws.on('open', () => ws.send(`{"type":"hello","v":1,"nodeId":"x${i}","token":"nope","cameras":[{"id":"c","fps":30}],"${key}":1}`));
          }),
      ),
    );
  }
  await sleep(500);
  // A dashboard client: how much the feed sends it first, and whether it is still connected 5 s later.
  const feed = await new Promise<{ firstBytes: number; connectedAfter5s: boolean }>((resolve) => {
    let bytes = 0;
    let first = 0;
    let ended = false;
    const req = request({ host: '127.0.0.1', port: s.port, path: '/events', agent: false }, (res) => {
      res.on('data', (d: Buffer) => {
        bytes += d.length;
        first ||= d.length;
      });
      res.on('close', () => {
        ended = true;
      });
    });
    req.on('error', () => {
      ended = true;
    });
    req.end();
    setTimeout(() => {
      resolve({ firstBytes: first, connectedAfter5s: !ended && bytes > 0 });
      req.destroy();
    }, 5000);
  });
  const row = {
    bench: 'server-flood',
    case: '50 unauthenticated hellos with a 1 MB unknown key',
    server: tree === THIS_TREE ? 'this tree' : tree,
    load: label,
    logGrowthBytes: s.logBytes() - before.log,
    rssGrowthMiB: Math.round((rssMiB(s.pid) - before.rssMiB) * 10) / 10,
    dashboardFirstEventBytes: feed.firstBytes,
    dashboardConnectedAfter5s: feed.connectedAfter5s,
  };
  await s.stop();
  return row;
}

const idle0 = await idleFlood(THIS_TREE, 'none');
const idle1 = await idleFlood(THIS_TREE, 'flood');
const echo0 = await echoFlood(THIS_TREE, 'none');
const echo1 = await echoFlood(THIS_TREE, 'flood');
const baselineRows = baseline ? [await idleFlood(baseline, 'flood'), await echoFlood(baseline, 'flood')] : [];
for (const r of [idle0, idle1, echo0, echo1, ...baselineRows]) process.stdout.write(`${JSON.stringify(r)}\n`);
const at = idle1 as Record<string, unknown>;
process.stderr.write(
  `\nidle flood of ${connections} connections (server fd limit ${fdLimit}): server fds peak ${idle1.peakServerFds} (unloaded ${idle0.peakServerFds}), ` +
    `at 1/3/6/10 s ${at.serverFdsAt1s}/${at.serverFdsAt3s}/${at.serverFdsAt6s}/${at.serverFdsAt10s}; ` +
    `/healthz p50 ${idle1.healthzP50Ms} ms p99 ${idle1.healthzP99Ms} ms, ${idle1.healthzFailed} failed (unloaded p99 ${idle0.healthzP99Ms} ms); ` +
    `a real node ${idle1.realNodeWelcomed ? 'welcomed' : 'NOT welcomed'} in ${idle1.realNodeJoinMs} ms (${idle1.realNodeAttempts} attempts); RSS peak ${idle1.peakRssMiB} MiB (unloaded ${idle0.peakRssMiB} MiB)\n` +
    `echo flood: log +${echo1.logGrowthBytes} B (unloaded +${echo0.logGrowthBytes} B), RSS +${echo1.rssGrowthMiB} MiB, ` +
    `dashboard first event ${echo1.dashboardFirstEventBytes} B, still connected after 5 s: ${echo1.dashboardConnectedAfter5s}\n`,
);
for (const r of baselineRows) process.stderr.write(`baseline ${baseline}: ${JSON.stringify(r)}\n`);
