import { existsSync, readdirSync, readFileSync, realpathSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SyncapError } from '@syncap/core';
import type { NativeAddonExports, NativeBinding } from './native-binding.js';

/** The addon could not be loaded; `message` says what is missing and how to fix it. */
export class NativeUnavailableError extends SyncapError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('E_NATIVE_UNAVAILABLE', message, options);
  }
}

const packageRoot = join(dirname(fileURLToPath(import.meta.url)), '..');
/** SYNCAP_V4L2_ADDON points at another build of the addon (the AddressSanitizer one, build/asan). */
const addonPath = process.env.SYNCAP_V4L2_ADDON ?? join(packageRoot, 'build', 'Release', 'syncap_v4l2.node');
/** Where udev puts stable names for video nodes (the VM and containers may have none). */
const ALIAS_DIRS = ['/dev/v4l/by-id', '/dev/v4l/by-path'];
let cached: NativeBinding | undefined;

function resolvePath(path: string): string | undefined {
  try {
    return realpathSync(path);
  } catch {
    return undefined;
  }
}

function listAliases(): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const dir of ALIAS_DIRS) {
    let names: string[] = [];
    try {
      names = readdirSync(dir);
    } catch {
      continue;
    }
    for (const name of names.sort()) {
      const alias = `${dir}/${name}`;
      const node = resolvePath(alias);
      if (node) out.set(node, [...(out.get(node) ?? []), alias]);
    }
  }
  return out;
}

function loadAddon(): NativeAddonExports {
  if (!existsSync(addonPath)) {
    const reasonFile = join(packageRoot, 'build', 'addon-build-error.txt');
    const reason = existsSync(reasonFile) ? readFileSync(reasonFile, 'utf8').trim() : 'it has not been built';
    throw new NativeUnavailableError(
      `@syncap/native-v4l2: the V4L2 addon is not available (${reason}). Build it with \`npm run build:addon -w @syncap/native-v4l2\` (needs cmake, g++ and make).`,
    );
  }
  try {
    // The one untyped boundary: require() of the compiled addon, declared as NativeAddonExports.
    return createRequire(import.meta.url)(addonPath) as NativeAddonExports;
  } catch (error) {
    throw new NativeUnavailableError(`@syncap/native-v4l2: cannot load ${addonPath}: ${(error as Error).message}`, { cause: error });
  }
}

/** The real binding: the compiled addon (loaded once) plus path resolution. Throws NativeUnavailableError naming what is missing. */
export function loadBinding(): NativeBinding {
  if (cached) return cached;
  const addon = loadAddon();
  cached = {
    listDevices: () => addon.listDevices(),
    describe: (path) => addon.describe(path),
    listControls: (path) => addon.listControls(path),
    setControl: (path, name, value) => addon.setControl(path, name, value),
    resolvePath,
    listAliases,
    sampleClocks: (rounds) => addon.sampleClocks(rounds),
    monotonicNow: () => addon.monotonicNow(),
    eventLoopDelivery: addon.eventLoopDelivery,
    createCamera: (onFrame, onEvent) => new addon.NativeCamera(onFrame, onEvent),
  };
  return cached;
}

/** Whether the addon is built and loadable (without throwing). */
export function isAddonAvailable(): boolean {
  try {
    loadBinding();
    return true;
  } catch {
    return false;
  }
}
