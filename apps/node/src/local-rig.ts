import { type CameraDevice, type Clock, ClockMapper, type ClockSample, ConfigError, IDENTITY_TIMEBASE, type RigTimebase, type Timers } from '@syncap/core';
import { RealtimePacer } from '@syncap/harness';
import { hostTimers, jsRealtimeSample, monotonicClock } from '@syncap/host';
import { encodeJpegSync } from '@syncap/jpeg';
import { SeededRandom, SimCamera, SimScheduler } from '@syncap/sim';
import { parseCameraSpec } from './camera-spec.js';
import { deviceOptionsOf, type RigConfig } from './rig-config.js';
import { isSimCameraSpec, parseSimCameraSpec, type SimCameraSpec } from './sim-camera-spec.js';

/** One camera of the local rig, as the user named it (a --camera spec or a config entry). */
export type LocalCameraSpec =
  | {
      readonly kind: 'v4l2';
      readonly id: string;
      readonly path: string;
      readonly width?: number;
      readonly height?: number;
      readonly fps?: number;
      readonly pixelFormat?: string;
      readonly buffers?: number;
      readonly controls?: Readonly<Record<string, number | string | boolean>>;
      readonly delivery?: 'event-loop' | 'thread';
      readonly priority?: number;
      readonly cpu?: number;
      readonly exposure?: { readonly readoutNs?: number; readonly offsetNs?: number };
    }
  | { readonly kind: 'sim'; readonly id: string; readonly fps: number; readonly pixels?: SimCameraSpec; readonly buffers?: number };

/**
 * The cameras of one host and the clocks they run on. The rig timebase is realtime (the
 * clock recordings are stamped in): V4L2 cameras' CLOCK_MONOTONIC timestamps are mapped to it
 * through bracketed clock samples; simulated cameras run on virtual time paced to the wall
 * clock from the realtime instant they start at.
 */
export interface LocalRig {
  readonly cameras: ReadonlyArray<{ readonly device: CameraDevice; readonly fps: number }>;
  /** The rig clock (realtime). */
  readonly clock: Clock;
  readonly timers: Timers;
  /** Maps frames into the rig timebase and start instants back to the devices' clock. */
  readonly timebase: RigTimebase;
  /** A REALTIME − MONOTONIC reading (recorded on the clock-sample topic). */
  sampleClock(): ClockSample;
  /** Starts the clocks (the pacer of simulated cameras, clock sampling). */
  start(): void;
  stop(): void;
}

/** The cameras a capture names: --camera specs, --simulate N, or the config's. */
export function localCameraSpecs(o: { camera: readonly string[]; simulate?: number; config?: RigConfig; configPath?: string }): LocalCameraSpec[] {
  if (o.config) {
    const kinds = new Set(o.config.cameras.map((c) => (c.simulate ? 'sim' : 'device')));
    if (kinds.size > 1) throw new ConfigError(`${o.configPath}: cameras mix simulate: true with devices; use one kind`);
    return o.config.cameras.map((c) =>
      c.simulate
        ? {
            kind: 'sim' as const,
            id: c.id,
            fps: c.fps,
            buffers: c.buffers,
            ...(c.format ? { pixels: { width: c.width ?? 640, height: c.height ?? 360, fps: c.fps, pixelFormat: simFormat(c.format, o.configPath) } } : {}),
          }
        : { kind: 'v4l2' as const, path: c.device!, ...deviceOptionsOf(c) },
    );
  }
  if (o.simulate) return Array.from({ length: o.simulate }, (_, i) => ({ kind: 'sim' as const, id: `cam${i}`, fps: 30 }));
  const specs = o.camera.map((text, i): LocalCameraSpec => {
    const id = `cam${i}`;
    if (isSimCameraSpec(text)) {
      const pixels = parseSimCameraSpec(text);
      return { kind: 'sim', id, fps: pixels.fps, pixels };
    }
    const { path, options } = parseCameraSpec(text, id);
    return { kind: 'v4l2', path, ...options };
  });
  if (new Set(specs.map((s) => s.kind)).size > 1) throw new ConfigError('--camera: simulated (sim:…) and V4L2 cameras cannot be mixed in one capture');
  return specs;
}

function simFormat(format: string, source: string | undefined): SimCameraSpec['pixelFormat'] {
  const f = format.toUpperCase();
  if (f === 'YUYV' || f === 'GREY' || f === 'MJPG') return f;
  throw new ConfigError(`${source}: simulated cameras give YUYV, GREY or MJPG, not ${format}`);
}

/** Builds the local rig. V4L2 cameras load the native addon (a clear error when it is not built). */
export async function buildLocalRig(specs: readonly LocalCameraSpec[], o: { recordingPixels: boolean }): Promise<LocalRig> {
  if (specs.length === 0) throw new ConfigError('no cameras');
  return specs[0]!.kind === 'sim'
    ? simulatedRig(specs as Array<Extract<LocalCameraSpec, { kind: 'sim' }>>)
    : v4l2Rig(specs as Array<Extract<LocalCameraSpec, { kind: 'v4l2' }>>, o);
}

function simulatedRig(specs: ReadonlyArray<Extract<LocalCameraSpec, { kind: 'sim' }>>): LocalRig {
  // Virtual time starts at the realtime instant: simulated timestamps read as this machine's realtime.
  const scheduler = new SimScheduler(BigInt(Date.now()) * 1_000_000n);
  const random = new SeededRandom(1);
  const pacer = new RealtimePacer(scheduler);
  const encodeJpeg = (yuyv: Uint8Array, width: number, height: number) => encodeJpegSync(yuyv, { width, height, pixelFormat: 'YUYV', quality: 80 });
  const cameras = specs.map((s) => {
    const timingOnly = !s.pixels;
    const device = new SimCamera(scheduler, random.fork(s.id), {
      id: s.id,
      fps: s.fps,
      jitterNs: 50_000,
      buffers: s.buffers ?? 16,
      // Without pixels: small grey frames of zeros, so that a recording is still made of images.
      ...(timingOnly
        ? { width: 64, height: 48, payloadBytes: 64 * 48 }
        : { pixels: { ...s.pixels!, ...(s.pixels!.pixelFormat === 'MJPG' ? { encodeJpeg } : {}) } }),
    });
    return { device, fps: s.fps };
  });
  return {
    cameras,
    clock: scheduler.clock,
    timers: scheduler.timers,
    timebase: IDENTITY_TIMEBASE,
    sampleClock: () => ({ monotonicNs: scheduler.nowNs, offsetNs: 0n, uncertaintyNs: 0 }),
    start: () => pacer.start(),
    stop: () => pacer.stop(),
  };
}

async function v4l2Rig(specs: ReadonlyArray<Extract<LocalCameraSpec, { kind: 'v4l2' }>>, o: { recordingPixels: boolean }): Promise<LocalRig> {
  const native = await import('@syncap/native-v4l2');
  const sample = (): ClockSample => {
    try {
      const s = native.sampleClocks(16);
      return { monotonicNs: s.monotonicNs, offsetNs: s.realtimeOffsetNs, uncertaintyNs: s.realtimeUncertaintyNs };
    } catch {
      return jsRealtimeSample();
    }
  };
  const mapper = new ClockMapper();
  mapper.addSample(sample());
  let sampler: NodeJS.Timeout | undefined;
  const cameras = specs.map((s) => {
    const { kind: _kind, path, ...options } = s;
    // Recording holds frames until they are on disk: more driver buffers absorb the disk's latency.
    const device = new native.V4l2Camera(path, { ...options, buffers: s.buffers ?? (o.recordingPixels ? 16 : 8) });
    return { device, fps: s.fps ?? 30 };
  });
  return {
    cameras,
    clock: { nowNs: () => mapper.toRig(monotonicClock.nowNs()).rigNs },
    timers: hostTimers,
    timebase: mapper,
    sampleClock: sample,
    start: () => {
      sampler = setInterval(() => mapper.addSample(sample()), 1000);
    },
    stop: () => clearInterval(sampler),
  };
}
