#include "event_loop_poller.h"

#include <poll.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>

#if SYNCAP_HAVE_UV
#include <uv.h>
#endif

namespace syncap {

namespace {
constexpr int kMaxEvents = 32;
// Passes over the epoll set per wake-up: frames that became ready while earlier ones were
// handed to JS are served in the same wake-up, without starving the rest of the loop.
constexpr size_t kMaxPasses = 4;
// Adaptive coalescing: the poll's wake-ups judged at a time; the share of the cameras a
// wake-up serves on average below which their frames count as out of phase; ticks between
// judgements (about 8 s at 30 fps).
constexpr size_t kJudgedWakes = 30;
constexpr double kInPhaseShare = 0.6;
constexpr size_t kTicksPerJudgement = 256;
}  // namespace

#if SYNCAP_HAVE_UV

namespace {
// Closes a libuv handle of type T (no callback reaches the poller after this) and frees it once libuv is done.
template <typename T>
void closeHandle(void*& handle) {
  if (handle == nullptr) return;
  auto* h = static_cast<T*>(handle);
  h->data = nullptr;
  uv_close(reinterpret_cast<uv_handle_t*>(h), [](uv_handle_t* x) { delete reinterpret_cast<T*>(x); });
  handle = nullptr;
}
}  // namespace

std::unique_ptr<Poller> Poller::create(napi_env env) {
  std::unique_ptr<Poller> p(new Poller(env));
  if (p->handle_ == nullptr) return nullptr;
  return p;
}

Poller::Poller(napi_env env) : env_(env) {
  uv_loop_t* loop = nullptr;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok || loop == nullptr) return;
  epfd_ = epoll_create1(EPOLL_CLOEXEC);
  if (epfd_ < 0) return;
  auto* handle = new uv_poll_t;
  if (uv_poll_init(loop, handle, epfd_) != 0) {
    delete handle;
    close(epfd_);
    epfd_ = -1;
    return;
  }
  handle->data = this;
  handle_ = handle;
  auto* timer = new uv_timer_t;
  uv_timer_init(loop, timer);
  timer->data = this;
  timer_ = timer;
  Napi::Env e(env);
  Napi::HandleScope scope(e);
  Napi::Object resource = Napi::Object::New(e);
  resource_ = Napi::Persistent(resource);
  napi_async_init(env, resource, Napi::String::New(e, "syncap-v4l2-frames"), &async_);
}

Poller::~Poller() { shutdown(); }

void Poller::add(const std::shared_ptr<CameraCore>& core) {
  core->paused = false;
  if (core->polled || handle_ == nullptr || core->device->fd < 0) return;
  uint64_t key = nextKey_++;
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLPRI;
  ev.data.u64 = key;
  if (epoll_ctl(epfd_, EPOLL_CTL_ADD, core->device->fd, &ev) != 0) return;
  entries_.push_back({key, core});
  core->polled = true;
  restartJudgement();
  // While ticking, the next tick serves the new camera too.
  if (!running_) startPolling();
}

void Poller::startPolling() {
  uv_poll_start(static_cast<uv_poll_t*>(handle_), UV_READABLE, [](uv_poll_t* h, int, int) {
    if (h->data) static_cast<Poller*>(h->data)->onReadable();
  });
  running_ = true;
}

Poller::Coalescing Poller::coalescing() const {
  uint64_t fixed = UINT64_MAX;
  uint64_t period = UINT64_MAX;
  for (const Entry& e : entries_) {
    const CameraCore& c = *e.core;
    if (c.coalesceAuto && c.autoMs > 0) {
      period = std::min(period, c.autoMs);
    } else if (c.coalesceAuto || c.coalesceMs == 0) {
      return {0, false};
    } else {
      fixed = std::min(fixed, c.coalesceMs);
    }
  }
  // Beside fixed intervals, an adaptive camera's period still bounds the tick (its buffers).
  if (fixed != UINT64_MAX) return {std::min(fixed, period), false};
  if (period != UINT64_MAX && entries_.size() >= 2) return {period, true};
  return {0, false};
}

void Poller::restartJudgement() {
  pollWakes_ = 0;
  pollFrames_ = 0;
}

void Poller::startTicking(uint64_t ms) {
  uv_poll_stop(static_cast<uv_poll_t*>(handle_));
  ticking_ = true;
  uv_timer_start(static_cast<uv_timer_t*>(timer_), [](uv_timer_t* t) {
    if (t->data) static_cast<Poller*>(t->data)->onTick();
  }, ms, ms);
}

void Poller::stopTicking() {
  uv_timer_stop(static_cast<uv_timer_t*>(timer_));
  ticking_ = false;
  restartJudgement();
  if (running_) startPolling();
}

void Poller::onReadable() {
  size_t frames = dispatch();
  if (frames == 0 || !running_ || ticking_) return;
  Coalescing c = coalescing();
  if (c.intervalMs == 0) return;
  if (!c.adaptive) return startTicking(c.intervalMs);
  pollWakes_++;
  pollFrames_ += frames;
  if (pollWakes_ < kJudgedWakes) return;
  bool outOfPhase = static_cast<double>(pollFrames_) < kInPhaseShare * static_cast<double>(pollWakes_ * entries_.size());
  restartJudgement();
  if (!outOfPhase) return;
  ticksLeft_ = kTicksPerJudgement;
  startTicking(c.intervalMs);
}

void Poller::onTick() {
  // Ticking goes on while ticks find frames (adaptive: until it is time to judge again); a
  // quiet tick hands waking back to the poll.
  size_t frames = dispatch();
  if (!ticking_) return;
  Coalescing c = coalescing();
  if (frames > 0 && c.intervalMs > 0 && (!c.adaptive || (ticksLeft_ > 0 && --ticksLeft_ > 0))) return;
  stopTicking();
}

void Poller::remove(CameraCore* core) {
  if (!core->polled) return;
  core->polled = false;
  if (core->device->fd >= 0) epoll_ctl(epfd_, EPOLL_CTL_DEL, core->device->fd, nullptr);
  entries_.erase(std::remove_if(entries_.begin(), entries_.end(), [core](const Entry& e) { return e.core.get() == core; }), entries_.end());
  restartJudgement();
  // Nothing to poll: let the event loop end if nothing else keeps it alive.
  if (entries_.empty() && running_) {
    uv_poll_stop(static_cast<uv_poll_t*>(handle_));
    uv_timer_stop(static_cast<uv_timer_t*>(timer_));
    running_ = false;
    ticking_ = false;
  }
}

void Poller::shutdown() {
  for (auto& e : entries_) e.core->polled = false;
  entries_.clear();
  closeHandle<uv_poll_t>(handle_);
  closeHandle<uv_timer_t>(timer_);
  running_ = false;
  ticking_ = false;
  if (epfd_ >= 0) close(epfd_);
  epfd_ = -1;
  // The async context and resource are left to the environment: N-API calls that could run
  // hooks are not safe during its teardown, the only time a poller goes away.
  (void)resource_.SuppressDestruct();
}

size_t Poller::dispatch() {
  // Node's teardown runs the loop once more before the addon's cleanup hook: no JS then.
  if (!canCallIntoJs(env_)) return 0;
  delivered_ = 0;
  Napi::Env env(env_);
  Napi::HandleScope scope(env);
  napi_callback_scope cbScope = nullptr;
  bool scoped = napi_open_callback_scope(env_, resource_.Value(), async_, &cbScope) == napi_ok;
  epoll_event events[kMaxEvents];
  // A tick serves a frame per ready camera and pass until none is ready, up to every buffer
  // of the camera with the most (a long fixed interval lets several queue up). Only this
  // thread resizes the buffers (open, close).
  size_t passes = kMaxPasses;
  if (ticking_) {
    for (const Entry& e : entries_) passes = std::max(passes, e.core->device->buffers.size() + 1);
  }
  for (size_t pass = 0; pass < passes && epfd_ >= 0; pass++) {
    int n = epoll_wait(epfd_, events, kMaxEvents, 0);
    if (n <= 0) break;
    for (int i = 0; i < n; i++) {
      auto it = std::find_if(entries_.begin(), entries_.end(), [&](const Entry& e) { return e.key == events[i].data.u64; });
      if (it == entries_.end()) continue;  // removed by an earlier callback of this wake-up
      std::shared_ptr<CameraCore> core = it->core;
      bool armed = it->armed;
      // An armed fd is level-triggered: one frame per pass, and the next pass's epoll_wait says
      // whether another is ready, which spares the DQBUF that would find the queue empty (a
      // syscall per camera and wake-up). A tick too, over as many passes as frames are ready.
      // An fd that is not armed is registered again whenever its drain ends, however it ended:
      // one that stopped at its bound of frames with no frame left would otherwise go quiet.
      drain(env, core, events[i].events, armed ? 1 : SIZE_MAX);
      if (!armed && core->polled) rearm(env, core);
    }
  }
  if (scoped) napi_close_callback_scope(env_, cbScope);
  return delivered_;
}

void Poller::rearm(Napi::Env env, const std::shared_ptr<CameraCore>& core) {
  constexpr int kAttempts = 8;
  for (int attempt = 0; attempt < kAttempts && core->polled; attempt++) {
    auto it = std::find_if(entries_.begin(), entries_.end(), [&](const Entry& e) { return e.core == core; });
    if (it == entries_.end()) return;
    int fd = core->device->fd;
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLPRI;
    ev.data.u64 = it->key;
    epoll_ctl(epfd_, EPOLL_CTL_DEL, fd, nullptr);
    if (epoll_ctl(epfd_, EPOLL_CTL_ADD, fd, &ev) != 0) return;
    // Frames only arrive, never leave by themselves: not readable now means not readable
    // during the ADD, so the driver's poll hooked epoll onto its wait queue.
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 0) == 0) {
      it->armed = true;
      return;
    }
    // Added while readable, it is on epoll's ready list: the next pass or wake-up drains it and
    // comes back here. Never drained without an ADD after it.
    if (attempt + 1 == kAttempts) return;
    drain(env, core, static_cast<uint32_t>(p.revents), SIZE_MAX);
  }
}

void Poller::drain(Napi::Env env, const std::shared_ptr<CameraCore>& core, uint32_t revents, size_t maxFrames) {
  Device& d = *core->device;
  auto afterCall = [&] {
    // A throwing callback is the application's bug: report it as Node reports any uncaught exception.
    if (env.IsExceptionPending()) napi_fatal_exception(env, env.GetAndClearPendingException().Value());
  };
  // At most one round of the buffers per camera and pass: a fast device cannot starve the others.
  size_t frames = 0;
  for (size_t k = 0; k <= d.buffers.size() && core->polled; k++) {
    v4l2_buffer buf;
    Failure failure;
    switch (d.dequeue(&buf, static_cast<short>(revents), &failure)) {
      case Dequeued::Frame:
        d.delivered++;
        delivered_++;
        core->deliver(env, frameEvent(d, buf, core->session));
        afterCall();
        revents = 0;
        if (++frames == maxFrames) return;
        break;
      case Dequeued::Empty:
        return;
      case Dequeued::AllHeld:
        // Every buffer is with JS: the device polls as an error until one comes back.
        remove(core.get());
        core->paused = true;
        return;
      case Dequeued::Failed:
        remove(core.get());
        core->deliver(env, failureEvent(failure, core->session));
        afterCall();
        return;
    }
  }
}

#else

std::unique_ptr<Poller> Poller::create(napi_env) { return nullptr; }
Poller::Poller(napi_env env) : env_(env) {}
Poller::~Poller() = default;
void Poller::add(const std::shared_ptr<CameraCore>&) {}
void Poller::remove(CameraCore*) {}
void Poller::shutdown() {}
size_t Poller::dispatch() { return 0; }
void Poller::onReadable() {}
void Poller::onTick() {}
void Poller::startPolling() {}
Poller::Coalescing Poller::coalescing() const { return {0, false}; }
void Poller::startTicking(uint64_t) {}
void Poller::stopTicking() {}
void Poller::restartJudgement() {}
void Poller::drain(Napi::Env, const std::shared_ptr<CameraCore>&, uint32_t, size_t) {}
void Poller::rearm(Napi::Env, const std::shared_ptr<CameraCore>&) {}

#endif

}  // namespace syncap
