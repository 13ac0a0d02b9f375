import { CloseCodes, ProtocolError } from './protocol.js';

/**
 * The sync protocol's one binary message: a camera's latest thumbnail, a small JPEG the
 * node makes for the server's dashboard. Pixels never go as text (no base64, no JSON):
 *
 * ```
 * offset  size  field
 *      0     1  kind: 1 (thumbnail)
 *      1     1  version: 1
 *      2     1  L: camera id length, 1–64 bytes (ASCII, the protocol's id alphabet)
 *      3     1  reserved: 0
 *      4     4  seq of the frame (u32 LE)
 *      8     8  rig time of the frame, ns (i64 LE)
 *     16     L  camera id
 *   16+L     …  the JPEG (SOI … EOI), at most MAX_THUMBNAIL_BYTES
 * ```
 *
 * The server takes the image's size from the JPEG itself (its SOF marker), not from the
 * node's word.
 */
export interface ThumbnailMessage {
  readonly cameraId: string;
  readonly seq: number;
  readonly rigTimeNs: bigint;
  readonly jpeg: Uint8Array;
}

/** A decoded thumbnail message, with the image's size read from its JPEG. */
export interface ReceivedThumbnail extends ThumbnailMessage {
  readonly width: number;
  readonly height: number;
}

export const THUMBNAIL_KIND = 1;
export const THUMBNAIL_VERSION = 1;
/** Largest thumbnail JPEG either side accepts, bytes (a 320 px wide JPEG is ~5–30 KiB). */
export const MAX_THUMBNAIL_BYTES = 128 * 1024;
/** Widest thumbnail the server accepts, px (the node makes them at most this wide). */
export const MAX_THUMBNAIL_WIDTH = 320;
/** Tallest thumbnail the server accepts, px (a 320 px wide thumbnail of a very tall image). */
export const MAX_THUMBNAIL_HEIGHT = 1024;
const HEADER_BYTES = 16;
const ID = /^[A-Za-z0-9._:-]{1,64}$/;

/** The binary message for a thumbnail (one fresh buffer: the connection may hold it until written). */
export function encodeThumbnailMessage(t: ThumbnailMessage): Uint8Array {
  if (!ID.test(t.cameraId)) throw new RangeError(`camera id ${JSON.stringify(t.cameraId.slice(0, 80))} is not a protocol id`);
  const out = new Uint8Array(HEADER_BYTES + t.cameraId.length + t.jpeg.byteLength);
  const view = new DataView(out.buffer);
  out[0] = THUMBNAIL_KIND;
  out[1] = THUMBNAIL_VERSION;
  out[2] = t.cameraId.length;
  view.setUint32(4, t.seq >>> 0, true);
  view.setBigInt64(8, t.rigTimeNs, true);
  for (let i = 0; i < t.cameraId.length; i++) out[HEADER_BYTES + i] = t.cameraId.charCodeAt(i);
  out.set(t.jpeg, HEADER_BYTES + t.cameraId.length);
  return out;
}

/**
 * Parses and checks a thumbnail message: its header, its camera id, the JPEG's size in bytes
 * and pixels. Throws a ProtocolError (malformed, or too large) for anything else; the JPEG is
 * a view into `bytes`.
 */
export function decodeThumbnailMessage(bytes: Uint8Array, maxJpegBytes = MAX_THUMBNAIL_BYTES): ReceivedThumbnail {
  const malformed = (why: string) => new ProtocolError(`malformed thumbnail message: ${why}`, CloseCodes.malformed);
  if (bytes.byteLength < HEADER_BYTES + 1) throw malformed(`${bytes.byteLength} bytes is shorter than its header`);
  if (bytes[0] !== THUMBNAIL_KIND) throw malformed(`unknown binary message kind ${bytes[0]}`);
  if (bytes[1] !== THUMBNAIL_VERSION) throw malformed(`version ${bytes[1]} not supported (this side speaks ${THUMBNAIL_VERSION})`);
  const idLength = bytes[2]!;
  if (idLength < 1 || idLength > 64 || bytes.byteLength < HEADER_BYTES + idLength) throw malformed(`camera id length ${idLength}`);
  const cameraId = String.fromCharCode(...bytes.subarray(HEADER_BYTES, HEADER_BYTES + idLength));
  if (!ID.test(cameraId)) throw malformed('the camera id holds characters other than letters, digits and . _ : -');
  const jpeg = bytes.subarray(HEADER_BYTES + idLength);
  if (jpeg.byteLength > maxJpegBytes)
    throw new ProtocolError(`thumbnail of ${jpeg.byteLength} bytes exceeds the ${maxJpegBytes}-byte limit`, CloseCodes.tooLarge);
  const size = jpegSize(jpeg);
  if (!size) throw malformed('the image is not a baseline or progressive JPEG');
  if (size.width < 1 || size.height < 1 || size.width > MAX_THUMBNAIL_WIDTH || size.height > MAX_THUMBNAIL_HEIGHT)
    throw new ProtocolError(`thumbnail of ${size.width}x${size.height} px is outside 1x1–${MAX_THUMBNAIL_WIDTH}x${MAX_THUMBNAIL_HEIGHT}`, CloseCodes.tooLarge);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return { cameraId, seq: view.getUint32(4, true), rigTimeNs: view.getBigInt64(8, true), jpeg, ...size };
}

/**
 * The size of a JPEG from its frame header (SOF0–SOF15 but DHT, JPG, DAC), walking the
 * marker segments before the scan; undefined if it does not start with SOI and end with EOI,
 * or has no frame header before its first scan.
 */
export function jpegSize(jpeg: Uint8Array): { width: number; height: number } | undefined {
  const n = jpeg.byteLength;
  if (n < 4 || jpeg[0] !== 0xff || jpeg[1] !== 0xd8 || jpeg[n - 2] !== 0xff || jpeg[n - 1] !== 0xd9) return undefined;
  let i = 2;
  while (i + 4 <= n) {
    if (jpeg[i] !== 0xff) return undefined;
    const marker = jpeg[i + 1]!;
    if (marker === 0xff) {
      i++; // fill byte
      continue;
    }
    const length = (jpeg[i + 2]! << 8) | jpeg[i + 3]!;
    if (length < 2 || i + 2 + length > n) return undefined;
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      if (length < 7) return undefined;
      return { height: (jpeg[i + 5]! << 8) | jpeg[i + 6]!, width: (jpeg[i + 7]! << 8) | jpeg[i + 8]! };
    }
    if (marker === 0xda) return undefined; // a scan before any frame header
    i += 2 + length;
  }
  return undefined;
}
