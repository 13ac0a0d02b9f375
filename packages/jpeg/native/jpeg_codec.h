// JPEG with libjpeg-turbo (TurboJPEG API): pure functions over byte spans, no N-API, so that
// the N-API layer (jpeg_addon.cc) can run them on the libuv thread pool.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace syncap_jpeg {

// Pixel layouts a raw frame may have (V4L2 FourCCs).
enum class Layout { YUYV, UYVY, RGB3, BGR3, GREY };

// Parses "YUYV", "UYVY", "RGB3", "BGR3", "GREY" (case-insensitive); false for anything else.
bool parseLayout(const std::string& fourcc, Layout* out);
size_t bytesPerPixel(Layout layout);

struct Image {
  const uint8_t* data = nullptr;
  size_t size = 0;
  int width = 0;
  int height = 0;
  Layout layout = Layout::YUYV;
};

// Encodes a raw image. 4:2:2 packed frames are split into planes and compressed as 4:2:2
// YUV (no RGB pass); RGB/BGR as 4:2:0; GREY as greyscale. Returns false with `error` set.
bool encode(const Image& image, int quality, std::vector<uint8_t>* out, std::string* error);

struct Decoded {
  int width = 0;
  int height = 0;
  bool grey = false;
  std::vector<uint8_t> pixels;  // RGB (3 bytes per pixel) or grey (1)
};

// Decodes a JPEG, scaled down by the largest libjpeg-turbo factor whose width stays
// >= maxWidth (0: full size). Colour images come back RGB, greyscale ones grey.
bool decode(const uint8_t* jpeg, size_t size, int maxWidth, Decoded* out, std::string* error);

// A JPEG thumbnail no wider than maxWidth from a raw image (box-filtered) or a JPEG
// (decoded at a reduced scale, then re-encoded).
bool thumbnailFromRaw(const Image& image, int maxWidth, int quality, std::vector<uint8_t>* out, std::string* error);
bool thumbnailFromJpeg(const uint8_t* jpeg, size_t size, int maxWidth, int quality, std::vector<uint8_t>* out, std::string* error);

}  // namespace syncap_jpeg
