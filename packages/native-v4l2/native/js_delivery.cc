#include "js_delivery.h"

#include <cstdlib>
#include <mutex>

#include "addon_env.h"
#include "event_loop_poller.h"
#include "v4l2_util.h"

namespace syncap {

namespace {

// Finalizer hint of a zero-copy view: the safety net when JS drops a frame unreleased.
struct ViewToken {
  std::weak_ptr<CameraCore> core;
  uint32_t index;
  uint64_t generation;
  std::shared_ptr<Mapping> mapping;  // without close(), the buffer stays mapped while this view exists
};

void finalizeView(napi_env, void*, void* hint) {
  auto* token = static_cast<ViewToken*>(hint);
  if (auto core = token->core.lock()) core->releaseBuffer(token->index, token->generation, false);
  delete token;
}

void freeCopy(napi_env, void* data, void*) { std::free(data); }

// A Uint8Array over memory the addon owns, freed by `finalize`, and its array buffer (`*ab`).
// Not a node Buffer: making one gives the array Buffer's prototype, a map transition per frame
// that showed in profiles. False when nothing was made: the caller still owns `bytes`. Once the
// array buffer exists it owns them (its finalizer frees them), even when the view over it fails
// (`*out` null then).
bool externalBytes(napi_env env, void* bytes, size_t length, napi_finalize finalize, void* hint, napi_value* out, napi_value* ab) {
  *out = nullptr;
  if (napi_create_external_arraybuffer(env, bytes, length, finalize, hint, ab) != napi_ok) return false;
  if (napi_create_typedarray(env, napi_uint8_array, length, *ab, 0, out) != napi_ok) *out = nullptr;
  return true;
}

}  // namespace

bool canCallIntoJs(napi_env env) {
  // napi_coerce_to_bool runs no JS for a boolean but, like every call that could, fails once
  // the environment cannot call into JS any more (N-API has no direct query).
  napi_value v;
  bool b;
  return napi_get_boolean(env, true, &v) == napi_ok && napi_coerce_to_bool(env, v, &v) == napi_ok && napi_get_value_bool(env, v, &b) == napi_ok;
}

CameraCore::CameraCore(AddonEnv* a, Napi::Function onFrame, Napi::Function onEvent) : addon(a) {
  onFrame_ = Napi::Weak(onFrame);
  onEvent_ = Napi::Weak(onEvent);
}

CameraCore::~CameraCore() = default;

void CameraCore::setStreaming(bool on) {
  if (disposed_ || on == strong_) return;
  strong_ = on;
  // Raw calls: a failure (the environment going away) must not become a JS exception here.
  for (Napi::FunctionReference* r : {&onFrame_, &onEvent_}) {
    uint32_t count;
    if (on) napi_reference_ref(r->Env(), *r, &count);
    else napi_reference_unref(r->Env(), *r, &count);
  }
}

void CameraCore::deliver(Napi::Env env, Event* e) {
  if (disposed_ || e->session != session) {
    discardEvent(e);  // a zero-copy frame's buffer was taken back when its session ended
    return;
  }
  Napi::HandleScope scope(env);
  if (e->kind == EventKind::Frame) {
    deliverFrame(env, e);
    return;
  }
  Napi::Function fn = onEvent_.Value();
  if (fn.IsEmpty()) {
    discardEvent(e);
    return;
  }
  Napi::Object payload;
  if (e->kind == EventKind::Started) {
    if (eventLoop && addon && addon->poller()) addon->poller()->add(shared_from_this());
    payload = Napi::Object::New(env);
    payload.Set("kind", "started");
    payload.Set("requestedNs", bigint(env, e->requestedNs));
    payload.Set("streamonStartNs", bigint(env, e->streamonStartNs));
    payload.Set("streamonEndNs", bigint(env, e->streamonEndNs));
    Napi::Array w = Napi::Array::New(env, e->warnings.size());
    for (size_t i = 0; i < e->warnings.size(); i++) w.Set(static_cast<uint32_t>(i), e->warnings[i]);
    payload.Set("warnings", w);
  } else {
    payload = failureObject(env, e->kind == EventKind::Lost ? "lost" : "error", e->failure);
  }
  discardEvent(e);
  fn.Call({payload});
}

void CameraCore::deliverFrame(Napi::Env env, Event* e) {
  napi_value data = nullptr;
  napi_value ab = nullptr;
  const bool copied = e->copy != nullptr;
  if (copied) {
    if (externalBytes(env, e->copy, e->bytesused, freeCopy, nullptr, &data, &ab)) e->copy = nullptr;  // the array buffer's now
    if (data == nullptr) {
      discardEvent(e);
      return;
    }
  } else {
    void* start = nullptr;
    std::shared_ptr<Mapping> mapping;
    {
      std::lock_guard<std::mutex> lock(device->mutex);
      if (e->index < device->buffers.size()) {
        MappedBuffer& b = device->buffers[e->index];
        if (b.owner == BufferOwner::InFlight && b.generation == e->generation) {
          b.owner = BufferOwner::Held;
          mapping = b.mapping;
          start = mapping->data();
        }
      }
    }
    if (start == nullptr) {  // stopped or closed meanwhile: nothing valid to hand out
      discardEvent(e);
      return;
    }
    auto* token = new ViewToken{weak_from_this(), e->index, e->generation, std::move(mapping)};
    if (!externalBytes(env, start, e->bytesused, finalizeView, token, &data, &ab)) {  // else its finalizer releases
      delete token;
      releaseBuffer(e->index, e->generation, false);
    }
    if (data == nullptr) {
      discardEvent(e);
      return;
    }
    // The array buffer, not the Uint8Array: a subarray JS kept can outlive the array it came
    // from, and it must be detached with it before the driver (or munmap) takes the memory.
    if (e->index >= views_.size()) views_.resize(e->index + 1);
    views_[e->index] = Napi::Weak(Napi::Value(env, ab));
  }
  Napi::Function fn = onFrame_.Value();
  if (fn.IsEmpty()) {
    if (!copied) releaseBuffer(e->index, e->generation, true);
    discardEvent(e);
    return;
  }
  // The hot path: positional arguments, no payload object and no property-name strings. The
  // arrival instant is read here, just before the call, rather than by a call back from JS.
  napi_value args[] = {
      Napi::Number::New(env, e->index),
      Napi::Number::New(env, static_cast<double>(e->generation)),
      Napi::Number::New(env, e->sequence),
      Napi::Number::New(env, e->flags),
      Napi::Number::New(env, e->bytesused),
      bigint(env, e->timestampNs),
      bigint(env, e->dqNs),
      bigint(env, clockNs(CLOCK_MONOTONIC)),
      data,
      Napi::Boolean::New(env, copied),
  };
  discardEvent(e);
  fn.Call(10, args);
}

void CameraCore::detachView(uint32_t index) {
  if (index >= views_.size() || views_[index].IsEmpty()) return;
  Napi::Value ab = views_[index].Value();
  views_[index].Reset();
  if (ab.IsEmpty()) return;  // collected: no view over the buffer is left
  bool detached = false;
  if (napi_is_detached_arraybuffer(ab.Env(), ab, &detached) == napi_ok && !detached) napi_detach_arraybuffer(ab.Env(), ab);
}

void CameraCore::releaseBuffer(uint32_t index, uint64_t generation, bool detach) {
  {
    std::lock_guard<std::mutex> lock(device->mutex);
    if (index >= device->buffers.size()) return;
    MappedBuffer& b = device->buffers[index];
    if (b.owner != BufferOwner::Held || b.generation != generation) return;  // released already
    b.generation++;
    b.owner = BufferOwner::Idle;
  }
  // Detach first so no JS view can read the buffer once the driver owns it again.
  if (detach && !disposed_) detachView(index);
  {
    std::lock_guard<std::mutex> lock(device->mutex);
    device->requeueLocked(index);
  }
  if (paused && addon && addon->poller()) addon->poller()->add(shared_from_this());
}

void CameraCore::detachAll() {
  if (!disposed_) {
    for (uint32_t i = 0; i < views_.size(); i++) detachView(i);
  }
  std::lock_guard<std::mutex> lock(device->mutex);
  for (auto& b : device->buffers) {
    if (b.owner == BufferOwner::Held || b.owner == BufferOwner::InFlight) {
      b.owner = BufferOwner::Idle;
      b.generation++;
    }
  }
}

void CameraCore::dispose() {
  if (disposed_) return;
  disposed_ = true;
  views_.clear();
  onFrame_.Reset();
  onEvent_.Reset();
}

}  // namespace syncap
