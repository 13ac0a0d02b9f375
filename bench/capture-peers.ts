/**
 * bench/capture peers: what a user would run instead of syncap on the same devices — the
 * `v4l2-ctl --stream-mmap` floor, GStreamer, ffmpeg, OpenCV — each capturing a count of frames
 * from every device at once. Measured as syncap is: the CPU of the tool's processes (all
 * threads, from /proc) over a steady-state window after its start-up and a warm-up. A short run
 * first gives its start-up time, and with the long run's wall time, its frame rate.
 */
import { execFileSync, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

export interface CaptureSpec {
  readonly devices: readonly string[];
  readonly width: number;
  readonly height: number;
  readonly fps: number;
}

export interface PeerFigures {
  readonly cpuMsPerFrame: number;
  readonly framesPerSec: number;
  /** Frames the devices produced that the tool did not get, from its rate (it cannot say itself). */
  readonly drops: number;
  /** Its start-up (exec, imports, open, REQBUFS, mmap) and tear-down, s: outside the window. */
  readonly startupS: number;
}

/** Debian's python3 (python3-opencv), not whatever `python3` a PATH finds first. */
const PYTHON = '/usr/bin/python3';

const OPENCV_SCRIPT = `
import sys, threading, cv2
devices, n, w, h, fps = sys.argv[1].split(','), int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
def run(dev):
    cap = cv2.VideoCapture(dev, cv2.CAP_V4L2)
    cap.set(cv2.CAP_PROP_FOURCC, cv2.VideoWriter_fourcc(*'YUYV'))
    cap.set(cv2.CAP_PROP_FRAME_WIDTH, w)
    cap.set(cv2.CAP_PROP_FRAME_HEIGHT, h)
    cap.set(cv2.CAP_PROP_FPS, fps)
    cap.set(cv2.CAP_PROP_CONVERT_RGB, 0)  # raw YUYV, as syncap hands it on: no colour conversion
    got, failed = 0, 0
    # Gives up on a device that does not open or fails at once (one that stalls blocks in
    # read(): the run's time limit ends that).
    while got < n and cap.isOpened() and failed < 100:
        ok, _ = cap.read()
        got, failed = (got + 1, 0) if ok else (got, failed + 1)
    cap.release()
    if got < n: short.append(f'{dev}: {got}/{n} frames')
short = []
threads = [threading.Thread(target=run, args=(d,)) for d in devices]
for t in threads: t.start()
for t in threads: t.join()
if short: sys.exit('opencv: ' + ', '.join(short))
`;

/** `x` as one single-quoted shell word. */
const q = (x: string) => `'${x.replace(/'/g, `'\\''`)}'`;

/** The shell command that captures `count` frames from every device with `impl`. */
function command(impl: string, s: CaptureSpec, count: number): string {
  switch (impl) {
    case 'v4l2-ctl':
      // One process per device, as a user would run it; each is waited for by pid, so one
      // that fails fails the run (a bare `wait` returns 0).
      return `rc=0; pids=""; ${s.devices
        .map(
          (d) =>
            `v4l2-ctl -d ${d} --set-fmt-video=width=${s.width},height=${s.height},pixelformat=YUYV --set-parm=${s.fps} --stream-mmap=4 --stream-to=/dev/null --stream-count=${count} >/dev/null 2>&1 & pids="$pids $!";`,
        )
        .join(' ')} for p in $pids; do wait $p || rc=1; done; exit $rc`;
    case 'gstreamer':
      return `gst-launch-1.0 -q ${s.devices
        .map(
          (d) =>
            `v4l2src device=${d} num-buffers=${count} ! video/x-raw,format=YUY2,width=${s.width},height=${s.height},framerate=${s.fps}/1 ! fakesink sync=false`,
        )
        .join(' ')} >/dev/null`;
    case 'ffmpeg':
      return `ffmpeg -hide_banner -loglevel error -nostats ${s.devices
        .map((d) => `-f v4l2 -input_format yuyv422 -video_size ${s.width}x${s.height} -framerate ${s.fps} -i ${d}`)
        .join(' ')} ${s.devices.map((_, i) => `-map ${i}:v`).join(' ')} -c copy -frames:v ${count} -f null - </dev/null`;
    case 'opencv':
      return `${PYTHON} -c ${q(OPENCV_SCRIPT)} ${s.devices.join(',')} ${count} ${s.width} ${s.height} ${s.fps}`;
    default:
      throw new Error(`unknown peer ${impl}`);
  }
}

/**
 * How long one run may take, s: twice its frames' worth plus start-up. A tool that hangs (a
 * device that stops delivering, a wait that never returns) costs its figure, not the bench.
 */
export function runLimitS(frames: number, fps: number): number {
  return Math.ceil((2 * frames) / fps) + 60;
}

/** The shell script that runs `impl` for `count` frames per device, bounded; it prints `rc start end` (ns) last. */
function boundedScript(impl: string, s: CaptureSpec, count: number): { script: string; limitS: number } {
  const limitS = runLimitS(count, s.fps);
  // `timeout` signals its whole process group (the background v4l2-ctl processes too).
  return {
    limitS,
    script: `start=$(date +%s%N); timeout -k 5 ${limitS} bash -c ${q(command(impl, s, count))}; rc=$?; end=$(date +%s%N); echo "$rc $start $end"`,
  };
}

/**
 * The wall time (ns) of a run from its wrapper's output (last line `rc start end`), or an error
 * naming what went wrong: the tool's time limit, a kill, a failure, a wrapper that said nothing.
 */
function wallNsOf(impl: string, s: CaptureSpec, count: number, limitS: number, out: string): number {
  const last = out.trim().split('\n').at(-1) ?? '';
  const fields = last.split(' ').map(Number);
  if (fields.length !== 3 || !fields.every(Number.isFinite)) throw new Error(`${impl}: its wrapper shell failed: ${last.slice(0, 200)}`);
  const [rc, start, end] = fields as [number, number, number];
  if (rc === 124) throw new Error(`${impl} did not capture ${count} frames per device within ${limitS} s (killed)`);
  if (rc === 137) throw new Error(`${impl} was killed (SIGKILL: past its ${limitS} s limit, or out of memory)`);
  if (rc !== 0) throw new Error(`${impl} failed (exit ${rc}): ${command(impl, s, count).slice(0, 300)}`);
  return end - start;
}

/** Wall time (ns) of one run of `count` frames per device. */
function runOnce(impl: string, s: CaptureSpec, count: number): number {
  const { script, limitS } = boundedScript(impl, s, count);
  return wallNsOf(impl, s, count, limitS, execFileSync('bash', ['-c', script], { encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 }));
}

const CLOCK_TICKS_PER_S = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

/** Time on the CPU of every thread of process `pid`, ns (schedstat's sum_exec_runtime: exact, where stat's times are 10 ms ticks); undefined without schedstat. */
function threadsCpuNs(pid: string): number | undefined {
  let ns = 0;
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
  } catch {
    return undefined; // gone meanwhile, or no schedstat
  }
  return Number.isFinite(ns) ? ns : undefined;
}

/**
 * CPU (ns) of process `root` and every live process below it, all threads — as
 * process.cpuUsage() gives syncap's — with what they reaped (cutime, cstime: ticks);
 * undefined once `root` has exited (what it ran is no longer all there to count).
 */
function treeCpuNs(root: number): number | undefined {
  const stats = new Map<number, { ppid: number; ownTicks: number; reapedTicks: number }>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${name}/stat`, 'utf8');
    } catch {
      continue; // gone meanwhile
    }
    // Fields after the command (which may hold spaces and parentheses): state ppid … utime(14) stime cutime cstime.
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(name) === root && f[0] === 'Z') return undefined;
    stats.set(Number(name), { ppid: Number(f[1]), ownTicks: Number(f[11]) + Number(f[12]), reapedTicks: Number(f[13]) + Number(f[14]) });
  }
  const inTree = (pid: number): boolean => {
    for (let p = pid, hops = 0; p > 1 && hops < 64; p = stats.get(p)?.ppid ?? 0, hops++) if (p === root) return true;
    return false;
  };
  if (!stats.has(root)) return undefined;
  let ns = 0;
  for (const [pid, st] of stats) {
    if (!inTree(pid)) continue;
    ns += (threadsCpuNs(String(pid)) ?? (st.ownTicks / CLOCK_TICKS_PER_S) * 1e9) + (st.reapedTicks / CLOCK_TICKS_PER_S) * 1e9;
  }
  return ns;
}

/**
 * Runs `impl` for `count` frames per device and reads its processes' CPU (ns) over a window
 * from `fromS` to `toS` seconds after the start; it must still be capturing at the window's
 * end, else the run fails. Returns the window's CPU and length and the run's wall time (ns).
 */
async function runWindowed(
  impl: string,
  s: CaptureSpec,
  count: number,
  fromS: number,
  toS: number,
): Promise<{ cpuNs: number; windowNs: number; wallNs: number }> {
  const { script, limitS } = boundedScript(impl, s, count);
  const child = spawn('bash', ['-c', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    out += d;
  });
  // 'close', not 'exit': the last line may still be in the pipe when the process exits.
  const closed = new Promise<void>((resolve) => {
    child.on('error', (e) => {
      out += `\nerror ${e.message}`;
      resolve();
    });
    child.on('close', () => resolve());
  });
  // Each wait ends early when the tool does (a failure is reported at once, not after the window).
  const runningAfter = async (ms: number) => Promise.race([sleep(ms).then(() => true), closed.then(() => false)]);
  const pid = child.pid ?? 0;
  let sample: { cpuNs: number; windowNs: number } | undefined;
  const cpu0 = pid > 0 && (await runningAfter(fromS * 1000)) ? treeCpuNs(pid) : undefined;
  const t0 = process.hrtime.bigint();
  if (cpu0 !== undefined && (await runningAfter((toS - fromS) * 1000))) {
    const cpu1 = treeCpuNs(pid);
    if (cpu1 !== undefined) sample = { cpuNs: cpu1 - cpu0, windowNs: Number(process.hrtime.bigint() - t0) };
  }
  await closed;
  const wallNs = wallNsOf(impl, s, count, limitS, out);
  if (!sample) throw new Error(`${impl} finished before its measurement window ended (${toS.toFixed(1)} s after start)`);
  return { ...sample, wallNs };
}

/** Whether the tool is installed (the figures say so instead of failing the whole bench). */
export function peerAvailable(impl: string): boolean {
  const probe: Record<string, string> = {
    'v4l2-ctl': 'command -v v4l2-ctl',
    gstreamer: 'gst-inspect-1.0 v4l2src >/dev/null 2>&1',
    ffmpeg: 'command -v ffmpeg',
    opencv: `${PYTHON} -c 'import cv2'`,
  };
  try {
    execFileSync('bash', ['-c', probe[impl] ?? 'false'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/**
 * Steady-state CPU per frame and rate of `impl`. A short run of `shortCount` frames per device
 * gives its start-up and tear-down (wall time less the frames' worth); a long one is measured
 * as syncap is: its processes' CPU over `windowS` seconds, starting `warmupS` after that
 * (start-up excluded, whatever it costs). The rate, and so the drops, come from the difference
 * of the two runs' wall times (the devices pace the frames, so it is steady); it is capped at
 * the devices' rate (a slower start-up of the short run would put it above).
 */
export async function measurePeer(impl: string, s: CaptureSpec, shortCount: number, warmupS: number, windowS: number): Promise<PeerFigures> {
  const shortWallNs = runOnce(impl, s, shortCount);
  const startupS = Math.max(0, shortWallNs / 1e9 - shortCount / s.fps);
  const fromS = startupS + warmupS;
  const toS = fromS + windowS;
  // Frames enough to go on capturing a few seconds past the window, even at full rate.
  const longCount = Math.ceil((toS + 3) * s.fps);
  const long = await runWindowed(impl, s, longCount, fromS, toS);
  const frames = (longCount - shortCount) * s.devices.length;
  const wallNs = Math.max(1, long.wallNs - shortWallNs);
  const framesPerSec = Math.min((frames / wallNs) * 1e9, s.fps * s.devices.length);
  const expected = (wallNs / 1e9) * s.fps * s.devices.length;
  return {
    cpuMsPerFrame: Number((long.cpuNs / (framesPerSec * (long.windowNs / 1e9)) / 1e6).toFixed(4)),
    framesPerSec: Number(framesPerSec.toFixed(2)),
    drops: Math.max(0, Math.round(expected - frames)),
    startupS: Number(startupS.toFixed(2)),
  };
}
