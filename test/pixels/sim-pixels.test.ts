import type { Frame } from '@syncap/core';
import { decodeJpeg, encodeJpegSync, isJpegAvailable } from '@syncap/jpeg';
import { readPatternStamp, SeededRandom, SimCamera, SimScheduler } from '@syncap/sim';
import { describe, expect, it } from 'vitest';

const jpegReason = isJpegAvailable() ? null : 'the JPEG addon is not built (needs libturbojpeg0-dev)';
if (jpegReason && process.env.CI === 'true') throw new Error(`sim pixel tests cannot run under CI: ${jpegReason}`);

function camera(pixels: ConstructorParameters<typeof SimCamera>[2]['pixels'], buffers = 4) {
  const scheduler = new SimScheduler(0n);
  const cam = new SimCamera(scheduler, new SeededRandom(4), { id: 'left', fps: 30, pixels, buffers });
  const frames: Frame[] = [];
  cam.onFrame((f) => frames.push(f));
  return { scheduler, cam, frames };
}

describe('simulated cameras with real pixels', () => {
  it('YUYV frames carry the moving pattern, and their stamp reads back as the frame seq and device instant', async () => {
    const { scheduler, cam, frames } = camera({ width: 320, height: 180, pixelFormat: 'YUYV' }, 8);
    await cam.open();
    expect(cam.info).toMatchObject({ width: 320, height: 180, pixelFormat: 'YUYV' });
    await cam.start({ atNs: 1_000_000_000n });
    scheduler.runUntil(1_200_000_000n);
    expect(frames.length).toBeGreaterThanOrEqual(5);
    const luma = (f: Frame, x: number, y: number) => f.data!.bytes[(y * 320 + x) * 2]!;
    for (const f of frames.slice(0, 3)) {
      expect(f.data!.bytes.byteLength).toBe(320 * 180 * 2);
      expect(readPatternStamp(f.data!.bytes, 320, 180, 2)).toEqual({ seq: f.seq, exposureNs: f.deviceTimeNs });
    }
    // The ramp moves: the same pixel differs between frames; the text box is drawn (dark with light glyph pixels).
    expect(luma(frames[0]!, 160, 100)).not.toBe(luma(frames[2]!, 160, 100));
    const text = Array.from({ length: 40 }, (_, x) => luma(frames[0]!, 4 + x, 6));
    expect(Math.max(...text)).toBeGreaterThan(200);
    expect(Math.min(...text)).toBeLessThan(30);
    for (const f of frames) f.data!.release();
  });

  it('raw frames come from a pool no larger than the buffers, as a driver hands them out', async () => {
    const { scheduler, cam, frames } = camera({ width: 160, height: 90, pixelFormat: 'GREY' });
    await cam.open();
    await cam.start({ atNs: 0n });
    scheduler.runUntil(1_000_000_000n);
    // 4 buffers, none released: the camera loses frames for want of a buffer (as V4L2 does).
    expect(frames.length).toBe(4);
    expect(cam.counts['no-buffer']).toBeGreaterThan(20);
    const bytes = frames[0]!.data!.bytes;
    frames[0]!.data!.release();
    scheduler.runUntil(1_040_000_000n);
    expect(frames.length).toBe(5);
    expect(frames[4]!.data!.bytes).toBe(bytes);
  });

  it.runIf(jpegReason === null)('MJPG frames are real JPEGs of the pattern, sized as they come; their stamp survives compression', async () => {
    const encodeJpeg = (yuyv: Uint8Array, width: number, height: number) => encodeJpegSync(yuyv, { width, height, pixelFormat: 'YUYV', quality: 80 });
    const { scheduler, cam, frames } = camera({ width: 640, height: 480, pixelFormat: 'MJPG', encodeJpeg });
    await cam.open();
    expect(cam.info?.pixelFormat).toBe('MJPG');
    await cam.start({ atNs: 0n });
    scheduler.runUntil(100_000_000n);
    expect(frames.length).toBeGreaterThanOrEqual(2);
    const f = frames[1]!;
    const jpeg = f.data!.bytes;
    expect([jpeg[0], jpeg[1]]).toEqual([0xff, 0xd8]);
    expect(jpeg.byteLength).toBeLessThan(640 * 480);
    const decoded = await decodeJpeg(jpeg);
    expect(readPatternStamp(decoded.pixels, decoded.width, decoded.height, decoded.channels)).toEqual({ seq: f.seq, exposureNs: f.deviceTimeNs });
  });

  it.runIf(jpegReason === null)('ring mode serves images rendered once (what benches use), cycling through the ring', async () => {
    const encodeJpeg = (yuyv: Uint8Array, width: number, height: number) => encodeJpegSync(yuyv, { width, height, pixelFormat: 'YUYV' });
    const { scheduler, cam, frames } = camera({ width: 320, height: 240, pixelFormat: 'MJPG', encodeJpeg, mode: 'ring', ringFrames: 3 });
    await cam.open();
    await cam.start({ atNs: 0n });
    for (let i = 0; i < 8; i++) {
      scheduler.runUntil(BigInt(i + 1) * 34_000_000n);
      frames.at(-1)?.data?.release();
    }
    expect(frames.length).toBeGreaterThanOrEqual(7);
    expect(frames[3]!.data!.bytes).toBe(frames[0]!.data!.bytes);
    expect(frames[1]!.data!.bytes).not.toBe(frames[0]!.data!.bytes);
  });
});
