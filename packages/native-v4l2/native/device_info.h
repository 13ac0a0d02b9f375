// Enumeration and path-level control access: listDevices(), describe(path) — what
// v4l2-ctl --list-devices, --list-formats-ext and --list-ctrls-menus show — and
// listControls(path) / setControl(path, name, value) for the CLI.
#pragma once
#include <napi.h>

namespace syncap {

Napi::Value ListDevices(const Napi::CallbackInfo& info);
Napi::Value Describe(const Napi::CallbackInfo& info);
Napi::Value ListControlsAt(const Napi::CallbackInfo& info);
Napi::Value SetControlAt(const Napi::CallbackInfo& info);

}  // namespace syncap
