// H264 keyframes to JPEG thumbnails with FFmpeg's libavcodec (decoding) and libswscale
// (scaling), compressed by libjpeg-turbo. An IDR access unit with its SPS/PPS decodes on its
// own, so a thumbnail needs no decoder state across frames. Pure functions over byte spans,
// run on the libuv thread pool by jpeg_addon.cc. Without libavcodec at build time
// (SYNCAP_HAVE_AVCODEC unset) they fail, saying what to install.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace syncap_jpeg {

// Whether the addon was built with libavcodec and libswscale.
bool h264Available();

// Decodes one H264 keyframe access unit (Annex B) and makes a JPEG of it no wider than
// maxWidth (area-averaged). Fails, with `error` set, on anything that yields no picture on
// its own: a frame that is not a keyframe, one without its parameter sets, damaged data.
bool thumbnailFromH264Keyframe(const uint8_t* accessUnit, size_t size, int maxWidth, int quality, std::vector<uint8_t>* out, std::string* error);

}  // namespace syncap_jpeg
