import { type ChildProcess, spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import type { Frame } from '@syncap/core';
import { describe as describeDevice, isAddonAvailable, listDevices, type V4l2Camera } from '@syncap/native-v4l2';
import { x264CameraArgs } from '../support/h264-stream.js';
import { waitFor as pollFor } from '../support/processes.js';

/** vivid instances the suite uses (vivid-setup.sh --devices default); the script loads two more as spares. */
const MAIN_DEVICES = 4;
/**
 * The v4l2loopback nodes scripts/vivid-setup.sh creates (video_nr=10 to 14), one per test that
 * feeds one: a node a producer has left did not offer its format to the next producer's consumer in time.
 */
export const LOOPBACK_PATHS = ['/dev/video10', '/dev/video11', '/dev/video12', '/dev/video13', '/dev/video14'] as const;

/** A vivid instance's number from its bus ("platform:vivid-004" → 4). */
function vividIndex(bus: string | undefined): number {
  return Number(/vivid-(\d+)/.exec(bus ?? '')?.[1] ?? -1);
}

function vividDevices(): Array<{ path: string; index: number }> {
  return listDevices()
    .filter((d) => d.driver === 'vivid' && d.canCapture)
    .map((d) => ({ path: d.path, index: vividIndex(d.bus) }));
}

/** Why the vivid suite cannot run here, or null when it can. Under CI=true a reason fails the suite. */
export function vividUnavailableReason(): string | null {
  if (!isAddonAvailable()) return 'the native addon is not built (npm run build:addon -w @syncap/native-v4l2)';
  let nodes: string[] = [];
  try {
    nodes = readdirSync('/dev').filter((n) => n.startsWith('video'));
  } catch {
    nodes = [];
  }
  if (nodes.length === 0) return 'no /dev/video* here: run `npm run test:vivid`, which loads vivid or boots a VM with it';
  const vivid = vividDevices();
  if (vivid.filter((d) => d.index < MAIN_DEVICES).length < 4) return `need 4 vivid capture devices, found ${vivid.length}`;
  if (vivid.filter((d) => d.index >= MAIN_DEVICES).length < 2) return 'need the 2 spare vivid instances scripts/vivid-setup.sh loads';
  return null;
}

/** Why the v4l2loopback tests cannot run, or null. */
export function loopbackUnavailableReason(): string | null {
  const found = listDevices().filter((d) => d.driver === 'v4l2 loopback' || (LOOPBACK_PATHS as readonly string[]).includes(d.path));
  if (found.length < LOOPBACK_PATHS.length)
    return `no v4l2loopback devices at ${LOOPBACK_PATHS.join(', ')} (scripts/vivid-setup.sh builds and loads the module)`;
  return null;
}

/** The 4 vivid devices tests share (never the spares). */
export function vividPaths(): string[] {
  return vividDevices()
    .filter((d) => d.index < MAIN_DEVICES)
    .map((d) => d.path)
    .slice(0, 4);
}

/** The spare vivid devices, for tests that disconnect one for good. */
export function spareVividPaths(): string[] {
  return vividDevices()
    .filter((d) => d.index >= MAIN_DEVICES)
    .map((d) => d.path);
}

/** Resolves with the first `count` frames (not released) or rejects after `timeoutMs`. */
export function collectFrames(camera: V4l2Camera, count: number, timeoutMs = 20_000, release = true): Promise<Frame[]> {
  return new Promise((resolve, reject) => {
    const frames: Frame[] = [];
    const timer = setTimeout(() => {
      off();
      reject(new Error(`${camera.id}: only ${frames.length}/${count} frames within ${timeoutMs} ms`));
    }, timeoutMs);
    const off = camera.onFrame((f) => {
      frames.push(f);
      if (release) f.data?.release();
      if (frames.length === count) {
        clearTimeout(timer);
        off();
        resolve(frames);
      }
    });
  });
}

/**
 * Opens `reference`, streams `count` frames from it and closes it: a wait measured in a
 * device's frame periods rather than the host's milliseconds (under TCG the VM's devices and
 * the host's clock run at different paces).
 */
export async function framesElapse(reference: V4l2Camera, count: number): Promise<void> {
  await reference.open();
  const streamed = collectFrames(reference, count);
  await reference.start();
  await streamed;
  await reference.close();
}

/** Resolves when `predicate` holds, checking on each frame; rejects after `timeoutMs`. */
export function waitFor(camera: V4l2Camera, predicate: () => boolean, timeoutMs = 20_000): Promise<void> {
  return new Promise((resolve, reject) => {
    if (predicate()) return resolve();
    const timer = setTimeout(() => {
      off();
      reject(new Error(`${camera.id}: condition not met within ${timeoutMs} ms`));
    }, timeoutMs);
    const off = camera.onFrame(() => {
      if (predicate()) {
        clearTimeout(timer);
        off();
        resolve();
      }
    });
  });
}

/** What a loopback node is fed: ffmpeg's encoder arguments for the FourCC. */
const FEEDER_CODECS = {
  MJPG: ['-vcodec', 'mjpeg', '-q:v', '5'],
  // As a camera's encoder: no B-frames, SPS/PPS at each keyframe (every 10 frames).
  H264: x264CameraArgs(10),
} as const;

/** ffmpeg encoding a moving test pattern into a v4l2loopback node, in real time (one write per frame). */
function feedLoopback(device: string, fourcc: keyof typeof FEEDER_CODECS): { child: ChildProcess; stderr: () => string } {
  const args = [
    '-hide_banner',
    '-loglevel',
    'error',
    '-re',
    '-f',
    'lavfi',
    '-i',
    'testsrc=size=320x240:rate=15',
    ...FEEDER_CODECS[fourcc],
    '-f',
    'v4l2',
    device,
  ];
  const child = spawn('ffmpeg', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (c: string) => {
    // Kept for the start's error message, and shown as it comes (a feeder failing later too).
    stderr = (stderr + c).slice(-4000);
    process.stderr.write(c);
  });
  child.on('error', (e) => {
    stderr += String(e);
  });
  return { child, stderr: () => stderr.trim() };
}

/** Resolves once `predicate` holds (polled as test/support's waitFor polls), rejects after `timeoutMs`. */
export async function waitUntil(predicate: () => boolean, timeoutMs: number, what: string): Promise<void> {
  await pollFor(() => (predicate() ? true : undefined), timeoutMs, what);
}

/**
 * How long ffmpeg may take to start feeding a node: 5.6 to 12.6 s in the TCG VM (its libraries
 * come over 9p), and a CI run under load went past 20 s on three nodes.
 */
const FEEDER_START_TIMEOUT_MS = 60_000;

/** ffmpeg writing MJPG or H264 into a v4l2loopback node, once the node offers it to readers (kill it when done). */
export async function startLoopbackFeeder(device: string, fourcc: keyof typeof FEEDER_CODECS = 'MJPG'): Promise<ChildProcess> {
  const { child: feeder, stderr } = feedLoopback(device, fourcc);
  const startedMs = Date.now();
  let exited: string | undefined;
  feeder.once('exit', (code, signal) => {
    exited = `ffmpeg feeding ${device} exited (${signal ?? `code ${code}`}) before the node offered ${fourcc}: ${stderr() || 'no message'}`;
  });
  try {
    // A feeder that died fails here at once, with ffmpeg's own words, rather than at the timeout.
    const failure = await pollFor(
      () => {
        if (exited !== undefined) return exited;
        return describeDevice(device).formats.some((f) => f.pixelFormat === fourcc) ? '' : undefined;
      },
      FEEDER_START_TIMEOUT_MS,
      `${device} to offer ${fourcc}`,
    ).catch((timeout: Error) => `${timeout.message} (ffmpeg printed: ${stderr() || 'nothing'})`);
    if (failure !== '') throw new Error(failure);
  } catch (error) {
    feeder.kill('SIGKILL');
    throw error;
  }
  console.log(`loopback feeder: ${device} offered ${fourcc} after ${Date.now() - startedMs} ms`);
  return feeder;
}
