#include "controls.h"

#include <cerrno>
#include <cstring>
#include <vector>

#include "v4l2_util.h"

namespace syncap {

namespace {

constexpr uint32_t kNext = V4L2_CTRL_FLAG_NEXT_CTRL | V4L2_CTRL_FLAG_NEXT_COMPOUND;

const char* typeName(uint32_t type) {
  switch (type) {
    case V4L2_CTRL_TYPE_INTEGER: return "integer";
    case V4L2_CTRL_TYPE_BOOLEAN: return "boolean";
    case V4L2_CTRL_TYPE_MENU: return "menu";
    case V4L2_CTRL_TYPE_INTEGER_MENU: return "integer-menu";
    case V4L2_CTRL_TYPE_BUTTON: return "button";
    case V4L2_CTRL_TYPE_INTEGER64: return "integer64";
    case V4L2_CTRL_TYPE_STRING: return "string";
    case V4L2_CTRL_TYPE_BITMASK: return "bitmask";
    default: return "other";
  }
}

Napi::Array flagNames(Napi::Env env, uint32_t flags) {
  struct Flag {
    uint32_t bit;
    const char* name;
  };
  static const Flag table[] = {
      {V4L2_CTRL_FLAG_READ_ONLY, "read-only"}, {V4L2_CTRL_FLAG_WRITE_ONLY, "write-only"}, {V4L2_CTRL_FLAG_INACTIVE, "inactive"},
      {V4L2_CTRL_FLAG_VOLATILE, "volatile"},   {V4L2_CTRL_FLAG_GRABBED, "grabbed"},       {V4L2_CTRL_FLAG_UPDATE, "update"},
  };
  Napi::Array out = Napi::Array::New(env);
  uint32_t n = 0;
  for (const auto& f : table) {
    if (flags & f.bit) out.Set(n++, f.name);
  }
  return out;
}

// Reads the current value into `c` (for strings, into `text`). False when it cannot be read.
bool readValue(int fd, const v4l2_query_ext_ctrl& q, v4l2_ext_control* c, std::vector<char>* text) {
  if (q.type == V4L2_CTRL_TYPE_BUTTON || (q.flags & V4L2_CTRL_FLAG_WRITE_ONLY) || q.nr_of_dims > 0) return false;
  *c = v4l2_ext_control{};
  c->id = q.id;
  if (q.type == V4L2_CTRL_TYPE_STRING) {
    text->assign(static_cast<size_t>(q.maximum) + 1, '\0');
    c->size = static_cast<uint32_t>(text->size());
    c->string = text->data();
  }
  v4l2_ext_controls cs{};
  cs.which = V4L2_CTRL_WHICH_CUR_VAL;
  cs.count = 1;
  cs.controls = c;
  return xioctl(fd, VIDIOC_G_EXT_CTRLS, &cs) == 0;
}

Napi::Value valueOf(Napi::Env env, const v4l2_query_ext_ctrl& q, const v4l2_ext_control& c, const std::vector<char>& text) {
  if (q.type == V4L2_CTRL_TYPE_STRING) return Napi::String::New(env, text.data());
  if (q.type == V4L2_CTRL_TYPE_INTEGER64) return bigint(env, c.value64);
  return Napi::Number::New(env, c.value);
}

// Calls `visit(query)` for every control of the device in driver order, class headings
// skipped, until it returns true (stop); true when it stopped.
template <typename Visit>
bool forEachControl(int fd, Visit visit) {
  v4l2_query_ext_ctrl q{};
  q.id = kNext;
  while (xioctl(fd, VIDIOC_QUERY_EXT_CTRL, &q) == 0) {
    if (q.type != V4L2_CTRL_TYPE_CTRL_CLASS && visit(static_cast<const v4l2_query_ext_ctrl&>(q))) return true;
    q.id |= kNext;
  }
  return false;
}

}  // namespace

bool findControl(int fd, const std::string& key, v4l2_query_ext_ctrl* out) {
  return forEachControl(fd, [&](const v4l2_query_ext_ctrl& q) {
    if (controlKey(q.name) != key) return false;
    *out = q;
    return true;
  });
}

Napi::Array listControls(Napi::Env env, int fd) {
  Napi::Array out = Napi::Array::New(env);
  uint32_t n = 0;
  forEachControl(fd, [&](const v4l2_query_ext_ctrl& q) {
    if (!(q.flags & V4L2_CTRL_FLAG_DISABLED)) {
      Napi::Object c = Napi::Object::New(env);
      c.Set("name", controlKey(q.name));
      c.Set("label", q.name);
      c.Set("id", q.id);
      c.Set("type", typeName(q.type));
      c.Set("min", Napi::Number::New(env, static_cast<double>(q.minimum)));
      c.Set("max", Napi::Number::New(env, static_cast<double>(q.maximum)));
      c.Set("step", Napi::Number::New(env, static_cast<double>(q.step)));
      c.Set("default", Napi::Number::New(env, static_cast<double>(q.default_value)));
      c.Set("flags", flagNames(env, q.flags));
      v4l2_ext_control value{};
      std::vector<char> text;
      if (readValue(fd, q, &value, &text)) c.Set("value", valueOf(env, q, value, text));
      if (q.type == V4L2_CTRL_TYPE_MENU || q.type == V4L2_CTRL_TYPE_INTEGER_MENU) {
        Napi::Object items = Napi::Object::New(env);
        v4l2_querymenu m{};
        m.id = q.id;
        for (int64_t i = q.minimum; i <= q.maximum; i++) {
          m.index = static_cast<uint32_t>(i);
          if (xioctl(fd, VIDIOC_QUERYMENU, &m) != 0) continue;  // a gap in the menu
          if (q.type == V4L2_CTRL_TYPE_MENU) items.Set(std::to_string(i), reinterpret_cast<const char*>(m.name));
          else items.Set(std::to_string(i), Napi::Number::New(env, static_cast<double>(m.value)));
        }
        c.Set("menu", items);
      }
      out.Set(n++, c);
    }
    return false;
  });
  return out;
}

Napi::Value getControl(Napi::Env env, int fd, const std::string& path, const std::string& key) {
  v4l2_query_ext_ctrl q{};
  if (!findControl(fd, key, &q)) return throwError(env, code::kControl, path + ": no control named \"" + key + "\"");
  v4l2_ext_control c{};
  std::vector<char> text;
  if (!readValue(fd, q, &c, &text)) {
    int err = errno;
    return throwFailure(env, sysFailure(code::kControl, path, "cannot read control \"" + key + "\"", err ? err : EACCES));
  }
  return valueOf(env, q, c, text);
}

ControlArg controlArg(Napi::Value value) {
  ControlArg a;
  if (value.IsString()) {
    a.kind = ControlArg::Kind::Str;
    a.text = value.As<Napi::String>().Utf8Value();
  } else if (value.IsBigInt()) {
    bool lossless;
    a.kind = ControlArg::Kind::Int;
    a.integer = value.As<Napi::BigInt>().Int64Value(&lossless);
  } else if (value.IsNumber()) {
    a.kind = ControlArg::Kind::Int;
    a.integer = value.As<Napi::Number>().Int64Value();
  } else if (value.IsBoolean()) {
    a.kind = ControlArg::Kind::Int;
    a.integer = value.As<Napi::Boolean>().Value() ? 1 : 0;
  }
  return a;
}

bool setControlValue(int fd, const std::string& path, const std::string& key, const ControlArg& value, Failure* failure) {
  v4l2_query_ext_ctrl q{};
  if (!findControl(fd, key, &q)) {
    *failure = Failure{code::kControl, path + ": no control named \"" + key + "\"", 0};
    return false;
  }
  v4l2_ext_control c{};
  c.id = q.id;
  std::string text;
  if (q.type == V4L2_CTRL_TYPE_STRING) {
    text = value.text;
    c.size = static_cast<uint32_t>(text.size() + 1);
    c.string = text.data();
  } else if (value.kind == ControlArg::Kind::Int) {
    if (q.type == V4L2_CTRL_TYPE_INTEGER64) c.value64 = value.integer;
    else c.value = static_cast<int32_t>(value.integer);
  } else if (q.type != V4L2_CTRL_TYPE_BUTTON) {
    *failure = Failure{code::kControl, path + ": control \"" + key + "\" needs a value", 0};
    return false;
  }
  v4l2_ext_controls cs{};
  cs.which = V4L2_CTRL_WHICH_CUR_VAL;
  cs.count = 1;
  cs.controls = &c;
  if (xioctl(fd, VIDIOC_S_EXT_CTRLS, &cs) != 0) {
    int err = errno;
    std::string allowed = q.type == V4L2_CTRL_TYPE_STRING ? "" : " (range " + std::to_string(q.minimum) + ".." + std::to_string(q.maximum) + ", step " + std::to_string(q.step) + ")";
    *failure = sysFailure(code::kControl, path, "cannot set control \"" + key + "\"" + allowed, err);
    return false;
  }
  return true;
}

Napi::Value setControl(Napi::Env env, int fd, const std::string& path, const std::string& key, Napi::Value value) {
  Failure failure;
  if (!setControlValue(fd, path, key, controlArg(value), &failure)) return throwFailure(env, failure);
  return env.Undefined();
}

}  // namespace syncap
