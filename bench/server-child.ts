/**
 * The process under load for bench/server.ts: a SyncServer (mode "sync") or a plain
 * ws echo server (mode "echo") on 127.0.0.1. Replies to IPC "stats" with counters,
 * latency percentiles and RSS.
 */

import { hostTimers } from '@syncap/host';
import { listenWs, SyncServer } from '@syncap/net';
import { build } from 'hdr-histogram-js';
import { WebSocketServer } from 'ws';

const mode = process.argv[2] ?? 'sync';
const clock = { nowNs: () => process.hrtime.bigint() };
const latency = build({ numberOfSignificantValueDigits: 3 });
let port = 0;
let server: SyncServer | undefined;
let echoed = 0;
/** Emission instants by group time (the parent knows when it sent each slot's last report). */
let emissions: Array<[string, string]> = [];

if (mode === 'sync') {
  server = new SyncServer({
    token: 'bench',
    clock,
    timers: hostTimers,
    policy: { name: 'window', toleranceNs: 2_000_000, maxWaitNs: 1_000_000_000 },
    idleTimeoutMs: 60_000,
  });
  server.onEvent((e) => {
    if (e.type === 'global-group') {
      latency.recordValue(Math.max(0, e.latencyNs));
      if (emissions.length < 100_000) emissions.push([e.group.timeNs.toString(), process.hrtime.bigint().toString()]);
    }
  });
  port = (await listenWs((c) => server!.accept(c), { host: '127.0.0.1', port: 0 })).port;
} else {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise((r) => wss.once('listening', r));
  wss.on('connection', (socket) => {
    socket.on('message', (data) => {
      echoed++;
      socket.send(data);
    });
  });
  port = (wss.address() as { port: number }).port;
}

process.on('message', (msg: { type: string }) => {
  if (msg.type === 'exit') process.exit(0); // a clean exit writes --cpu-prof output
  if (msg.type === 'stats') {
    const c = server?.counters;
    process.send!({
      type: 'stats',
      framesReported: c?.framesReported ?? 0,
      globalGroups: c?.globalGroups ?? 0,
      incomplete: c?.incompleteGlobalGroups ?? 0,
      echoed,
      latencyP50Ns: latency.totalCount ? latency.getValueAtPercentile(50) : 0,
      latencyP99Ns: latency.totalCount ? latency.getValueAtPercentile(99) : 0,
      rssBytes: process.memoryUsage().rss,
      emissions,
    });
    latency.reset();
    emissions = [];
  }
});
process.send!({ type: 'ready', port });
