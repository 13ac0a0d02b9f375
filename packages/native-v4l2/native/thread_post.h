// Thread-safe posting from a capture thread to the JS thread (a thread-safe function).
// Frames are bounded (beyond the bound they are dropped in the thread, counted, and their
// buffers go back to the driver); started/lost/error events are never dropped and never
// block, so stop() can always join the thread.
#pragma once
#include <napi.h>

#include <atomic>
#include <cstddef>
#include <memory>

#include "frame_event.h"
#include "js_delivery.h"

namespace syncap {

// The thread-safe function's context: keeps the camera's JS half alive until the function is
// finalized (after its last queued event), whatever happens to the Camera object meanwhile.
struct CameraLink {
  std::shared_ptr<CameraCore> core;
  std::atomic<size_t> pendingFrames{0};
  size_t maxFrames = 8;
};

void callJs(Napi::Env env, Napi::Function, CameraLink* link, Event* e);

class EventPoster {
 public:
  using Tsfn = Napi::TypedThreadSafeFunction<CameraLink, Event, callJs>;

  // Creates the function for one streaming session. JS thread only.
  static EventPoster create(Napi::Env env, std::shared_ptr<CameraCore> core, size_t maxFrames);

  // False once the JS side is closing (environment teardown): the thread should end.
  bool postFrame(Device& device, Event* e);
  bool post(Event* e);
  // The capture thread is done with it.
  void release();

 private:
  Tsfn tsfn_;
  CameraLink* link_ = nullptr;
};

}  // namespace syncap
