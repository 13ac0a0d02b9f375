// @syncap/native-v4l2 addon entry: exports and the exit cleanup hook.
#include <napi.h>

#include "camera.h"
#include "clock_sampler.h"
#include "device_info.h"

namespace syncap {

namespace {
// On process exit or worker termination: stop threads, STREAMOFF, unmap, close.
void cleanup(void*) { shutdownAllCameras(); }
}  // namespace

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("listDevices", Napi::Function::New(env, ListDevices));
  exports.Set("describe", Napi::Function::New(env, Describe));
  exports.Set("sampleClocks", Napi::Function::New(env, SampleClocks));
  exports.Set("monotonicNow", Napi::Function::New(env, MonotonicNow));
  exports.Set("realtimeNow", Napi::Function::New(env, RealtimeNow));
  exports.Set("NativeCamera", Camera::Init(env));
#if SYNCAP_HAVE_UV
  exports.Set("eventLoopDelivery", Napi::Boolean::New(env, true));
#else
  exports.Set("eventLoopDelivery", Napi::Boolean::New(env, false));
#endif
  napi_add_env_cleanup_hook(env, cleanup, nullptr);
  return exports;
}

}  // namespace syncap

static Napi::Object InitAddon(Napi::Env env, Napi::Object exports) { return syncap::Init(env, exports); }

NODE_API_MODULE(syncap_v4l2, InitAddon)
