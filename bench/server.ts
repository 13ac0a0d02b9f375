/**
 * bench/server: N nodes × M cameras at F fps stream group metadata to one SyncServer
 * (a separate process) over loopback WebSockets. Reports sustained frame reports/s,
 * exposure-to-global-group latency p50/p99 and server RSS, next to a plain ws echo
 * server under the same messages in the same run.
 *
 * Usage: npm run bench:server [-- --nodes 100 --cameras 10 --fps 60 --seconds 10]
 * stdout: JSON Lines; stderr: summary. Target: 1,000 cameras at 60 fps with p99 ≤ 10 ms.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { WebSocket } from 'ws';
import { numberFlag } from './bench-flags.js';

const nodes = numberFlag('--nodes', 100);
const cameras = numberFlag('--cameras', 10);
const fps = numberFlag('--fps', 60);
const seconds = numberFlag('--seconds', 10);
const periodNs = 1e9 / fps;

interface Stats {
  framesReported: number;
  globalGroups: number;
  incomplete: number;
  echoed: number;
  latencyP50Ns: number;
  latencyP99Ns: number;
  rssBytes: number;
  emissions: Array<[string, string]>;
}

async function startChild(mode: 'sync' | 'echo'): Promise<{ child: ChildProcess; port: number }> {
  const child = fork(fileURLToPath(new URL('./server-child.ts', import.meta.url)), [mode], {
    execArgv: ['--import', 'tsx', ...(process.env.SYNCAP_BENCH_PROFILE ? ['--cpu-prof', '--cpu-prof-dir=/tmp/prof'] : [])],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const port = await new Promise<number>((resolve) => child.once('message', (m: { port: number }) => resolve(m.port)));
  return { child, port };
}

function stats(child: ChildProcess): Promise<Stats> {
  return new Promise((resolve) => {
    child.once('message', (m) => resolve(m as Stats));
    child.send({ type: 'stats' });
  });
}

/** Opens n connections one after another; `onOpen` runs as each opens (a node says hello at once, as SyncClient does). */
async function connect(port: number, n: number, onOpen: (ws: WebSocket, i: number) => void = () => {}): Promise<WebSocket[]> {
  const sockets: WebSocket[] = [];
  for (let i = 0; i < n; i++) {
    const ws = new WebSocket(`ws://127.0.0.1:${port}`);
    await new Promise((r, j) => {
      ws.once('open', r);
      ws.once('error', j);
    });
    onOpen(ws, i);
    sockets.push(ws);
  }
  return sockets;
}

async function run(mode: 'sync' | 'echo') {
  const { child, port } = await startChild(mode);
  const camIds = Array.from({ length: cameras }, (_, c) => `cam${c}`);
  // The server closes connections that wait for their hello (more than 64 at once, or for 5 s): say it on open.
  const sockets = await connect(port, nodes, (ws, i) => {
    if (mode === 'sync')
      ws.send(
        JSON.stringify({
          type: 'hello',
          v: 1,
          nodeId: `node${i}`,
          token: 'bench',
          cameras: camIds.map((id) => ({ id, fps })),
          capabilities: [],
          session: `s${i}`,
        }),
      );
  });
  let rtts: number[] = [];
  if (mode === 'echo') {
    for (const ws of sockets) ws.on('message', (d) => rtts.push(Number(process.hrtime.bigint() - BigInt(JSON.parse(d.toString()).sentNs))));
  }
  await new Promise((r) => setTimeout(r, 300));
  const batch = new Array<number>(nodes).fill(0);
  /** When the last report of each grid slot left this process (ns, CLOCK_MONOTONIC, shared with the server). */
  const lastSent = new Map<string, bigint>();
  let k = Math.ceil(Number(process.hrtime.bigint()) / periodNs);
  let sent = 0;
  const endAt = Date.now() + seconds * 1000;
  const warmupEnd = Date.now() + 1000;
  let warm = false;
  let atWarm: Promise<Stats> | undefined;
  // Every frame period, each node reports its group for grid slot k (as phase-locked nodes would).
  await new Promise<void>((resolve) => {
    const tick = () => {
      const nowNs = Number(process.hrtime.bigint());
      while (k * periodNs <= nowNs) {
        const t = BigInt(Math.round(k * periodNs));
        for (let i = 0; i < nodes; i++) {
          const frames: Record<string, { seq: number; t: string }> = {};
          for (const id of camIds) frames[id] = { seq: k % 0xffffffff, t: t.toString() };
          const group = { id: k, t: t.toString(), spanNs: 0, frames };
          const msg =
            mode === 'sync'
              ? { type: 'groups', batch: batch[i]!++, groups: [group], backlogDropped: 0 }
              : { type: 'groups', sentNs: String(process.hrtime.bigint()), groups: [group] };
          sockets[i]!.send(JSON.stringify(msg));
          sent += cameras;
        }
        lastSent.set(t.toString(), process.hrtime.bigint());
        k++;
      }
      if (!warm && Date.now() >= warmupEnd) {
        warm = true;
        atWarm = stats(child);
        rtts = [];
        sent = 0;
      }
      if (Date.now() >= endAt) resolve();
      else setTimeout(tick, Math.max(0, (k * periodNs - Number(process.hrtime.bigint())) / 1e6));
    };
    tick();
  });
  const measuredS = seconds - 1;
  await new Promise((r) => setTimeout(r, 200));
  const w = await atWarm!;
  const s = await stats(child);
  s.framesReported -= w.framesReported;
  s.echoed -= w.echoed;
  s.globalGroups -= w.globalGroups;
  s.incomplete -= w.incomplete;
  for (const ws of sockets) ws.terminate();
  child.send({ type: 'exit' });
  await new Promise((r) => child.once('exit', r));
  rtts.sort((a, b) => a - b);
  const pctOf = (xs: number[], p: number) => xs[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))] ?? 0;
  const pct = (p: number) => pctOf(rtts, p);
  // Server emission latency: from the moment the slot's last report was sent to the group's emission.
  const emitted = s.emissions
    .map(([t, at]) => (lastSent.has(t) ? Number(BigInt(at) - lastSent.get(t)!) : undefined))
    .filter((x): x is number => x !== undefined)
    .sort((a, b) => a - b);
  return {
    sentFramesPerSec: Math.round(sent / measuredS),
    processedFramesPerSec: mode === 'sync' ? Math.round(s.framesReported / measuredS) : Math.round((s.echoed * cameras) / measuredS),
    // sync: last report sent → global group emitted; echo: message sent → echo received (round trip).
    latencyP50Ms: (mode === 'sync' ? pctOf(emitted, 50) : pct(50)) / 1e6,
    latencyP99Ms: (mode === 'sync' ? pctOf(emitted, 99) : pct(99)) / 1e6,
    ...(mode === 'sync' ? { exposureToEmissionP50Ms: s.latencyP50Ns / 1e6, exposureToEmissionP99Ms: s.latencyP99Ns / 1e6 } : {}),
    serverRssMiB: Math.round((s.rssBytes / 1024 / 1024) * 10) / 10,
    globalGroups: s.globalGroups,
    incompleteGroups: s.incomplete,
  };
}

const base = { bench: 'server', nodes, cameras: nodes * cameras, fps, seconds };
const sync = await run('sync');
const echo = await run('echo');
const rows = [
  { ...base, impl: 'syncap SyncServer', ...sync },
  { ...base, impl: 'ws echo server', ...echo },
];
for (const r of rows) process.stdout.write(`${JSON.stringify(r)}\n`);
process.stderr.write(
  `\nserver: ${nodes} nodes × ${cameras} cameras at ${fps} fps (${(nodes * cameras * fps).toLocaleString('en')} frame reports/s offered), ${seconds} s\n`,
);
for (const r of rows) {
  process.stderr.write(
    `${r.impl.padEnd(20)} ${r.processedFramesPerSec.toLocaleString('en').padStart(10)} frames/s  latency p50 ${r.latencyP50Ms.toFixed(2)} ms p99 ${r.latencyP99Ms.toFixed(2)} ms  RSS ${r.serverRssMiB} MiB\n`,
  );
}
const ok = sync.processedFramesPerSec >= 0.95 * nodes * cameras * fps && sync.latencyP99Ms <= 10;
process.stderr.write(`target (all ${nodes * cameras * fps} frame reports/s processed, p99 ≤ 10 ms): ${ok ? 'met' : 'NOT met'}\n`);
