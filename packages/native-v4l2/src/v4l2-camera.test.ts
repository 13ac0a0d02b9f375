import FakeTimers from '@sinonjs/fake-timers';
import { type CameraEvent, ConfigError, type Frame, FrameFlags } from '@syncap/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MockV4l2Binding } from './mock-binding.js';
import type { NativeControl } from './native-binding.js';
import { startAll } from './start-all.js';
import { V4l2Camera, type V4l2CameraOptions, type V4l2Frame } from './v4l2-camera.js';

const EXPOSURE: NativeControl = {
  name: 'exposure_time_absolute',
  label: 'Exposure Time, Absolute',
  id: 0x9a0902,
  type: 'integer',
  min: 1,
  max: 10_000,
  step: 1,
  default: 100,
  flags: [],
};
const AUTO_EXPOSURE: NativeControl = {
  name: 'auto_exposure',
  label: 'Auto Exposure',
  id: 0x9a0901,
  type: 'menu',
  min: 0,
  max: 3,
  step: 1,
  default: 1,
  flags: [],
  menu: { 0: 'Auto Mode', 1: 'Manual Mode', 3: 'Aperture Priority Mode' },
};
const GAIN: NativeControl = { name: 'gain', label: 'Gain', id: 0x980913, type: 'integer', min: 0, max: 100, step: 5, default: 10, flags: [] };
const MIRROR: NativeControl = {
  name: 'horizontal_flip',
  label: 'Horizontal Flip',
  id: 0x980914,
  type: 'boolean',
  min: 0,
  max: 1,
  step: 1,
  default: 0,
  flags: [],
};
const TEMPERATURE: NativeControl = {
  name: 'temperature',
  label: 'Temperature',
  id: 0x1,
  type: 'integer',
  min: 0,
  max: 200,
  step: 1,
  default: 40,
  flags: ['read-only'],
};

let binding: MockV4l2Binding;
const cameras: V4l2Camera[] = [];

function camera(path = '/dev/video0', options: V4l2CameraOptions = {}): V4l2Camera {
  const c = new V4l2Camera(path, { id: 'cam', binding, ...options });
  cameras.push(c);
  return c;
}

function collect(c: V4l2Camera, release = true): V4l2Frame[] {
  const frames: V4l2Frame[] = [];
  c.onFrame((f) => {
    frames.push(f as V4l2Frame);
    if (release) f.data?.release();
  });
  return frames;
}

function events(c: V4l2Camera): CameraEvent[] {
  const list: CameraEvent[] = [];
  c.onEvent((e) => list.push(e));
  return list;
}

beforeEach(() => {
  binding = new MockV4l2Binding();
  binding.addDevice('/dev/video0', {
    formats: [
      { pixelFormat: 'YUYV', description: 'YUYV 4:2:2', compressed: false, sizes: [{ width: 640, height: 360, fps: [30, 60] }] },
      { pixelFormat: 'MJPG', description: 'Motion-JPEG', compressed: true, sizes: [{ width: 1280, height: 720, fps: [30] }] },
    ],
    controls: [EXPOSURE, AUTO_EXPOSURE, GAIN, MIRROR, TEMPERATURE],
  });
});

afterEach(async () => {
  for (const c of cameras.splice(0)) await c.close();
});

describe('V4l2Camera format negotiation', () => {
  it('opens with the requested format, any FourCC case, and reports what the driver settled on', async () => {
    const c = camera('/dev/video0', { pixelFormat: 'mjpg', width: 1280, height: 720, fps: 30 });
    await c.open();
    expect(c.info).toMatchObject({ width: 1280, height: 720, pixelFormat: 'MJPG', fps: 30, timestampSource: 'end-of-frame', buffers: 8 });
    expect(c.details).toMatchObject({ compressed: true, devicePath: '/dev/video0', driver: 'mock' });
  });

  it('an unsupported pixel format, size or rate fails listing what the device supports', async () => {
    await expect(camera('/dev/video0', { pixelFormat: 'H264' }).open()).rejects.toMatchObject({
      code: 'E_UNSUPPORTED_FORMAT',
      cameraId: 'cam',
      message: expect.stringMatching(/does not support pixel format H264; it supports YUYV, MJPG/),
    });
    await expect(camera('/dev/video0', { width: 333, height: 111 }).open()).rejects.toThrow(/does not support 333x111 in YUYV; it supports 640x360@30\/60fps/);
    await expect(camera('/dev/video0', { fps: 25 }).open()).rejects.toThrow(/does not support 25 fps at 640x360 YUYV; it supports 30, 60 fps/);
  });

  it('a missing device, a busy one and a node that cannot capture fail with their codes and errno', async () => {
    await expect(camera('/dev/video9').open()).rejects.toMatchObject({ code: 'E_NO_DEVICE', errno: 'ENOENT', message: expect.stringMatching(/\/dev\/video9/) });
    await camera().open();
    await expect(camera('/dev/video0', { id: 'other' }).open()).rejects.toMatchObject({ code: 'E_DEVICE_BUSY', errno: 'EBUSY', cameraId: 'other' });
    binding.addDevice('/dev/video1', { canCapture: false });
    await expect(camera('/dev/video1', { validate: false }).open()).rejects.toMatchObject({ code: 'E_NOT_CAPTURE' });
    binding.addDevice('/dev/video2');
    binding.failNext('/dev/video2', 'open', 'EACCES');
    await expect(camera('/dev/video2').open()).rejects.toMatchObject({ code: 'E_PERMISSION', errno: 'EACCES' });
  });
});

describe('V4l2Camera streaming', () => {
  it('delivers frames with drops counted from sequence gaps (DROP_BEFORE) across the u32 wrap', async () => {
    const c = camera();
    const frames = collect(c);
    await c.open();
    await c.start();
    for (const seq of [0xffff_fffe, 0xffff_ffff, 2, 3, 7]) binding.pushFrame('/dev/video0', { sequence: seq });
    expect(frames.map((f) => f.seq)).toEqual([0xffff_fffe, 0xffff_ffff, 2, 3, 7]);
    expect(frames.map((f) => f.flags & FrameFlags.DROP_BEFORE)).toEqual([0, 0, FrameFlags.DROP_BEFORE, 0, FrameFlags.DROP_BEFORE]);
    expect(c.stats().drops).toBe(2 + 3);
  });

  it('a new session starts its drop counting afresh and flags erroneous buffers', async () => {
    const c = camera();
    const frames = collect(c);
    await c.open();
    await c.start();
    binding.pushFrame('/dev/video0', { sequence: 5 });
    await c.stop();
    await c.start();
    binding.pushFrame('/dev/video0', { sequence: 0, error: true });
    expect(frames.map((f) => f.flags)).toEqual([FrameFlags.NONE, FrameFlags.ERROR]);
    expect(c.stats().drops).toBe(0);
  });

  it('zero-copy: release detaches the view, a second release does nothing, held buffers are not reused', async () => {
    const c = camera('/dev/video0', { buffers: 2 });
    const frames = collect(c, false);
    await c.open();
    await c.start();
    expect(binding.pushFrame('/dev/video0', { bytes: new Uint8Array([1, 2, 3]) })).toBe(true);
    expect(binding.pushFrame('/dev/video0')).toBe(true);
    // Both buffers are with JS: the driver has nowhere to put the next frame.
    expect(binding.pushFrame('/dev/video0')).toBe(false);
    const view = frames[0]!.data!.bytes;
    expect([...view]).toEqual([1, 2, 3]);
    frames[0]!.data!.release();
    frames[0]!.data!.release();
    expect(view.byteLength).toBe(0);
    expect(() => frames[0]!.data!.bytes).toThrow(/released; its buffer belongs to the driver again/);
    expect(c.stats().buffersHeld).toBe(1);
    expect(binding.pushFrame('/dev/video0')).toBe(true);
    expect(frames).toHaveLength(3);
    // The lost frame shows as a gap.
    expect(frames[2]!.flags & FrameFlags.DROP_BEFORE).toBe(FrameFlags.DROP_BEFORE);
  });

  it('v4l2loopback (its writer overwrites buffers a reader holds): frames are copies by default, zero-copy only when asked', async () => {
    binding.addDevice('/dev/video10', {
      driver: 'v4l2 loopback',
      formats: [{ pixelFormat: 'MJPG', description: 'Motion-JPEG', compressed: true, sizes: [{ width: 320, height: 240, fps: [15] }] }],
    });
    const c = camera('/dev/video10', { buffers: 2 });
    const frames = collect(c, false);
    await c.open();
    expect(c.details).toMatchObject({ driver: 'v4l2 loopback', mode: 'copy' });
    await c.start();
    // Held frames do not hold driver buffers: the device keeps every frame coming.
    for (let k = 0; k < 4; k++) expect(binding.pushFrame('/dev/video10', { bytes: new Uint8Array([0xff, 0xd8, k]) })).toBe(true);
    expect(frames.map((f) => [...f.data!.bytes])).toEqual([0, 1, 2, 3].map((k) => [0xff, 0xd8, k]));
    expect(c.stats().buffersHeld).toBe(0);
    await c.close();

    const asked = camera('/dev/video10', { buffers: 2, mode: 'zero-copy' });
    await asked.open();
    expect(asked.details?.mode).toBe('zero-copy');
    const vivid = camera('/dev/video0');
    await vivid.open();
    expect(vivid.details?.mode).toBe('zero-copy');
  });

  it('frames held across stop and close are detached at close; releasing them later is harmless', async () => {
    const c = camera();
    const frames = collect(c, false);
    await c.open();
    await c.start();
    binding.pushFrame('/dev/video0');
    await c.stop();
    // A frame after stop never reaches listeners.
    expect(binding.pushFrame('/dev/video0')).toBe(false);
    const view = frames[0]!.data!.bytes;
    await c.close();
    expect(view.byteLength).toBe(0);
    frames[0]!.data!.release();
    expect(frames).toHaveLength(1);
  });

  it('copy mode: frames own their bytes and stay readable', async () => {
    const c = camera('/dev/video0', { mode: 'copy', buffers: 2 });
    const frames = collect(c, false);
    await c.open();
    expect(c.info?.buffers).toBeUndefined();
    await c.start();
    for (let i = 0; i < 5; i++) binding.pushFrame('/dev/video0', { bytes: new Uint8Array([i]) });
    expect(frames.map((f) => f.data!.bytes[0])).toEqual([0, 1, 2, 3, 4]);
  });

  it('without listeners frames go straight back to the driver', async () => {
    const c = camera('/dev/video0', { buffers: 2 });
    await c.open();
    await c.start();
    for (let i = 0; i < 5; i++) expect(binding.pushFrame('/dev/video0')).toBe(true);
    expect(c.stats()).toMatchObject({ delivered: 5, buffersHeld: 0 });
  });
});

describe('V4l2Camera start, stop and failures', () => {
  it('start resolves with the achieved instant; lateness against a requested instant', async () => {
    const c = camera();
    await c.open();
    binding.nowNs = 5_000_000_000n;
    const r = await c.start({ atNs: 4_999_000_000n });
    expect(r).toMatchObject({ startedAtNs: 5_000_000_000n, lateByNs: 1_000_000 });
  });

  it('start before open, twice, or after a loss is refused with the state', async () => {
    const c = camera();
    await expect(c.start()).rejects.toMatchObject({ code: 'E_STATE' });
    await c.open();
    const first = c.start();
    await expect(c.start()).rejects.toMatchObject({ code: 'E_STATE' });
    await first;
  });

  it('a STREAMON failure rejects start with E_STREAMON and errno; a restart recovers', async () => {
    const c = camera();
    const seen = events(c);
    await c.open();
    binding.failNext('/dev/video0', 'streamon', 'EIO');
    await expect(c.start()).rejects.toMatchObject({ code: 'E_STREAMON', errno: 'EIO', message: expect.stringMatching(/VIDIOC_STREAMON/) });
    expect(seen.map((e) => e.type)).toEqual(['error']);
    await c.start();
    const frames = collect(c);
    binding.pushFrame('/dev/video0');
    expect(frames).toHaveLength(1);
  });

  it('stop before the start instant rejects the pending start with E_STOPPED', async () => {
    const c = camera();
    await c.open();
    const pending = c.start({ atNs: binding.nowNs + 1_000_000_000n });
    await c.stop();
    await expect(pending).rejects.toMatchObject({ code: 'E_STOPPED' });
  });

  it('a DQBUF error is a typed error event and streaming ends until restarted', async () => {
    const c = camera();
    const seen = events(c);
    const frames = collect(c);
    await c.open();
    await c.start();
    binding.dequeueError('/dev/video0', 'EIO');
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ type: 'error', cameraId: 'cam', error: { code: 'E_STREAM', errno: 'EIO' } });
    expect(binding.isStreaming('/dev/video0')).toBe(false);
    expect(binding.pushFrame('/dev/video0')).toBe(false);
    await c.start();
    binding.pushFrame('/dev/video0');
    expect(frames).toHaveLength(1);
  });

  it('a lost device: `lost` with E_DEVICE_LOST, the device released, start refused', async () => {
    const c = camera();
    const seen = events(c);
    await c.open();
    await c.start();
    binding.removeDevice('/dev/video0');
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ type: 'lost', cameraId: 'cam', error: { code: 'E_DEVICE_LOST', errno: 'ENODEV' } });
    await expect(c.start()).rejects.toMatchObject({ code: 'E_DEVICE_LOST' });
    // The device was closed: plugged in again, another camera can open it.
    binding.addDevice('/dev/video0');
    await camera('/dev/video0', { id: 'again' }).open();
  });

  it('startAll starts every camera at one instant and, when one fails, stops the others and names it', async () => {
    binding.addDevice('/dev/video1');
    const a = camera('/dev/video0', { id: 'a' });
    const b = camera('/dev/video1', { id: 'b' });
    await a.open();
    await b.open();
    const ok = await startAll([a, b], { atNs: binding.nowNs + 10_000_000n });
    expect(ok.skewNs).toBe(0);
    await a.stop();
    await b.stop();
    binding.failNext('/dev/video1', 'streamon', 'EPIPE');
    await expect(startAll([a, b])).rejects.toMatchObject({ code: 'E_STREAMON', cameraId: 'b', message: expect.stringMatching(/synchronized start failed/) });
    expect(binding.isStreaming('/dev/video0')).toBe(false);
  });
});

describe('V4l2Camera delivery', () => {
  it('event-loop by default; thread when priority or cpu is asked for or the binding lacks event-loop delivery', () => {
    expect(camera().delivery).toBe('event-loop');
    expect(camera('/dev/video0', { priority: 50 }).delivery).toBe('thread');
    expect(camera('/dev/video0', { cpu: 1 }).delivery).toBe('thread');
    binding.eventLoopDelivery = false;
    expect(camera().delivery).toBe('thread');
  });

  it('asking for event-loop delivery with priority or cpu is a ConfigError that says why', () => {
    expect(() => camera('/dev/video0', { delivery: 'event-loop', priority: 50 })).toThrow(ConfigError);
    expect(() => camera('/dev/video0', { delivery: 'event-loop', cpu: 0 })).toThrow(/apply to a capture thread/);
  });

  it('coalesceMs: 0–1000 under event-loop delivery; out of range, or with thread delivery, a ConfigError naming it', () => {
    expect(camera('/dev/video0', { coalesceMs: 33 }).delivery).toBe('event-loop');
    expect(camera('/dev/video0', { delivery: 'thread', coalesceMs: 0 }).delivery).toBe('thread');
    expect(() => camera('/dev/video0', { coalesceMs: -1 })).toThrow(/coalesceMs must be 'auto' or a number of ms from 0 to 1000, got -1/);
    expect(() => camera('/dev/video0', { coalesceMs: Number.NaN })).toThrow(ConfigError);
    expect(() => camera('/dev/video0', { coalesceMs: 1001 })).toThrow(/from 0 to 1000/);
    expect(() => camera('/dev/video0', { delivery: 'thread', coalesceMs: 10 })).toThrow(/coalesceMs applies to event-loop delivery/);
    // 4 buffers at 30 fps: three frame periods (100 ms) of frames can wait in the driver.
    expect(camera('/dev/video0', { fps: 30, buffers: 4, coalesceMs: 99 }).delivery).toBe('event-loop');
    expect(() => camera('/dev/video0', { fps: 30, buffers: 4, coalesceMs: 100 })).toThrow(/would let 4 buffers at 30 fps fill up.*less than 100 ms/);
    expect(() => camera('/dev/video0', { priority: 50, coalesceMs: 10 })).toThrow(/coalesceMs applies to event-loop delivery/);
  });

  it('coalesceMs without fps is checked at open against the rate the device settled on; the device is left closed', async () => {
    // The mock device runs at 30 fps by default: 4 buffers hold three frame periods (100 ms).
    const c = camera('/dev/video0', { buffers: 4, coalesceMs: 100 });
    await expect(c.open()).rejects.toThrow(ConfigError);
    await expect(c.open()).rejects.toThrow(/would let 4 buffers at 30 fps fill up.*less than 100 ms/);
    // Nothing kept the device: another camera opens it.
    const fits = camera('/dev/video0', { buffers: 4, coalesceMs: 99 });
    await fits.open();
    expect(fits.info?.fps).toBe(30);
    await fits.close();
  });

  it('coalescing is adaptive by default, at the opened frame period; a number or 0 is passed as given', async () => {
    const startOptions = async (options: Parameters<typeof camera>[1]) => {
      const c = camera('/dev/video0', options);
      await c.open();
      await c.start();
      const o = binding.lastStartOptions('/dev/video0');
      await c.close();
      return { coalesceMs: o?.coalesceMs, autoCoalesceMs: o?.autoCoalesceMs };
    };
    // 60 fps opened: a tick every 17 ms (a little slower than the frames, so each finds one of every camera).
    expect(await startOptions({ fps: 60 })).toEqual({ coalesceMs: -1, autoCoalesceMs: 17 });
    expect(await startOptions({ fps: 30, coalesceMs: 'auto' })).toEqual({ coalesceMs: -1, autoCoalesceMs: 34 });
    // Too few buffers to let frames wait a period: this camera is not coalesced.
    expect(await startOptions({ fps: 30, buffers: 3 })).toEqual({ coalesceMs: -1, autoCoalesceMs: 0 });
    expect(await startOptions({ coalesceMs: 0 })).toEqual({ coalesceMs: 0, autoCoalesceMs: 0 });
    expect(await startOptions({ coalesceMs: 12.4 })).toEqual({ coalesceMs: 12, autoCoalesceMs: 0 });
  });

  it('explicit event-loop delivery where the binding has none fails start with E_UNSUPPORTED', async () => {
    binding.eventLoopDelivery = false;
    const c = camera('/dev/video0', { delivery: 'event-loop' });
    await c.open();
    await expect(c.start()).rejects.toMatchObject({ code: 'E_UNSUPPORTED' });
  });
});

describe('V4l2Camera controls', () => {
  it('applies `controls` at open: menu items by label or index, booleans, numbers', async () => {
    const c = camera('/dev/video0', { controls: { auto_exposure: 'manual mode', horizontal_flip: true, gain: 20, exposure_time_absolute: '250' } });
    await c.open();
    expect(c.getControl('auto_exposure')).toBe(1);
    expect(c.getControl('horizontal_flip')).toBe(1);
    expect(c.getControl('gain')).toBe(20);
    c.setControl('auto_exposure', 3);
    expect(c.getControl('auto_exposure')).toBe(3);
    c.setControl('horizontal_flip', 'false');
    expect(c.getControl('horizontal_flip')).toBe(0);
  });

  it('a wrong name or value fails open naming the camera, the control and what is allowed; nothing is set', async () => {
    await expect(camera('/dev/video0', { controls: { gain: 20, shutter: 1 } }).open()).rejects.toMatchObject({
      code: 'E_CONTROL',
      message: expect.stringMatching(/^cam: no control named "shutter"; it has exposure_time_absolute, auto_exposure, gain/),
    });
    expect(binding.listControls('/dev/video0').find((c) => c.name === 'gain')?.value).toBe(10);
    await expect(camera('/dev/video0', { controls: { gain: 101 } }).open()).rejects.toThrow(
      /control gain: is out of range: 101; allowed: integer 0\.\.100 step 5/,
    );
    await expect(camera('/dev/video0', { controls: { gain: 12 } }).open()).rejects.toThrow(/is off its step: 12/);
    await expect(camera('/dev/video0', { controls: { auto_exposure: 'Shutter' } }).open()).rejects.toThrow(
      /has no menu item "Shutter"; allowed: menu: 0 = Auto Mode, 1 = Manual Mode, 3 = Aperture Priority Mode/,
    );
    await expect(camera('/dev/video0', { controls: { horizontal_flip: 'maybe' } }).open()).rejects.toThrow(
      /is a boolean, not "maybe"; allowed: boolean: true\/false or 1\/0/,
    );
    await expect(camera('/dev/video0', { controls: { temperature: 3 } }).open()).rejects.toThrow(/is read-only/);
    // A failed open leaves the device free.
    await camera('/dev/video0', { id: 'free' }).open();
  });

  it('a driver refusal is E_CONTROL with the errno', async () => {
    const c = camera();
    await c.open();
    binding.failNext('/dev/video0', 'setControl', 'EBUSY');
    expect(() => c.setControl('gain', 30)).toThrow(expect.objectContaining({ code: 'E_CONTROL', errno: 'EBUSY', cameraId: 'cam' }));
  });
});

describe('V4l2Camera mid-exposure timestamps', () => {
  it('end-of-frame stamps move back by half the exposure and readout, plus the offset; the raw time is kept', async () => {
    const c = camera('/dev/video0', { controls: { exposure_time_absolute: 100 }, exposure: { readoutNs: 8_000_000, offsetNs: 1000 } });
    const frames = collect(c);
    await c.open();
    // 100 × 100 µs = 10 ms exposure: −5 ms − 4 ms + 1 µs.
    expect(c.info?.exposure).toEqual({ correctionNs: -8_999_000, rule: 'end-of-frame' });
    expect(c.details?.exposure).toMatchObject({ exposureNs: 10_000_000, control: 'exposure_time_absolute', automatic: false });
    await c.start();
    binding.pushFrame('/dev/video0', { timestampNs: 2_000_000_000n });
    expect(frames[0]).toMatchObject({
      deviceTimeNs: 2_000_000_000n,
      exposureCorrectionNs: -8_999_000,
      rigTimeNs: 2_000_000_000n - 8_999_000n,
      timestampSource: 'end-of-frame',
    });
  });

  it('follows each buffer’s timestamp source, and exposure after setControl', async () => {
    const c = camera('/dev/video0', { controls: { exposure_time_absolute: 200 } });
    const frames = collect(c);
    await c.open();
    await c.start();
    binding.pushFrame('/dev/video0', { timestampNs: 1_000_000_000n, timestampSource: 'start-of-exposure' });
    expect(frames[0]).toMatchObject({ exposureCorrectionNs: 10_000_000, rigTimeNs: 1_010_000_000n, timestampSource: 'start-of-exposure' });
    expect(c.info).toMatchObject({ timestampSource: 'start-of-exposure', exposure: { rule: 'start-of-exposure', correctionNs: 10_000_000 } });
    c.setControl('exposure_time_absolute', 40);
    binding.pushFrame('/dev/video0', { timestampNs: 1_100_000_000n, timestampSource: 'end-of-frame' });
    expect(frames[1]).toMatchObject({ exposureCorrectionNs: -2_000_000, rigTimeNs: 1_098_000_000n });
  });

  it('under auto exposure the exposure is read again as frames come (at most every 500 ms of device time)', async () => {
    const c = camera('/dev/video0', { controls: { auto_exposure: 'Auto Mode', exposure_time_absolute: 100 } });
    const frames = collect(c);
    await c.open();
    expect(c.details?.exposure.automatic).toBe(true);
    await c.start();
    binding.pushFrame('/dev/video0', { timestampNs: 1_000_000_000n });
    binding.setControlValue('/dev/video0', 'exposure_time_absolute', 300);
    binding.pushFrame('/dev/video0', { timestampNs: 1_200_000_000n });
    binding.pushFrame('/dev/video0', { timestampNs: 1_600_000_000n });
    expect(frames.map((f) => f.exposureCorrectionNs)).toEqual([-5_000_000, -5_000_000, -15_000_000]);
  });

  it('a device without an exposure control: only readout and offset; with no known source only the offset', async () => {
    binding.addDevice('/dev/video1', { timestampSource: 'start-of-exposure' });
    const c = camera('/dev/video1', { exposure: { readoutNs: 2_000_000 } });
    await c.open();
    expect(c.info?.exposure).toEqual({ correctionNs: 1_000_000, rule: 'start-of-exposure' });
    expect(c.details?.exposure).toEqual({ exposureNs: 0, automatic: false });
  });
});

describe('V4l2Camera device names and replug', () => {
  let clock: FakeTimers.InstalledClock;
  beforeEach(() => {
    clock = FakeTimers.install({ toFake: ['setTimeout', 'clearTimeout'] });
  });
  afterEach(() => clock.uninstall());

  const BY_ID = '/dev/v4l/by-id/usb-Acme_Cam_1234-video-index0';

  it('opens a /dev/v4l/by-id name and, after a replug as another /dev/videoN, reopens it and emits reconnected', async () => {
    binding.link(BY_ID, '/dev/video0');
    const c = camera(BY_ID, { controls: { gain: 30 } });
    const seen = events(c);
    const frames = collect(c);
    await c.open();
    expect(c.details?.devicePath).toBe('/dev/video0');
    await c.start();
    binding.pushFrame('/dev/video0');
    // Unplugged: the node and the name go away.
    binding.removeDevice('/dev/video0');
    binding.unlink(BY_ID);
    expect(seen.map((e) => e.type)).toEqual(['lost']);
    await clock.tickAsync(2000);
    expect(seen.map((e) => e.type)).toEqual(['lost']);
    // Plugged in again: udev names it /dev/video3 this time.
    binding.addDevice('/dev/video3', { controls: [GAIN] });
    binding.link(BY_ID, '/dev/video3');
    await clock.tickAsync(500);
    expect(seen.map((e) => e.type)).toEqual(['lost', 'reconnected']);
    expect(c.details?.devicePath).toBe('/dev/video3');
    expect(c.stats().reconnects).toBe(1);
    // Reopened as configured (controls too); the owner restarts it (SyncNode does on the grid).
    expect(c.getControl('gain')).toBe(30);
    await c.start();
    binding.pushFrame('/dev/video3');
    expect(frames).toHaveLength(2);
  });

  it('keeps trying while the device is back but not ready yet', async () => {
    binding.link(BY_ID, '/dev/video0');
    const c = camera(BY_ID, { reconnect: { intervalMs: 100 } });
    const seen = events(c);
    await c.open();
    await c.start();
    binding.removeDevice('/dev/video0');
    binding.addDevice('/dev/video0');
    binding.failNext('/dev/video0', 'open', 'EBUSY');
    await clock.tickAsync(100);
    expect(seen.map((e) => e.type)).toEqual(['lost']);
    await clock.tickAsync(100);
    expect(seen.map((e) => e.type)).toEqual(['lost', 'reconnected']);
  });

  it('a /dev/videoN path does not reconnect unless asked; close stops the watch', async () => {
    const plain = camera('/dev/video0');
    const seen = events(plain);
    await plain.open();
    await plain.start();
    binding.removeDevice('/dev/video0');
    binding.addDevice('/dev/video0');
    await clock.tickAsync(5000);
    expect(seen.map((e) => e.type)).toEqual(['lost']);
    await plain.close();

    binding.link(BY_ID, '/dev/video0');
    const named = camera(BY_ID);
    const seenNamed = events(named);
    await named.open();
    await named.start();
    binding.removeDevice('/dev/video0');
    await named.close();
    binding.addDevice('/dev/video0');
    await clock.tickAsync(5000);
    expect(seenNamed.map((e) => e.type)).toEqual(['lost']);
    expect(clock.countTimers()).toBe(0);
  });
});

describe('V4l2Camera frames and listeners', () => {
  it('hands frames to every listener, an unsubscribed one no longer', async () => {
    const c = camera();
    const got: Frame[] = [];
    const off = c.onFrame((f) => got.push(f));
    c.onFrame((f) => f.data?.release());
    await c.open();
    await c.start();
    binding.pushFrame('/dev/video0');
    off();
    binding.pushFrame('/dev/video0');
    expect(got).toHaveLength(1);
  });
});
