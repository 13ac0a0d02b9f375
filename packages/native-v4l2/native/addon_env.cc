#include "addon_env.h"

#include "camera.h"
#include "event_loop_poller.h"

namespace syncap {

AddonEnv::AddonEnv(napi_env e) : env(e) {}
AddonEnv::~AddonEnv() = default;

Poller* AddonEnv::poller() {
  if (!pollerTried_) {
    pollerTried_ = true;
    poller_ = Poller::create(env);
  }
  return poller_.get();
}

AddonEnv* AddonEnv::install(Napi::Env env) {
  auto* a = new AddonEnv(env);
  // Deleted by the cleanup hook, not by the instance-data finalizer: the hook runs first,
  // before any camera's finalizer, and cameras forget it there.
  napi_set_instance_data(env, a, nullptr, nullptr);
  napi_add_env_cleanup_hook(env, teardown, a);
  return a;
}

AddonEnv* AddonEnv::of(Napi::Env env) { return static_cast<AddonEnv*>(env.GetInstanceData<AddonEnv>()); }

void AddonEnv::teardown(void* self) {
  auto* a = static_cast<AddonEnv*>(self);
  // Node tears environments down inside a SealHandleScope: the N-API calls below need their own.
  Napi::HandleScope scope(Napi::Env(a->env));
  // Stop threads, STREAMOFF, unmap and close — this environment's cameras only.
  std::set<Camera*> all;
  all.swap(a->cameras);
  for (Camera* c : all) c->shutdown(true);
  if (a->poller_) a->poller_->shutdown();
  delete a;
}

}  // namespace syncap
