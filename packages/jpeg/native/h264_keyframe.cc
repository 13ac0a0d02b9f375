#include "h264_keyframe.h"

#if SYNCAP_HAVE_AVCODEC
#include <turbojpeg.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <mutex>

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavutil/error.h>
#include <libavutil/log.h>
#include <libavutil/opt.h>
#include <libswscale/swscale.h>
}
#endif

namespace syncap_jpeg {

#if !SYNCAP_HAVE_AVCODEC

bool h264Available() { return false; }

bool thumbnailFromH264Keyframe(const uint8_t*, size_t, int, int, std::vector<uint8_t>*, std::string* error) {
  *error =
      "H264 thumbnails need @syncap/jpeg built with FFmpeg's libavcodec and libswscale (apt-get install pkg-config libavcodec-dev "
      "libswscale-dev, then npm run build:addon -w @syncap/jpeg)";
  return false;
}

#else

namespace {

struct CodecContextFree {
  void operator()(AVCodecContext* c) const { avcodec_free_context(&c); }
};
struct PacketFree {
  void operator()(AVPacket* p) const { av_packet_free(&p); }
};
struct FrameFree {
  void operator()(AVFrame* f) const { av_frame_free(&f); }
};
struct SwsFree {
  void operator()(SwsContext* s) const { sws_freeContext(s); }
};
struct TjFree {
  void operator()(void* h) const { tjDestroy(h); }
};

std::string avError(int code) {
  char text[AV_ERROR_MAX_STRING_SIZE] = {0};
  av_strerror(code, text, sizeof text);
  return text;
}

// Decodes the access unit alone: sent, then drained (a decoder holds a picture back otherwise).
bool decodeAlone(const uint8_t* accessUnit, size_t size, AVFrame* picture, std::string* error) {
  const AVCodec* codec = avcodec_find_decoder(AV_CODEC_ID_H264);
  if (!codec) {
    *error = "this libavcodec has no H264 decoder";
    return false;
  }
  std::unique_ptr<AVCodecContext, CodecContextFree> ctx(avcodec_alloc_context3(codec));
  if (!ctx) {
    *error = "cannot allocate an H264 decoder";
    return false;
  }
  // One pool thread per thumbnail. Errors the decoder conceals (an odd SEI, say) still give a picture.
  ctx->thread_count = 1;
  if (int r = avcodec_open2(ctx.get(), codec, nullptr); r < 0) {
    *error = "cannot open the H264 decoder: " + avError(r);
    return false;
  }
  // libavcodec may read up to AV_INPUT_BUFFER_PADDING_SIZE bytes past the data: a padded copy.
  std::vector<uint8_t> padded(size + AV_INPUT_BUFFER_PADDING_SIZE, 0);
  std::memcpy(padded.data(), accessUnit, size);
  std::unique_ptr<AVPacket, PacketFree> packet(av_packet_alloc());
  if (!packet) {
    *error = "cannot allocate an H264 packet";
    return false;
  }
  packet->data = padded.data();
  packet->size = static_cast<int>(size);
  int r = avcodec_send_packet(ctx.get(), packet.get());
  if (r >= 0) r = avcodec_send_packet(ctx.get(), nullptr);
  if (r >= 0) r = avcodec_receive_frame(ctx.get(), picture);
  if (r < 0) {
    *error = "the frame decodes to no picture on its own (not a keyframe with its SPS and PPS, or damaged): " + avError(r);
    return false;
  }
  return true;
}

}  // namespace

bool h264Available() { return true; }

bool thumbnailFromH264Keyframe(const uint8_t* accessUnit, size_t size, int maxWidth, int quality, std::vector<uint8_t>* out, std::string* error) {
  // libavcodec logs to stderr by default; its failures come back here as errors instead.
  static std::once_flag quiet;
  std::call_once(quiet, [] { av_log_set_level(AV_LOG_QUIET); });
  if (size == 0 || size > (1u << 28)) {
    *error = "an H264 frame of " + std::to_string(size) + " bytes";
    return false;
  }
  std::unique_ptr<AVFrame, FrameFree> picture(av_frame_alloc());
  if (!decodeAlone(accessUnit, size, picture.get(), error)) return false;
  const int w = picture->width;
  const int h = picture->height;
  // Even sizes for 4:2:0; never wider than the picture.
  const int dw = std::max(2, std::min(maxWidth > 0 ? maxWidth : w, w) & ~1);
  const int dh = std::max(2, static_cast<int>(static_cast<int64_t>(h) * dw / w) & ~1);
  // Camera H264 is limited range (unless it says otherwise); JFIF is full range. The ranges are
  // set before the context is initialised: it picks its converter then, and a same-size
  // conversion would otherwise be a plain copy that leaves the range as it was.
  std::unique_ptr<SwsContext, SwsFree> sws(sws_alloc_context());
  const bool configured = sws && av_opt_set_int(sws.get(), "srcw", w, 0) >= 0 && av_opt_set_int(sws.get(), "srch", h, 0) >= 0 &&
                          av_opt_set_int(sws.get(), "src_format", picture->format, 0) >= 0 &&
                          av_opt_set_int(sws.get(), "src_range", picture->color_range == AVCOL_RANGE_JPEG ? 1 : 0, 0) >= 0 &&
                          av_opt_set_int(sws.get(), "dstw", dw, 0) >= 0 && av_opt_set_int(sws.get(), "dsth", dh, 0) >= 0 &&
                          av_opt_set_int(sws.get(), "dst_format", AV_PIX_FMT_YUV420P, 0) >= 0 && av_opt_set_int(sws.get(), "dst_range", 1, 0) >= 0 &&
                          av_opt_set_int(sws.get(), "sws_flags", SWS_AREA, 0) >= 0 && sws_init_context(sws.get(), nullptr, nullptr) >= 0;
  if (!configured) {
    *error = "cannot scale a " + std::to_string(w) + "x" + std::to_string(h) + " picture of pixel format " + std::to_string(picture->format);
    return false;
  }
  const int cw = dw / 2;
  const int ch = dh / 2;
  std::vector<uint8_t> y(static_cast<size_t>(dw) * dh), u(static_cast<size_t>(cw) * ch), v(static_cast<size_t>(cw) * ch);
  uint8_t* planes[4] = {y.data(), u.data(), v.data(), nullptr};
  int strides[4] = {dw, cw, cw, 0};
  sws_scale(sws.get(), picture->data, picture->linesize, 0, h, planes, strides);
  std::unique_ptr<void, TjFree> tj(tjInitCompress());
  if (!tj) {
    *error = "cannot initialise libjpeg-turbo";
    return false;
  }
  const unsigned char* src[3] = {y.data(), u.data(), v.data()};
  unsigned char* jpeg = nullptr;
  unsigned long jpegSize = 0;
  if (tjCompressFromYUVPlanes(tj.get(), src, dw, strides, dh, TJSAMP_420, &jpeg, &jpegSize, quality, TJFLAG_FASTDCT) != 0) {
    if (jpeg) tjFree(jpeg);
    *error = std::string("tjCompressFromYUVPlanes: ") + tjGetErrorStr2(tj.get());
    return false;
  }
  out->assign(jpeg, jpeg + jpegSize);
  tjFree(jpeg);
  return true;
}

#endif

}  // namespace syncap_jpeg
