#include "camera.h"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <set>

#include "device_info.h"
#include "v4l2_util.h"

#if SYNCAP_HAVE_UV
#include <uv.h>
#endif

namespace syncap {

namespace {

std::mutex registryMutex;
std::set<Camera*> registry;

enum class EventKind { Frame, Started, Lost, Error };

struct Event {
  explicit Event(EventKind k) : kind(k) {}
  EventKind kind;
  // Frame
  uint32_t index = 0;
  uint64_t generation = 0;
  uint32_t sequence = 0;
  int64_t timestampNs = 0;
  uint32_t flags = 0;
  uint32_t bytesused = 0;
  int64_t dqNs = 0;
  void* copy = nullptr;  // copy mode: malloc'd bytes owned by the event until handed to JS
  // Started
  int64_t requestedNs = 0;
  int64_t streamonStartNs = 0;
  int64_t streamonEndNs = 0;
  std::vector<std::string> warnings;
  // Lost / Error
  std::string code;
  std::string message;
  int err = 0;
};

// Finalizer hint for a zero-copy ArrayBuffer: the safety net when JS drops a frame unreleased.
struct BufferToken {
  std::weak_ptr<CameraState> state;
  uint32_t index;
  uint64_t generation;
};

const char* timestampSourceName(uint32_t flags) {
  switch (flags & V4L2_BUF_FLAG_TSTAMP_SRC_MASK) {
    case V4L2_BUF_FLAG_TSTAMP_SRC_SOE: return "start-of-exposure";
    case V4L2_BUF_FLAG_TSTAMP_SRC_EOF: return "end-of-frame";
    default: return "unknown";
  }
}

void finalizeBuffer(Napi::Env, void*, BufferToken* token) {
  if (auto s = token->state.lock()) {
    std::lock_guard<std::mutex> lock(s->mutex);
    if (token->index < s->buffers.size()) {
      MappedBuffer& b = s->buffers[token->index];
      if (b.held && b.generation == token->generation) {
        b.held = false;
        b.generation++;
        s->requeueLocked(token->index);
      }
    }
  }
  delete token;
}

void freeCopy(Napi::Env, void* data) { std::free(data); }

}  // namespace

void CameraState::requeueLocked(uint32_t index) {
  if (!streaming || fd < 0) return;
  v4l2_buffer buf{};
  buf.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
  buf.memory = V4L2_MEMORY_MMAP;
  buf.index = index;
  if (xioctl(fd, VIDIOC_QBUF, &buf) != 0) requeueErrors++;
}

void CameraState::closeLocked() {
  for (auto& b : buffers) {
    if (b.start && b.start != MAP_FAILED) munmap(b.start, b.length);
    b.start = nullptr;
  }
  buffers.clear();
  if (fd >= 0) {
    v4l2_requestbuffers req{};
    req.count = 0;
    req.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
    req.memory = V4L2_MEMORY_MMAP;
    xioctl(fd, VIDIOC_REQBUFS, &req);
    close(fd);
  }
  fd = -1;
  streaming = false;
}

// Delivers one event on the JS thread: calls emit with the frame's fields, or emit(kind, payload).
struct FrameDelivery {
  static void call(Napi::Env env, Napi::Function emit, Camera* camera, Event* e) {
    if (env == nullptr || emit.IsEmpty()) {
      if (e->copy) std::free(e->copy);
      delete e;
      return;
    }
    Napi::HandleScope scope(env);
    if (e->kind == EventKind::Frame) {
      {
        auto& st = camera->state_;
        Napi::ArrayBuffer ab;
        const bool copied = e->copy != nullptr;
        if (copied) {
          ab = Napi::ArrayBuffer::New(env, e->copy, e->bytesused, freeCopy);
          e->copy = nullptr;
        } else {
          void* start = nullptr;
          {
            std::lock_guard<std::mutex> lock(st->mutex);
            if (e->index < st->buffers.size() && st->buffers[e->index].held && st->buffers[e->index].generation == e->generation) {
              start = st->buffers[e->index].start;
            }
          }
          if (start == nullptr) {  // stopped or closed meanwhile: nothing valid to hand out
            delete e;
            return;
          }
          auto* token = new BufferToken{st, e->index, e->generation};
          ab = Napi::ArrayBuffer::New(env, start, e->bytesused, finalizeBuffer, token);
          if (e->index >= camera->outstanding_.size()) camera->outstanding_.resize(st->buffers.size());
          camera->outstanding_[e->index] = Napi::Weak(ab);
        }
        // Frames are the hot path: positional arguments, no payload object and no property-name
        // strings per frame. emit(0, index, generation, sequence, flags, bytesused, timestampNs, dqNs, data, copied).
        napi_value args[] = {
            Napi::Number::New(env, 0),
            Napi::Number::New(env, e->index),
            Napi::Number::New(env, static_cast<double>(e->generation)),
            Napi::Number::New(env, e->sequence),
            Napi::Number::New(env, e->flags),
            Napi::Number::New(env, e->bytesused),
            bigint(env, e->timestampNs),
            bigint(env, e->dqNs),
            ab,
            Napi::Boolean::New(env, copied),
        };
        delete e;
        emit.Call(10, args);
        return;
      }
    }
    // Rare events (start, loss, errors): emit(kind, payload).
    Napi::Object payload = Napi::Object::New(env);
    const char* kind = "";
    switch (e->kind) {
      case EventKind::Frame:
        break;
      case EventKind::Started: {
        kind = "started";
        if (camera->eventLoop_) camera->beginPolling(env);
        payload.Set("requestedNs", bigint(env, e->requestedNs));
        payload.Set("streamonStartNs", bigint(env, e->streamonStartNs));
        payload.Set("streamonEndNs", bigint(env, e->streamonEndNs));
        Napi::Array w = Napi::Array::New(env, e->warnings.size());
        for (size_t i = 0; i < e->warnings.size(); i++) w.Set(static_cast<uint32_t>(i), e->warnings[i]);
        payload.Set("warnings", w);
        break;
      }
      case EventKind::Lost:
      case EventKind::Error:
        kind = e->kind == EventKind::Lost ? "lost" : "error";
        payload.Set("code", e->code);
        payload.Set("message", e->message);
        payload.Set("errno", e->err);
        break;
    }
    delete e;
    emit.Call({Napi::String::New(env, kind), payload});
  }
};

namespace {

void post(Napi::ThreadSafeFunction& tsfn, Camera* camera, Event* e, CameraState& s) {
  napi_status status = tsfn.NonBlockingCall(e, [camera](Napi::Env env, Napi::Function emit, Event* ev) {
    FrameDelivery::call(env, emit, camera, ev);
  });
  if (status != napi_ok) {
    // Queue full (or closing): the consumer is behind. Count it and give the buffer back.
    if (e->kind == EventKind::Frame) {
      s.overflows++;
      std::lock_guard<std::mutex> lock(s.mutex);
      if (e->copy) {
        std::free(e->copy);
      } else if (e->index < s.buffers.size()) {
        s.buffers[e->index].held = false;
        s.buffers[e->index].generation++;
        s.requeueLocked(e->index);
      }
    }
    delete e;
  }
}

void postError(Napi::ThreadSafeFunction& tsfn, Camera* camera, CameraState& s, EventKind kind, const std::string& code, const std::string& message, int err) {
  auto* e = new Event{kind};
  e->code = code;
  e->message = s.path + ": " + message;
  e->err = err;
  // Errors must get through even when frames fill the queue.
  if (tsfn.BlockingCall(e, [camera](Napi::Env env, Napi::Function emit, Event* ev) { FrameDelivery::call(env, emit, camera, ev); }) != napi_ok) delete e;
}

// A dequeued buffer as a frame event: in copy mode the bytes are copied and the buffer goes
// straight back to the driver; in zero-copy mode it is held for JS until release().
Event* frameEvent(CameraState& s, const v4l2_buffer& buf) {
  auto* e = new Event(EventKind::Frame);
  e->dqNs = clockNs(CLOCK_MONOTONIC);
  e->index = buf.index;
  e->sequence = buf.sequence;
  e->timestampNs = static_cast<int64_t>(buf.timestamp.tv_sec) * 1000000000LL + static_cast<int64_t>(buf.timestamp.tv_usec) * 1000LL;
  e->flags = buf.flags;
  e->bytesused = buf.bytesused;
  std::lock_guard<std::mutex> lock(s.mutex);
  MappedBuffer& b = s.buffers[buf.index];
  if (s.copyMode) {
    e->copy = std::malloc(buf.bytesused > 0 ? buf.bytesused : 1);
    if (e->copy) std::memcpy(e->copy, b.start, buf.bytesused);
    s.requeueLocked(buf.index);
  } else {
    b.held = true;
    b.generation++;
    e->generation = b.generation;
  }
  return e;
}

bool waitUntil(int64_t atNs, int64_t spinNs, int stopFd) {
  for (;;) {
    int64_t now = clockNs(CLOCK_MONOTONIC);
    int64_t remaining = atNs - spinNs - now;
    if (remaining <= 0) break;
    // Sleep in slices so stop() is not held up by a far-away start instant.
    int64_t target = remaining > 20000000 ? now + 20000000 : atNs - spinNs;
    timespec ts{static_cast<time_t>(target / 1000000000LL), static_cast<long>(target % 1000000000LL)};
    clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr);
    pollfd p{stopFd, POLLIN, 0};
    if (poll(&p, 1, 0) > 0) return false;
  }
  while (clockNs(CLOCK_MONOTONIC) < atNs) {
  }
  return true;
}

void captureLoop(std::shared_ptr<CameraState> s, Camera* camera, Napi::ThreadSafeFunction tsfn, int stopFd, int64_t atNs, int64_t spinNs, int priority, int cpu, bool eventLoop) {
  // Named, so `top -H` and /proc/<pid>/task show where capture CPU goes.
  pthread_setname_np(pthread_self(), "syncap-capture");
  auto* started = new Event(EventKind::Started);
  if (priority > 0) {
    sched_param sp{};
    sp.sched_priority = priority;
    int r = pthread_setschedparam(pthread_self(), SCHED_FIFO, &sp);
    if (r != 0) started->warnings.push_back("SCHED_FIFO priority " + std::to_string(priority) + " not applied (" + errnoName(r) + "): capturing at normal priority");
  }
  if (cpu >= 0) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    int r = pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
    if (r != 0) started->warnings.push_back("CPU affinity " + std::to_string(cpu) + " not applied (" + errnoName(r) + ")");
  }
  if (atNs > 0 && !waitUntil(atNs, spinNs, stopFd)) {
    delete started;
    tsfn.Release();
    return;
  }
  int type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
  started->requestedNs = atNs;
  started->streamonStartNs = clockNs(CLOCK_MONOTONIC);
  int r = xioctl(s->fd, VIDIOC_STREAMON, &type);
  started->streamonEndNs = clockNs(CLOCK_MONOTONIC);
  if (r != 0) {
    int err = errno;
    delete started;
    {
      std::lock_guard<std::mutex> lock(s->mutex);
      s->streaming = false;
      xioctl(s->fd, VIDIOC_STREAMOFF, &type);  // take back the queued buffers
    }
    postError(tsfn, camera, *s, err == ENODEV ? EventKind::Lost : EventKind::Error, err == ENODEV ? "E_LOST" : "E_STREAMON",
              std::string("VIDIOC_STREAMON failed: ") + std::strerror(err), err);
    tsfn.Release();
    return;
  }
  if (tsfn.BlockingCall(started, [camera](Napi::Env env, Napi::Function emit, Event* ev) { FrameDelivery::call(env, emit, camera, ev); }) != napi_ok) delete started;
  if (eventLoop) {
    // Event-loop delivery: the JS thread polls the device from here on (see Camera::beginPolling).
    tsfn.Release();
    return;
  }

  pollfd fds[2] = {{s->fd, POLLIN | POLLPRI, 0}, {stopFd, POLLIN, 0}};
  for (;;) {
    int n = poll(fds, 2, 1000);
    if (n < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (fds[1].revents & POLLIN) break;
    if (n == 0) continue;
    short rev = fds[0].revents;
    for (;;) {
      v4l2_buffer buf{};
      buf.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
      buf.memory = V4L2_MEMORY_MMAP;
      if (xioctl(s->fd, VIDIOC_DQBUF, &buf) != 0) {
        int err = errno;
        if (err == EAGAIN) {
          if (rev & (POLLERR | POLLHUP | POLLNVAL)) {
            // Nothing to dequeue but the device reports an error state.
            if (rev & POLLHUP) {
              postError(tsfn, camera, *s, EventKind::Lost, "E_LOST", "device disconnected (POLLHUP)", ENODEV);
              tsfn.Release();
              return;
            }
            bool anyQueued = false;
            {
              std::lock_guard<std::mutex> lock(s->mutex);
              for (auto& b : s->buffers) anyQueued = anyQueued || !b.held;
            }
            if (anyQueued) {
              postError(tsfn, camera, *s, EventKind::Error, "E_STREAM", "the driver reports a streaming error (POLLERR)", EIO);
              tsfn.Release();
              return;
            }
            // Every buffer is held by JS: nothing can arrive until one is released.
            timespec ts{0, 1000000};
            nanosleep(&ts, nullptr);
          }
          break;
        }
        if (err == ENODEV) {
          postError(tsfn, camera, *s, EventKind::Lost, "E_LOST", "device disconnected (ENODEV)", err);
        } else {
          postError(tsfn, camera, *s, EventKind::Error, "E_STREAM", std::string("VIDIOC_DQBUF failed: ") + std::strerror(err), err);
        }
        tsfn.Release();
        return;
      }
      auto* e = frameEvent(*s, buf);
      s->delivered++;
      post(tsfn, camera, e, *s);
    }
  }
  tsfn.Release();
}

}  // namespace

// Event-loop delivery. The capture thread only does the synchronized STREAMON; from the
// 'started' event on, libuv polls the device fd on the JS thread, which dequeues and calls
// JS directly: one wake-up per frame instead of two threads handing over.
void Camera::beginPolling(Napi::Env env) {
#if SYNCAP_HAVE_UV
  pollPaused_ = false;
  if (poll_ || state_->fd < 0) return;
  uv_loop_t* loop = nullptr;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok || loop == nullptr) return;
  auto* handle = new uv_poll_t;
  if (uv_poll_init(loop, handle, state_->fd) != 0) {
    delete handle;
    return;
  }
  handle->data = this;
  env_ = env;
  if (!async_) async_ = std::make_unique<Napi::AsyncContext>(env, "syncap-v4l2-frame");
  uv_poll_start(handle, UV_READABLE | UV_PRIORITIZED, [](uv_poll_t* h, int status, int) { static_cast<Camera*>(h->data)->onReadable(status); });
  poll_ = handle;
#else
  (void)env;
#endif
}

void Camera::stopPolling() {
#if SYNCAP_HAVE_UV
  if (!poll_) return;
  auto* handle = static_cast<uv_poll_t*>(poll_);
  poll_ = nullptr;
  uv_poll_stop(handle);
  uv_close(reinterpret_cast<uv_handle_t*>(handle), [](uv_handle_t* h) { delete reinterpret_cast<uv_poll_t*>(h); });
#endif
}

void Camera::onReadable(int status) {
  Napi::Env env(env_);
  Napi::HandleScope scope(env);
  Napi::CallbackScope callbackScope(env, *async_);
  auto& s = *state_;
  auto deliver = [&](Event* e) {
    FrameDelivery::call(env, emit_.Value(), this, e);
    if (env.IsExceptionPending()) {
      // A throwing listener is the application's bug: report it as Node reports any uncaught exception.
      napi_fatal_exception(env, env.GetAndClearPendingException().Value());
    }
  };
  while (poll_) {
    v4l2_buffer buf{};
    buf.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
    buf.memory = V4L2_MEMORY_MMAP;
    if (xioctl(s.fd, VIDIOC_DQBUF, &buf) != 0) {
      int err = errno;
      if (err == EAGAIN && status >= 0) {
        bool anyQueued = false;
        {
          std::lock_guard<std::mutex> lock(s.mutex);
          for (auto& b : s.buffers) anyQueued = anyQueued || !b.held;
        }
        if (!anyQueued) {
          // Every buffer is held by JS: the device polls as an error until one comes back. Wait for release().
          stopPolling();
          pollPaused_ = true;
        }
        return;
      }
      stopPolling();
      auto* e = new Event{err == ENODEV || err == EAGAIN ? EventKind::Lost : EventKind::Error};
      e->code = e->kind == EventKind::Lost ? "E_LOST" : "E_STREAM";
      e->message = s.path + ": " + (e->kind == EventKind::Lost ? std::string("device disconnected") : std::string("VIDIOC_DQBUF failed: ") + std::strerror(err));
      e->err = err;
      deliver(e);
      return;
    }
    auto* e = frameEvent(s, buf);
    s.delivered++;
    deliver(e);
  }
}

Napi::Function Camera::Init(Napi::Env env) {
  return DefineClass(env, "NativeCamera",
                     {
                         InstanceMethod("open", &Camera::Open),
                         InstanceMethod("start", &Camera::Start),
                         InstanceMethod("stop", &Camera::Stop),
                         InstanceMethod("close", &Camera::Close),
                         InstanceMethod("release", &Camera::Release),
                         InstanceMethod("listControls", &Camera::ListControls),
                         InstanceMethod("getControl", &Camera::GetControl),
                         InstanceMethod("setControl", &Camera::SetControl),
                         InstanceMethod("stats", &Camera::Stats),
                     });
}

Camera::Camera(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Camera>(info), state_(std::make_shared<CameraState>()) {
  if (info.Length() < 1 || !info[0].IsFunction()) {
    throwError(info.Env(), "E_ARG", "new NativeCamera(emit): emit must be a function");
    return;
  }
  emit_ = Napi::Persistent(info[0].As<Napi::Function>());
  registerCamera(this);
}

Camera::~Camera() {
  unregisterCamera(this);
  // The destructor can run while the environment is torn down, when N-API calls are not safe:
  // the async context (event-loop delivery) is destroyed in close(); one left here is leaked.
  (void)async_.release();
  stopPolling();
  stopThread();
  std::lock_guard<std::mutex> lock(state_->mutex);
  state_->closeLocked();
}

void Camera::shutdown() {
  stopPolling();
  stopThread();
  int type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
  std::lock_guard<std::mutex> lock(state_->mutex);
  if (state_->fd >= 0) xioctl(state_->fd, VIDIOC_STREAMOFF, &type);
  state_->closeLocked();
}

void Camera::stopThread() {
  if (thread_.joinable()) {
    uint64_t one = 1;
    if (write(stopFd_, &one, sizeof(one)) < 0) {
    }
    thread_.join();
  }
  if (stopFd_ >= 0) close(stopFd_);
  stopFd_ = -1;
}

void Camera::detachOutstanding() {
  for (auto& ref : outstanding_) {
    if (!ref.IsEmpty()) {
      Napi::ArrayBuffer ab = ref.Value();
      if (!ab.IsEmpty() && !ab.IsDetached()) ab.Detach();
      ref.Reset();
    }
  }
  std::lock_guard<std::mutex> lock(state_->mutex);
  for (auto& b : state_->buffers) {
    if (b.held) {
      b.held = false;
      b.generation++;
    }
  }
}

Napi::Value Camera::Open(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsString() || !info[1].IsObject()) return throwError(env, "E_ARG", "open(path, options)");
  std::string path = info[0].As<Napi::String>();
  Napi::Object o = info[1].As<Napi::Object>();
  auto num = [&](const char* k, double d) { return o.Has(k) && o.Get(k).IsNumber() ? o.Get(k).As<Napi::Number>().DoubleValue() : d; };
  uint32_t width = static_cast<uint32_t>(num("width", 0));
  uint32_t height = static_cast<uint32_t>(num("height", 0));
  double fps = num("fps", 0);
  uint32_t count = static_cast<uint32_t>(num("buffers", 4));
  std::string pixfmt = o.Has("pixelFormat") && o.Get("pixelFormat").IsString() ? o.Get("pixelFormat").As<Napi::String>().Utf8Value() : "";
  bool copy = o.Has("copy") && o.Get("copy").ToBoolean();

  auto& s = *state_;
  std::lock_guard<std::mutex> lock(s.mutex);
  if (s.fd >= 0) return throwError(env, "E_STATE", path + ": already open");
  int fd = ::open(path.c_str(), O_RDWR | O_NONBLOCK);
  if (fd < 0) {
    int err = errno;
    return throwError(env, errnoName(err), path + ": cannot open: " + std::strerror(err), err);
  }
  s.fd = fd;
  s.path = path;
  s.copyMode = copy;
  auto fail = [&](const std::string& code, const std::string& msg, int err) {
    s.closeLocked();
    return throwError(env, code, path + ": " + msg, err);
  };
  v4l2_capability cap{};
  if (xioctl(fd, VIDIOC_QUERYCAP, &cap) != 0) return fail("E_NOT_V4L2", "not a V4L2 device", errno);
  uint32_t caps = (cap.capabilities & V4L2_CAP_DEVICE_CAPS) ? cap.device_caps : cap.capabilities;
  if (!(caps & V4L2_CAP_VIDEO_CAPTURE)) return fail("E_NOT_CAPTURE", "cannot capture video (capabilities: " + capabilityNames(caps) + ")", 0);
  if (!(caps & V4L2_CAP_STREAMING)) return fail("E_NOT_CAPTURE", "does not support streaming I/O (capabilities: " + capabilityNames(caps) + ")", 0);

  v4l2_format fmt{};
  fmt.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
  if (xioctl(fd, VIDIOC_G_FMT, &fmt) != 0) return fail("E_FORMAT", std::string("VIDIOC_G_FMT: ") + std::strerror(errno), errno);
  if (width) fmt.fmt.pix.width = width;
  if (height) fmt.fmt.pix.height = height;
  if (!pixfmt.empty()) fmt.fmt.pix.pixelformat = fourccFromString(pixfmt);
  fmt.fmt.pix.field = V4L2_FIELD_ANY;
  if (xioctl(fd, VIDIOC_S_FMT, &fmt) != 0) {
    int err = errno;
    return fail(err == EBUSY ? "EBUSY" : "E_FORMAT", std::string("VIDIOC_S_FMT: ") + std::strerror(err) + (err == EBUSY ? " (another process is using the device)" : ""), err);
  }
  if (fps > 0) {
    v4l2_streamparm parm{};
    parm.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
    parm.parm.capture.timeperframe.numerator = 1000;
    parm.parm.capture.timeperframe.denominator = static_cast<uint32_t>(fps * 1000 + 0.5);
    if (xioctl(fd, VIDIOC_S_PARM, &parm) != 0) {
      int err = errno;
      if (err != ENOTTY) return fail("E_FORMAT", std::string("VIDIOC_S_PARM: ") + std::strerror(err), err);
    }
  }
  v4l2_streamparm got{};
  got.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
  double actualFps = 0;
  if (xioctl(fd, VIDIOC_G_PARM, &got) == 0 && got.parm.capture.timeperframe.numerator) {
    actualFps = static_cast<double>(got.parm.capture.timeperframe.denominator) / got.parm.capture.timeperframe.numerator;
  }

  v4l2_requestbuffers req{};
  req.count = count;
  req.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
  req.memory = V4L2_MEMORY_MMAP;
  if (xioctl(fd, VIDIOC_REQBUFS, &req) != 0) {
    int err = errno;
    return fail(err == EBUSY ? "EBUSY" : "E_BUFFERS", std::string("VIDIOC_REQBUFS: ") + std::strerror(err) + (err == EBUSY ? " (another process is using the device)" : ""), err);
  }
  if (req.count < 2) return fail("E_BUFFERS", "the driver granted fewer than 2 buffers", 0);
  s.buffers.resize(req.count);
  uint32_t tsFlags = 0;
  for (uint32_t i = 0; i < req.count; i++) {
    v4l2_buffer buf{};
    buf.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
    buf.memory = V4L2_MEMORY_MMAP;
    buf.index = i;
    if (xioctl(fd, VIDIOC_QUERYBUF, &buf) != 0) return fail("E_BUFFERS", std::string("VIDIOC_QUERYBUF: ") + std::strerror(errno), errno);
    tsFlags = buf.flags;
    void* p = mmap(nullptr, buf.length, PROT_READ | PROT_WRITE, MAP_SHARED, fd, buf.m.offset);
    if (p == MAP_FAILED) return fail("E_BUFFERS", std::string("mmap: ") + std::strerror(errno), errno);
    s.buffers[i].start = p;
    s.buffers[i].length = buf.length;
  }
  outstanding_.clear();
  outstanding_.resize(req.count);

  Napi::Object r = Napi::Object::New(env);
  r.Set("width", fmt.fmt.pix.width);
  r.Set("height", fmt.fmt.pix.height);
  r.Set("pixelFormat", fourccToString(fmt.fmt.pix.pixelformat));
  r.Set("bytesPerLine", fmt.fmt.pix.bytesperline);
  r.Set("sizeImage", fmt.fmt.pix.sizeimage);
  r.Set("fps", actualFps);
  r.Set("buffers", req.count);
  r.Set("timestampSource", timestampSourceName(tsFlags));
  r.Set("card", reinterpret_cast<const char*>(cap.card));
  r.Set("driver", reinterpret_cast<const char*>(cap.driver));
  return r;
}

Napi::Value Camera::Start(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto& s = *state_;
  int64_t atNs = 0;
  if (info.Length() > 0 && info[0].IsBigInt()) {
    bool lossless;
    atNs = info[0].As<Napi::BigInt>().Int64Value(&lossless);
  }
  int priority = 0, cpu = -1;
  int64_t spinNs = 200000;
  size_t maxQueue = 0;
  bool eventLoop = false;
  if (info.Length() > 1 && info[1].IsObject()) {
    Napi::Object o = info[1].As<Napi::Object>();
    if (o.Get("priority").IsNumber()) priority = o.Get("priority").As<Napi::Number>().Int32Value();
    if (o.Get("cpu").IsNumber()) cpu = o.Get("cpu").As<Napi::Number>().Int32Value();
    if (o.Get("spinNs").IsNumber()) spinNs = o.Get("spinNs").As<Napi::Number>().Int64Value();
    if (o.Get("maxQueue").IsNumber()) maxQueue = o.Get("maxQueue").As<Napi::Number>().Uint32Value();
    if (o.Get("eventLoop").IsBoolean()) eventLoop = o.Get("eventLoop").As<Napi::Boolean>().Value();
  }
#if !SYNCAP_HAVE_UV
  if (eventLoop) return throwError(env, "E_UNSUPPORTED", s.path + ": event-loop delivery needs libuv's header (Node's include/node/uv.h) when the addon is built; use thread delivery");
#endif
  if (thread_.joinable() || poll_) return throwError(env, "E_STATE", s.path + ": already started");
  {
    std::lock_guard<std::mutex> lock(s.mutex);
    if (s.fd < 0) return throwError(env, "E_STATE", "start() before open()");
    if (maxQueue == 0) maxQueue = s.buffers.size() * 2;
    // Queue every buffer JS does not hold; STREAMON comes at the start instant.
    s.streaming = true;
    for (uint32_t i = 0; i < s.buffers.size(); i++) {
      if (s.buffers[i].held) continue;
      v4l2_buffer buf{};
      buf.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
      buf.memory = V4L2_MEMORY_MMAP;
      buf.index = i;
      if (xioctl(s.fd, VIDIOC_QBUF, &buf) != 0) {
        int err = errno;
        s.streaming = false;
        int type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
        xioctl(s.fd, VIDIOC_STREAMOFF, &type);
        return throwError(env, err == ENODEV ? "E_LOST" : "E_QBUF", s.path + ": VIDIOC_QBUF: " + std::strerror(err), err);
      }
    }
  }
  stopFd_ = eventfd(0, EFD_CLOEXEC);
  tsfn_ = Napi::ThreadSafeFunction::New(env, emit_.Value(), "syncap-v4l2-capture", maxQueue, 1);
  eventLoop_ = eventLoop;
  pollPaused_ = false;
  thread_ = std::thread(captureLoop, state_, this, tsfn_, stopFd_, atNs, spinNs, priority, cpu, eventLoop);
  return env.Undefined();
}

Napi::Value Camera::Stop(const Napi::CallbackInfo& info) {
  stopPolling();
  stopThread();
  auto& s = *state_;
  std::lock_guard<std::mutex> lock(s.mutex);
  if (s.fd >= 0 && s.streaming) {
    int type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
    xioctl(s.fd, VIDIOC_STREAMOFF, &type);
  }
  s.streaming = false;
  return info.Env().Undefined();
}

Napi::Value Camera::Close(const Napi::CallbackInfo& info) {
  stopPolling();
  async_.reset();
  stopThread();
  detachOutstanding();
  int type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
  std::lock_guard<std::mutex> lock(state_->mutex);
  if (state_->fd >= 0 && state_->streaming) xioctl(state_->fd, VIDIOC_STREAMOFF, &type);
  state_->closeLocked();
  return info.Env().Undefined();
}

Napi::Value Camera::Release(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsNumber() || !info[1].IsNumber()) return throwError(env, "E_ARG", "release(index, generation)");
  uint32_t index = info[0].As<Napi::Number>().Uint32Value();
  uint64_t generation = static_cast<uint64_t>(info[1].As<Napi::Number>().DoubleValue());
  {
    std::lock_guard<std::mutex> lock(state_->mutex);
    if (index >= state_->buffers.size()) return env.Undefined();
    MappedBuffer& b = state_->buffers[index];
    if (!b.held || b.generation != generation) return env.Undefined();  // already released
    b.held = false;
    b.generation++;
  }
  // Detach first so no JS view can read the buffer once the driver owns it again.
  if (index < outstanding_.size() && !outstanding_[index].IsEmpty()) {
    Napi::ArrayBuffer ab = outstanding_[index].Value();
    if (!ab.IsEmpty() && !ab.IsDetached()) ab.Detach();
    outstanding_[index].Reset();
  }
  {
    std::lock_guard<std::mutex> lock(state_->mutex);
    state_->requeueLocked(index);
  }
  if (pollPaused_) beginPolling(env);
  return env.Undefined();
}

bool Camera::findControl(const std::string& key, v4l2_queryctrl* out) {
  v4l2_queryctrl q{};
  q.id = V4L2_CTRL_FLAG_NEXT_CTRL;
  while (xioctl(state_->fd, VIDIOC_QUERYCTRL, &q) == 0) {
    if (q.type != V4L2_CTRL_TYPE_CTRL_CLASS && controlKey(reinterpret_cast<const char*>(q.name)) == key) {
      *out = q;
      return true;
    }
    q.id |= V4L2_CTRL_FLAG_NEXT_CTRL;
  }
  return false;
}

Napi::Value Camera::ListControls(const Napi::CallbackInfo& info) {
  if (state_->fd < 0) return throwError(info.Env(), "E_STATE", "listControls() before open()");
  return listControls(info.Env(), state_->fd);
}

Napi::Value Camera::GetControl(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (state_->fd < 0) return throwError(env, "E_STATE", "getControl() before open()");
  std::string key = info[0].As<Napi::String>();
  v4l2_queryctrl q{};
  if (!findControl(key, &q)) return throwError(env, "E_CONTROL", state_->path + ": no control named \"" + key + "\"");
  v4l2_ext_control c{};
  c.id = q.id;
  v4l2_ext_controls cs{};
  cs.which = V4L2_CTRL_WHICH_CUR_VAL;
  cs.count = 1;
  cs.controls = &c;
  if (xioctl(state_->fd, VIDIOC_G_EXT_CTRLS, &cs) != 0) {
    int err = errno;
    return throwError(env, "E_CONTROL", state_->path + ": cannot read control \"" + key + "\": " + std::strerror(err), err);
  }
  return q.type == V4L2_CTRL_TYPE_INTEGER64 ? Napi::Value(bigint(env, c.value64)) : Napi::Value(Napi::Number::New(env, c.value));
}

Napi::Value Camera::SetControl(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (state_->fd < 0) return throwError(env, "E_STATE", "setControl() before open()");
  std::string key = info[0].As<Napi::String>();
  v4l2_queryctrl q{};
  if (!findControl(key, &q)) return throwError(env, "E_CONTROL", state_->path + ": no control named \"" + key + "\"");
  v4l2_ext_control c{};
  c.id = q.id;
  if (info.Length() > 1 && info[1].IsBigInt()) {
    bool lossless;
    c.value64 = info[1].As<Napi::BigInt>().Int64Value(&lossless);
  } else if (info.Length() > 1 && (info[1].IsNumber() || info[1].IsBoolean())) {
    int64_t v = info[1].IsBoolean() ? (info[1].As<Napi::Boolean>().Value() ? 1 : 0) : info[1].As<Napi::Number>().Int64Value();
    if (q.type == V4L2_CTRL_TYPE_INTEGER64) c.value64 = v;
    else c.value = static_cast<int32_t>(v);
  }
  v4l2_ext_controls cs{};
  cs.which = V4L2_CTRL_WHICH_CUR_VAL;
  cs.count = 1;
  cs.controls = &c;
  if (xioctl(state_->fd, VIDIOC_S_EXT_CTRLS, &cs) != 0) {
    int err = errno;
    return throwError(env, "E_CONTROL",
                      state_->path + ": cannot set control \"" + key + "\" (range " + std::to_string(q.minimum) + ".." + std::to_string(q.maximum) + "): " + std::strerror(err), err);
  }
  return env.Undefined();
}

Napi::Value Camera::Stats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  o.Set("delivered", Napi::Number::New(env, static_cast<double>(state_->delivered.load())));
  o.Set("overflows", Napi::Number::New(env, static_cast<double>(state_->overflows.load())));
  o.Set("requeueErrors", Napi::Number::New(env, static_cast<double>(state_->requeueErrors.load())));
  uint32_t held = 0;
  {
    std::lock_guard<std::mutex> lock(state_->mutex);
    for (auto& b : state_->buffers) held += b.held ? 1 : 0;
  }
  o.Set("buffersHeld", held);
  return o;
}

void registerCamera(Camera* camera) {
  std::lock_guard<std::mutex> lock(registryMutex);
  registry.insert(camera);
}

void unregisterCamera(Camera* camera) {
  std::lock_guard<std::mutex> lock(registryMutex);
  registry.erase(camera);
}

void shutdownAllCameras() {
  std::set<Camera*> all;
  {
    std::lock_guard<std::mutex> lock(registryMutex);
    all = registry;
  }
  for (Camera* c : all) c->shutdown();
}

}  // namespace syncap
