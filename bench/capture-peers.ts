/**
 * bench/capture peers: what a user would run instead of syncap on the same devices — the
 * `v4l2-ctl --stream-mmap` floor, GStreamer, ffmpeg, OpenCV — each capturing `count` frames
 * from every device at once. Each is run twice (a short and a long count) and the two are
 * differenced, so process start-up (exec, imports, open, REQBUFS, mmap) is not charged to the
 * frames: what is left is the steady-state CPU per frame and the frame rate.
 */
import { execFileSync } from 'node:child_process';

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

/** CPU (ns, the command's processes: `times`' children line) and wall time (ns) of one run. */
function runOnce(impl: string, s: CaptureSpec, count: number): { cpuNs: number; wallNs: number } {
  const limitS = runLimitS(count, s.fps);
  // `timeout` signals its whole process group (the background v4l2-ctl processes too); the
  // children's CPU still reaches `times` through the processes that waited for them.
  const script = `start=$(date +%s%N); timeout -k 5 ${limitS} bash -c ${q(command(impl, s, count))}; rc=$?; end=$(date +%s%N); echo "$rc $start $end"; times`;
  const out = execFileSync('bash', ['-c', script], { encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 })
    .trim()
    .split('\n');
  const [rc, start, end] = out.at(-3)!.split(' ').map(Number) as [number, number, number];
  if (rc === 124) throw new Error(`${impl} did not capture ${count} frames per device within ${limitS} s (killed)`);
  if (rc === 137) throw new Error(`${impl} was killed (SIGKILL: past its ${limitS} s limit, or out of memory)`);
  if (rc !== 0) throw new Error(`${impl} failed (exit ${rc}): ${command(impl, s, count).slice(0, 300)}`);
  const seconds = (t: string) => {
    const m = /(\d+)m([\d.]+)s/.exec(t)!;
    return (Number(m[1]) * 60 + Number(m[2])) * 1e9;
  };
  const [user, sys] = out.at(-1)!.split(/\s+/);
  return { cpuNs: seconds(user!) + seconds(sys!), wallNs: end - start };
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

/** Steady-state CPU per frame and rate of `impl`, from a run of `shortCount` and one of `longCount` frames per device. */
export function measurePeer(impl: string, s: CaptureSpec, shortCount: number, longCount: number): PeerFigures {
  const short = runOnce(impl, s, shortCount);
  const long = runOnce(impl, s, longCount);
  const frames = (longCount - shortCount) * s.devices.length;
  const wallNs = Math.max(1, long.wallNs - short.wallNs);
  const expected = (wallNs / 1e9) * s.fps * s.devices.length;
  return {
    cpuMsPerFrame: Number(((long.cpuNs - short.cpuNs) / frames / 1e6).toFixed(4)),
    framesPerSec: Number(((frames / wallNs) * 1e9).toFixed(2)),
    drops: Math.max(0, Math.round(expected - frames)),
  };
}
