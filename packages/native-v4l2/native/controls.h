// Controls by name: list (with current values, menus and flags), get and set — what
// `v4l2-ctl --list-ctrls-menus` shows and `--set-ctrl` does. Names are controlKey(label).
#pragma once
#include <linux/videodev2.h>
#include <napi.h>

#include <cstdint>
#include <string>

#include "errors.h"

namespace syncap {

// A value to set: nothing (buttons), an integer, or a string.
struct ControlArg {
  enum class Kind { None, Int, Str } kind = Kind::None;
  int64_t integer = 0;
  std::string text;
};

// A JS number, bigint, boolean or string (anything else: none) as a ControlArg.
ControlArg controlArg(Napi::Value value);

// Sets control `key`; false with *failure (E_CONTROL naming the control and its range) when it cannot.
bool setControlValue(int fd, const std::string& path, const std::string& key, const ControlArg& value, Failure* failure);

// Every control of the device (class headings and disabled controls left out).
Napi::Array listControls(Napi::Env env, int fd);

// Finds the control named `key`; false when there is none.
bool findControl(int fd, const std::string& key, v4l2_query_ext_ctrl* out);

// The current value: a number (bigint for 64-bit controls, a string for string controls).
Napi::Value getControl(Napi::Env env, int fd, const std::string& path, const std::string& key);

// Sets a control from a JS number, bigint, boolean or string (none for buttons). Throws on failure.
Napi::Value setControl(Napi::Env env, int fd, const std::string& path, const std::string& key, Napi::Value value);

}  // namespace syncap
