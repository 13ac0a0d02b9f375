// Bracketed sampling of CLOCK_REALTIME / CLOCK_TAI against CLOCK_MONOTONIC (DESIGN §2):
// read R, M, R; keep the narrowest bracket; offset = midpoint − M, uncertainty = half-width.
#include "clock_sampler.h"

#include <ctime>

#include "v4l2_util.h"

namespace syncap {

namespace {
struct Bracket {
  int64_t offsetNs;
  int64_t halfWidthNs;
  int64_t monotonicNs;
};

Bracket sample(clockid_t other, int rounds) {
  Bracket best{0, INT64_MAX, 0};
  for (int i = 0; i < rounds; i++) {
    int64_t a = clockNs(other);
    int64_t m = clockNs(CLOCK_MONOTONIC);
    int64_t b = clockNs(other);
    int64_t half = (b - a) / 2;
    if (b >= a && half < best.halfWidthNs) best = {a + half - m, half, m};
  }
  return best;
}
}  // namespace

Napi::Value SampleClocks(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int rounds = info.Length() > 0 && info[0].IsNumber() ? info[0].As<Napi::Number>().Int32Value() : 32;
  if (rounds < 1) rounds = 1;
  Bracket rt = sample(CLOCK_REALTIME, rounds);
  Bracket tai = sample(CLOCK_TAI, rounds);
  Napi::Object o = Napi::Object::New(env);
  o.Set("monotonicNs", bigint(env, rt.monotonicNs));
  o.Set("realtimeOffsetNs", bigint(env, rt.offsetNs));
  o.Set("realtimeUncertaintyNs", Napi::Number::New(env, static_cast<double>(rt.halfWidthNs)));
  o.Set("taiOffsetNs", bigint(env, tai.offsetNs));
  o.Set("taiUncertaintyNs", Napi::Number::New(env, static_cast<double>(tai.halfWidthNs)));
  return o;
}

Napi::Value MonotonicNow(const Napi::CallbackInfo& info) { return bigint(info.Env(), clockNs(CLOCK_MONOTONIC)); }

}  // namespace syncap
