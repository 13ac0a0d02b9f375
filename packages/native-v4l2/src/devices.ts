import { DeviceError, isErrorCode } from '@syncap/core';
import { applyControls, type ControlValue } from './controls.js';
import { loadBinding } from './native-addon.js';
import type { NativeBinding, NativeControl, NativeDeviceDescription, NativeDeviceSummary, NativeError, NativeFormat } from './native-binding.js';

/** A V4L2 node: path, card, driver, bus, capabilities, and its stable names. */
export interface DeviceSummary extends NativeDeviceSummary {
  /** /dev/v4l/by-id/… and /dev/v4l/by-path/… names that lead to this node (udev makes them). */
  readonly aliases: readonly string[];
}

/** A device's formats (with sizes and rates), controls (with current values) and current format. */
export interface DeviceDescription extends NativeDeviceDescription {
  readonly aliases: readonly string[];
}

/** V4L2 video nodes on this machine. Empty when there are none. */
export function listDevices(binding: NativeBinding = loadBinding()): DeviceSummary[] {
  const aliases = binding.listAliases();
  return binding.listDevices().map((d) => ({ ...d, aliases: aliases.get(d.path) ?? [] }));
}

/** Formats, sizes, frame rates and controls of one device (any name for it). Throws DeviceError naming the path. */
export function describe(path: string, binding: NativeBinding = loadBinding()): DeviceDescription {
  try {
    const d = binding.describe(path);
    const node = binding.resolvePath(path) ?? path;
    return { ...d, aliases: binding.listAliases().get(node) ?? [] };
  } catch (error) {
    throw toDeviceError(path, error);
  }
}

/** Every control of a device (name, type, range, step, default, current value, menu items), as `v4l2-ctl --list-ctrls-menus`. */
export function listControls(path: string, binding: NativeBinding = loadBinding()): NativeControl[] {
  try {
    return binding.listControls(path);
  } catch (error) {
    throw toDeviceError(path, error);
  }
}

/**
 * Sets controls of a device by name (menu items by label or index, booleans as true/false/1/0);
 * all are checked before any is set. Throws DeviceError('E_CONTROL') naming the control and what it allows.
 */
export function setControls(path: string, values: Readonly<Record<string, ControlValue>>, binding: NativeBinding = loadBinding()): void {
  const device = {
    listControls: () => listControls(path, binding),
    setControl: (name: string, value?: number | bigint | string) => {
      try {
        binding.setControl(path, name, value);
      } catch (error) {
        throw toDeviceError(path, error);
      }
    },
  };
  applyControls(path, device, values);
}

/**
 * An error from the binding (a NativeError, or a lost/error event) as a DeviceError for camera
 * `id`: the binding already says which of core's codes it is and which errno caused it.
 */
export function toDeviceError(id: string, error: unknown): DeviceError {
  if (error instanceof DeviceError) return error;
  const e = error as Partial<NativeError>;
  const code = e.code !== undefined && isErrorCode(e.code) ? e.code : 'E_DEVICE';
  const message = e.message ?? String(error);
  // Keep the device path the message names; put the camera id in front once.
  const text = message.startsWith(`${id}: `) ? message.slice(id.length + 2) : message;
  return new DeviceError(code, id, text, { cause: error, ...(e.errno ? { errno: e.errno } : {}) });
}

export interface FormatRequest {
  readonly width?: number;
  readonly height?: number;
  /** FourCC, any case ("yuyv", "MJPG"). */
  readonly pixelFormat?: string;
  readonly fps?: number;
}

/** A readable list of what a format offers: "640x360@5/10/30fps, 320x180@…". */
function describeSizes(format: NativeFormat): string {
  return format.sizes
    .map((s) =>
      s.width !== undefined
        ? `${s.width}x${s.height}@${s.fps.map((f) => +f.toFixed(2)).join('/')}fps`
        : `${s.minWidth}-${s.maxWidth}x${s.minHeight}-${s.maxHeight}`,
    )
    .join(', ');
}

/** The device's format for a FourCC written in any case, or undefined. */
export function findFormat(desc: NativeDeviceDescription, pixelFormat: string): NativeFormat | undefined {
  const wanted = pixelFormat.toUpperCase();
  return desc.formats.find((f) => f.pixelFormat.toUpperCase() === wanted);
}

/**
 * Checks a requested format against what the device reports, so an unsupported format, size
 * or rate fails with the device's own list instead of being silently adjusted. Returns the
 * format the request selects (its `pixelFormat` as the device spells it); throws
 * DeviceError('E_UNSUPPORTED_FORMAT' or 'E_NOT_CAPTURE').
 */
export function checkFormat(id: string, desc: NativeDeviceDescription, req: FormatRequest): NativeFormat {
  const path = desc.path;
  if (!desc.canCapture) throw new DeviceError('E_NOT_CAPTURE', id, `${path} cannot capture video (capabilities: ${desc.capabilities})`);
  const formats = desc.formats;
  const format = req.pixelFormat ? findFormat(desc, req.pixelFormat) : ((desc.current && findFormat(desc, desc.current.pixelFormat)) ?? formats[0]);
  if (!format) {
    throw new DeviceError(
      'E_UNSUPPORTED_FORMAT',
      id,
      `${path} does not support pixel format ${req.pixelFormat}; it supports ${formats.map((f) => f.pixelFormat).join(', ') || 'no capture formats'}`,
    );
  }
  if (req.width === undefined && req.height === undefined && req.fps === undefined) return format;
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
  return format;
}
