// The JS-thread half of one camera: its callbacks, the views JS holds over driver buffers,
// and the marshalling of events into calls of the JS callbacks (src/native-binding.ts
// declares their signatures: NativeFrameCallback, NativeEventCallback).
#pragma once
#include <napi.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "device.h"
#include "frame_event.h"

namespace syncap {

struct AddonEnv;

// Whether this environment can still run JS: false once its teardown began (worker
// terminated, process exiting), when libuv may still call us back for a last time.
bool canCallIntoJs(napi_env env);

// Shared (shared_ptr) by the Camera object, the event-loop poller and the thread-safe
// function's context, so none of them holds a pointer another may free. JS thread only.
class CameraCore : public std::enable_shared_from_this<CameraCore> {
 public:
  CameraCore(AddonEnv* addon, Napi::Function onFrame, Napi::Function onEvent);
  ~CameraCore();

  std::shared_ptr<Device> device = std::make_shared<Device>();
  AddonEnv* addon;       // null once the environment's teardown began
  uint64_t session = 0;  // bumped by start() and stop(): events of another session are stale
  bool eventLoop = false;
  bool polled = false;  // registered with the poller (event-loop delivery)
  bool paused = false;  // event-loop delivery: JS holds every buffer; polling resumes on release
  // Event-loop delivery's coalescing (event_loop_poller.h): a fixed interval (coalesceMs > 0),
  // none (0), or adaptive (coalesceAuto, ticking every autoMs once frames come out of phase).
  uint64_t coalesceMs = 0;
  bool coalesceAuto = false;
  uint64_t autoMs = 0;

  // The callbacks are strong while streaming (a streaming camera is never collected) and weak
  // otherwise, so a camera dropped without close() is finalized and closes its device.
  void setStreaming(bool on);
  // Delivers one event on the JS thread and frees it. Stale events are dropped.
  void deliver(Napi::Env env, Event* e);
  // release(index, generation): from JS (detach the view first) or from the view's finalizer.
  void releaseBuffer(uint32_t index, uint64_t generation, bool detach);
  // Detaches every view JS still holds (close()); the buffers are about to be unmapped.
  void detachAll();
  // Drops every N-API reference; later events deliver nothing. Idempotent.
  void dispose();

 private:
  void deliverFrame(Napi::Env env, Event* e);
  void detachView(uint32_t index);
  Napi::FunctionReference onFrame_;
  Napi::FunctionReference onEvent_;
  // By buffer index, weakly: the array buffer of each zero-copy frame JS may still read.
  std::vector<Napi::Reference<Napi::Value>> views_;
  bool strong_ = false;
  bool disposed_ = false;
};

}  // namespace syncap
