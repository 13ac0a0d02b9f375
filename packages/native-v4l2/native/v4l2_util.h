// Small helpers shared by the V4L2 addon: ioctl with EINTR retry, FourCC, clocks, errors.
#pragma once
#include <napi.h>
#include <linux/videodev2.h>
#include <cstdint>
#include <ctime>
#include <string>

namespace syncap {

int xioctl(int fd, unsigned long request, void* arg);
std::string fourccToString(uint32_t fourcc);
uint32_t fourccFromString(const std::string& text);
int64_t clockNs(clockid_t clock);
std::string errnoName(int err);
// "Percentage of Dropped Buffers" -> "percentage_of_dropped_buffers"
std::string controlKey(const char* name);
std::string capabilityNames(uint32_t caps);

// Throws a JS Error with `code` (e.g. "ENOENT", "E_FORMAT") and `errno` set. Returns undefined.
Napi::Value throwError(Napi::Env env, const std::string& code, const std::string& message, int err = 0);
Napi::BigInt bigint(Napi::Env env, int64_t value);

}  // namespace syncap
