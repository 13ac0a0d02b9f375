// The NativeCamera class JS sees (src/native-binding.ts: NativeCameraHandle): open, start,
// stop, close, release, controls, stats. Capture runs on a thread per camera (thread
// delivery) or on the JS thread's poller (event-loop delivery); see capture_thread.h and
// event_loop_poller.h.
#pragma once
#include <napi.h>

#include <memory>
#include <thread>

#include "js_delivery.h"

namespace syncap {

struct AddonEnv;

class Camera : public Napi::ObjectWrap<Camera> {
 public:
  static Napi::Function Init(Napi::Env env);
  explicit Camera(const Napi::CallbackInfo& info);
  ~Camera() override;
  // Stops capture and closes the device. `teardown`: the environment is going away (its
  // cleanup hook): no JS can run, and the camera forgets the environment.
  void shutdown(bool teardown, bool detachViews = true);

 private:
  Napi::Value Open(const Napi::CallbackInfo& info);
  Napi::Value Start(const Napi::CallbackInfo& info);
  Napi::Value Stop(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);
  Napi::Value Release(const Napi::CallbackInfo& info);
  Napi::Value ListControls(const Napi::CallbackInfo& info);
  Napi::Value GetControl(const Napi::CallbackInfo& info);
  Napi::Value SetControl(const Napi::CallbackInfo& info);
  Napi::Value Stats(const Napi::CallbackInfo& info);

  // Ends the session: no more deliveries, the thread joined, STREAMOFF. `teardown`: leave the
  // N-API references alone (dispose() drops them).
  void stopCapture(bool teardown = false);
  bool requireOpen(Napi::Env env, const char* what);

  std::shared_ptr<CameraCore> core_;
  AddonEnv* addon_ = nullptr;
  std::thread thread_;
  int stopFd_ = -1;
};

}  // namespace syncap
