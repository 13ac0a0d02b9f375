import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SyncapError } from '@syncap/core';

/** Raw shapes the C++ addon returns (see native/*.cc). */
export interface NativeDeviceSummary {
  readonly path: string;
  readonly card?: string;
  readonly driver?: string;
  readonly bus?: string;
  readonly capabilities?: string;
  readonly canCapture?: boolean;
  /** Set when the node exists but could not be opened. */
  readonly error?: string;
}

export interface NativeFrameSize {
  readonly width?: number;
  readonly height?: number;
  readonly minWidth?: number;
  readonly maxWidth?: number;
  readonly stepWidth?: number;
  readonly minHeight?: number;
  readonly maxHeight?: number;
  readonly stepHeight?: number;
  readonly fps: readonly number[];
}

export interface NativeFormat {
  readonly pixelFormat: string;
  readonly description: string;
  readonly sizes: readonly NativeFrameSize[];
}

export interface NativeControl {
  readonly name: string;
  readonly label: string;
  readonly id: number;
  readonly type: string;
  readonly min: number;
  readonly max: number;
  readonly step: number;
  readonly default: number;
  readonly menu?: Readonly<Record<string, string | number>>;
}

export interface NativeDeviceDescription extends NativeDeviceSummary {
  readonly formats: readonly NativeFormat[];
  readonly controls: readonly NativeControl[];
  readonly current?: { width: number; height: number; pixelFormat: string; fps?: number };
}

export interface NativeOpenResult {
  readonly width: number;
  readonly height: number;
  readonly pixelFormat: string;
  readonly bytesPerLine: number;
  readonly sizeImage: number;
  readonly fps: number;
  readonly buffers: number;
  readonly timestampSource: 'start-of-exposure' | 'end-of-frame' | 'unknown';
  readonly card: string;
  readonly driver: string;
}

/** The frame kind of a native emit: frames come as positional arguments (the hot path), other events as (kind, payload). */
export const NATIVE_FRAME = 0;

/** emit(0, index, generation, sequence, flags, bytesused, timestampNs, dqNs, data, copied): one dequeued buffer. */
export type NativeFrameEmit = (
  kind: typeof NATIVE_FRAME,
  index: number,
  generation: number,
  sequence: number,
  /** The v4l2_buffer flags (error, timestamp source). */
  flags: number,
  bytesused: number,
  timestampNs: bigint,
  dqNs: bigint,
  data: ArrayBuffer,
  copied: boolean,
) => void;

export interface NativeStartedPayload {
  readonly requestedNs: bigint;
  readonly streamonStartNs: bigint;
  readonly streamonEndNs: bigint;
  readonly warnings: readonly string[];
}

export interface NativeErrorPayload {
  readonly code: string;
  readonly message: string;
  readonly errno: number;
}

export type NativeEmit = NativeFrameEmit &
  ((kind: 'started', payload: NativeStartedPayload) => void) &
  ((kind: 'lost' | 'error', payload: NativeErrorPayload) => void);

export interface NativeCameraHandle {
  open(path: string, options: { width?: number; height?: number; pixelFormat?: string; fps?: number; buffers?: number; copy?: boolean }): NativeOpenResult;
  start(atNs: bigint, options: { priority?: number; cpu?: number; spinNs?: number; maxQueue?: number; eventLoop?: boolean }): void;
  stop(): void;
  close(): void;
  release(index: number, generation: number): void;
  listControls(): NativeControl[];
  getControl(name: string): number | bigint;
  setControl(name: string, value?: number | bigint | boolean): void;
  stats(): { delivered: number; overflows: number; requeueErrors: number; buffersHeld: number };
}

export interface NativeAddon {
  listDevices(): NativeDeviceSummary[];
  describe(path: string): NativeDeviceDescription;
  sampleClocks(rounds?: number): {
    monotonicNs: bigint;
    realtimeOffsetNs: bigint;
    realtimeUncertaintyNs: number;
    taiOffsetNs: bigint;
    taiUncertaintyNs: number;
  };
  monotonicNow(): bigint;
  realtimeNow(): bigint;
  NativeCamera: new (emit: NativeEmit) => NativeCameraHandle;
  /** Whether the addon was built with libuv's header (event-loop delivery). */
  eventLoopDelivery: boolean;
}

/** The addon could not be loaded; `message` says what is missing and how to fix it. */
export class NativeUnavailableError extends SyncapError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('E_NATIVE_UNAVAILABLE', message, options);
  }
}

const packageRoot = join(dirname(fileURLToPath(import.meta.url)), '..');
const addonPath = join(packageRoot, 'build', 'Release', 'syncap_v4l2.node');
let cached: NativeAddon | undefined;

/** Loads the compiled addon once. Throws NativeUnavailableError naming what is missing. */
export function loadAddon(): NativeAddon {
  if (cached) return cached;
  if (!existsSync(addonPath)) {
    const reasonFile = join(packageRoot, 'build', 'addon-build-error.txt');
    const reason = existsSync(reasonFile) ? readFileSync(reasonFile, 'utf8').trim() : 'it has not been built';
    throw new NativeUnavailableError(
      `@syncap/native-v4l2: the V4L2 addon is not available (${reason}). Build it with \`npm run build:addon -w @syncap/native-v4l2\` (needs cmake, g++ and make).`,
    );
  }
  try {
    cached = createRequire(import.meta.url)(addonPath) as NativeAddon;
  } catch (error) {
    throw new NativeUnavailableError(`@syncap/native-v4l2: cannot load ${addonPath}: ${(error as Error).message}`, { cause: error });
  }
  return cached;
}

/** Whether the addon is built and loadable (without throwing). */
export function isAddonAvailable(): boolean {
  try {
    loadAddon();
    return true;
  } catch {
    return false;
  }
}
