#include "device_info.h"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "controls.h"
#include "errors.h"
#include "v4l2_util.h"

namespace syncap {

namespace {

struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) close(fd);
  }
};

Napi::Object capObject(Napi::Env env, const std::string& path, const v4l2_capability& cap) {
  Napi::Object o = Napi::Object::New(env);
  uint32_t caps = effectiveCaps(cap);
  o.Set("path", path);
  o.Set("card", reinterpret_cast<const char*>(cap.card));
  o.Set("driver", reinterpret_cast<const char*>(cap.driver));
  o.Set("bus", reinterpret_cast<const char*>(cap.bus_info));
  o.Set("capabilities", capabilityNames(caps));
  o.Set("canCapture", (caps & V4L2_CAP_VIDEO_CAPTURE) != 0 && (caps & V4L2_CAP_STREAMING) != 0);
  return o;
}

double fpsOf(const v4l2_fract& interval) { return interval.numerator == 0 ? 0 : static_cast<double>(interval.denominator) / interval.numerator; }

Napi::Array intervals(Napi::Env env, int fd, uint32_t fourcc, uint32_t w, uint32_t h) {
  Napi::Array out = Napi::Array::New(env);
  v4l2_frmivalenum iv{};
  iv.pixel_format = fourcc;
  iv.width = w;
  iv.height = h;
  uint32_t n = 0;
  for (iv.index = 0; xioctl(fd, VIDIOC_ENUM_FRAMEINTERVALS, &iv) == 0; iv.index++) {
    if (iv.type == V4L2_FRMIVAL_TYPE_DISCRETE) {
      out.Set(n++, Napi::Number::New(env, fpsOf(iv.discrete)));
    } else {
      // Stepwise/continuous: report the fastest and slowest rates.
      out.Set(n++, Napi::Number::New(env, fpsOf(iv.stepwise.min)));
      out.Set(n++, Napi::Number::New(env, fpsOf(iv.stepwise.max)));
      break;
    }
  }
  return out;
}

Napi::Array formats(Napi::Env env, int fd) {
  Napi::Array out = Napi::Array::New(env);
  v4l2_fmtdesc fmt{};
  fmt.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
  uint32_t n = 0;
  for (fmt.index = 0; xioctl(fd, VIDIOC_ENUM_FMT, &fmt) == 0; fmt.index++) {
    Napi::Object f = Napi::Object::New(env);
    f.Set("pixelFormat", fourccToString(fmt.pixelformat));
    f.Set("description", reinterpret_cast<const char*>(fmt.description));
    f.Set("compressed", (fmt.flags & V4L2_FMT_FLAG_COMPRESSED) != 0);
    Napi::Array sizes = Napi::Array::New(env);
    v4l2_frmsizeenum fs{};
    fs.pixel_format = fmt.pixelformat;
    uint32_t k = 0;
    for (fs.index = 0; xioctl(fd, VIDIOC_ENUM_FRAMESIZES, &fs) == 0; fs.index++) {
      Napi::Object s = Napi::Object::New(env);
      if (fs.type == V4L2_FRMSIZE_TYPE_DISCRETE) {
        s.Set("width", fs.discrete.width);
        s.Set("height", fs.discrete.height);
        s.Set("fps", intervals(env, fd, fmt.pixelformat, fs.discrete.width, fs.discrete.height));
        sizes.Set(k++, s);
      } else {
        s.Set("minWidth", fs.stepwise.min_width);
        s.Set("maxWidth", fs.stepwise.max_width);
        s.Set("stepWidth", fs.stepwise.step_width);
        s.Set("minHeight", fs.stepwise.min_height);
        s.Set("maxHeight", fs.stepwise.max_height);
        s.Set("stepHeight", fs.stepwise.step_height);
        s.Set("fps", intervals(env, fd, fmt.pixelformat, fs.stepwise.max_width, fs.stepwise.max_height));
        sizes.Set(k++, s);
        break;
      }
    }
    f.Set("sizes", sizes);
    out.Set(n++, f);
  }
  return out;
}

// Opens `path` for a query; throws (and returns false) naming the path when it cannot.
bool openForQuery(Napi::Env env, const std::string& path, Fd* f) {
  f->fd = open(path.c_str(), O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (f->fd < 0) {
    int err = errno;
    throwFailure(env, sysFailure(codeForErrno(err, code::kDevice), path, "cannot open", err));
    return false;
  }
  v4l2_capability cap{};
  if (xioctl(f->fd, VIDIOC_QUERYCAP, &cap) != 0) {
    throwFailure(env, sysFailure(code::kNotCapture, path, "not a V4L2 device (VIDIOC_QUERYCAP)", errno));
    return false;
  }
  return true;
}

bool pathArgument(const Napi::CallbackInfo& info, const char* usage, std::string* path) {
  if (info.Length() < 1 || !info[0].IsString()) {
    throwError(info.Env(), code::kConfig, std::string(usage) + ": path must be a string");
    return false;
  }
  *path = info[0].As<Napi::String>().Utf8Value();
  return true;
}

}  // namespace

Napi::Value ListDevices(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::vector<std::string> paths;
  if (DIR* d = opendir("/dev")) {
    while (dirent* e = readdir(d)) {
      if (std::strncmp(e->d_name, "video", 5) == 0) paths.push_back(std::string("/dev/") + e->d_name);
    }
    closedir(d);
  }
  std::sort(paths.begin(), paths.end(), [](const std::string& a, const std::string& b) { return a.size() != b.size() ? a.size() < b.size() : a < b; });
  Napi::Array out = Napi::Array::New(env);
  uint32_t n = 0;
  for (const auto& path : paths) {
    Fd f;
    f.fd = open(path.c_str(), O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (f.fd < 0) {
      int err = errno;
      Napi::Object o = Napi::Object::New(env);
      o.Set("path", path);
      o.Set("error", errnoName(err) + ": " + std::strerror(err));
      out.Set(n++, o);
      continue;
    }
    v4l2_capability cap{};
    if (xioctl(f.fd, VIDIOC_QUERYCAP, &cap) != 0) continue;  // not a V4L2 node
    out.Set(n++, capObject(env, path, cap));
  }
  return out;
}

Napi::Value Describe(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path;
  Fd f;
  if (!pathArgument(info, "describe(path)", &path) || !openForQuery(env, path, &f)) return env.Undefined();
  v4l2_capability cap{};
  xioctl(f.fd, VIDIOC_QUERYCAP, &cap);
  Napi::Object o = capObject(env, path, cap);
  o.Set("formats", formats(env, f.fd));
  o.Set("controls", listControls(env, f.fd));
  v4l2_format fmt{};
  fmt.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
  if (xioctl(f.fd, VIDIOC_G_FMT, &fmt) == 0) {
    Napi::Object cur = Napi::Object::New(env);
    cur.Set("width", fmt.fmt.pix.width);
    cur.Set("height", fmt.fmt.pix.height);
    cur.Set("pixelFormat", fourccToString(fmt.fmt.pix.pixelformat));
    v4l2_streamparm parm{};
    parm.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
    if (xioctl(f.fd, VIDIOC_G_PARM, &parm) == 0) cur.Set("fps", Napi::Number::New(env, fpsOf(parm.parm.capture.timeperframe)));
    o.Set("current", cur);
  }
  return o;
}

Napi::Value ListControlsAt(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path;
  Fd f;
  if (!pathArgument(info, "listControls(path)", &path) || !openForQuery(env, path, &f)) return env.Undefined();
  return listControls(env, f.fd);
}

Napi::Value SetControlAt(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path;
  Fd f;
  if (!pathArgument(info, "setControl(path, name, value)", &path)) return env.Undefined();
  if (info.Length() < 2 || !info[1].IsString()) return throwError(env, code::kConfig, "setControl(path, name, value): name must be a string");
  if (!openForQuery(env, path, &f)) return env.Undefined();
  return setControl(env, f.fd, path, info[1].As<Napi::String>().Utf8Value(), info.Length() > 2 ? info[2] : env.Undefined());
}

}  // namespace syncap
