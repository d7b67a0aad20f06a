#include "events/fast_encode.hpp"

#include <algorithm>
#include <array>
#include <charconv>

#include "events/event_fields.hpp"
#include "events/time.hpp"

namespace flashsale {

bool append_json_string(std::string& out, std::string_view s) {
  static const char hex[] = "0123456789abcdef";
  out += '"';
  std::size_t plain_from = 0; // runs of bytes that need no escape are appended at once
  for (std::size_t i = 0; i < s.size(); ++i) {
    const auto u = static_cast<unsigned char>(s[i]);
    if (u >= 0x20 && u != '"' && u != '\\' && u < 0x80)
      continue;
    if (u >= 0x80)
      return false;
    out.append(s.data() + plain_from, i - plain_from);
    plain_from = i + 1;
    switch (u) {
    case '"':
      out += "\\\"";
      break;
    case '\\':
      out += "\\\\";
      break;
    case '\b':
      out += "\\b";
      break;
    case '\f':
      out += "\\f";
      break;
    case '\n':
      out += "\\n";
      break;
    case '\r':
      out += "\\r";
      break;
    case '\t':
      out += "\\t";
      break;
    default:
      out += "\\u00";
      out += hex[u >> 4];
      out += hex[u & 0xf];
    }
  }
  out.append(s.data() + plain_from, s.size() - plain_from);
  out += '"';
  return true;
}

void append_json_int(std::string& out, std::int64_t n) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, n);
  out.append(buf, r.ptr);
}

namespace {

/// One JSON object. Fields are added in any order and written sorted by key, as nlohmann's
/// std::map-backed objects are, so each encoder below can list them as its to_json does.
class object_writer {
public:
  object_writer& str(std::string_view key, std::string_view v) {
    auto& f = next(key);
    plain_ = plain_ && append_json_string(f.text, v);
    return *this;
  }
  object_writer& num(std::string_view key, std::int64_t v) {
    append_json_int(next(key).text, v);
    return *this;
  }
  object_writer& time(std::string_view key, timestamp_ms t) { return str(key, format_rfc3339(t)); }
  object_writer& optional_time(std::string_view key, const std::optional<timestamp_ms>& t) {
    if (t)
      return time(key, *t);
    next(key).text = "null";
    return *this;
  }
  /// An array of objects, each written by `write(object_writer&, element)`.
  template <class Range, class Write>
  object_writer& objects(std::string_view key, const Range& elements, Write write) {
    auto& f = next(key);
    f.text = '[';
    bool first = true;
    for (const auto& element : elements) {
      if (!first)
        f.text += ',';
      first = false;
      object_writer inner;
      write(inner, element);
      auto text = inner.finish();
      if (!text) {
        plain_ = false;
        return *this;
      }
      f.text += *text;
    }
    f.text += ']';
    return *this;
  }

  std::optional<std::string> finish() {
    if (!plain_)
      return std::nullopt;
    std::sort(fields_.begin(), fields_.begin() + static_cast<std::ptrdiff_t>(count_),
              [](const field& a, const field& b) { return a.key < b.key; });
    std::size_t size = 2;
    for (std::size_t i = 0; i < count_; ++i)
      size += fields_[i].key.size() + fields_[i].text.size() + 4;
    std::string out;
    out.reserve(size);
    out += '{';
    for (std::size_t i = 0; i < count_; ++i) {
      if (i > 0)
        out += ',';
      append_json_string(out, fields_[i].key); // keys are ASCII literals
      out += ':';
      out += fields_[i].text;
    }
    out += '}';
    return out;
  }

private:
  struct field {
    std::string_view key;
    std::string text;
  };

  field& next(std::string_view key) {
    auto& f = fields_.at(count_++); // at(): an encoder with too many fields fails loudly
    f.key = key;
    f.text.clear();
    return f;
  }

  std::array<field, 8> fields_; // the longest field list has 7
  std::size_t count_ = 0;
  bool plain_ = true;
};

template <class E>
void write(object_writer& w, const E& e);

template <class E>
void put(object_writer& w, const E& e, const fields::text<E>& f) {
  w.str(f.key, e.*f.member);
}
template <class E>
void put(object_writer& w, const E& e, const fields::integer<E>& f) {
  w.num(f.key, e.*f.member);
}
template <class E>
void put(object_writer& w, const E& e, const fields::time<E>& f) {
  w.time(f.key, e.*f.member);
}
template <class E>
void put(object_writer& w, const E& e, const fields::optional_time<E>& f) {
  w.optional_time(f.key, e.*f.member);
}
template <class E>
void put(object_writer& w, const E& e, const fields::reason<E>& f) {
  w.str(f.key, to_string(e.*f.member));
}
template <class E, class Line>
void put(object_writer& w, const E& e, const fields::lines<E, Line>& f) {
  w.objects(f.key, e.*f.member, [](object_writer& o, const Line& l) { write(o, l); });
}

/// Every field of the event's list (events/event_fields.hpp); the writer sorts the keys.
template <class E>
void write(object_writer& w, const E& e) {
  fields::each<E>([&](const auto& f) { put(w, e, f); });
}

} // namespace

std::optional<std::string> fast_encode(const event& e) {
  object_writer w;
  std::visit([&w](const auto& v) { write(w, v); }, e);
  return w.finish();
}

} // namespace flashsale
