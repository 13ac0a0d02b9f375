#include "device.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <unordered_map>

#include "v4l2_util.h"

namespace syncap {

namespace {

bool formatIsCompressed(int fd, uint32_t fourcc) {
  v4l2_fmtdesc d{};
  d.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
  for (d.index = 0; xioctl(fd, VIDIOC_ENUM_FMT, &d) == 0; d.index++) {
    if (d.pixelformat == fourcc) return (d.flags & V4L2_FMT_FLAG_COMPRESSED) != 0;
  }
  return false;
}

// This process's devices that hold buffers, by node: another opener of one gets EBUSY because
// of this process. (A camera closed by GC under a kept subarray is not among them: its
// REQBUFS(0) orphaned the buffers, and the node is free again.) Never destroyed: a device
// may close during the process's exit, after static destructors would have run.
std::mutex& bufferedMutex() {
  static auto* m = new std::mutex;
  return *m;
}
std::unordered_map<dev_t, size_t>& bufferedCounts() {
  static auto* counts = new std::unordered_map<dev_t, size_t>;
  return *counts;
}

const char* const kBusyHere = " (another camera of this process has the device open: close() it first)";

}  // namespace

size_t Device::openWithBuffers(dev_t node) {
  std::lock_guard<std::mutex> lock(bufferedMutex());
  auto it = bufferedCounts().find(node);
  return it == bufferedCounts().end() ? 0 : it->second;
}

bool Device::open(const std::string& devicePath, const OpenRequest& req, OpenResult* out, Failure* failure) {
  std::lock_guard<std::mutex> lock(mutex);
  if (fd >= 0) {
    *failure = Failure{code::kState, devicePath + ": already open", 0};
    return false;
  }
  int f = ::open(devicePath.c_str(), O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (f < 0) {
    int err = errno;
    *failure = sysFailure(codeForErrno(err, code::kDevice), devicePath, "cannot open", err);
    return false;
  }
  fd = f;
  path = devicePath;
  copyMode = req.copy;
  struct stat st{};
  const dev_t node = fstat(fd, &st) == 0 ? st.st_rdev : 0;
  // EBUSY's explanation: another camera of this process, when one holds the node's buffers.
  auto busyHint = [&]() -> const char* { return node != 0 && openWithBuffers(node) > 0 ? kBusyHere : nullptr; };
  auto fail = [&](Failure f) {
    closeLocked();
    *failure = std::move(f);
    return false;
  };
  v4l2_capability cap{};
  if (xioctl(fd, VIDIOC_QUERYCAP, &cap) != 0) return fail(sysFailure(code::kNotCapture, path, "not a V4L2 device (VIDIOC_QUERYCAP)", errno));
  uint32_t caps = effectiveCaps(cap);
  if (!(caps & V4L2_CAP_VIDEO_CAPTURE)) return fail({code::kNotCapture, path + ": cannot capture video (capabilities: " + capabilityNames(caps) + ")", 0});
  if (!(caps & V4L2_CAP_STREAMING)) return fail({code::kNotCapture, path + ": does not support streaming I/O (capabilities: " + capabilityNames(caps) + ")", 0});

  v4l2_format fmt{};
  fmt.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
  if (xioctl(fd, VIDIOC_G_FMT, &fmt) != 0) return fail(sysFailure(code::kDevice, path, "VIDIOC_G_FMT", errno));
  if (req.width) fmt.fmt.pix.width = req.width;
  if (req.height) fmt.fmt.pix.height = req.height;
  if (!req.pixelFormat.empty()) fmt.fmt.pix.pixelformat = fourccFromString(req.pixelFormat);
  fmt.fmt.pix.field = V4L2_FIELD_ANY;
  if (xioctl(fd, VIDIOC_S_FMT, &fmt) != 0) {
    int err = errno;
    return fail(sysFailure(err == EINVAL ? code::kUnsupportedFormat : codeForErrno(err, code::kDevice), path, "VIDIOC_S_FMT", err, busyHint()));
  }
  if (req.fps > 0) {
    v4l2_streamparm parm{};
    parm.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
    parm.parm.capture.timeperframe.numerator = 1000;
    parm.parm.capture.timeperframe.denominator = static_cast<uint32_t>(req.fps * 1000 + 0.5);
    if (xioctl(fd, VIDIOC_S_PARM, &parm) != 0 && errno != ENOTTY) {
      int err = errno;
      return fail(sysFailure(err == EINVAL ? code::kUnsupportedFormat : codeForErrno(err, code::kDevice), path, "VIDIOC_S_PARM", err, busyHint()));
    }
  }
  v4l2_streamparm got{};
  got.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
  if (xioctl(fd, VIDIOC_G_PARM, &got) == 0 && got.parm.capture.timeperframe.numerator) {
    out->fps = static_cast<double>(got.parm.capture.timeperframe.denominator) / got.parm.capture.timeperframe.numerator;
  }

  for (const auto& [name, value] : req.controls) {
    Failure f;
    if (!setControlValue(fd, path, name, value, &f)) return fail(f);
  }

  v4l2_requestbuffers rb{};
  rb.count = req.buffers;
  rb.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
  rb.memory = V4L2_MEMORY_MMAP;
  if (xioctl(fd, VIDIOC_REQBUFS, &rb) != 0) {
    int err = errno;
    return fail(sysFailure(err == EBUSY ? code::kDeviceBusy : code::kBuffers, path, "VIDIOC_REQBUFS", err, busyHint()));
  }
  if (node != 0) {
    std::lock_guard<std::mutex> lock(bufferedMutex());
    bufferedCounts()[node]++;
    bufferedNode = node;
  }
  if (rb.count < 2) return fail({code::kBuffers, path + ": the driver granted " + std::to_string(rb.count) + " buffers; capture needs at least 2", 0});
  buffers.resize(rb.count);
  for (uint32_t i = 0; i < rb.count; i++) {
    v4l2_buffer buf{};
    buf.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
    buf.memory = V4L2_MEMORY_MMAP;
    buf.index = i;
    if (xioctl(fd, VIDIOC_QUERYBUF, &buf) != 0) return fail(sysFailure(code::kBuffers, path, "VIDIOC_QUERYBUF", errno));
    out->timestampFlags = buf.flags;
    void* p = mmap(nullptr, buf.length, PROT_READ | PROT_WRITE, MAP_SHARED, fd, buf.m.offset);
    if (p == MAP_FAILED) return fail(sysFailure(code::kBuffers, path, "mmap", errno));
    buffers[i].mapping = std::make_shared<Mapping>(p, buf.length);
  }
  out->width = fmt.fmt.pix.width;
  out->height = fmt.fmt.pix.height;
  out->pixelFormat = fourccToString(fmt.fmt.pix.pixelformat);
  out->compressed = formatIsCompressed(fd, fmt.fmt.pix.pixelformat);
  out->bytesPerLine = fmt.fmt.pix.bytesperline;
  out->sizeImage = fmt.fmt.pix.sizeimage;
  out->buffers = rb.count;
  out->card = reinterpret_cast<const char*>(cap.card);
  out->driver = reinterpret_cast<const char*>(cap.driver);
  out->bus = reinterpret_cast<const char*>(cap.bus_info);
  return true;
}

bool Device::queueIdleLocked(Failure* failure) {
  if (fd < 0) {
    *failure = Failure{code::kState, "start() before open()", 0};
    return false;
  }
  streaming = true;
  for (uint32_t i = 0; i < buffers.size(); i++) {
    if (buffers[i].owner != BufferOwner::Idle) continue;
    v4l2_buffer buf{};
    buf.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
    buf.memory = V4L2_MEMORY_MMAP;
    buf.index = i;
    if (xioctl(fd, VIDIOC_QBUF, &buf) != 0) {
      int err = errno;
      streamOffLocked();
      *failure = sysFailure(err == ENODEV ? code::kDeviceLost : code::kStream, path, "VIDIOC_QBUF", err);
      return false;
    }
    buffers[i].owner = BufferOwner::Driver;
  }
  return true;
}

void Device::streamOffLocked() {
  if (fd >= 0) {
    int type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
    xioctl(fd, VIDIOC_STREAMOFF, &type);
  }
  streaming = false;
  for (auto& b : buffers) {
    if (b.owner == BufferOwner::Held) continue;
    if (b.owner == BufferOwner::InFlight) b.generation++;  // its frame event is stale now
    b.owner = BufferOwner::Idle;
  }
}

void Device::requeueLocked(uint32_t index) {
  if (index >= buffers.size()) return;
  MappedBuffer& b = buffers[index];
  b.owner = BufferOwner::Idle;
  if (!streaming || fd < 0) return;
  v4l2_buffer buf{};
  buf.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
  buf.memory = V4L2_MEMORY_MMAP;
  buf.index = index;
  if (xioctl(fd, VIDIOC_QBUF, &buf) != 0) {
    requeueErrors++;
    return;
  }
  b.owner = BufferOwner::Driver;
}

uint64_t Device::takeLocked(uint32_t index) {
  MappedBuffer& b = buffers[index];
  b.owner = BufferOwner::InFlight;
  return ++b.generation;
}

Dequeued Device::dequeue(v4l2_buffer* buf, short revents, Failure* failure) {
  *buf = v4l2_buffer{};
  buf->type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
  buf->memory = V4L2_MEMORY_MMAP;
  if (xioctl(fd, VIDIOC_DQBUF, buf) == 0) return Dequeued::Frame;
  int err = errno;
  if (err == EAGAIN) {
    if (revents & POLLHUP) {
      *failure = Failure{code::kDeviceLost, path + ": device disconnected (POLLHUP)", ENODEV};
      return Dequeued::Failed;
    }
    if (!(revents & (POLLERR | POLLNVAL))) return Dequeued::Empty;
    std::lock_guard<std::mutex> lock(mutex);
    if (!anyQueuedLocked()) return Dequeued::AllHeld;
    *failure = Failure{code::kStream, path + ": the driver reports a streaming error (POLLERR)", EIO};
    return Dequeued::Failed;
  }
  if (err == ENODEV) {
    *failure = Failure{code::kDeviceLost, path + ": device disconnected", err};
  } else {
    *failure = sysFailure(code::kStream, path, "VIDIOC_DQBUF", err);
  }
  return Dequeued::Failed;
}

bool Device::anyQueuedLocked() const {
  for (const auto& b : buffers) {
    if (b.owner == BufferOwner::Driver) return true;
  }
  return false;
}

uint32_t Device::heldLocked() const {
  uint32_t n = 0;
  for (const auto& b : buffers) n += (b.owner == BufferOwner::Held || b.owner == BufferOwner::InFlight) ? 1 : 0;
  return n;
}

void Device::closeLocked(bool leaveViewsMapped) {
  for (auto& b : buffers) {
    if (b.mapping && !leaveViewsMapped) b.mapping->unmap();
  }
  buffers.clear();
  if (bufferedNode != 0) {
    std::lock_guard<std::mutex> lock(bufferedMutex());
    if (--bufferedCounts()[bufferedNode] == 0) bufferedCounts().erase(bufferedNode);
    bufferedNode = 0;
  }
  if (fd >= 0) {
    v4l2_requestbuffers req{};
    req.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
    req.memory = V4L2_MEMORY_MMAP;
    xioctl(fd, VIDIOC_REQBUFS, &req);
    ::close(fd);
  }
  fd = -1;
  streaming = false;
}

}  // namespace syncap
