// Small helpers shared by the V4L2 addon: ioctl with EINTR retry, FourCC, clocks, names.
#pragma once
#include <linux/videodev2.h>
#include <napi.h>

#include <cstdint>
#include <ctime>
#include <string>

namespace syncap {

int xioctl(int fd, unsigned long request, void* arg);
std::string fourccToString(uint32_t fourcc);
// Exact (the TypeScript side matches case-insensitively against what the device lists); padded with spaces.
uint32_t fourccFromString(const std::string& text);
int64_t clockNs(clockid_t clock);
// "Percentage of Dropped Buffers" -> "percentage_of_dropped_buffers"
std::string controlKey(const char* name);
std::string capabilityNames(uint32_t caps);
// The capabilities of the node that was opened (device_caps where the driver reports them).
uint32_t effectiveCaps(const v4l2_capability& cap);
const char* timestampSourceName(uint32_t bufferFlags);
Napi::BigInt bigint(Napi::Env env, int64_t value);

}  // namespace syncap
