#include "capture_thread.h"

#include <poll.h>
#include <pthread.h>
#include <sched.h>

#include <cerrno>
#include <ctime>
#include <string>

#include "v4l2_util.h"

namespace syncap {

namespace {

// False when stopped before the instant.
bool waitUntil(int64_t atNs, int64_t spinNs, int stopFd) {
  for (;;) {
    int64_t now = clockNs(CLOCK_MONOTONIC);
    int64_t remaining = atNs - spinNs - now;
    if (remaining <= 0) break;
    // Sleep in slices so stop() is not held up by a far-away start instant.
    int64_t target = remaining > 20000000 ? now + 20000000 : atNs - spinNs;
    timespec ts{static_cast<time_t>(target / 1000000000LL), static_cast<long>(target % 1000000000LL)};
    clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr);
    pollfd p{stopFd, POLLIN, 0};
    if (poll(&p, 1, 0) > 0) return false;
  }
  while (clockNs(CLOCK_MONOTONIC) < atNs) {
  }
  return true;
}

void applyScheduling(const CaptureOptions& o, std::vector<std::string>* warnings) {
  if (o.priority > 0) {
    sched_param sp{};
    sp.sched_priority = o.priority;
    int r = pthread_setschedparam(pthread_self(), SCHED_FIFO, &sp);
    if (r != 0) warnings->push_back("SCHED_FIFO priority " + std::to_string(o.priority) + " not applied (" + errnoName(r) + "): capturing at normal priority");
  }
  if (o.cpu >= 0) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(o.cpu, &set);
    int r = pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
    if (r != 0) warnings->push_back("CPU affinity " + std::to_string(o.cpu) + " not applied (" + errnoName(r) + ")");
  }
}

// Dequeues and posts frames until stopped, lost or broken.
void streamFrames(Device& d, EventPoster& poster, int stopFd, uint64_t session) {
  pollfd fds[2] = {{d.fd, POLLIN | POLLPRI, 0}, {stopFd, POLLIN, 0}};
  for (;;) {
    fds[0].events = POLLIN | POLLPRI;
    int n = poll(fds, 2, 1000);
    if (n < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (fds[1].revents & POLLIN) return;
    if (n == 0) continue;
    short revents = fds[0].revents;
    for (size_t k = 0; k <= d.buffers.size(); k++) {
      v4l2_buffer buf;
      Failure failure;
      Dequeued r = d.dequeue(&buf, revents, &failure);
      if (r == Dequeued::Frame) {
        d.delivered++;
        if (!poster.postFrame(d, frameEvent(d, buf, session))) return;
        revents = 0;
        continue;
      }
      if (r == Dequeued::Failed) {
        poster.post(failureEvent(failure, session));
        return;
      }
      if (r == Dequeued::AllHeld) {
        // Every buffer is with JS: nothing to wait for until one comes back (check now and then).
        pollfd p{stopFd, POLLIN, 0};
        if (poll(&p, 1, 5) > 0) return;
      }
      break;
    }
  }
}

}  // namespace

void captureLoop(std::shared_ptr<Device> device, EventPoster poster, int stopFd, CaptureOptions o) {
  // Named, so `top -H` and /proc/<pid>/task show where capture CPU goes.
  pthread_setname_np(pthread_self(), "syncap-capture");
  Device& d = *device;
  auto* started = new Event(EventKind::Started, o.session);
  applyScheduling(o, &started->warnings);
  if (o.atNs > 0 && !waitUntil(o.atNs, o.spinNs, stopFd)) {
    discardEvent(started);
    poster.release();
    return;
  }
  int type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
  started->requestedNs = o.atNs;
  started->streamonStartNs = clockNs(CLOCK_MONOTONIC);
  int r = xioctl(d.fd, VIDIOC_STREAMON, &type);
  started->streamonEndNs = clockNs(CLOCK_MONOTONIC);
  if (r != 0) {
    int err = errno;
    discardEvent(started);
    poster.post(failureEvent(sysFailure(err == ENODEV ? code::kDeviceLost : code::kStreamon, d.path, "VIDIOC_STREAMON", err), o.session));
    poster.release();
    return;
  }
  if (poster.post(started) && !o.eventLoop) streamFrames(d, poster, stopFd, o.session);
  poster.release();
}

}  // namespace syncap
