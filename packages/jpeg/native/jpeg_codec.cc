#include "jpeg_codec.h"

#include <turbojpeg.h>

#include <algorithm>
#include <cctype>
#include <memory>

namespace syncap_jpeg {

namespace {

struct Handle {
  explicit Handle(tjhandle h) : h(h) {}
  ~Handle() {
    if (h) tjDestroy(h);
  }
  tjhandle h;
};

bool fail(tjhandle h, const char* what, std::string* error) {
  *error = std::string(what) + ": " + (h ? tjGetErrorStr2(h) : "cannot initialise libjpeg-turbo");
  return false;
}

// Copies libjpeg-turbo's output into `out` and frees it.
void take(unsigned char* buf, unsigned long size, std::vector<uint8_t>* out) {
  out->assign(buf, buf + size);
  tjFree(buf);
}

// V4L2's 4:2:2 frames are limited range (BT.601: Y 16–235, C 16–240); JFIF is full range.
struct RangeTables {
  uint8_t y[256];
  uint8_t c[256];
  RangeTables() {
    for (int i = 0; i < 256; i++) {
      y[i] = static_cast<uint8_t>(std::clamp((i - 16) * 255 / 219, 0, 255));
      c[i] = static_cast<uint8_t>(std::clamp((i - 128) * 255 / 224 + 128, 0, 255));
    }
  }
};
const RangeTables kRange;

bool encodePacked422(tjhandle h, const Image& image, int quality, std::vector<uint8_t>* out, std::string* error) {
  const int w = image.width;
  const int h2 = image.height;
  const int cw = (w + 1) / 2;
  std::vector<uint8_t> y(static_cast<size_t>(w) * h2), u(static_cast<size_t>(cw) * h2), v(static_cast<size_t>(cw) * h2);
  const bool yFirst = image.layout == Layout::YUYV;
  for (int row = 0; row < h2; row++) {
    const uint8_t* s = image.data + static_cast<size_t>(row) * w * 2;
    uint8_t* yr = y.data() + static_cast<size_t>(row) * w;
    uint8_t* ur = u.data() + static_cast<size_t>(row) * cw;
    uint8_t* vr = v.data() + static_cast<size_t>(row) * cw;
    for (int x = 0; x + 1 < w; x += 2) {
      const uint8_t* p = s + x * 2;
      const auto& Y = kRange.y;
      const auto& C = kRange.c;
      if (yFirst) {
        yr[x] = Y[p[0]], ur[x / 2] = C[p[1]], yr[x + 1] = Y[p[2]], vr[x / 2] = C[p[3]];
      } else {
        ur[x / 2] = C[p[0]], yr[x] = Y[p[1]], vr[x / 2] = C[p[2]], yr[x + 1] = Y[p[3]];
      }
    }
  }
  const unsigned char* planes[3] = {y.data(), u.data(), v.data()};
  int strides[3] = {w, cw, cw};
  unsigned char* jpeg = nullptr;
  unsigned long size = 0;
  if (tjCompressFromYUVPlanes(h, planes, w, strides, h2, TJSAMP_422, &jpeg, &size, quality, TJFLAG_FASTDCT) != 0) {
    if (jpeg) tjFree(jpeg);
    return fail(h, "tjCompressFromYUVPlanes", error);
  }
  take(jpeg, size, out);
  return true;
}

}  // namespace

bool parseLayout(const std::string& fourcc, Layout* out) {
  std::string f = fourcc;
  for (auto& c : f) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (f == "YUYV") *out = Layout::YUYV;
  else if (f == "UYVY") *out = Layout::UYVY;
  else if (f == "RGB3") *out = Layout::RGB3;
  else if (f == "BGR3") *out = Layout::BGR3;
  else if (f == "GREY") *out = Layout::GREY;
  else return false;
  return true;
}

size_t bytesPerPixel(Layout layout) {
  switch (layout) {
    case Layout::YUYV:
    case Layout::UYVY: return 2;
    case Layout::RGB3:
    case Layout::BGR3: return 3;
    case Layout::GREY: return 1;
  }
  return 1;
}

bool encode(const Image& image, int quality, std::vector<uint8_t>* out, std::string* error) {
  if (image.width <= 0 || image.height <= 0) {
    *error = "image size must be positive";
    return false;
  }
  const size_t need = static_cast<size_t>(image.width) * image.height * bytesPerPixel(image.layout);
  if (image.size < need) {
    *error = "image has " + std::to_string(image.size) + " bytes, " + std::to_string(image.width) + "x" + std::to_string(image.height) + " needs " + std::to_string(need);
    return false;
  }
  Handle h(tjInitCompress());
  if (!h.h) return fail(nullptr, "tjInitCompress", error);
  if (image.layout == Layout::YUYV || image.layout == Layout::UYVY) return encodePacked422(h.h, image, quality, out, error);
  const int pf = image.layout == Layout::RGB3 ? TJPF_RGB : image.layout == Layout::BGR3 ? TJPF_BGR : TJPF_GRAY;
  const int sub = image.layout == Layout::GREY ? TJSAMP_GRAY : TJSAMP_420;
  unsigned char* jpeg = nullptr;
  unsigned long size = 0;
  if (tjCompress2(h.h, image.data, image.width, 0, image.height, pf, &jpeg, &size, sub, quality, TJFLAG_FASTDCT) != 0) {
    if (jpeg) tjFree(jpeg);
    return fail(h.h, "tjCompress2", error);
  }
  take(jpeg, size, out);
  return true;
}

bool decode(const uint8_t* jpeg, size_t size, int maxWidth, Decoded* out, std::string* error) {
  Handle h(tjInitDecompress());
  if (!h.h) return fail(nullptr, "tjInitDecompress", error);
  int w = 0, hh = 0, sub = 0, colorspace = 0;
  if (tjDecompressHeader3(h.h, jpeg, size, &w, &hh, &sub, &colorspace) != 0) return fail(h.h, "not a JPEG (tjDecompressHeader3)", error);
  int sw = w, sh = hh;
  if (maxWidth > 0 && w > maxWidth) {
    int n = 0;
    tjscalingfactor* factors = tjGetScalingFactors(&n);
    // The smallest scaled width that is still >= maxWidth (factors come largest first).
    for (int i = 0; i < n; i++) {
      int fw = TJSCALED(w, factors[i]);
      if (fw >= maxWidth && fw < sw) {
        sw = fw;
        sh = TJSCALED(hh, factors[i]);
      }
    }
  }
  out->grey = colorspace == TJCS_GRAY;
  out->width = sw;
  out->height = sh;
  out->pixels.resize(static_cast<size_t>(sw) * sh * (out->grey ? 1 : 3));
  if (tjDecompress2(h.h, jpeg, size, out->pixels.data(), sw, 0, sh, out->grey ? TJPF_GRAY : TJPF_RGB, TJFLAG_FASTDCT) != 0) {
    return fail(h.h, "tjDecompress2", error);
  }
  return true;
}

bool thumbnailFromRaw(const Image& image, int maxWidth, int quality, std::vector<uint8_t>* out, std::string* error) {
  const int factor = std::max(1, (image.width + maxWidth - 1) / std::max(1, maxWidth));
  const int tw = std::max(1, image.width / factor);
  const int th = std::max(1, image.height / factor);
  const bool grey = image.layout == Layout::GREY;
  std::vector<uint8_t> small(static_cast<size_t>(tw) * th * (grey ? 1 : 3));
  const size_t bpp = bytesPerPixel(image.layout);
  const size_t stride = static_cast<size_t>(image.width) * bpp;
  if (image.size < stride * image.height) {
    *error = "image is shorter than its size says";
    return false;
  }
  // Each thumbnail pixel averages a 2 × 2 sample of its factor × factor box (enough for a
  // preview, and a fraction of the cost of reading every pixel); 4:2:2 chroma is read at its pair.
  const int step = factor >= 2 ? factor / 2 : 1;
  const int samples = factor >= 2 ? 2 : 1;
  for (int ty = 0; ty < th; ty++) {
    for (int tx = 0; tx < tw; tx++) {
      unsigned sum[3] = {0, 0, 0};
      for (int sy = 0; sy < samples; sy++) {
        const uint8_t* row = image.data + static_cast<size_t>(ty * factor + sy * step) * stride;
        for (int sx = 0; sx < samples; sx++) {
          const int x = tx * factor + sx * step;
          int r, g, b;
          if (image.layout == Layout::YUYV || image.layout == Layout::UYVY) {
            const uint8_t* pair = row + static_cast<size_t>(x & ~1) * 2;
            const bool yFirst = image.layout == Layout::YUYV;
            const int yv = yFirst ? pair[(x & 1) * 2] : pair[(x & 1) * 2 + 1];
            const int uv = (yFirst ? pair[1] : pair[0]) - 128;
            const int vv = (yFirst ? pair[3] : pair[2]) - 128;
            const int c = 298 * (yv - 16);
            r = (c + 409 * vv + 128) >> 8;
            g = (c - 100 * uv - 208 * vv + 128) >> 8;
            b = (c + 516 * uv + 128) >> 8;
          } else if (grey) {
            r = g = b = row[x];
          } else {
            const uint8_t* p = row + static_cast<size_t>(x) * 3;
            r = image.layout == Layout::RGB3 ? p[0] : p[2];
            g = p[1];
            b = image.layout == Layout::RGB3 ? p[2] : p[0];
          }
          sum[0] += static_cast<unsigned>(std::clamp(r, 0, 255));
          sum[1] += static_cast<unsigned>(std::clamp(g, 0, 255));
          sum[2] += static_cast<unsigned>(std::clamp(b, 0, 255));
        }
      }
      const unsigned n = static_cast<unsigned>(samples * samples);
      uint8_t* d = small.data() + (static_cast<size_t>(ty) * tw + tx) * (grey ? 1 : 3);
      if (grey) d[0] = static_cast<uint8_t>(sum[0] / n);
      else d[0] = static_cast<uint8_t>(sum[0] / n), d[1] = static_cast<uint8_t>(sum[1] / n), d[2] = static_cast<uint8_t>(sum[2] / n);
    }
  }
  Image t{small.data(), small.size(), tw, th, grey ? Layout::GREY : Layout::RGB3};
  return encode(t, quality, out, error);
}

bool thumbnailFromJpeg(const uint8_t* jpeg, size_t size, int maxWidth, int quality, std::vector<uint8_t>* out, std::string* error) {
  Decoded d;
  if (!decode(jpeg, size, maxWidth, &d, error)) return false;
  Image scaled{d.pixels.data(), d.pixels.size(), d.width, d.height, d.grey ? Layout::GREY : Layout::RGB3};
  if (d.width <= maxWidth || maxWidth <= 0) return encode(scaled, quality, out, error);
  return thumbnailFromRaw(scaled, maxWidth, quality, out, error);
}

}  // namespace syncap_jpeg
