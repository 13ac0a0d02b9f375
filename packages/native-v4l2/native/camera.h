// One V4L2 capture device: mmap streaming on its own thread, synchronized STREAMON,
// frames to JS as zero-copy external ArrayBuffers (or copies) through a bounded
// thread-safe function queue.
#pragma once
#include <linux/videodev2.h>
#include <napi.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace syncap {

struct MappedBuffer {
  void* start = nullptr;
  size_t length = 0;
  bool held = false;        // delivered to JS and not yet released
  uint64_t generation = 0;  // bumped on every delivery and release: stale tokens do nothing
};

// Shared by the JS object, the capture thread and ArrayBuffer finalizers, so that a
// late finalizer never touches freed memory.
struct CameraState {
  std::mutex mutex;
  int fd = -1;
  std::string path;
  std::vector<MappedBuffer> buffers;
  bool streaming = false;
  bool copyMode = false;
  std::atomic<uint64_t> overflows{0};
  std::atomic<uint64_t> delivered{0};
  std::atomic<uint64_t> requeueErrors{0};

  // QBUF buffer `index` if streaming; called with `mutex` held.
  void requeueLocked(uint32_t index);
  // Stops nothing; unmaps and closes. Called with `mutex` held.
  void closeLocked();
};

class Camera : public Napi::ObjectWrap<Camera> {
 public:
  static Napi::Function Init(Napi::Env env);
  explicit Camera(const Napi::CallbackInfo& info);
  ~Camera() override;
  // Stops the capture thread and closes the device (exit hooks, close()).
  void shutdown();

 private:
  Napi::Value Open(const Napi::CallbackInfo& info);
  Napi::Value Start(const Napi::CallbackInfo& info);
  Napi::Value Stop(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);
  Napi::Value Release(const Napi::CallbackInfo& info);
  Napi::Value ListControls(const Napi::CallbackInfo& info);
  Napi::Value GetControl(const Napi::CallbackInfo& info);
  Napi::Value SetControl(const Napi::CallbackInfo& info);
  Napi::Value Stats(const Napi::CallbackInfo& info);

  void stopThread();
  void detachOutstanding();
  // Event-loop delivery: the JS thread polls the device (libuv) and dequeues frames itself.
  void beginPolling(Napi::Env env);
  void stopPolling();
  void onReadable(int status);
  bool findControl(const std::string& key, ::v4l2_queryctrl* out);

  std::shared_ptr<CameraState> state_;
  Napi::FunctionReference emit_;
  Napi::ThreadSafeFunction tsfn_;
  std::thread thread_;
  int stopFd_ = -1;
  std::vector<Napi::Reference<Napi::ArrayBuffer>> outstanding_;
  bool eventLoop_ = false;
  void* poll_ = nullptr;      // uv_poll_t* while polling (event-loop delivery)
  bool pollPaused_ = false;  // every buffer held by JS: polling resumes on release
  napi_env env_ = nullptr;
  std::unique_ptr<Napi::AsyncContext> async_;

  friend struct FrameDelivery;
};

void registerCamera(Camera* camera);
void unregisterCamera(Camera* camera);
void shutdownAllCameras();

}  // namespace syncap
