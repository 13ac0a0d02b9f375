export type { NativeControl as V4l2Control, NativeDeviceDescription, NativeDeviceSummary, NativeFormat } from './addon.js';
export { isAddonAvailable, loadAddon, NativeUnavailableError } from './addon.js';
export { type ClockBracket, monotonicNowNs, sampleClocks } from './clock-sampler.js';
export { checkFormat, type DeviceDescription, type DeviceSummary, describe, type FormatRequest, listDevices } from './devices.js';
export { type StartAllResult, startAll, V4l2Camera, type V4l2CameraOptions, type V4l2Frame, type V4l2StartResult } from './v4l2-camera.js';
