/**
 * bench/capture: CPU per frame and frames/s for the addon delivering frames to JS
 * (zero-copy and copy modes), next to `v4l2-ctl --stream-mmap --stream-to=/dev/null`
 * on the same device, format and rate in the same run; DQBUF-to-JS-callback latency p50/p99.
 *
 * Needs V4L2 devices: `npm run bench:capture` runs it inside the vivid VM where needed.
 * stdout: one JSON object per measurement. stderr: a readable summary.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { listDevices, V4l2Camera, type V4l2Frame } from '@syncap/native-v4l2';
import { build } from 'hdr-histogram-js';

const args = process.argv.slice(2);
const arg = (name: string, fallback: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1]! : fallback;
};
const frames = Number(arg('--frames', '300'));
const width = Number(arg('--width', '320'));
const height = Number(arg('--height', '180'));
const fps = Number(arg('--fps', '60'));
const pixelFormat = arg('--format', 'YUYV');
const device = arg('--device', listDevices().find((d) => d.canCapture)?.path ?? '/dev/video0');

/** CPU time of each thread of this process so far, ns, by thread id (Linux /proc). */
const TICK_NS = 1e9 / Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
function threadCpuNs(): Map<string, { name: string; ns: number }> {
  const out = new Map<string, { name: string; ns: number }>();
  for (const tid of readdirSync('/proc/self/task')) {
    try {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const name = tid === String(process.pid) ? 'JS main thread' : readFileSync(`/proc/self/task/${tid}/comm`, 'utf8').trim();
      out.set(tid, { name, ns: (Number(fields[11]) + Number(fields[12])) * TICK_NS });
    } catch {
      // the thread ended meanwhile
    }
  }
  return out;
}

/** CPU per frame by thread name between two snapshots, ns. */
function cpuByThread(
  before: Map<string, { name: string; ns: number }>,
  after: Map<string, { name: string; ns: number }>,
  count: number,
): Record<string, number> {
  const byName: Record<string, number> = {};
  for (const [tid, a] of after) {
    const ns = a.ns - (before.get(tid)?.ns ?? 0);
    if (ns > 0) byName[a.name] = (byName[a.name] ?? 0) + ns;
  }
  return Object.fromEntries(Object.entries(byName).map(([k, v]) => [k, Math.round(v / count)]));
}

function cpuNs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) * 1000;
}

async function measureAddon(mode: 'zero-copy' | 'copy', delivery: 'thread' | 'event-loop' = 'thread') {
  const cam = new V4l2Camera(device, { id: 'bench', width, height, pixelFormat, fps, mode, buffers: 8, delivery });
  await cam.open();
  const latency = build({ numberOfSignificantValueDigits: 3 });
  let count = 0;
  let firstNs = 0n;
  let lastNs = 0n;
  let cpuStart = 0;
  let cpuEnd = 0;
  let threadsStart = new Map<string, { name: string; ns: number }>();
  let threadsEnd = threadsStart;
  // Steady state, as for v4l2-ctl: the first `frames` frames warm up (JIT, allocation), the
  // next 3 × `frames` are measured.
  const done = new Promise<void>((resolve) => {
    cam.onFrame((f) => {
      const frame = f as V4l2Frame;
      if (count === frames) {
        threadsStart = threadCpuNs();
        cpuStart = cpuNs();
        firstNs = process.hrtime.bigint();
      }
      if (count >= frames) latency.recordValue(Number(frame.arrivalNs! - frame.dqNs));
      frame.data!.release();
      count++;
      if (count === 4 * frames) {
        cpuEnd = cpuNs();
        threadsEnd = threadCpuNs();
        lastNs = process.hrtime.bigint();
        resolve();
      }
    });
  });
  await cam.start();
  await done;
  const cpu = cpuEnd - cpuStart;
  await cam.close();
  const wallNs = Number(lastNs - firstNs);
  return {
    mode,
    delivery,
    cpuNsPerFrame: Math.round(cpu / (3 * frames)),
    framesPerSec: Number((((3 * frames) / wallNs) * 1e9).toFixed(2)),
    latencyP50Us: latency.getValueAtPercentile(50) / 1000,
    latencyP99Us: latency.getValueAtPercentile(99) / 1000,
    overflows: cam.stats().overflows,
    /** Where the CPU went, per frame by thread (10 ms tick resolution over the whole window), ns. */
    cpuNsPerFrameByThread: cpuByThread(threadsStart, threadsEnd, 3 * frames),
  };
}

/** CPU (ns) and wall time (ns) of one `v4l2-ctl --stream-mmap` run of `count` frames. */
function runV4l2Ctl(count: number): { cpuNs: number; wallNs: number } {
  // `times` prints the shell's and its children's user/sys CPU: the second line is v4l2-ctl's.
  const script = `v4l2-ctl -d ${device} --set-fmt-video=width=${width},height=${height},pixelformat=${pixelFormat} --set-parm=${fps} >/dev/null && \
start=$(date +%s%N); v4l2-ctl -d ${device} --stream-mmap=8 --stream-to=/dev/null --stream-count=${count} 2>/dev/null; end=$(date +%s%N); echo "$start $end"; times`;
  const out = execFileSync('bash', ['-c', script], { encoding: 'utf8' }).trim().split('\n');
  const [start, end] = out[0]!.split(' ').map(Number) as [number, number];
  const parse = (t: string) => {
    const m = /(\d+)m([\d.]+)s/.exec(t)!;
    return (Number(m[1]) * 60 + Number(m[2])) * 1e9;
  };
  const [user, sys] = out[2]!.split(/\s+/);
  return { cpuNs: parse(user!) + parse(sys!), wallNs: end - start };
}

/**
 * v4l2-ctl's steady-state cost per frame: runs of `frames` and of 4 × `frames`, differenced,
 * so process start-up (exec, open, REQBUFS, mmap) is not charged to its frames — the addon's
 * figure is also measured from its first frame on.
 */
function measureV4l2Ctl() {
  const short = runV4l2Ctl(frames);
  const long = runV4l2Ctl(4 * frames);
  return {
    cpuNsPerFrame: Math.round((long.cpuNs - short.cpuNs) / (3 * frames)),
    framesPerSec: Number((((3 * frames) / (long.wallNs - short.wallNs)) * 1e9).toFixed(2)),
  };
}

/**
 * The floor for any design that runs JS once per frame: CPU of one bare event-loop
 * wake-up of this process at the frame rate (a timer that does nothing).
 */
async function measureBareWakeup(): Promise<{ cpuNsPerFrame: number }> {
  const n = 3 * frames;
  let count = 0;
  const start = cpuNs();
  await new Promise<void>((resolve) => {
    const h = setInterval(() => {
      if (++count === n) {
        clearInterval(h);
        resolve();
      }
    }, 1000 / fps);
  });
  return { cpuNsPerFrame: Math.round((cpuNs() - start) / n) };
}

const peer = measureV4l2Ctl();
const bare = await measureBareWakeup();
const zeroCopy = await measureAddon('zero-copy');
const copy = await measureAddon('copy');
const eventLoop = await measureAddon('zero-copy', 'event-loop');
const base = { bench: 'capture', device, width, height, pixelFormat, fps, frames };
const rows = [
  { ...base, impl: 'v4l2-ctl --stream-mmap', ...peer },
  { ...base, impl: 'node bare wake-up (floor)', ...bare, ratioToV4l2Ctl: Number((bare.cpuNsPerFrame / peer.cpuNsPerFrame).toFixed(2)) },
  { ...base, impl: 'syncap zero-copy', ...zeroCopy, ratioToV4l2Ctl: Number((zeroCopy.cpuNsPerFrame / peer.cpuNsPerFrame).toFixed(2)) },
  { ...base, impl: 'syncap copy', ...copy, ratioToV4l2Ctl: Number((copy.cpuNsPerFrame / peer.cpuNsPerFrame).toFixed(2)) },
  { ...base, impl: 'syncap zero-copy event-loop', ...eventLoop, ratioToV4l2Ctl: Number((eventLoop.cpuNsPerFrame / peer.cpuNsPerFrame).toFixed(2)) },
];
for (const r of rows) process.stdout.write(`${JSON.stringify(r)}\n`);
process.stderr.write(
  `\ncapture: ${device} ${width}x${height} ${pixelFormat} @ ${fps} fps, steady state over ${3 * frames} frames after ${frames} warm-up frames\n`,
);
for (const r of rows) {
  const extra = 'latencyP50Us' in r ? `  DQBUF→JS p50 ${r.latencyP50Us} µs p99 ${r.latencyP99Us} µs` : '';
  const ratio = 'ratioToV4l2Ctl' in r ? `  ×v4l2-ctl ${r.ratioToV4l2Ctl}` : '';
  const rate = 'framesPerSec' in r ? `${String(r.framesPerSec).padStart(7)} frames/s` : ''.padStart(16);
  process.stderr.write(`${r.impl.padEnd(30)} ${String(r.cpuNsPerFrame).padStart(9)} ns CPU/frame ${rate}${extra}${ratio}\n`);
}
for (const r of [zeroCopy, copy, eventLoop]) {
  const parts = Object.entries(r.cpuNsPerFrameByThread)
    .sort((a, b) => b[1] - a[1])
    .map(([name, ns]) => `${name} ${(ns / 1e6).toFixed(2)} ms`);
  process.stderr.write(`  ${r.mode} ${r.delivery} CPU per frame by thread: ${parts.join(', ')}\n`);
}
const best = Math.min(zeroCopy.cpuNsPerFrame, eventLoop.cpuNsPerFrame);
process.stderr.write(`target: zero-copy CPU per frame ≤ 1.1× v4l2-ctl's: ${best <= peer.cpuNsPerFrame * 1.1 ? 'met' : 'NOT met'}\n`);
