// The capture thread of one camera: waits for the start instant (clock_nanosleep
// TIMER_ABSTIME, then a short spin), issues STREAMON, reports the start, and — with thread
// delivery — dequeues frames and posts them until stopped. With event-loop delivery it ends
// after the start and the JS thread's poller takes over.
#pragma once
#include <cstdint>
#include <memory>

#include "device.h"
#include "thread_post.h"

namespace syncap {

struct CaptureOptions {
  int64_t atNs = 0;        // CLOCK_MONOTONIC start instant; 0: now
  int64_t spinNs = 200000; // busy-wait this long before the instant
  int priority = 0;        // SCHED_FIFO priority; 0: normal scheduling
  int cpu = -1;            // pin to this CPU; -1: anywhere
  bool eventLoop = false;
  uint64_t session = 0;
};

// Runs on its own thread; `stopFd` (an eventfd) ends it.
void captureLoop(std::shared_ptr<Device> device, EventPoster poster, int stopFd, CaptureOptions options);

}  // namespace syncap
