import { readdirSync } from 'node:fs';
import type { Frame } from '@syncap/core';
import { isAddonAvailable, listDevices, type V4l2Camera } from '@syncap/native-v4l2';

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
  const vivid = listDevices().filter((d) => d.driver === 'vivid' && d.canCapture);
  if (vivid.length < 4) return `need 4 vivid capture devices, found ${vivid.length}`;
  return null;
}

export function vividPaths(): string[] {
  return listDevices()
    .filter((d) => d.driver === 'vivid' && d.canCapture)
    .map((d) => d.path)
    .slice(0, 4);
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
