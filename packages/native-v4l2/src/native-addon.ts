import { readdirSync, realpathSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadNativeAddon } from '@syncap/host';
import type { NativeAddonExports, NativeBinding } from './native-binding.js';

const packageRoot = join(dirname(fileURLToPath(import.meta.url)), '..');
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
  // SYNCAP_V4L2_ADDON points at another build of the addon (the AddressSanitizer one, build/asan).
  return loadNativeAddon<NativeAddonExports>(packageRoot, 'syncap_v4l2', '@syncap/native-v4l2', process.env.SYNCAP_V4L2_ADDON);
}

/** The real binding: the compiled addon (loaded once) plus path resolution. Throws E_NATIVE_UNAVAILABLE naming what is missing. */
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
