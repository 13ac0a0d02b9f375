// One opened V4L2 capture node: format negotiation, mmap'd buffers and their ownership,
// STREAMON/STREAMOFF. No N-API here: the capture thread uses it too (under `mutex`).
#pragma once
#include <linux/videodev2.h>
#include <sys/mman.h>
#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "controls.h"
#include "errors.h"

namespace syncap {

// Who has a driver buffer. Driver: queued (or being filled); InFlight: dequeued, its frame
// event on the way to JS; Held: JS has a view over it until release(); Idle: not streaming.
enum class BufferOwner { Idle, Driver, InFlight, Held };

// One buffer's mmap, shared by the device and each zero-copy view's finalizer token: unmapped
// by close() (which detaches the views first) or, when the camera is dropped without close(),
// by the last owner to let go. That finalizer may not touch JS to detach a subarray JS kept:
// it then reads stale bytes, never unmapped memory (the close's REQBUFS(0) left the driver's
// buffer orphaned to the mapping, and the device free to open again).
class Mapping {
 public:
  Mapping(void* start, size_t length) : start_(start), length_(length) {}
  ~Mapping() { unmap(); }
  Mapping(const Mapping&) = delete;
  Mapping& operator=(const Mapping&) = delete;
  // The mapped bytes; null once unmapped.
  void* data() const { return start_.load(); }
  void unmap() {
    if (void* p = start_.exchange(nullptr)) munmap(p, length_);
  }

 private:
  std::atomic<void*> start_;
  size_t length_;
};

struct MappedBuffer {
  std::shared_ptr<Mapping> mapping;
  BufferOwner owner = BufferOwner::Idle;
  uint64_t generation = 0;  // bumped whenever it is dequeued or taken back: stale tokens do nothing
};

// What one VIDIOC_DQBUF attempt gave.
enum class Dequeued {
  Frame,     // *buf holds a filled buffer
  Empty,     // nothing ready yet
  AllHeld,   // the device polls as an error because JS holds every buffer: wait for a release
  Failed,    // *failure says why (E_DEVICE_LOST when the device is gone, E_STREAM otherwise)
};

struct OpenRequest {
  uint32_t width = 0;
  uint32_t height = 0;
  std::string pixelFormat;  // FourCC as the device lists it; empty: keep the current one
  double fps = 0;
  uint32_t buffers = 4;
  bool copy = false;
  // Set after the format and rate, before buffers are allocated (drivers refuse some controls
  // once they have buffers: vivid's timestamp_source, a sensor's binning).
  std::vector<std::pair<std::string, ControlArg>> controls;
};

struct OpenResult {
  uint32_t width = 0;
  uint32_t height = 0;
  std::string pixelFormat;
  bool compressed = false;
  uint32_t bytesPerLine = 0;
  uint32_t sizeImage = 0;
  double fps = 0;
  uint32_t buffers = 0;
  uint32_t timestampFlags = 0;
  std::string card;
  std::string driver;
  std::string bus;
};

// Shared by the JS-side camera, its capture thread and buffer finalizers (shared_ptr), so a
// late finalizer never touches freed memory.
class Device {
 public:
  std::mutex mutex;
  int fd = -1;
  std::string path;
  std::vector<MappedBuffer> buffers;
  bool streaming = false;
  bool copyMode = false;
  std::atomic<uint64_t> delivered{0};
  std::atomic<uint64_t> overflows{0};
  std::atomic<uint64_t> requeueErrors{0};
  // The node's st_rdev while this camera holds its buffers (else 0): a device busy because of
  // this process says so (openWithBuffers), instead of blaming another process.
  dev_t bufferedNode = 0;
  static size_t openWithBuffers(dev_t node);

  // Opens and configures `path`; on failure everything is closed again. Locks `mutex`.
  bool open(const std::string& path, const OpenRequest& request, OpenResult* result, Failure* failure);
  // Queues every buffer JS does not hold (before STREAMON). Called with `mutex` held.
  bool queueIdleLocked(Failure* failure);
  // STREAMOFF; buffers not held by JS become Idle, frames in flight turn stale. With `mutex` held.
  void streamOffLocked();
  // QBUF buffer `index` if streaming (else it stays Idle). With `mutex` held.
  void requeueLocked(uint32_t index);
  // A dequeued buffer: held for JS (zero-copy, returns its generation) or copied out and requeued.
  uint64_t takeLocked(uint32_t index);
  // Dequeues one buffer; `revents` are the poll flags that woke the caller (POLLERR, POLLHUP).
  // Safe without `mutex` for the ioctl; takes it to look at buffer ownership.
  Dequeued dequeue(v4l2_buffer* buf, short revents, Failure* failure);
  // Whether any buffer is with the driver. With `mutex` held.
  bool anyQueuedLocked() const;
  uint32_t heldLocked() const;
  // Frees the buffers and closes (no STREAMOFF needed: closing stops streaming). Unmaps them
  // unless `leaveViewsMapped` (views JS may still read hold their mappings then).
  void closeLocked(bool leaveViewsMapped = false);
};

}  // namespace syncap
