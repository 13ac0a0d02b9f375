#include "camera.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include "addon_env.h"
#include "capture_thread.h"
#include "controls.h"
#include "event_loop_poller.h"
#include "v4l2_util.h"

namespace syncap {

namespace {

double numberOption(const Napi::Object& o, const char* key, double fallback) {
  Napi::Value v = o.Get(key);
  return v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : fallback;
}

}  // namespace

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

Camera::Camera(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Camera>(info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsFunction() || !info[1].IsFunction()) {
    throwError(env, code::kConfig, "new NativeCamera(onFrame, onEvent): both must be functions");
    return;
  }
  addon_ = AddonEnv::of(env);
  core_ = std::make_shared<CameraCore>(addon_, info[0].As<Napi::Function>(), info[1].As<Napi::Function>());
  if (addon_) addon_->cameras.insert(this);
}

Camera::~Camera() {
  // Collected (never while streaming: the callbacks are strong then) or finalized at teardown,
  // after the cleanup hook already shut this camera down.
  if (addon_) addon_->cameras.erase(this);
  if (core_) shutdown(addon_ == nullptr, /*detachViews=*/false);
}

void Camera::shutdown(bool teardown, bool detachViews) {
  if (teardown) {
    addon_ = nullptr;
    core_->addon = nullptr;
  }
  stopCapture(teardown);
  // Not from the destructor (a finalizer: JS values are not touched there). A frame holds its
  // camera, but a subarray of it does not: such a view keeps its buffer mapped (Mapping). At
  // teardown no JS of this environment runs again: nothing can read a view.
  if (!teardown && detachViews) core_->detachAll();
  {
    std::lock_guard<std::mutex> lock(core_->device->mutex);
    core_->device->closeLocked(/*leaveViewsMapped=*/!teardown && !detachViews);
  }
  core_->dispose();
}

void Camera::stopCapture(bool teardown) {
  core_->session++;
  if (core_->addon && core_->addon->poller()) core_->addon->poller()->remove(core_.get());
  core_->polled = false;
  core_->paused = false;
  if (thread_.joinable()) {
    uint64_t one = 1;
    if (write(stopFd_, &one, sizeof(one)) < 0) {
    }
    thread_.join();
  }
  if (stopFd_ >= 0) close(stopFd_);
  stopFd_ = -1;
  {
    std::lock_guard<std::mutex> lock(core_->device->mutex);
    if (core_->device->streaming) core_->device->streamOffLocked();
  }
  if (!teardown) core_->setStreaming(false);
}

bool Camera::requireOpen(Napi::Env env, const char* what) {
  if (core_->device->fd >= 0) return true;
  throwError(env, code::kState, std::string(what) + " before open()");
  return false;
}

Napi::Value Camera::Open(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsString() || !info[1].IsObject()) return throwError(env, code::kConfig, "open(path, options)");
  Napi::Object o = info[1].As<Napi::Object>();
  OpenRequest req;
  req.width = static_cast<uint32_t>(numberOption(o, "width", 0));
  req.height = static_cast<uint32_t>(numberOption(o, "height", 0));
  req.fps = numberOption(o, "fps", 0);
  req.buffers = static_cast<uint32_t>(numberOption(o, "buffers", 4));
  Napi::Value pf = o.Get("pixelFormat");
  if (pf.IsString()) req.pixelFormat = pf.As<Napi::String>().Utf8Value();
  req.copy = o.Get("copy").ToBoolean();
  Napi::Value controls = o.Get("controls");
  if (controls.IsArray()) {
    Napi::Array list = controls.As<Napi::Array>();
    for (uint32_t i = 0; i < list.Length(); i++) {
      Napi::Value pair = list.Get(i);
      if (!pair.IsArray()) continue;
      Napi::Array p = pair.As<Napi::Array>();
      req.controls.emplace_back(p.Get(0u).ToString().Utf8Value(), controlArg(p.Get(1u)));
    }
  }
  OpenResult res;
  Failure failure;
  if (!core_->device->open(info[0].As<Napi::String>().Utf8Value(), req, &res, &failure)) return throwFailure(env, failure);
  Napi::Object r = Napi::Object::New(env);
  r.Set("width", res.width);
  r.Set("height", res.height);
  r.Set("pixelFormat", res.pixelFormat);
  r.Set("compressed", res.compressed);
  r.Set("bytesPerLine", res.bytesPerLine);
  r.Set("sizeImage", res.sizeImage);
  r.Set("fps", res.fps);
  r.Set("buffers", res.buffers);
  r.Set("timestampSource", timestampSourceName(res.timestampFlags));
  r.Set("card", res.card);
  r.Set("driver", res.driver);
  r.Set("bus", res.bus);
  return r;
}

Napi::Value Camera::Start(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  CaptureOptions opts;
  if (info.Length() > 0 && info[0].IsBigInt()) {
    bool lossless;
    opts.atNs = info[0].As<Napi::BigInt>().Int64Value(&lossless);
  }
  size_t maxQueue = 0;
  double coalesce = 0;
  uint64_t autoMs = 0;
  if (info.Length() > 1 && info[1].IsObject()) {
    Napi::Object o = info[1].As<Napi::Object>();
    opts.priority = static_cast<int>(numberOption(o, "priority", 0));
    opts.cpu = static_cast<int>(numberOption(o, "cpu", -1));
    opts.spinNs = static_cast<int64_t>(numberOption(o, "spinNs", 200000));
    maxQueue = static_cast<size_t>(numberOption(o, "maxQueue", 0));
    opts.eventLoop = o.Get("eventLoop").ToBoolean();
    coalesce = numberOption(o, "coalesceMs", 0);
    autoMs = static_cast<uint64_t>(numberOption(o, "autoCoalesceMs", 0));
  }
  if (!requireOpen(env, "start()")) return env.Undefined();
  Device& d = *core_->device;
  if (thread_.joinable() || core_->polled || d.streaming) return throwError(env, code::kState, d.path + ": already started");
  if (opts.eventLoop && !(addon_ && addon_->poller())) {
    return throwError(env, code::kUnsupported, d.path + ": event-loop delivery needs libuv's header (Node's include/node/uv.h) when the addon is built; use thread delivery");
  }
  {
    std::lock_guard<std::mutex> lock(d.mutex);
    Failure failure;
    if (!d.queueIdleLocked(&failure)) return throwFailure(env, failure);
    if (maxQueue == 0) maxQueue = d.buffers.size() * 2;
  }
  opts.session = ++core_->session;
  core_->eventLoop = opts.eventLoop;
  // Only once the start is accepted: the poller may be serving this camera's last session.
  core_->coalesceAuto = coalesce < 0;
  core_->coalesceMs = coalesce > 0 ? static_cast<uint64_t>(coalesce) : 0;
  core_->autoMs = autoMs;
  core_->setStreaming(true);
  stopFd_ = eventfd(0, EFD_CLOEXEC);
  thread_ = std::thread(captureLoop, core_->device, EventPoster::create(env, core_, maxQueue), stopFd_, opts);
  return env.Undefined();
}

Napi::Value Camera::Stop(const Napi::CallbackInfo& info) {
  stopCapture();
  return info.Env().Undefined();
}

Napi::Value Camera::Close(const Napi::CallbackInfo& info) {
  stopCapture();
  core_->detachAll();
  std::lock_guard<std::mutex> lock(core_->device->mutex);
  core_->device->closeLocked();
  return info.Env().Undefined();
}

Napi::Value Camera::Release(const Napi::CallbackInfo& info) {
  if (info.Length() >= 2 && info[0].IsNumber() && info[1].IsNumber()) {
    core_->releaseBuffer(info[0].As<Napi::Number>().Uint32Value(), static_cast<uint64_t>(info[1].As<Napi::Number>().DoubleValue()), true);
  }
  return info.Env().Undefined();
}

Napi::Value Camera::ListControls(const Napi::CallbackInfo& info) {
  if (!requireOpen(info.Env(), "listControls()")) return info.Env().Undefined();
  return listControls(info.Env(), core_->device->fd);
}

Napi::Value Camera::GetControl(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!requireOpen(env, "getControl()")) return env.Undefined();
  if (info.Length() < 1 || !info[0].IsString()) return throwError(env, code::kConfig, "getControl(name)");
  return getControl(env, core_->device->fd, core_->device->path, info[0].As<Napi::String>().Utf8Value());
}

Napi::Value Camera::SetControl(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!requireOpen(env, "setControl()")) return env.Undefined();
  if (info.Length() < 1 || !info[0].IsString()) return throwError(env, code::kConfig, "setControl(name, value)");
  return setControl(env, core_->device->fd, core_->device->path, info[0].As<Napi::String>().Utf8Value(), info.Length() > 1 ? info[1] : env.Undefined());
}

Napi::Value Camera::Stats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Device& d = *core_->device;
  Napi::Object o = Napi::Object::New(env);
  o.Set("delivered", Napi::Number::New(env, static_cast<double>(d.delivered.load())));
  o.Set("overflows", Napi::Number::New(env, static_cast<double>(d.overflows.load())));
  o.Set("requeueErrors", Napi::Number::New(env, static_cast<double>(d.requeueErrors.load())));
  std::lock_guard<std::mutex> lock(d.mutex);
  o.Set("buffersHeld", d.heldLocked());
  return o;
}

}  // namespace syncap
