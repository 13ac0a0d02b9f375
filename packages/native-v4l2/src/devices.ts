import { DeviceError, type ErrorCode, isErrorCode } from '@syncap/core';
import { loadAddon, type NativeDeviceDescription, type NativeDeviceSummary, type NativeFormat } from './addon.js';

export type DeviceSummary = NativeDeviceSummary;
export type DeviceDescription = NativeDeviceDescription;

/** V4L2 video nodes on this machine (path, card, driver, bus, capabilities). Empty when there are none. */
export function listDevices(): DeviceSummary[] {
  return loadAddon().listDevices();
}

/** Formats, sizes, frame rates and controls of one device. Throws DeviceError naming the path. */
export function describe(path: string): DeviceDescription {
  try {
    return loadAddon().describe(path);
  } catch (error) {
    throw toDeviceError(path, error);
  }
}

/** The addon's error names (errno names and its own) as core's error codes. */
const NATIVE_CODES: Readonly<Record<string, ErrorCode>> = {
  ENOENT: 'E_NO_DEVICE',
  ENODEV: 'E_NO_DEVICE',
  ENXIO: 'E_NO_DEVICE',
  E_LOST: 'E_DEVICE_LOST',
  EBUSY: 'E_DEVICE_BUSY',
  EACCES: 'E_PERMISSION',
  EPERM: 'E_PERMISSION',
  E_FORMAT: 'E_UNSUPPORTED_FORMAT',
  E_NOT_V4L2: 'E_NOT_CAPTURE',
  E_QBUF: 'E_STREAM',
  E_ARG: 'E_CONFIG',
};

/** Maps an error from the addon (with `code`) to a DeviceError for camera `id`. */
export function toDeviceError(id: string, error: unknown): DeviceError {
  const e = error as { code?: string; message?: string };
  if (error instanceof DeviceError && error.cameraId === id) return error;
  const native = e.code ?? '';
  const code = NATIVE_CODES[native] ?? (isErrorCode(native) ? native : 'E_DEVICE');
  // Keep the device path the message names; put the camera id in front once.
  return new DeviceError(code, id, (e.message ?? String(error)).replace(new RegExp(`^${id.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: `), ''), {
    cause: error,
    ...(/^E[A-Z]+$/.test(native) && !native.startsWith('E_') ? { errno: native } : {}),
  });
}

export interface FormatRequest {
  readonly width?: number;
  readonly height?: number;
  readonly pixelFormat?: string;
  readonly fps?: number;
}

/** A readable list of what a format offers: "640x360@[5, 10, 30] 320x180@[…]". */
function describeSizes(format: NativeFormat): string {
  return format.sizes
    .map((s) =>
      s.width !== undefined
        ? `${s.width}x${s.height}@${s.fps.map((f) => +f.toFixed(2)).join('/')}fps`
        : `${s.minWidth}-${s.maxWidth}x${s.minHeight}-${s.maxHeight}`,
    )
    .join(', ');
}

/**
 * Checks a requested format against what the device reports, so an unsupported
 * format, size or rate fails with the device's own list instead of being silently
 * adjusted. Returns nothing; throws DeviceError('E_UNSUPPORTED_FORMAT').
 */
export function checkFormat(id: string, desc: DeviceDescription, req: FormatRequest): void {
  const path = desc.path;
  if (!desc.canCapture) throw new DeviceError('E_NOT_CAPTURE', id, `${path} cannot capture video (capabilities: ${desc.capabilities})`);
  const formats = desc.formats;
  const format = req.pixelFormat
    ? formats.find((f) => f.pixelFormat === req.pixelFormat)
    : (formats.find((f) => f.pixelFormat === desc.current?.pixelFormat) ?? formats[0]);
  if (!format) {
    throw new DeviceError(
      'E_UNSUPPORTED_FORMAT',
      id,
      `${path} does not support pixel format ${req.pixelFormat}; it supports ${formats.map((f) => f.pixelFormat).join(', ') || 'no capture formats'}`,
    );
  }
  if (req.width === undefined && req.height === undefined && req.fps === undefined) return;
  const width = req.width ?? desc.current?.width;
  const height = req.height ?? desc.current?.height;
  const size = format.sizes.find((s) =>
    s.width !== undefined
      ? s.width === width && s.height === height
      : width !== undefined && height !== undefined && width >= s.minWidth! && width <= s.maxWidth! && height >= s.minHeight! && height <= s.maxHeight!,
  );
  if (!size)
    throw new DeviceError(
      'E_UNSUPPORTED_FORMAT',
      id,
      `${path} does not support ${width}x${height} in ${format.pixelFormat}; it supports ${describeSizes(format)}`,
    );
  if (req.fps !== undefined && size.fps.length > 0) {
    const ok =
      size.width === undefined
        ? req.fps >= Math.min(...size.fps) * 0.995 && req.fps <= Math.max(...size.fps) * 1.005
        : size.fps.some((f) => Math.abs(f - req.fps!) <= f * 0.005);
    if (!ok) {
      throw new DeviceError(
        'E_UNSUPPORTED_FORMAT',
        id,
        `${path} does not support ${req.fps} fps at ${width}x${height} ${format.pixelFormat}; it supports ${size.fps.map((f) => +f.toFixed(3)).join(', ')} fps`,
      );
    }
  }
}
