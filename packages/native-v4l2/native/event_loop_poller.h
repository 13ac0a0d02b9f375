// Event-loop delivery: the JS thread dequeues frames itself. One poller per environment
// holds every streaming camera's fd in an epoll set that libuv polls, so one wake-up of the
// JS thread serves every camera whose frame is ready (phase-locked cameras finish their
// frames together), under one callback scope.
#pragma once
#include <napi.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "js_delivery.h"

namespace syncap {

class Poller {
 public:
  // Null where the addon was built without libuv's header.
  static std::unique_ptr<Poller> create(napi_env env);
  ~Poller();

  // Starts (or resumes) delivering the camera's frames. Idempotent.
  void add(const std::shared_ptr<CameraCore>& core);
  // Stops delivering them (stop, close, loss). Idempotent.
  void remove(CameraCore* core);
  // Environment teardown: no callback after this.
  void shutdown();

  // libuv's callback (the epoll set is readable).
  void dispatch();

 private:
  explicit Poller(napi_env env);
  // Dequeues and delivers what is ready, at most maxFrames; true when the device ran dry (still polled).
  bool drain(Napi::Env env, const std::shared_ptr<CameraCore>& core, uint32_t revents, size_t maxFrames);
  // Registers the fd again while it is not readable (see Entry::armed).
  void rearm(Napi::Env env, const std::shared_ptr<CameraCore>& core);

  struct Entry {
    uint64_t key;
    std::shared_ptr<CameraCore> core;
    // epoll hooks onto a driver's wait queue only if the driver's poll calls poll_wait() while
    // epoll_ctl(ADD) runs; some call it only when nothing is ready (v4l2loopback, and vb2 for
    // its done queue). Added while a frame waited, the fd would go quiet after that frame:
    // once drained, it is registered again at a moment it is not readable.
    bool armed = false;
  };
  napi_env env_;
  int epfd_ = -1;
  void* handle_ = nullptr;  // uv_poll_t*
  bool running_ = false;
  napi_async_context async_ = nullptr;
  Napi::ObjectReference resource_;
  std::vector<Entry> entries_;
  uint64_t nextKey_ = 1;
};

}  // namespace syncap
