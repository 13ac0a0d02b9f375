// Errors the addon raises: a code from @syncap/core's ERROR_CODES (one per condition) and,
// separately, the OS errno's name. src/native-binding.ts declares the same codes.
#pragma once
#include <napi.h>

#include <string>

namespace syncap {

namespace code {
inline constexpr const char* kNoDevice = "E_NO_DEVICE";
inline constexpr const char* kDeviceLost = "E_DEVICE_LOST";
inline constexpr const char* kDeviceBusy = "E_DEVICE_BUSY";
inline constexpr const char* kPermission = "E_PERMISSION";
inline constexpr const char* kNotCapture = "E_NOT_CAPTURE";
inline constexpr const char* kUnsupportedFormat = "E_UNSUPPORTED_FORMAT";
inline constexpr const char* kBuffers = "E_BUFFERS";
inline constexpr const char* kStreamon = "E_STREAMON";
inline constexpr const char* kStream = "E_STREAM";
inline constexpr const char* kControl = "E_CONTROL";
inline constexpr const char* kDevice = "E_DEVICE";
inline constexpr const char* kUnsupported = "E_UNSUPPORTED";
inline constexpr const char* kState = "E_STATE";
inline constexpr const char* kConfig = "E_CONFIG";
}  // namespace code

// What went wrong: `code` from the list above, a message naming the device and the ioctl,
// and the errno (0 when no system call failed).
struct Failure {
  const char* code = code::kDevice;
  std::string message;
  int err = 0;
};

// "ENOENT", "EBUSY", … ("E<number>" for the rare rest).
std::string errnoName(int err);

// The code for an errno that means the same whatever failed (no such device, busy, not
// allowed); `fallback` for the rest.
const char* codeForErrno(int err, const char* fallback);

// A failure of a system call: `what` names it ("VIDIOC_S_FMT"), the message adds strerror.
// `busyHint`: why EBUSY, where the caller knows better than "another process".
Failure sysFailure(const char* code, const std::string& path, const std::string& what, int err, const char* busyHint = nullptr);

// Throws a JS Error with `code`, `errno` (the name, when there is one) and the message. Returns undefined.
Napi::Value throwFailure(Napi::Env env, const Failure& failure);
Napi::Value throwError(Napi::Env env, const char* code, const std::string& message);

// The same fields as a plain object (lost/error events).
Napi::Object failureObject(Napi::Env env, const char* kind, const Failure& failure);

}  // namespace syncap
