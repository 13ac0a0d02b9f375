import jpeg from 'jpeg-js';

/** Converts a frame to RGBA and encodes it as JPEG. Supports YUYV, UYVY, RGB3, BGR3, GREY (and SIM, 8-bit grey). */
export function encodeJpeg(bytes: Uint8Array, width: number, height: number, pixelFormat: string, quality = 80): Uint8Array {
  const rgba = new Uint8Array(width * height * 4);
  const put = (i: number, r: number, g: number, b: number) => {
    rgba[i * 4] = r;
    rgba[i * 4 + 1] = g;
    rgba[i * 4 + 2] = b;
    rgba[i * 4 + 3] = 255;
  };
  const clamp = (v: number) => (v < 0 ? 0 : v > 255 ? 255 : v);
  const yuv = (i: number, y: number, u: number, v: number) => {
    // BT.601 limited range.
    const c = y - 16;
    const d = u - 128;
    const e = v - 128;
    put(i, clamp((298 * c + 409 * e + 128) >> 8), clamp((298 * c - 100 * d - 208 * e + 128) >> 8), clamp((298 * c + 516 * d + 128) >> 8));
  };
  const pixels = width * height;
  switch (pixelFormat) {
    case 'YUYV':
    case 'UYVY': {
      const yFirst = pixelFormat === 'YUYV';
      for (let p = 0; p + 1 < pixels; p += 2) {
        const o = p * 2;
        const [y0, u, y1, v] = yFirst ? [bytes[o]!, bytes[o + 1]!, bytes[o + 2]!, bytes[o + 3]!] : [bytes[o + 1]!, bytes[o]!, bytes[o + 3]!, bytes[o + 2]!];
        yuv(p, y0, u, v);
        yuv(p + 1, y1, u, v);
      }
      break;
    }
    case 'RGB3':
    case 'BGR3':
      for (let p = 0; p < pixels; p++) {
        const [a, b, c] = [bytes[p * 3]!, bytes[p * 3 + 1]!, bytes[p * 3 + 2]!];
        if (pixelFormat === 'RGB3') put(p, a, b, c);
        else put(p, c, b, a);
      }
      break;
    default:
      for (let p = 0; p < pixels; p++) put(p, bytes[p] ?? 0, bytes[p] ?? 0, bytes[p] ?? 0);
  }
  return new Uint8Array(jpeg.encode({ data: rgba, width, height }, quality).data);
}
