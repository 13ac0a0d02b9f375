import { constants } from 'node:os';
import { getSystemErrorMap } from 'node:util';
import type {
  NativeBinding,
  NativeCameraEvent,
  NativeCameraHandle,
  NativeCameraStats,
  NativeClockSample,
  NativeControl,
  NativeDeviceDescription,
  NativeDeviceSummary,
  NativeErrorCode,
  NativeEventCallback,
  NativeFormat,
  NativeFrameCallback,
  NativeOpenOptions,
  NativeOpenResult,
  NativeStartOptions,
} from './native-binding.js';

/** A fake device: what it offers and how it behaves. */
export interface MockDeviceSpec {
  readonly card?: string;
  readonly driver?: string;
  readonly bus?: string;
  /** Default: YUYV 640x360 at 30 and 60 fps. */
  readonly formats?: readonly NativeFormat[];
  /** Controls with their current values (default: the control's default). */
  readonly controls?: readonly NativeControl[];
  readonly canCapture?: boolean;
  /** Which instant the device stamps. Default 'end-of-frame'. */
  readonly timestampSource?: 'start-of-exposure' | 'end-of-frame';
  /** Buffers the driver grants at most. Default 32. */
  readonly maxBuffers?: number;
}

/** A frame the test pushes. Defaults: the next sequence, the binding's clock, 16 bytes. */
export interface MockFrame {
  readonly sequence?: number;
  readonly timestampNs?: bigint;
  readonly bytes?: Uint8Array;
  /** Overrides the device's timestamp source for this frame (what the buffer flags say). */
  readonly timestampSource?: 'start-of-exposure' | 'end-of-frame';
  /** The driver marked the buffer as erroneous. */
  readonly error?: boolean;
}

/** Operations whose next call can be made to fail with an errno. */
export type MockFailure = 'open' | 'streamon' | 'setControl';

const DEFAULT_FORMATS: readonly NativeFormat[] = [
  { pixelFormat: 'YUYV', description: 'YUYV 4:2:2', compressed: false, sizes: [{ width: 640, height: 360, fps: [30, 60] }] },
];
const V4L2_BUF_FLAG_ERROR = 0x40;
const V4L2_BUF_FLAG_TSTAMP_SRC_SOE = 0x1_0000;

interface MockDevice {
  spec: MockDeviceSpec;
  summary: NativeDeviceSummary;
  formats: readonly NativeFormat[];
  controls: NativeControl[];
  current: { width: number; height: number; pixelFormat: string; fps: number };
  owner: MockCamera | undefined;
  nextSequence: number;
  failures: Map<MockFailure, string>;
  /** What the last start() was given. */
  lastStart?: NativeStartOptions;
}

type MockBuffer = { owner: 'idle' | 'driver' | 'held'; generation: number; memory: ArrayBuffer | undefined };

function errnoMessage(errno: string): string {
  const n = (constants.errno as Record<string, number>)[errno];
  return (n !== undefined ? getSystemErrorMap().get(-n)?.[1] : undefined) ?? errno;
}

function nativeError(code: NativeErrorCode, message: string, errno?: string): Error {
  return Object.assign(new Error(message), { code, ...(errno ? { errno } : {}) });
}

function openCode(errno: string): NativeErrorCode {
  if (errno === 'ENOENT' || errno === 'ENODEV' || errno === 'ENXIO') return 'E_NO_DEVICE';
  if (errno === 'EBUSY') return 'E_DEVICE_BUSY';
  if (errno === 'EACCES' || errno === 'EPERM') return 'E_PERMISSION';
  return 'E_DEVICE';
}

/**
 * A stand-in for the compiled addon, as serialport's binding-mock is for serial ports: fake
 * devices with formats, sizes, rates and controls; frames pushed by the test; injected
 * failures (missing device, busy, STREAMON refused, DQBUF errors, unplug and replug under
 * stable names). It follows the addon's contract: events come asynchronously (a microtask)
 * after start(), frames synchronously from `pushFrame`, zero-copy views are detached on
 * release, errors carry core's codes and errno names.
 */
export class MockV4l2Binding implements NativeBinding {
  /** Whether event-loop delivery is offered (the addon's is when built with libuv's header). */
  eventLoopDelivery = true;
  /** CLOCK_MONOTONIC as the mock tells it, ns. Tests move it. */
  nowNs = 1_000_000_000n;
  private readonly devices = new Map<string, MockDevice>();
  private readonly links = new Map<string, string>();

  /** Plugs in a device at `path` (/dev/videoN). */
  addDevice(path: string, spec: MockDeviceSpec = {}): void {
    const formats = spec.formats ?? DEFAULT_FORMATS;
    const first = formats[0];
    const size = first?.sizes[0];
    this.devices.set(path, {
      spec,
      summary: {
        path,
        card: spec.card ?? 'Mock Camera',
        driver: spec.driver ?? 'mock',
        bus: spec.bus ?? `platform:${path}`,
        capabilities: spec.canCapture === false ? 'video-output' : 'video-capture,streaming',
        canCapture: spec.canCapture !== false,
      },
      formats,
      controls: (spec.controls ?? []).map((c) => ({ ...c, value: c.value ?? (c.type === 'button' ? undefined : c.default) })),
      current: { width: size?.width ?? 640, height: size?.height ?? 360, pixelFormat: first?.pixelFormat ?? 'YUYV', fps: size?.fps[0] ?? 30 },
      owner: undefined,
      nextSequence: 0,
      failures: new Map(),
    });
  }

  /** Unplugs the device: its node and names stop resolving; a camera streaming from it gets `lost` (ENODEV). */
  removeDevice(path: string): void {
    const d = this.devices.get(path);
    this.devices.delete(path);
    d?.owner?.deviceGone();
  }

  /** Makes `alias` (e.g. /dev/v4l/by-id/usb-…) lead to `target`, as udev's symlinks do. */
  link(alias: string, target: string): void {
    this.links.set(alias, target);
  }

  unlink(alias: string): void {
    this.links.delete(alias);
  }

  /** The next `operation` on `path` fails with `errno` (ENOENT, EBUSY, EIO, …). */
  failNext(path: string, operation: MockFailure, errno: string): void {
    this.device(path)?.failures.set(operation, errno);
  }

  /**
   * A frame from the device: handed to the camera streaming from it if the driver has a queued
   * buffer (true), else dropped by the "driver" — its sequence number is used up either way.
   */
  pushFrame(path: string, frame: MockFrame = {}): boolean {
    const d = this.device(path);
    if (!d) throw new Error(`MockV4l2Binding: no device ${path}`);
    const sequence = frame.sequence ?? d.nextSequence;
    d.nextSequence = (sequence + 1) >>> 0;
    return d.owner?.deliver(sequence, frame, d.spec.timestampSource) ?? false;
  }

  /** VIDIOC_DQBUF fails on the streaming camera: ENODEV is a loss, anything else a streaming error. */
  dequeueError(path: string, errno: string): void {
    this.device(path)?.owner?.dequeueFailed(errno);
  }

  /** The device changes a control by itself (auto exposure). */
  setControlValue(path: string, name: string, value: number | string): void {
    const d = this.device(path);
    const c = d?.controls.findIndex((x) => x.name === name) ?? -1;
    if (d && c >= 0) d.controls[c] = { ...d.controls[c]!, value };
  }

  /** The options the device's last start() passed to the addon. */
  lastStartOptions(path: string): NativeStartOptions | undefined {
    return this.device(path)?.lastStart;
  }

  /** Whether a camera is streaming from the device. */
  isStreaming(path: string): boolean {
    return this.device(path)?.owner?.streaming ?? false;
  }

  /** @internal */
  device(path: string): MockDevice | undefined {
    const node = this.resolvePath(path);
    return node === undefined ? undefined : this.devices.get(node);
  }

  listDevices(): NativeDeviceSummary[] {
    return [...this.devices.values()].map((d) => d.summary);
  }

  describe(path: string): NativeDeviceDescription {
    const d = this.device(path);
    if (!d) throw nativeError('E_NO_DEVICE', `${path}: cannot open: ${errnoMessage('ENOENT')}`, 'ENOENT');
    return { ...d.summary, path, formats: d.formats, controls: this.listControls(path), current: { ...d.current } };
  }

  listControls(path: string): NativeControl[] {
    const d = this.device(path);
    if (!d) throw nativeError('E_NO_DEVICE', `${path}: cannot open: ${errnoMessage('ENOENT')}`, 'ENOENT');
    return d.controls.map((c) => ({ ...c }));
  }

  setControl(path: string, name: string, value?: number | bigint | boolean | string): void {
    const d = this.device(path);
    if (!d) throw nativeError('E_NO_DEVICE', `${path}: cannot open: ${errnoMessage('ENOENT')}`, 'ENOENT');
    const failed = d.failures.get('setControl');
    d.failures.delete('setControl');
    const i = d.controls.findIndex((c) => c.name === name);
    if (i < 0) throw nativeError('E_CONTROL', `${path}: no control named "${name}"`);
    const c = d.controls[i]!;
    const errno = failed ?? (c.flags.includes('read-only') ? 'EACCES' : undefined);
    if (errno) throw nativeError('E_CONTROL', `${path}: cannot set control "${name}": ${errnoMessage(errno)}`, errno);
    if (c.type === 'button') return;
    const v = typeof value === 'boolean' ? Number(value) : value;
    if (typeof v !== 'string' && (Number(v) < c.min || Number(v) > c.max)) {
      throw nativeError('E_CONTROL', `${path}: cannot set control "${name}" (range ${c.min}..${c.max}): ${errnoMessage('ERANGE')}`, 'ERANGE');
    }
    d.controls[i] = { ...c, value: v };
  }

  resolvePath(path: string): string | undefined {
    const node = this.links.get(path) ?? path;
    return this.devices.has(node) ? node : undefined;
  }

  listAliases(): Map<string, string[]> {
    const out = new Map<string, string[]>();
    for (const [alias, target] of this.links) if (this.devices.has(target)) out.set(target, [...(out.get(target) ?? []), alias]);
    return out;
  }

  sampleClocks(): NativeClockSample {
    return { monotonicNs: this.nowNs, realtimeOffsetNs: 0n, realtimeUncertaintyNs: 0, taiOffsetNs: 0n, taiUncertaintyNs: 0 };
  }

  monotonicNow(): bigint {
    return this.nowNs;
  }

  createCamera(onFrame: NativeFrameCallback, onEvent: NativeEventCallback): NativeCameraHandle {
    return new MockCamera(this, onFrame, onEvent);
  }
}

/** One camera handle of the mock: the NativeCamera contract over a MockDevice. */
class MockCamera implements NativeCameraHandle {
  streaming = false;
  private device: MockDevice | undefined;
  private path = '';
  private copy = false;
  private buffers: MockBuffer[] = [];
  private session = 0;
  private delivered = 0;

  constructor(
    private readonly binding: MockV4l2Binding,
    private readonly onFrame: NativeFrameCallback,
    private readonly onEvent: NativeEventCallback,
  ) {}

  open(path: string, options: NativeOpenOptions): NativeOpenResult {
    if (this.device) throw nativeError('E_STATE', `${path}: already open`);
    const d = this.binding.device(path);
    const failed = d?.failures.get('open');
    d?.failures.delete('open');
    const errno = d ? failed : 'ENOENT';
    if (errno) throw nativeError(openCode(errno), `${path}: cannot open: ${errnoMessage(errno)}`, errno);
    if (!d!.summary.canCapture) throw nativeError('E_NOT_CAPTURE', `${path}: cannot capture video (capabilities: ${d!.summary.capabilities})`);
    if (d!.owner)
      throw nativeError(
        'E_DEVICE_BUSY',
        `${path}: VIDIOC_S_FMT: ${errnoMessage('EBUSY')} (another camera of this process has the device open: close() it first)`,
        'EBUSY',
      );
    const format = d!.formats.find((f) => f.pixelFormat === options.pixelFormat) ?? d!.formats.find((f) => f.pixelFormat === d!.current.pixelFormat);
    d!.current = {
      width: options.width ?? d!.current.width,
      height: options.height ?? d!.current.height,
      pixelFormat: format?.pixelFormat ?? d!.current.pixelFormat,
      fps: options.fps ?? d!.current.fps,
    };
    for (const [name, value] of options.controls ?? []) this.binding.setControl(path, name, value);
    const count = Math.min(Math.max(options.buffers ?? 4, 2), d!.spec.maxBuffers ?? 32);
    this.device = d;
    this.path = path;
    this.copy = options.copy ?? false;
    this.buffers = Array.from({ length: count }, () => ({ owner: 'idle', generation: 0, memory: undefined }));
    d!.owner = this;
    const { width, height, pixelFormat, fps } = d!.current;
    return {
      width,
      height,
      pixelFormat,
      compressed: format?.compressed ?? false,
      bytesPerLine: format?.compressed ? 0 : width * 2,
      sizeImage: width * height * 2,
      fps,
      buffers: count,
      timestampSource: d!.spec.timestampSource ?? 'end-of-frame',
      card: d!.summary.card ?? '',
      driver: d!.summary.driver ?? '',
      bus: d!.summary.bus ?? '',
    };
  }

  start(atNs: bigint, options: NativeStartOptions): void {
    const d = this.requireDevice('start()');
    d.lastStart = options;
    if (this.streaming) throw nativeError('E_STATE', `${this.path}: already started`);
    if (options.eventLoop && !this.binding.eventLoopDelivery) {
      throw nativeError(
        'E_UNSUPPORTED',
        `${this.path}: event-loop delivery needs libuv's header (Node's include/node/uv.h) when the addon is built; use thread delivery`,
      );
    }
    this.streaming = true;
    for (const b of this.buffers) if (b.owner === 'idle') b.owner = 'driver';
    const session = ++this.session;
    const errno = d.failures.get('streamon');
    d.failures.delete('streamon');
    queueMicrotask(() => {
      if (session !== this.session) return;
      if (errno) {
        this.stopStreaming();
        this.event({
          kind: errno === 'ENODEV' ? 'lost' : 'error',
          code: errno === 'ENODEV' ? 'E_DEVICE_LOST' : 'E_STREAMON',
          errno,
          message: `${this.path}: VIDIOC_STREAMON: ${errnoMessage(errno)}`,
        });
        return;
      }
      const now = this.binding.nowNs;
      const at = atNs > now ? atNs : now;
      this.event({ kind: 'started', requestedNs: atNs, streamonStartNs: at, streamonEndNs: at, warnings: [] });
    });
  }

  stop(): void {
    this.session++;
    this.stopStreaming();
  }

  close(): void {
    this.stop();
    for (const b of this.buffers) this.detach(b);
    this.buffers = [];
    if (this.device?.owner === this) this.device.owner = undefined;
    this.device = undefined;
  }

  release(index: number, generation: number): void {
    const b = this.buffers[index];
    if (b?.owner !== 'held' || b.generation !== generation) return;
    this.detach(b);
    b.generation++;
    b.owner = this.streaming ? 'driver' : 'idle';
  }

  listControls(): NativeControl[] {
    this.requireDevice('listControls()');
    return this.binding.listControls(this.path);
  }

  getControl(name: string): number | bigint | string {
    this.requireDevice('getControl()');
    const c = this.binding.listControls(this.path).find((x) => x.name === name);
    if (!c) throw nativeError('E_CONTROL', `${this.path}: no control named "${name}"`);
    if (c.value === undefined) throw nativeError('E_CONTROL', `${this.path}: cannot read control "${name}": ${errnoMessage('EACCES')}`, 'EACCES');
    return c.value;
  }

  setControl(name: string, value?: number | bigint | boolean | string): void {
    this.requireDevice('setControl()');
    this.binding.setControl(this.path, name, value);
  }

  stats(): NativeCameraStats {
    return { delivered: this.delivered, overflows: 0, requeueErrors: 0, buffersHeld: this.buffers.filter((b) => b.owner === 'held').length };
  }

  /** A pushed frame: into the first queued buffer, or dropped when there is none. */
  deliver(sequence: number, frame: MockFrame, source: MockDeviceSpec['timestampSource']): boolean {
    if (!this.streaming) return false;
    const index = this.buffers.findIndex((b) => b.owner === 'driver');
    if (index < 0) return false;
    const b = this.buffers[index]!;
    const bytes = frame.bytes ?? new Uint8Array(16);
    const memory = new ArrayBuffer(bytes.byteLength);
    const view = new Uint8Array(memory);
    view.set(bytes);
    const generation = ++b.generation;
    if (!this.copy) {
      b.owner = 'held';
      b.memory = memory;
    }
    this.delivered++;
    const flags = ((frame.timestampSource ?? source) === 'start-of-exposure' ? V4L2_BUF_FLAG_TSTAMP_SRC_SOE : 0) | (frame.error ? V4L2_BUF_FLAG_ERROR : 0);
    const ts = frame.timestampNs ?? this.binding.nowNs;
    this.onFrame(index, generation, sequence, flags, bytes.byteLength, ts, this.binding.nowNs, this.binding.nowNs, view, this.copy);
    return true;
  }

  dequeueFailed(errno: string): void {
    if (!this.streaming) return;
    const lost = errno === 'ENODEV';
    this.event({
      kind: lost ? 'lost' : 'error',
      code: lost ? 'E_DEVICE_LOST' : 'E_STREAM',
      errno,
      message: lost ? `${this.path}: device disconnected` : `${this.path}: VIDIOC_DQBUF: ${errnoMessage(errno)}`,
    });
  }

  deviceGone(): void {
    if (this.streaming) this.dequeueFailed('ENODEV');
  }

  private event(e: NativeCameraEvent): void {
    this.onEvent(e);
  }

  private stopStreaming(): void {
    this.streaming = false;
    for (const b of this.buffers) if (b.owner === 'driver') b.owner = 'idle';
  }

  private detach(b: MockBuffer): void {
    // Transferring the ArrayBuffer detaches it, as the addon detaches its external buffers.
    if (b.memory && b.memory.byteLength > 0) structuredClone(b.memory, { transfer: [b.memory] });
    b.memory = undefined;
  }

  private requireDevice(what: string): MockDevice {
    if (!this.device) throw nativeError('E_STATE', `${what} before open()`);
    return this.device;
  }
}
