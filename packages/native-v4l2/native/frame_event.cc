#include "frame_event.h"

#include <cstdlib>
#include <cstring>
#include <mutex>

#include "v4l2_util.h"

namespace syncap {

Event* frameEvent(Device& device, const v4l2_buffer& buf, uint64_t session) {
  auto* e = new Event(EventKind::Frame, session);
  e->dqNs = clockNs(CLOCK_MONOTONIC);
  e->index = buf.index;
  e->sequence = buf.sequence;
  e->timestampNs = static_cast<int64_t>(buf.timestamp.tv_sec) * 1000000000LL + static_cast<int64_t>(buf.timestamp.tv_usec) * 1000LL;
  e->flags = buf.flags;
  e->bytesused = buf.bytesused;
  std::lock_guard<std::mutex> lock(device.mutex);
  if (buf.index >= device.buffers.size()) return e;
  if (device.copyMode) {
    e->copy = std::malloc(buf.bytesused > 0 ? buf.bytesused : 1);
    if (e->copy) std::memcpy(e->copy, device.buffers[buf.index].mapping->data(), buf.bytesused);
    device.requeueLocked(buf.index);
  } else {
    e->generation = device.takeLocked(buf.index);
  }
  return e;
}

Event* failureEvent(const Failure& failure, uint64_t session) {
  auto* e = new Event(std::strcmp(failure.code, code::kDeviceLost) == 0 ? EventKind::Lost : EventKind::Error, session);
  e->failure = failure;
  return e;
}

void discardEvent(Event* e) {
  if (e == nullptr) return;
  std::free(e->copy);
  delete e;
}

}  // namespace syncap
