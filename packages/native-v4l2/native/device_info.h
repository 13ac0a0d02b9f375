#pragma once
#include <napi.h>

namespace syncap {
Napi::Value ListDevices(const Napi::CallbackInfo& info);
Napi::Value Describe(const Napi::CallbackInfo& info);
Napi::Array listControls(Napi::Env env, int fd);
}  // namespace syncap
