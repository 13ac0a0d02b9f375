// @syncap/jpeg addon: the N-API face of jpeg_codec. Every operation runs on the libuv thread
// pool (Napi::AsyncWorker) and returns a promise; the input stays referenced (not copied)
// until it settles, so the caller must not release a zero-copy frame before then.
// Errors carry `code` from @syncap/core's ERROR_CODES.
#include <napi.h>

#include <memory>

#include "h264_keyframe.h"
#include "jpeg_codec.h"

namespace syncap_jpeg {

namespace {

Napi::Error codedError(Napi::Env env, const char* code, const std::string& message) {
  Napi::Error e = Napi::Error::New(env, message);
  e.Set("code", Napi::String::New(env, code));
  return e;
}

// A Buffer over a vector the Buffer then owns (no copy of the output).
Napi::Buffer<uint8_t> adopt(Napi::Env env, std::vector<uint8_t>&& bytes) {
  auto* owned = new std::vector<uint8_t>(std::move(bytes));
  return Napi::Buffer<uint8_t>::New(env, owned->data(), owned->size(), [](Napi::Env, uint8_t*, std::vector<uint8_t>* v) { delete v; }, owned);
}

struct Input {
  const uint8_t* data = nullptr;
  size_t size = 0;
};

bool readBytes(const Napi::Value& v, Input* in) {
  if (!v.IsTypedArray()) return false;
  Napi::TypedArray t = v.As<Napi::TypedArray>();
  if (t.TypedArrayType() != napi_uint8_array) return false;
  Napi::Uint8Array u = t.As<Napi::Uint8Array>();
  in->data = u.Data();
  in->size = u.ByteLength();
  return true;
}

int intOption(const Napi::Object& o, const char* key, int fallback) {
  Napi::Value v = o.Get(key);
  return v.IsNumber() ? v.As<Napi::Number>().Int32Value() : fallback;
}

enum class Op { Encode, Thumbnail, ThumbnailOfJpeg, ThumbnailOfH264Keyframe, Decode };

class Worker : public Napi::AsyncWorker {
 public:
  Worker(Napi::Env env, Op op, Napi::Value input, Input bytes, Image image, int quality, int maxWidth)
      : Napi::AsyncWorker(env, "syncap-jpeg"), deferred_(Napi::Promise::Deferred::New(env)), op_(op), bytes_(bytes), image_(image), quality_(quality), maxWidth_(maxWidth) {
    input_ = Napi::Persistent(input.As<Napi::Object>());
  }

  Napi::Promise promise() { return deferred_.Promise(); }

  void Execute() override {
    bool ok = false;
    switch (op_) {
      case Op::Encode: ok = encode(image_, quality_, &out_, &error_); break;
      case Op::Thumbnail: ok = thumbnailFromRaw(image_, maxWidth_, quality_, &out_, &error_); break;
      case Op::ThumbnailOfJpeg: ok = thumbnailFromJpeg(bytes_.data, bytes_.size, maxWidth_, quality_, &out_, &error_); break;
      case Op::ThumbnailOfH264Keyframe: ok = thumbnailFromH264Keyframe(bytes_.data, bytes_.size, maxWidth_, quality_, &out_, &error_); break;
      case Op::Decode: ok = decode(bytes_.data, bytes_.size, maxWidth_, &decoded_, &error_); break;
    }
    if (!ok) SetError(error_);
  }

  void OnOK() override {
    Napi::Env env = Env();
    input_.Reset();
    if (op_ != Op::Decode) {
      deferred_.Resolve(adopt(env, std::move(out_)));
      return;
    }
    Napi::Object r = Napi::Object::New(env);
    r.Set("width", decoded_.width);
    r.Set("height", decoded_.height);
    r.Set("channels", decoded_.grey ? 1 : 3);
    r.Set("pixels", adopt(env, std::move(decoded_.pixels)));
    deferred_.Resolve(r);
  }

  void OnError(const Napi::Error& e) override {
    input_.Reset();
    const bool parse = op_ == Op::Decode || op_ == Op::ThumbnailOfJpeg || (op_ == Op::ThumbnailOfH264Keyframe && h264Available());
    const char* code = parse ? "E_PARSE" : op_ == Op::ThumbnailOfH264Keyframe ? "E_UNSUPPORTED_FORMAT" : "E_CONFIG";
    deferred_.Reject(codedError(Env(), code, e.Message()).Value());
  }

 private:
  Napi::Promise::Deferred deferred_;
  Napi::ObjectReference input_;
  Op op_;
  Input bytes_;
  Image image_;
  int quality_;
  int maxWidth_;
  std::vector<uint8_t> out_;
  Decoded decoded_;
  std::string error_;
};

// (bytes, {width, height, pixelFormat, quality?, maxWidth?}) → the image described, or a thrown error.
bool readImage(const Napi::CallbackInfo& info, Input* bytes, Image* image, Napi::Object* options) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !readBytes(info[0], bytes) || !info[1].IsObject()) {
    codedError(env, "E_CONFIG", "expected (bytes: Uint8Array, options: object)").ThrowAsJavaScriptException();
    return false;
  }
  *options = info[1].As<Napi::Object>();
  Napi::Value fmt = options->Get("pixelFormat");
  image->data = bytes->data;
  image->size = bytes->size;
  image->width = intOption(*options, "width", 0);
  image->height = intOption(*options, "height", 0);
  if (!fmt.IsString() || !parseLayout(fmt.As<Napi::String>().Utf8Value(), &image->layout)) {
    const std::string got = fmt.IsString() ? fmt.As<Napi::String>().Utf8Value() : "(none)";
    codedError(env, "E_UNSUPPORTED_FORMAT", "cannot JPEG-encode pixel format " + got.substr(0, 16) + ": raw YUYV, UYVY, RGB3, BGR3 or GREY only")
        .ThrowAsJavaScriptException();
    return false;
  }
  return true;
}

// Queues an operation on a raw image (Encode, Thumbnail) and returns its promise.
Napi::Value QueueRaw(const Napi::CallbackInfo& info, Op op, int defaultQuality) {
  Input bytes;
  Image image;
  Napi::Object o;
  if (!readImage(info, &bytes, &image, &o)) return info.Env().Undefined();
  auto* w = new Worker(info.Env(), op, info[0], bytes, image, intOption(o, "quality", defaultQuality), intOption(o, "maxWidth", 160));
  Napi::Promise p = w->promise();
  w->Queue();
  return p;
}

Napi::Value Encode(const Napi::CallbackInfo& info) { return QueueRaw(info, Op::Encode, 85); }

Napi::Value EncodeSync(const Napi::CallbackInfo& info) {
  Input bytes;
  Image image;
  Napi::Object o;
  if (!readImage(info, &bytes, &image, &o)) return info.Env().Undefined();
  std::vector<uint8_t> out;
  std::string error;
  if (!encode(image, intOption(o, "quality", 85), &out, &error)) {
    codedError(info.Env(), "E_CONFIG", error).ThrowAsJavaScriptException();
    return info.Env().Undefined();
  }
  return adopt(info.Env(), std::move(out));
}

Napi::Value Thumbnail(const Napi::CallbackInfo& info) { return QueueRaw(info, Op::Thumbnail, 70); }

// (bytes, {maxWidth?, quality?}) for ThumbnailOfJpeg, ThumbnailOfH264Keyframe and Decode.
Napi::Value JpegOp(const Napi::CallbackInfo& info, Op op) {
  Napi::Env env = info.Env();
  Input bytes;
  if (info.Length() < 1 || !readBytes(info[0], &bytes)) {
    codedError(env, "E_CONFIG", "expected (bytes: Uint8Array, options?: object)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  Napi::Object o = info.Length() > 1 && info[1].IsObject() ? info[1].As<Napi::Object>() : Napi::Object::New(env);
  auto* w = new Worker(env, op, info[0], bytes, Image{}, intOption(o, "quality", 70), intOption(o, "maxWidth", op == Op::Decode ? 0 : 160));
  Napi::Promise p = w->promise();
  w->Queue();
  return p;
}

Napi::Value ThumbnailOfJpeg(const Napi::CallbackInfo& info) { return JpegOp(info, Op::ThumbnailOfJpeg); }
Napi::Value ThumbnailOfH264Keyframe(const Napi::CallbackInfo& info) { return JpegOp(info, Op::ThumbnailOfH264Keyframe); }
Napi::Value Decode(const Napi::CallbackInfo& info) { return JpegOp(info, Op::Decode); }

}  // namespace

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("encode", Napi::Function::New(env, Encode));
  exports.Set("encodeSync", Napi::Function::New(env, EncodeSync));
  exports.Set("thumbnail", Napi::Function::New(env, Thumbnail));
  exports.Set("thumbnailOfJpeg", Napi::Function::New(env, ThumbnailOfJpeg));
  exports.Set("thumbnailOfH264Keyframe", Napi::Function::New(env, ThumbnailOfH264Keyframe));
  exports.Set("decode", Napi::Function::New(env, Decode));
  exports.Set("h264Available", Napi::Boolean::New(env, h264Available()));
  return exports;
}

}  // namespace syncap_jpeg

static Napi::Object InitAddon(Napi::Env env, Napi::Object exports) { return syncap_jpeg::Init(env, exports); }

NODE_API_MODULE(syncap_jpeg, InitAddon)
