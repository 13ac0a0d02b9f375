import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { SyncapError } from '@syncap/core';

/**
 * Loads a syncap package's compiled addon (`<packageRoot>/build/Release/<file>.node`, built
 * by cmake-js at `npm ci`). When it is missing or fails to load, throws E_NATIVE_UNAVAILABLE
 * with the reason the build left (`build/addon-build-error.txt`) and how to rebuild it.
 */
export function loadNativeAddon<T>(packageRoot: string, file: string, packageName: string, overridePath?: string): T {
  // overridePath: another build of the addon (the AddressSanitizer one in build/asan).
  const path = overridePath ?? join(packageRoot, 'build', 'Release', `${file}.node`);
  if (!existsSync(path)) {
    const reasonFile = join(packageRoot, 'build', 'addon-build-error.txt');
    const reason = existsSync(reasonFile) ? readFileSync(reasonFile, 'utf8').trim() : 'it has not been built';
    throw new SyncapError(
      'E_NATIVE_UNAVAILABLE',
      `${packageName}: the addon is not available (${reason}). Build it with \`npm run build:addon -w ${packageName}\`.`,
    );
  }
  try {
    return createRequire(import.meta.url)(path) as T;
  } catch (error) {
    throw new SyncapError('E_NATIVE_UNAVAILABLE', `${packageName}: cannot load ${path}: ${(error as Error).message}`, { cause: error });
  }
}
