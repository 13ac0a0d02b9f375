// Event-loop delivery: the JS thread dequeues frames itself. One poller per environment
// holds every streaming camera's fd in an epoll set that libuv polls, so one wake-up of the
// JS thread serves every camera whose frame is ready (phase-locked cameras finish their
// frames together), under one callback scope.
//
// Coalescing: after a wake-up that delivered frames, the poller stops polling and wakes on a
// timer instead, serving every frame ready by then, until a tick finds none. Cameras that are
// not in phase then share wake-ups too, for up to one interval of latency (a wake-up of
// Node's loop costs more than a frame's delivery). With a fixed interval (coalesceMs > 0) it
// ticks after every wake-up with frames; adaptive (the default), only when two or more cameras
// stream and the poll's wake-ups serve fewer than kInPhaseShare of them on average (their
// frames come out of phase): phase-locked cameras already share a wake-up at no latency. It
// ticks at the frame period, and polls again now and then to see whether that still holds.
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

  // libuv's callbacks: the epoll set is readable; the coalescing timer ticked.
  void onReadable();
  void onTick();

 private:
  explicit Poller(napi_env env);
  // Serves every ready frame (a few passes over the epoll set); returns how many it delivered.
  size_t dispatch();
  void startPolling();
  struct Coalescing {
    uint64_t intervalMs;  // 0: each frame at once
    bool adaptive;
  };
  // What the polled cameras ask for: the smallest fixed interval; adaptive when all of them
  // are, and two or more; none when one wants each frame at once.
  Coalescing coalescing() const;
  void startTicking(uint64_t ms);
  void stopTicking();
  // Adaptive coalescing judges afresh (the cameras changed, or it polls again).
  void restartJudgement();
  // Dequeues and delivers what is ready: until the device runs dry, maxFrames, or one round of its buffers.
  void drain(Napi::Env env, const std::shared_ptr<CameraCore>& core, uint32_t revents, size_t maxFrames);
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
  void* timer_ = nullptr;   // uv_timer_t*
  bool running_ = false;    // polling or ticking: some camera is delivering
  bool ticking_ = false;    // coalescing: the timer, not the poll, wakes us
  size_t delivered_ = 0;    // frames delivered by the current dispatch()
  // Adaptive coalescing: the poll's wake-ups and their frames since the last judgement, and
  // the ticks left before polling again to judge afresh.
  size_t pollWakes_ = 0;
  size_t pollFrames_ = 0;
  size_t ticksLeft_ = 0;
  napi_async_context async_ = nullptr;
  Napi::ObjectReference resource_;
  std::vector<Entry> entries_;
  uint64_t nextKey_ = 1;
};

}  // namespace syncap
