/**
 * bench/capture's syncap side, run by bench/capture.ts in a process of its own with plain
 * `node` over the built packages, as `syncap-node` runs: tsx's module loader keeps a thread that
 * costs CPU while idle (9 ms/s on the host, 55 ms/s in the TCG VM, 0.45 ms per frame at
 * 4 × 30 fps), which no user pays. Plain JavaScript for that reason.
 *
 *   node bench/capture-syncap.mjs '{"devices":[...],"width":640,"height":360,"fps":30,"delivery":"event-loop","seconds":20,"warmupSeconds":3}'
 *
 * The cameras start together (startAll); every frame goes to a JS listener that releases it.
 * CPU is the process's (all threads) over a steady-state window after the warm-up. stdout:
 * one JSON object.
 *
 * With "delivery":"wakeup-floor" it opens no camera: a timer wakes the event loop as often as
 * the cameras' frames would (fps × devices per second) and does nothing, which is what one
 * wake-up of Node's event loop costs here, the floor of any delivery that wakes JS per frame.
 */
import { startAll, V4l2Camera } from '@syncap/native-v4l2';
import hdr from 'hdr-histogram-js';

const spec = JSON.parse(process.argv[2] ?? '{}');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const cpuNs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) * 1000;
};

if (spec.delivery === 'wakeup-floor') {
  const periodMs = 1000 / (spec.fps * spec.devices.length);
  let wakes = 0;
  const timer = setInterval(() => wakes++, periodMs);
  await sleep(spec.warmupSeconds * 1000);
  const w0 = wakes;
  const c0 = cpuNs();
  await sleep(spec.seconds * 1000);
  const n = wakes - w0;
  const cpuMsPerWake = (cpuNs() - c0) / Math.max(1, n) / 1e6;
  clearInterval(timer);
  process.stdout.write(
    `${JSON.stringify({ cpuMsPerFrame: Number(cpuMsPerWake.toFixed(4)), framesPerSec: Number((n / spec.seconds).toFixed(2)), drops: 0 })}\n`,
  );
  process.exit(0);
}

const cams = spec.devices.map(
  (p, i) =>
    new V4l2Camera(p, {
      id: `c${i}`,
      width: spec.width,
      height: spec.height,
      pixelFormat: 'YUYV',
      fps: spec.fps,
      buffers: 4,
      delivery: spec.delivery,
      ...(spec.coalesceMs !== undefined ? { coalesceMs: spec.coalesceMs } : {}),
    }),
);
for (const c of cams) await c.open();
// The listener does what the peers do with a frame — count it and give it back — plus one
// subtraction: latencies go into a preallocated array, into the histogram after the window
// (recording there per frame cost ~10 % of the process's CPU under TCG, which no peer pays).
const latenciesNs = new Float64Array(Math.ceil(spec.seconds * spec.fps * spec.devices.length * 1.5) + 64);
let measuring = false;
let frames = 0;
for (const c of cams) {
  c.onFrame((f) => {
    if (measuring) {
      if (frames < latenciesNs.length) latenciesNs[frames] = Number(f.arrivalNs - f.dqNs);
      frames++;
    }
    f.data.release();
  });
}
const started = await startAll(cams);
await sleep(spec.warmupSeconds * 1000);
measuring = true;
const drops0 = cams.reduce((sum, c) => sum + c.stats().drops, 0);
const switches0 = process.resourceUsage().voluntaryContextSwitches;
const cpu0 = cpuNs();
const t0 = process.hrtime.bigint();
await sleep(spec.seconds * 1000);
const cpu1 = cpuNs();
const t1 = process.hrtime.bigint();
const switches = process.resourceUsage().voluntaryContextSwitches - switches0;
measuring = false;
// Drops as the cameras count them (sequence gaps), over the window.
const drops = cams.reduce((sum, c) => sum + c.stats().drops, 0) - drops0;
const latency = hdr.build({ numberOfSignificantValueDigits: 3 });
for (let i = 0; i < Math.min(frames, latenciesNs.length); i++) latency.recordValue(latenciesNs[i]);
for (const c of cams) await c.close();
const wallNs = Number(t1 - t0);
process.stdout.write(
  `${JSON.stringify({
    cpuMsPerFrame: Number(((cpu1 - cpu0) / Math.max(1, frames) / 1e6).toFixed(4)),
    framesPerSec: Number(((frames / wallNs) * 1e9).toFixed(2)),
    drops,
    latencyP50Ms: latency.getValueAtPercentile(50) / 1e6,
    latencyP99Ms: latency.getValueAtPercentile(99) / 1e6,
    // How far apart the cameras started (frames of cameras in phase can share a wake-up), and
    // how often a thread of this process slept and woke per frame.
    startSkewMs: started.skewNs / 1e6,
    framesPerWakeup: Number((frames / Math.max(1, switches)).toFixed(3)),
  })}\n`,
);
