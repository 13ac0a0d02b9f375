import { fileURLToPath } from 'node:url';
import { isH264Keyframe, SyncapError, toSyncapError } from '@syncap/core';
import { loadNativeAddon } from '@syncap/host';
import type { DecodedImage, JpegBinding, RawImageOptions } from './jpeg-binding.js';

const packageRoot = fileURLToPath(new URL('..', import.meta.url));
let binding: JpegBinding | undefined;

function addon(): JpegBinding {
  binding ??= loadNativeAddon<JpegBinding>(packageRoot, 'syncap_jpeg', '@syncap/jpeg');
  return binding;
}

/** Whether the JPEG addon is built and loads (without throwing). */
export function isJpegAvailable(): boolean {
  try {
    addon();
    return true;
  } catch {
    return false;
  }
}

/** The addon's errors carry a core error code; anything else is wrapped. */
function typed(error: unknown, context: string): SyncapError {
  const code = (error as { code?: string }).code;
  if (code === 'E_PARSE' || code === 'E_CONFIG' || code === 'E_UNSUPPORTED_FORMAT') return new SyncapError(code, `${context}: ${(error as Error).message}`);
  return toSyncapError(error, 'E_CONFIG', context);
}

/**
 * Encodes a raw frame (YUYV/UYVY from their 4:2:2 planes, RGB3/BGR3, GREY) on the libuv
 * thread pool. The bytes are read in place: keep the frame (do not release it) until the
 * promise settles. Quality 1–100, default 85.
 */
export async function encodeJpeg(bytes: Uint8Array, options: RawImageOptions & { quality?: number }): Promise<Uint8Array> {
  try {
    return await addon().encode(bytes, options);
  } catch (error) {
    throw typed(error, `encoding a ${options.width}x${options.height} ${options.pixelFormat} frame as JPEG`);
  }
}

/** encodeJpeg on the calling thread (pre-rendering simulated frames, tests). */
export function encodeJpegSync(bytes: Uint8Array, options: RawImageOptions & { quality?: number }): Uint8Array {
  try {
    return addon().encodeSync(bytes, options);
  } catch (error) {
    throw typed(error, `encoding a ${options.width}x${options.height} ${options.pixelFormat} frame as JPEG`);
  }
}

/** A JPEG thumbnail no wider than `maxWidth` (default 160) of a raw frame, off the JS thread. */
export async function jpegThumbnail(bytes: Uint8Array, options: RawImageOptions & { maxWidth?: number; quality?: number }): Promise<Uint8Array> {
  try {
    return await addon().thumbnail(bytes, options);
  } catch (error) {
    throw typed(error, `making a thumbnail of a ${options.width}x${options.height} ${options.pixelFormat} frame`);
  }
}

/** A JPEG thumbnail of a JPEG (an MJPG frame), decoded at a reduced scale: cheap at any size. */
export async function jpegThumbnailOfJpeg(jpeg: Uint8Array, options: { maxWidth?: number; quality?: number } = {}): Promise<Uint8Array> {
  try {
    return await addon().thumbnailOfJpeg(jpeg, options);
  } catch (error) {
    throw typed(error, `making a thumbnail of a ${jpeg.byteLength}-byte JPEG`);
  }
}

/** Whether H264 keyframe thumbnails can be made here: the addon was built with FFmpeg's libavcodec and libswscale. */
export function isH264ThumbnailAvailable(): boolean {
  try {
    return addon().h264Available;
  } catch {
    return false;
  }
}

/**
 * A JPEG thumbnail of an H264 keyframe (an IDR access unit with its SPS and PPS, as
 * isH264Keyframe tells), decoded on its own by libavcodec and scaled by libswscale on the
 * libuv thread pool: no decoder state, so no frame but the keyframe is ever decoded. Any other
 * frame is an E_PARSE error; an addon built without libavcodec, E_UNSUPPORTED_FORMAT saying
 * what to install.
 */
export async function jpegThumbnailOfH264Keyframe(accessUnit: Uint8Array, options: { maxWidth?: number; quality?: number } = {}): Promise<Uint8Array> {
  try {
    return await addon().thumbnailOfH264Keyframe(accessUnit, options);
  } catch (error) {
    throw typed(error, `making a thumbnail of a ${accessUnit.byteLength}-byte H264 frame`);
  }
}

/** Decodes a JPEG (to RGB or grey), at the smallest libjpeg-turbo scale still at least `maxWidth` wide. */
export async function decodeJpeg(jpeg: Uint8Array, options: { maxWidth?: number } = {}): Promise<DecodedImage> {
  try {
    return await addon().decode(jpeg, options);
  } catch (error) {
    throw typed(error, `decoding a ${jpeg.byteLength}-byte JPEG`);
  }
}

/** The raw layouts jpegThumbnail takes. */
const RAW_FORMATS: ReadonlySet<string> = new Set(['YUYV', 'UYVY', 'RGB3', 'BGR3', 'GREY']);

/**
 * Makes live thumbnails of camera frames, off the JS thread: raw frames (YUYV, UYVY, RGB3,
 * BGR3, GREY) through jpegThumbnail, MJPG through jpegThumbnailOfJpeg (decoded at a reduced
 * scale), H264 keyframes through jpegThumbnailOfH264Keyframe where the addon has libavcodec
 * (`accepts` takes only keyframes). Other formats (a simulated camera without pixels) have
 * none. It fits @syncap/net's Thumbnailer. Width at most `maxWidth` (default 320), quality
 * default 70.
 */
export function jpegThumbnailer(options: { maxWidth?: number; quality?: number } = {}): {
  supports(pixelFormat: string): boolean;
  accepts(bytes: Uint8Array, pixelFormat: string): boolean;
  make(image: { bytes: Uint8Array; width: number; height: number; pixelFormat: string }): Promise<Uint8Array>;
} {
  const maxWidth = options.maxWidth ?? 320;
  const quality = options.quality ?? 70;
  const h264 = isH264ThumbnailAvailable();
  return {
    supports: (pixelFormat) => pixelFormat === 'MJPG' || RAW_FORMATS.has(pixelFormat) || (h264 && pixelFormat === 'H264'),
    accepts: (bytes, pixelFormat) => pixelFormat !== 'H264' || isH264Keyframe(bytes),
    make: (image) => {
      if (image.pixelFormat === 'MJPG') return jpegThumbnailOfJpeg(image.bytes, { maxWidth, quality });
      if (image.pixelFormat === 'H264') return jpegThumbnailOfH264Keyframe(image.bytes, { maxWidth, quality });
      return jpegThumbnail(image.bytes, { width: image.width, height: image.height, pixelFormat: image.pixelFormat, maxWidth, quality });
    },
  };
}
