import { describe, expect, it } from 'vitest';
import { decodeJpeg, encodeJpeg, encodeJpegSync, isJpegAvailable, jpegThumbnail, jpegThumbnailOfJpeg } from './jpeg.js';

const reason = isJpegAvailable() ? null : 'the JPEG addon is not built (npm run build:addon -w @syncap/jpeg; needs libturbojpeg0-dev)';
if (reason) {
  if (process.env.CI === 'true') throw new Error(`JPEG tests cannot run under CI: ${reason}`);
  console.warn(`JPEG tests skipped: ${reason}`);
}

/** A YUYV frame: luma ramps left to right, chroma neutral (a grey ramp). */
function yuyvRamp(width: number, height: number): Uint8Array {
  const bytes = new Uint8Array(width * height * 2);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 2;
      bytes[i] = 16 + Math.round((219 * x) / (width - 1));
      bytes[i + 1] = 128;
    }
  }
  return bytes;
}

const isJpeg = (b: Uint8Array) => b[0] === 0xff && b[1] === 0xd8 && b.at(-2) === 0xff && b.at(-1) === 0xd9;

describe.runIf(reason === null)('@syncap/jpeg (libjpeg-turbo)', () => {
  it('encodes a YUYV frame from its 4:2:2 planes, and the decoded pixels are the frame', async () => {
    const frame = yuyvRamp(64, 32);
    const jpeg = await encodeJpeg(frame, { width: 64, height: 32, pixelFormat: 'YUYV', quality: 95 });
    expect(isJpeg(jpeg)).toBe(true);
    const decoded = await decodeJpeg(jpeg);
    expect(decoded).toMatchObject({ width: 64, height: 32, channels: 3 });
    // Left edge black, right edge white, monotonic in between (within JPEG's error).
    const px = (x: number, y: number) => decoded.pixels[(y * 64 + x) * 3]!;
    expect(px(0, 16)).toBeLessThan(12);
    expect(px(63, 16)).toBeGreaterThan(243);
    expect(Math.abs(px(32, 16) - 128)).toBeLessThan(12);
  });

  it('encodes every raw layout it names, and refuses compressed or unknown ones by name', async () => {
    const w = 16;
    const h = 8;
    for (const [pixelFormat, bpp] of [
      ['UYVY', 2],
      ['RGB3', 3],
      ['BGR3', 3],
      ['GREY', 1],
      ['yuyv', 2],
    ] as const) {
      const jpeg = encodeJpegSync(new Uint8Array(w * h * bpp).fill(100), { width: w, height: h, pixelFormat });
      expect(isJpeg(jpeg), pixelFormat).toBe(true);
    }
    await expect(encodeJpeg(new Uint8Array(100), { width: 16, height: 8, pixelFormat: 'MJPG' })).rejects.toMatchObject({
      code: 'E_UNSUPPORTED_FORMAT',
      message: expect.stringMatching(/cannot JPEG-encode pixel format MJPG/),
    });
    await expect(encodeJpeg(new Uint8Array(10), { width: 16, height: 8, pixelFormat: 'YUYV' })).rejects.toMatchObject({
      code: 'E_CONFIG',
      message: expect.stringMatching(/has 10 bytes, 16x8 needs 256/),
    });
  });

  it('makes small thumbnails of raw frames and of JPEGs; a broken JPEG is a parse error', async () => {
    const frame = yuyvRamp(640, 360);
    const thumb = await jpegThumbnail(frame, { width: 640, height: 360, pixelFormat: 'YUYV', maxWidth: 160 });
    const t = await decodeJpeg(thumb);
    expect(t.width).toBeLessThanOrEqual(160);
    expect(t.height).toBe(90);
    const big = await encodeJpeg(frame, { width: 640, height: 360, pixelFormat: 'YUYV' });
    const fromJpeg = await decodeJpeg(await jpegThumbnailOfJpeg(big, { maxWidth: 160 }));
    expect(fromJpeg.width).toBeLessThanOrEqual(160);
    expect(fromJpeg.width).toBeGreaterThan(60);
    await expect(decodeJpeg(new Uint8Array([0xff, 0xd8, 1, 2, 3]))).rejects.toMatchObject({ code: 'E_PARSE' });
  });
});
