// Per-environment state (main thread and each worker thread load the addon separately):
// the cameras opened in it and its event-loop poller. Its cleanup hook stops exactly this
// environment's cameras when the environment goes away (worker terminated, process exit).
#pragma once
#include <napi.h>

#include <memory>
#include <set>

namespace syncap {

class Camera;
class Poller;

struct AddonEnv {
  explicit AddonEnv(napi_env env);
  ~AddonEnv();

  napi_env env;
  std::set<Camera*> cameras;

  // The environment's poller (created on first use); null without libuv's header.
  Poller* poller();

  // Registers the cleanup hook that stops this environment's cameras and deletes this.
  static AddonEnv* install(Napi::Env env);
  static AddonEnv* of(Napi::Env env);

 private:
  static void teardown(void* self);
  std::unique_ptr<Poller> poller_;
  bool pollerTried_ = false;
};

}  // namespace syncap
