// @syncap/native-v4l2 addon entry: the exports (src/native-binding.ts declares them as
// NativeAddonExports) and the per-environment state with its exit cleanup hook.
#include <napi.h>

#include "addon_env.h"
#include "camera.h"
#include "clock_sampler.h"
#include "device_info.h"

namespace syncap {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  AddonEnv::install(env);
  exports.Set("listDevices", Napi::Function::New(env, ListDevices));
  exports.Set("describe", Napi::Function::New(env, Describe));
  exports.Set("listControls", Napi::Function::New(env, ListControlsAt));
  exports.Set("setControl", Napi::Function::New(env, SetControlAt));
  exports.Set("sampleClocks", Napi::Function::New(env, SampleClocks));
  exports.Set("monotonicNow", Napi::Function::New(env, MonotonicNow));
  exports.Set("NativeCamera", Camera::Init(env));
  exports.Set("eventLoopDelivery", Napi::Boolean::New(env, SYNCAP_HAVE_UV != 0));
  return exports;
}

}  // namespace syncap

static Napi::Object InitAddon(Napi::Env env, Napi::Object exports) { return syncap::Init(env, exports); }

NODE_API_MODULE(syncap_v4l2, InitAddon)
