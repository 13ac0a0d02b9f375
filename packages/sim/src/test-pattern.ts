import { ConfigError } from '@syncap/core';

/** Raw layouts the test pattern renders into. */
export type PatternFormat = 'YUYV' | 'GREY';

/** What a frame of the test pattern shows. */
export interface PatternStamp {
  readonly cameraId: string;
  readonly seq: number;
  /** The exposure instant drawn in and encoded in the stamp strip, ns (the camera's own clock). */
  readonly exposureNs: bigint;
}

/** Frames narrower than this carry no machine-readable stamp (its blocks would be too small). */
export const MIN_STAMP_WIDTH = 128;
const STAMP_BITS = 32;
const STAMP_ROWS = 3; // seq, exposure high 32 bits, exposure low 32 bits

/** Bytes per pixel of a pattern format. */
export function patternBytesPerPixel(format: PatternFormat): number {
  return format === 'YUYV' ? 2 : 1;
}

/**
 * Draws the moving test pattern into `target`: a luma ramp that moves with the frame
 * index over colour bars (YUYV), the camera id and exposure instant as text, and a strip
 * of black/white blocks at the bottom encoding seq and exposure instant for tests to read
 * back (`readPatternStamp`), big enough to survive JPEG. Rows are copied, not drawn, so a
 * 1280×720 frame costs well under a millisecond plus the text.
 */
export function renderTestPattern(target: Uint8Array, width: number, height: number, format: PatternFormat, stamp: PatternStamp): void {
  const bpp = patternBytesPerPixel(format);
  const stride = width * bpp;
  if (target.byteLength < stride * height)
    throw new ConfigError(`test pattern: ${width}x${height} ${format} needs ${stride * height} bytes, got ${target.byteLength}`);
  // One row of the moving ramp, then copied to every row.
  const shift = (stamp.seq * 4) % width;
  for (let x = 0; x < width; x++) {
    const luma = 16 + Math.floor((((x + shift) % width) * 219) / width);
    if (bpp === 1) {
      target[x] = luma;
    } else {
      target[x * 2] = luma;
      // Eight colour bars in chroma (U on even pixels, V on odd), fixed: the ramp moves over them.
      const bar = Math.floor((x * 8) / width);
      target[x * 2 + 1] = (x & 1) === 0 ? BAR_U[bar]! : BAR_V[bar]!;
    }
  }
  for (let y = 1; y < height; y++) target.copyWithin(y * stride, 0, stride);

  const scale = Math.max(1, Math.floor(height / 120));
  drawText(target, width, height, bpp, 4 * scale, 4 * scale, scale, stamp.cameraId);
  drawText(target, width, height, bpp, 4 * scale, 14 * scale, scale, `SEQ ${stamp.seq}`);
  drawText(target, width, height, bpp, 4 * scale, 24 * scale, scale, `T ${stamp.exposureNs}`);
  if (width >= MIN_STAMP_WIDTH) drawStamp(target, width, height, bpp, stamp);
}

/**
 * Reads the stamp strip of a test-pattern frame (raw YUYV/GREY bytes, or the luma of a
 * decoded JPEG with `bpp` 1 or 3). Undefined when the frame is too narrow to carry one.
 */
export function readPatternStamp(pixels: Uint8Array, width: number, height: number, bytesPerPixel: number): { seq: number; exposureNs: bigint } | undefined {
  if (width < MIN_STAMP_WIDTH) return undefined;
  const { block, top } = stampGeometry(width, height);
  const words: number[] = [];
  for (let row = 0; row < STAMP_ROWS; row++) {
    let word = 0;
    for (let bit = 0; bit < STAMP_BITS; bit++) {
      const x = bit * block + (block >> 1);
      const y = top + row * block + (block >> 1);
      const luma = pixels[(y * width + x) * bytesPerPixel]!;
      word = (word * 2 + (luma > 128 ? 1 : 0)) >>> 0;
    }
    words.push(word);
  }
  return { seq: words[0]!, exposureNs: (BigInt(words[1]!) << 32n) | BigInt(words[2]!) };
}

// BT.601 chroma of white, yellow, cyan, green, magenta, red, blue, black (the classic bars).
const BAR_U = [128, 16, 166, 54, 202, 90, 240, 128];
const BAR_V = [128, 146, 16, 34, 222, 240, 110, 128];

function stampGeometry(width: number, height: number): { block: number; top: number } {
  const block = Math.floor(width / STAMP_BITS);
  return { block, top: height - STAMP_ROWS * block };
}

function drawStamp(target: Uint8Array, width: number, height: number, bpp: number, stamp: PatternStamp): void {
  const { block, top } = stampGeometry(width, height);
  if (top < 0) return;
  const words = [stamp.seq >>> 0, Number((stamp.exposureNs >> 32n) & 0xffff_ffffn), Number(stamp.exposureNs & 0xffff_ffffn)];
  words.forEach((word, row) => {
    for (let bit = 0; bit < STAMP_BITS; bit++) {
      const on = ((word >>> (STAMP_BITS - 1 - bit)) & 1) === 1;
      fillRect(target, width, bpp, bit * block, top + row * block, block, block, on ? 235 : 16);
    }
  });
}

function fillRect(target: Uint8Array, width: number, bpp: number, x0: number, y0: number, w: number, h: number, luma: number): void {
  for (let y = y0; y < y0 + h; y++) {
    const row = y * width * bpp;
    for (let x = x0; x < x0 + w; x++) {
      target[row + x * bpp] = luma;
      if (bpp === 2) target[row + x * 2 + 1] = 128;
    }
  }
}

function drawText(target: Uint8Array, width: number, height: number, bpp: number, x0: number, y0: number, scale: number, text: string): void {
  // A dark box behind the text, so it reads over any part of the ramp.
  const boxW = Math.min(width - x0, (text.length * 6 + 1) * scale);
  if (y0 + 8 * scale > height || boxW <= 0) return;
  fillRect(target, width, bpp, x0 - scale, y0 - scale, boxW + scale, 9 * scale, 16);
  let x = x0;
  for (const ch of text.toUpperCase()) {
    const glyph = FONT[ch] ?? FONT['?']!;
    for (let gy = 0; gy < 7; gy++) {
      const bits = glyph[gy]!;
      for (let gx = 0; gx < 5; gx++) {
        if ((bits >> (4 - gx)) & 1 && x + (gx + 1) * scale <= width) fillRect(target, width, bpp, x + gx * scale, y0 + gy * scale, scale, scale, 235);
      }
    }
    x += 6 * scale;
    if (x + 5 * scale > width) return;
  }
}

/** A 5×7 font (each row's 5 low bits, left pixel first) for ids, digits and a little punctuation. */
const FONT: Record<string, readonly number[]> = {
  '0': [14, 17, 19, 21, 25, 17, 14],
  '1': [4, 12, 4, 4, 4, 4, 14],
  '2': [14, 17, 1, 2, 4, 8, 31],
  '3': [31, 2, 4, 2, 1, 17, 14],
  '4': [2, 6, 10, 18, 31, 2, 2],
  '5': [31, 16, 30, 1, 1, 17, 14],
  '6': [6, 8, 16, 30, 17, 17, 14],
  '7': [31, 1, 2, 4, 8, 8, 8],
  '8': [14, 17, 17, 14, 17, 17, 14],
  '9': [14, 17, 17, 15, 1, 2, 12],
  A: [14, 17, 17, 31, 17, 17, 17],
  B: [30, 17, 17, 30, 17, 17, 30],
  C: [14, 17, 16, 16, 16, 17, 14],
  D: [28, 18, 17, 17, 17, 18, 28],
  E: [31, 16, 16, 30, 16, 16, 31],
  F: [31, 16, 16, 30, 16, 16, 16],
  G: [14, 17, 16, 23, 17, 17, 15],
  H: [17, 17, 17, 31, 17, 17, 17],
  I: [14, 4, 4, 4, 4, 4, 14],
  J: [7, 2, 2, 2, 2, 18, 12],
  K: [17, 18, 20, 24, 20, 18, 17],
  L: [16, 16, 16, 16, 16, 16, 31],
  M: [17, 27, 21, 21, 17, 17, 17],
  N: [17, 17, 25, 21, 19, 17, 17],
  O: [14, 17, 17, 17, 17, 17, 14],
  P: [30, 17, 17, 30, 16, 16, 16],
  Q: [14, 17, 17, 17, 21, 18, 13],
  R: [30, 17, 17, 30, 20, 18, 17],
  S: [15, 16, 16, 14, 1, 1, 30],
  T: [31, 4, 4, 4, 4, 4, 4],
  U: [17, 17, 17, 17, 17, 17, 14],
  V: [17, 17, 17, 17, 17, 10, 4],
  W: [17, 17, 17, 21, 21, 21, 10],
  X: [17, 17, 10, 4, 10, 17, 17],
  Y: [17, 17, 17, 10, 4, 4, 4],
  Z: [31, 1, 2, 4, 8, 16, 31],
  ' ': [0, 0, 0, 0, 0, 0, 0],
  '.': [0, 0, 0, 0, 0, 12, 12],
  ':': [0, 12, 12, 0, 12, 12, 0],
  '-': [0, 0, 0, 31, 0, 0, 0],
  _: [0, 0, 0, 0, 0, 0, 31],
  '/': [0, 1, 2, 4, 8, 16, 0],
  '@': [14, 17, 1, 13, 21, 21, 14],
  '?': [14, 17, 1, 2, 4, 0, 4],
};
