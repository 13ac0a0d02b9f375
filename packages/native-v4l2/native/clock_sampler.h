#pragma once
#include <napi.h>

namespace syncap {
Napi::Value SampleClocks(const Napi::CallbackInfo& info);
Napi::Value MonotonicNow(const Napi::CallbackInfo& info);
}  // namespace syncap
