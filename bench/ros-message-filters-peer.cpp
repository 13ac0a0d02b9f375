// The ROS peer of bench/core-matcher.ts: Debian's ROS 1 message_filters (libmessage-filters-dev)
// matching the same frames as syncap, with no ROS master. Built at bench time by
// bench/ros-peer.ts into a cache directory; never committed as a binary.
//
// Usage: ros-message-filters-peer <frames.bin> [--groups]
//   Input (little-endian; written by bench/ros-peer.ts):
//     "SYNCAPRP" u32 version=1, u32 policy (0 approximate, 1 exact), u32 cameras (2..9),
//     u32 queueSize, f64 agePenalty, i64 maxIntervalNs (-1: unbounded),
//     i64 lowerBoundNs[cameras], u32 repeats, u32 frames, u8 camera[frames] (padded to 8),
//     i64 timeNs[frames]
//   Output: with --groups, one line per group of the first run: the index of the frame whose
//   add() published it, then each member's frame index, in camera order. Then one line {"bestNs":…,"groups":…}: the fastest of `repeats` runs,
//   timing only the add<i>() calls (events are built before the clock starts).
#include <message_filters/sync_policies/approximate_time.h>
#include <message_filters/sync_policies/exact_time.h>
#include <message_filters/synchronizer.h>
#include <ros/console.h>
#include <ros/time.h>

#include <boost/function.hpp>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <limits>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

struct StampedFrame {
  struct {
    ros::Time stamp;
  } header;
  uint32_t index;
};

namespace ros {
namespace message_traits {
template <>
struct HasHeader<StampedFrame> : TrueType {};
}  // namespace message_traits
}  // namespace ros

namespace {

using FramePtr = boost::shared_ptr<StampedFrame const>;
using Event = ros::MessageEvent<StampedFrame const>;
using NullPtr = boost::shared_ptr<message_filters::NullType const>;

struct Input {
  uint32_t policy = 0;
  uint32_t cameras = 0;
  uint32_t queueSize = 0;
  double agePenalty = 0;
  int64_t maxIntervalNs = -1;
  std::vector<int64_t> lowerBoundNs;
  uint32_t repeats = 1;
  std::vector<uint8_t> camera;
  std::vector<int64_t> timeNs;
};

template <typename T>
T readValue(std::istream& in) {
  T value;
  in.read(reinterpret_cast<char*>(&value), sizeof value);
  if (!in) throw std::runtime_error("truncated input");
  return value;
}

Input readInput(const char* path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(std::string("cannot open ") + path);
  char magic[8];
  in.read(magic, 8);
  if (!in || std::memcmp(magic, "SYNCAPRP", 8) != 0) throw std::runtime_error("not a peer input file");
  if (readValue<uint32_t>(in) != 1) throw std::runtime_error("unknown input version");
  Input input;
  input.policy = readValue<uint32_t>(in);
  input.cameras = readValue<uint32_t>(in);
  input.queueSize = readValue<uint32_t>(in);
  input.agePenalty = readValue<double>(in);
  input.maxIntervalNs = readValue<int64_t>(in);
  if (input.cameras < 2 || input.cameras > 9) throw std::runtime_error("cameras must be 2..9");
  for (uint32_t c = 0; c < input.cameras; c++) input.lowerBoundNs.push_back(readValue<int64_t>(in));
  input.repeats = readValue<uint32_t>(in);
  const uint32_t frames = readValue<uint32_t>(in);
  input.camera.resize((frames + 7) / 8 * 8);
  in.read(reinterpret_cast<char*>(input.camera.data()), static_cast<std::streamsize>(input.camera.size()));
  input.camera.resize(frames);
  input.timeNs.resize(frames);
  in.read(reinterpret_cast<char*>(input.timeNs.data()), static_cast<std::streamsize>(frames * sizeof(int64_t)));
  if (!in) throw std::runtime_error("truncated frames");
  for (uint8_t c : input.camera)
    if (c >= input.cameras) throw std::runtime_error("camera index out of range");
  return input;
}

ros::Duration durationNs(int64_t ns) {
  ros::Duration d;
  d.fromNSec(ns);
  return d;
}

// The callback's parameter I of N: the camera's frame, or message_filters' placeholder.
template <std::size_t I, std::size_t N>
using Param = std::conditional_t<(I < N), const FramePtr&, const NullPtr&>;

struct Collector {
  bool record = false;
  uint64_t groups = 0;
  std::size_t current = 0;
  std::vector<uint32_t> members;
  void member(const FramePtr& f) { members.push_back(f->index); }
  void member(const NullPtr&) {}
  template <typename... P>
  void operator()(const P&... ps) {
    groups++;
    if (!record) return;
    (member(ps), ...);
    std::printf("%zu", current);
    for (uint32_t m : members) std::printf(" %u", m);
    std::printf("\n");
    members.clear();
  }
};

template <std::size_t... I>
auto callbackFor(Collector& collector, std::index_sequence<I...>) {
  constexpr std::size_t N = sizeof...(I);
  return boost::function<void(Param<0, N>, Param<1, N>, Param<2, N>, Param<3, N>, Param<4, N>, Param<5, N>, Param<6, N>, Param<7, N>, Param<8, N>)>(
      [&collector](const auto&... ps) { collector(ps...); });
}

template <std::size_t I>
using Frame = StampedFrame;

template <typename Sync, std::size_t... I>
void addTo(Sync& sync, uint8_t camera, const Event& event, std::index_sequence<I...>) {
  // add<i> is a template on the camera's position: dispatch once per frame.
  ((camera == I ? (sync.template add<I>(event), 0) : 0), ...);
}

template <template <typename...> class Policy, std::size_t... I>
void run(const Input& input, bool printGroups, std::index_sequence<I...> seq) {
  using P = Policy<Frame<I>...>;
  std::vector<Event> events;
  events.reserve(input.timeNs.size());
  const ros::Time receipt(1, 0);
  for (std::size_t k = 0; k < input.timeNs.size(); k++) {
    auto frame = boost::make_shared<StampedFrame>();
    frame->header.stamp.fromNSec(static_cast<uint64_t>(input.timeNs[k]));
    frame->index = static_cast<uint32_t>(k);
    events.emplace_back(FramePtr(frame), receipt);
  }
  int64_t bestNs = std::numeric_limits<int64_t>::max();
  uint64_t groups = 0;
  for (uint32_t r = 0; r < input.repeats; r++) {
    P policy(input.queueSize);
    if constexpr (std::is_same_v<P, message_filters::sync_policies::ApproximateTime<Frame<I>...>>) {
      policy.setAgePenalty(input.agePenalty);
      if (input.maxIntervalNs >= 0) policy.setMaxIntervalDuration(durationNs(input.maxIntervalNs));
      for (uint32_t c = 0; c < input.cameras; c++) policy.setInterMessageLowerBound(static_cast<int>(c), durationNs(input.lowerBoundNs[c]));
    }
    message_filters::Synchronizer<P> sync(policy);
    Collector collector;
    collector.record = printGroups && r == 0;
    sync.registerCallback(callbackFor(collector, seq));
    const auto t0 = std::chrono::steady_clock::now();
    if (collector.record) {
      for (std::size_t k = 0; k < events.size(); k++) {
        collector.current = k;
        addTo(sync, input.camera[k], events[k], seq);
      }
    } else {
      for (std::size_t k = 0; k < events.size(); k++) addTo(sync, input.camera[k], events[k], seq);
    }
    const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - t0).count();
    if (ns < bestNs) bestNs = ns;
    groups = collector.groups;
  }
  std::printf("{\"bestNs\":%lld,\"groups\":%llu}\n", static_cast<long long>(bestNs), static_cast<unsigned long long>(groups));
}

template <std::size_t N>
void runFor(const Input& input, bool printGroups) {
  if (input.policy == 0)
    run<message_filters::sync_policies::ApproximateTime>(input, printGroups, std::make_index_sequence<N>{});
  else
    run<message_filters::sync_policies::ExactTime>(input, printGroups, std::make_index_sequence<N>{});
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s <frames.bin> [--groups]\n", argv[0]);
    return 2;
  }
  try {
    ros::Time::init();
    // ApproximateTime warns (once per input) when frames come closer than the lower bound given.
    if (ros::console::set_logger_level(ROSCONSOLE_DEFAULT_NAME, ros::console::levels::Error)) ros::console::notifyLoggerLevelsChanged();
    const Input input = readInput(argv[1]);
    const bool printGroups = argc > 2 && std::string(argv[2]) == "--groups";
    switch (input.cameras) {
      case 2: runFor<2>(input, printGroups); break;
      case 3: runFor<3>(input, printGroups); break;
      case 4: runFor<4>(input, printGroups); break;
      case 5: runFor<5>(input, printGroups); break;
      case 6: runFor<6>(input, printGroups); break;
      case 7: runFor<7>(input, printGroups); break;
      case 8: runFor<8>(input, printGroups); break;
      default: runFor<9>(input, printGroups); break;
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "ros-message-filters-peer: %s\n", e.what());
    return 1;
  }
  return 0;
}
