#include "errors.h"

#include <cerrno>
#include <cstring>

namespace syncap {

std::string errnoName(int err) {
  switch (err) {
    case ENOENT: return "ENOENT";
    case ENODEV: return "ENODEV";
    case ENXIO: return "ENXIO";
    case EBUSY: return "EBUSY";
    case EACCES: return "EACCES";
    case EPERM: return "EPERM";
    case EINVAL: return "EINVAL";
    case EIO: return "EIO";
    case ENOMEM: return "ENOMEM";
    case ENOTTY: return "ENOTTY";
    case EPIPE: return "EPIPE";
    case ENOSPC: return "ENOSPC";
    case ERANGE: return "ERANGE";
    case EAGAIN: return "EAGAIN";
    case ENOTDIR: return "ENOTDIR";
    case ELOOP: return "ELOOP";
    default: return "E" + std::to_string(err);
  }
}

const char* codeForErrno(int err, const char* fallback) {
  switch (err) {
    case ENOENT:
    case ENODEV:
    case ENXIO:
    case ENOTDIR:
      return code::kNoDevice;
    case EBUSY: return code::kDeviceBusy;
    case EACCES:
    case EPERM:
      return code::kPermission;
    default: return fallback;
  }
}

Failure sysFailure(const char* code, const std::string& path, const std::string& what, int err, const char* busyHint) {
  std::string message = path + ": " + what + ": " + std::strerror(err);
  if (err == EBUSY) {
    if (std::strcmp(code, code::kControl) == 0) message += " (the control cannot change now: it is grabbed while streaming)";
    else message += busyHint != nullptr ? busyHint : " (another process is using the device)";
  }
  return Failure{code, message, err};
}

Napi::Value throwFailure(Napi::Env env, const Failure& failure) {
  Napi::Error e = Napi::Error::New(env, failure.message);
  e.Set("code", Napi::String::New(env, failure.code));
  if (failure.err != 0) e.Set("errno", Napi::String::New(env, errnoName(failure.err)));
  e.ThrowAsJavaScriptException();
  return env.Undefined();
}

Napi::Value throwError(Napi::Env env, const char* code, const std::string& message) { return throwFailure(env, Failure{code, message, 0}); }

Napi::Object failureObject(Napi::Env env, const char* kind, const Failure& failure) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("kind", kind);
  o.Set("code", failure.code);
  o.Set("message", failure.message);
  if (failure.err != 0) o.Set("errno", errnoName(failure.err));
  return o;
}

}  // namespace syncap
