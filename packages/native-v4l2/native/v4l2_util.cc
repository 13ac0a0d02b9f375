#include "v4l2_util.h"

#include <sys/ioctl.h>

#include <cctype>
#include <cerrno>

namespace syncap {

int xioctl(int fd, unsigned long request, void* arg) {
  int r;
  do {
    r = ioctl(fd, request, arg);
  } while (r == -1 && errno == EINTR);
  return r;
}

std::string fourccToString(uint32_t f) {
  std::string s;
  for (int i = 0; i < 4; i++) s.push_back(static_cast<char>((f >> (8 * i)) & 0xff));
  while (!s.empty() && s.back() == ' ') s.pop_back();
  return s;
}

uint32_t fourccFromString(const std::string& text) {
  std::string t = text;
  while (t.size() < 4) t.push_back(' ');
  return v4l2_fourcc(t[0], t[1], t[2], t[3]);
}

int64_t clockNs(clockid_t clock) {
  timespec ts{};
  clock_gettime(clock, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000LL + ts.tv_nsec;
}

std::string controlKey(const char* name) {
  std::string out;
  bool sep = false;
  for (const char* p = name; *p; p++) {
    unsigned char c = static_cast<unsigned char>(*p);
    if (std::isalnum(c)) {
      if (sep && !out.empty()) out.push_back('_');
      out.push_back(static_cast<char>(std::tolower(c)));
      sep = false;
    } else {
      sep = true;
    }
  }
  return out;
}

std::string capabilityNames(uint32_t caps) {
  struct Cap {
    uint32_t bit;
    const char* name;
  };
  static const Cap table[] = {
      {V4L2_CAP_VIDEO_CAPTURE, "video-capture"}, {V4L2_CAP_VIDEO_CAPTURE_MPLANE, "video-capture-mplane"},
      {V4L2_CAP_VIDEO_OUTPUT, "video-output"},   {V4L2_CAP_VIDEO_M2M, "video-m2m"},
      {V4L2_CAP_META_CAPTURE, "meta-capture"},   {V4L2_CAP_READWRITE, "readwrite"},
      {V4L2_CAP_STREAMING, "streaming"},         {V4L2_CAP_TOUCH, "touch"},
      {V4L2_CAP_VBI_CAPTURE, "vbi-capture"},     {V4L2_CAP_SDR_CAPTURE, "sdr-capture"},
      {V4L2_CAP_RADIO, "radio"},                 {V4L2_CAP_TUNER, "tuner"},
      {V4L2_CAP_AUDIO, "audio"},                 {V4L2_CAP_EXT_PIX_FORMAT, "ext-pix-format"},
  };
  std::string out;
  for (const auto& c : table) {
    if (caps & c.bit) {
      if (!out.empty()) out.push_back(',');
      out += c.name;
    }
  }
  return out;
}

uint32_t effectiveCaps(const v4l2_capability& cap) { return (cap.capabilities & V4L2_CAP_DEVICE_CAPS) ? cap.device_caps : cap.capabilities; }

const char* timestampSourceName(uint32_t flags) {
  switch (flags & V4L2_BUF_FLAG_TSTAMP_SRC_MASK) {
    case V4L2_BUF_FLAG_TSTAMP_SRC_SOE: return "start-of-exposure";
    case V4L2_BUF_FLAG_TSTAMP_SRC_EOF: return "end-of-frame";
    default: return "unknown";
  }
}

Napi::BigInt bigint(Napi::Env env, int64_t value) { return Napi::BigInt::New(env, value); }

}  // namespace syncap
