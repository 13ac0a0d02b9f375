import { fileURLToPath } from 'node:url';
import { SyncapError, toSyncapError } from '@syncap/core';
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

/** Decodes a JPEG (to RGB or grey), at the smallest libjpeg-turbo scale still at least `maxWidth` wide. */
export async function decodeJpeg(jpeg: Uint8Array, options: { maxWidth?: number } = {}): Promise<DecodedImage> {
  try {
    return await addon().decode(jpeg, options);
  } catch (error) {
    throw typed(error, `decoding a ${jpeg.byteLength}-byte JPEG`);
  }
}
