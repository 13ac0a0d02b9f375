#include "thread_post.h"

#include <mutex>

namespace syncap {

void callJs(Napi::Env env, Napi::Function, CameraLink* link, Event* e) {
  if (e == nullptr) return;
  // env is null when the function is torn down with events still queued — and Node runs the
  // finalizer (which frees `link`) before it empties the queue: touch nothing but the event.
  if (env == nullptr || link == nullptr) {
    discardEvent(e);
    return;
  }
  if (e->kind == EventKind::Frame) link->pendingFrames--;
  // JS may be unable to run any more (a worker being terminated): freed, not delivered.
  if (!canCallIntoJs(env)) {
    discardEvent(e);
    return;
  }
  link->core->deliver(env, e);
}

EventPoster EventPoster::create(Napi::Env env, std::shared_ptr<CameraCore> core, size_t maxFrames) {
  EventPoster p;
  p.link_ = new CameraLink();
  p.link_->core = std::move(core);
  p.link_->maxFrames = maxFrames;
  // Unlimited queue: the frame bound is ours (pendingFrames), so control events never block.
  p.tsfn_ = Tsfn::New(env, "syncap-v4l2-capture", 0, 1, p.link_, [](Napi::Env, void*, CameraLink* link) { delete link; });
  return p;
}

bool EventPoster::postFrame(Device& device, Event* e) {
  if (link_->pendingFrames.load() >= link_->maxFrames) {
    // The consumer is behind: count it and give the buffer back.
    device.overflows++;
    {
      std::lock_guard<std::mutex> lock(device.mutex);
      if (e->copy == nullptr && e->index < device.buffers.size() && device.buffers[e->index].generation == e->generation) device.requeueLocked(e->index);
    }
    discardEvent(e);
    return true;
  }
  link_->pendingFrames++;
  if (tsfn_.NonBlockingCall(e) != napi_ok) {
    link_->pendingFrames--;
    discardEvent(e);
    return false;
  }
  return true;
}

bool EventPoster::post(Event* e) {
  if (tsfn_.NonBlockingCall(e) != napi_ok) {
    discardEvent(e);
    return false;
  }
  return true;
}

void EventPoster::release() { tsfn_.Release(); }

}  // namespace syncap
