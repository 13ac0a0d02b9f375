// What the capture side hands to the JS thread: a dequeued frame, a start report, a loss or
// an error. Built without N-API (the capture thread builds them); js_delivery.cc turns them
// into calls of the JS callbacks.
#pragma once
#include <linux/videodev2.h>

#include <cstdint>
#include <string>
#include <vector>

#include "device.h"
#include "errors.h"

namespace syncap {

enum class EventKind { Frame, Started, Lost, Error };

struct Event {
  explicit Event(EventKind k, uint64_t s) : kind(k), session(s) {}
  EventKind kind;
  uint64_t session;  // the start() it belongs to: events of an earlier session are stale
  // Frame
  uint32_t index = 0;
  uint64_t generation = 0;
  uint32_t sequence = 0;
  int64_t timestampNs = 0;
  uint32_t flags = 0;
  uint32_t bytesused = 0;
  int64_t dqNs = 0;
  void* copy = nullptr;  // copy mode: malloc'd bytes owned by the event until handed to JS
  // Started
  int64_t requestedNs = 0;
  int64_t streamonStartNs = 0;
  int64_t streamonEndNs = 0;
  std::vector<std::string> warnings;
  // Lost / Error
  Failure failure;
};

// A dequeued buffer as a frame event: in copy mode the bytes are copied and the buffer goes
// straight back to the driver; in zero-copy mode it is in flight to JS until release().
Event* frameEvent(Device& device, const v4l2_buffer& buf, uint64_t session);

// A lost (E_DEVICE_LOST) or error event for `failure`.
Event* failureEvent(const Failure& failure, uint64_t session);

// Frees an event that will not be delivered, and its copy.
void discardEvent(Event* e);

}  // namespace syncap
