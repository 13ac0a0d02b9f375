/**
 * @syncap/native-v4l2 — V4L2 capture for syncap: device enumeration, formats and controls,
 * mmap streaming with synchronized STREAMON, zero-copy frames, mid-exposure timestamps and
 * replug handling. `V4l2Camera` implements @syncap/core's CameraDevice; `MockV4l2Binding`
 * stands in for the compiled addon in tests.
 */
export { type ClockBracket, monotonicNowNs, sampleClocks } from './clock-sampler.js';
export { applyControls, type ControlValue, describeAllowed, resolveControls, toControlValue } from './controls.js';
export { checkFormat, type DeviceDescription, type DeviceSummary, describe, type FormatRequest, listControls, listDevices, setControls } from './devices.js';
export type { ExposureReading } from './exposure.js';
export { type MockDeviceSpec, type MockFrame, MockV4l2Binding } from './mock-binding.js';
export { isAddonAvailable, loadBinding } from './native-addon.js';
export type {
  NativeBinding,
  NativeCameraHandle,
  NativeControl as V4l2Control,
  NativeControlType as V4l2ControlType,
  NativeFormat as V4l2Format,
  NativeFrameSize as V4l2FrameSize,
} from './native-binding.js';
export { type StartAllResult, startAll } from './start-all.js';
export { V4l2Camera, type V4l2CameraOptions, type V4l2CameraStats, type V4l2Details, type V4l2Frame, type V4l2StartResult } from './v4l2-camera.js';
