#include "events/fast_decode.hpp"

#include <array>
#include <charconv>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "events/event_fields.hpp"
#include "events/time.hpp"

namespace flashsale {

namespace {

// -- the scanner: compact JSON, one object, values are strings without escapes, integers,
// null, or arrays of such flat objects. Anything else: give up (the caller falls back).

struct value {
  enum kind_t { string, integer, null, objects } kind = null;
  std::string_view text; ///< string contents
  std::int64_t number = 0;
  std::size_t first = 0; ///< objects: index of the first element in scanner::elements
  std::size_t count = 0;
};

struct field {
  std::string_view key;
  value v;
};

/// The fields of one object: a range of a field vector.
struct object {
  const std::vector<field>* fields = nullptr;
  std::size_t first = 0;
  std::size_t count = 0;

  /// The value of `key`, or null when absent. The last one wins, as in nlohmann's parse.
  const value* get(std::string_view key) const {
    for (std::size_t i = first + count; i-- > first;)
      if ((*fields)[i].key == key)
        return &(*fields)[i].v;
    return nullptr;
  }
};

class scanner {
public:
  explicit scanner(std::string_view text) : s_(text) {}

  bool parse(object& root) {
    if (!parse_object(root_fields_, root, true))
      return false;
    return pos_ == s_.size();
  }

  object element(std::size_t i) const { return elements_[i]; }

private:
  bool eat(char c) {
    if (pos_ < s_.size() && s_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }

  bool parse_string(std::string_view& out) {
    if (!eat('"'))
      return false;
    auto start = pos_;
    for (; pos_ < s_.size(); ++pos_) {
      auto c = static_cast<unsigned char>(s_[pos_]);
      if (c == '"') {
        out = s_.substr(start, pos_ - start);
        ++pos_;
        return true;
      }
      if (c == '\\' || c < 0x20)
        return false; // escapes and control characters: the full parser knows them
    }
    return false;
  }

  bool parse_integer(std::int64_t& out) {
    bool negative = eat('-');
    auto start = pos_;
    std::int64_t n = 0;
    for (; pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '9'; ++pos_) {
      if (pos_ - start >= 18)
        return false; // could overflow: leave it to the full parser
      n = n * 10 + (s_[pos_] - '0');
    }
    if (pos_ == start)
      return false;
    if (pos_ < s_.size() && (s_[pos_] == '.' || s_[pos_] == 'e' || s_[pos_] == 'E'))
      return false; // not an integer
    out = negative ? -n : n;
    return true;
  }

  bool parse_value(value& v, bool top) {
    if (pos_ >= s_.size())
      return false;
    char c = s_[pos_];
    if (c == '"') {
      v.kind = value::string;
      return parse_string(v.text);
    }
    if (c == '-' || (c >= '0' && c <= '9')) {
      v.kind = value::integer;
      return parse_integer(v.number);
    }
    if (s_.compare(pos_, 4, "null") == 0) {
      pos_ += 4;
      v.kind = value::null;
      return true;
    }
    if (c == '[' && top) { // an array of flat objects (items, lines)
      ++pos_;
      v.kind = value::objects;
      v.first = elements_.size();
      if (eat(']'))
        return true;
      do {
        object element;
        if (!parse_object(element_fields_, element, false))
          return false;
        elements_.push_back(element);
        ++v.count;
      } while (eat(','));
      return eat(']');
    }
    return false; // true/false, nested objects, deeper arrays: not in our events
  }

  bool parse_object(std::vector<field>& into, object& out, bool top) {
    if (!eat('{'))
      return false;
    out.fields = &into;
    out.first = into.size();
    if (eat('}'))
      return true;
    do {
      field f;
      if (!parse_string(f.key) || !eat(':') || !parse_value(f.v, top))
        return false;
      into.push_back(f);
      ++out.count;
    } while (eat(','));
    return eat('}');
  }

  std::string_view s_;
  std::size_t pos_ = 0;
  std::vector<field> root_fields_;
  std::vector<field> element_fields_; ///< fields of array elements (one level only)
  std::vector<object> elements_;
};

// -- readers: each mirrors one from_json idiom; false = "not sure, use the full parser".

/// j.at(key).get_to(out) for a string.
bool required(const object& o, std::string_view key, std::string& out) {
  auto v = o.get(key);
  if (!v || v->kind != value::string)
    return false;
  out.assign(v->text);
  return true;
}

/// j.at(key).get_to(out) for an integer.
bool required(const object& o, std::string_view key, std::int64_t& out) {
  auto v = o.get(key);
  if (!v || v->kind != value::integer)
    return false;
  out = v->number;
  return true;
}

/// j.value(key, fallback) for a string.
bool optional(const object& o, std::string_view key, std::string& out, std::string_view fallback) {
  auto v = o.get(key);
  if (!v) {
    out.assign(fallback);
    return true;
  }
  if (v->kind != value::string)
    return false;
  out.assign(v->text);
  return true;
}

/// j.value(key, fallback) for an integer.
bool optional(const object& o, std::string_view key, std::int64_t& out, std::int64_t fallback) {
  auto v = o.get(key);
  if (!v) {
    out = fallback;
    return true;
  }
  if (v->kind != value::integer)
    return false;
  out = v->number;
  return true;
}

/// json_time::read: a required RFC 3339 string.
bool required_time(const object& o, std::string_view key, timestamp_ms& out) {
  auto v = o.get(key);
  if (!v || v->kind != value::string)
    return false;
  auto t = parse_rfc3339(v->text);
  if (!t)
    return false;
  out = *t;
  return true;
}

/// json_time::read_optional: missing or null is nullopt.
bool optional_time(const object& o, std::string_view key, std::optional<timestamp_ms>& out) {
  auto v = o.get(key);
  if (!v || v->kind == value::null) {
    out.reset();
    return true;
  }
  timestamp_ms t = 0;
  if (!required_time(o, key, t))
    return false;
  out = t;
  return true;
}

template <class Line, class ReadLine>
bool lines_of(const scanner& sc, const value& v, std::vector<Line>& out, ReadLine read) {
  if (v.kind != value::objects)
    return false;
  out.clear();
  out.reserve(v.count);
  for (std::size_t i = 0; i < v.count; ++i) {
    Line line;
    if (!read(sc.element(v.first + i), line))
      return false;
    out.push_back(std::move(line));
  }
  return true;
}

template <class E>
bool read(const scanner& sc, const object& o, E& e);

template <class E>
bool get(const scanner&, const object& o, E& e, const fields::text<E>& f) {
  return f.fallback ? optional(o, f.key, e.*f.member, f.fallback) : required(o, f.key, e.*f.member);
}
template <class E>
bool get(const scanner&, const object& o, E& e, const fields::integer<E>& f) {
  return f.required ? required(o, f.key, e.*f.member) : optional(o, f.key, e.*f.member, f.fallback);
}
template <class E>
bool get(const scanner&, const object& o, E& e, const fields::time<E>& f) {
  return required_time(o, f.key, e.*f.member);
}
template <class E>
bool get(const scanner&, const object& o, E& e, const fields::optional_time<E>& f) {
  return optional_time(o, f.key, e.*f.member);
}
template <class E>
bool get(const scanner&, const object& o, E& e, const fields::reason<E>& f) {
  std::string text;
  if (!optional(o, f.key, text, to_string(f.fallback)))
    return false;
  auto parsed = parse_release_reason(text);
  if (parsed)
    e.*f.member = *parsed;
  return parsed.has_value();
}
template <class E, class Line>
bool get(const scanner& sc, const object& o, E& e, const fields::lines<E, Line>& f) {
  auto v = o.get(f.key);
  if (!f.required && (!v || v->kind == value::null)) {
    (e.*f.member).clear();
    return true;
  }
  return v && lines_of(sc, *v, e.*f.member, [&sc](const object& element, Line& l) {
           return read(sc, element, l);
         });
}

/// Field for field as its from_json (both walk events/event_fields.hpp).
template <class E>
bool read(const scanner& sc, const object& o, E& e) {
  return fields::all_of<E>([&](const auto& f) { return get(sc, o, e, f); });
}

template <std::size_t... I>
std::array<std::string_view, sizeof...(I)> type_names(std::index_sequence<I...>) {
  return {type_name(event{std::variant_alternative_t<I, event>{}})...};
}

/// The envelope type names, in variant order; built once.
const std::array<std::string_view, std::variant_size_v<event>>& names() {
  static const auto all = type_names(std::make_index_sequence<std::variant_size_v<event>>{});
  return all;
}

template <std::size_t I = 0>
std::optional<event> read_as(std::string_view type, const scanner& sc, const object& root) {
  if constexpr (I == std::variant_size_v<event>) {
    return std::nullopt;
  } else {
    if (type != names()[I])
      return read_as<I + 1>(type, sc, root);
    std::variant_alternative_t<I, event> e;
    if (!read(sc, root, e))
      return std::nullopt;
    return event{std::move(e)};
  }
}

} // namespace

std::optional<event> fast_decode(std::string_view type, std::string_view data) {
  scanner sc(data);
  object root;
  if (!sc.parse(root))
    return std::nullopt;
  return read_as(type, sc, root);
}

namespace {

/// Skips one compact JSON object starting at `pos` (strings may hold escaped quotes); the
/// position after its closing brace, or npos.
std::size_t end_of_object(std::string_view s, std::size_t pos) {
  if (pos >= s.size() || s[pos] != '{')
    return std::string_view::npos;
  int depth = 0;
  for (; pos < s.size(); ++pos) {
    char c = s[pos];
    if (c == '"') {
      for (++pos; pos < s.size() && s[pos] != '"'; ++pos)
        if (s[pos] == '\\')
          ++pos;
      if (pos >= s.size())
        return std::string_view::npos;
    } else if (c == '{' || c == '[') {
      ++depth;
    } else if (c == '}' || c == ']') {
      if (--depth == 0)
        return pos + 1;
    }
  }
  return std::string_view::npos;
}

/// Consumes `literal` at `pos`.
bool expect(std::string_view s, std::size_t& pos, std::string_view literal) {
  if (s.substr(pos, literal.size()) != literal)
    return false;
  pos += literal.size();
  return true;
}

/// A string without escapes up to its closing quote (the opening one already consumed).
bool plain_string(std::string_view s, std::size_t& pos, std::string_view& out) {
  auto end = s.find('"', pos);
  if (end == std::string_view::npos)
    return false;
  out = s.substr(pos, end - pos);
  if (out.find('\\') != std::string_view::npos)
    return false;
  pos = end + 1;
  return true;
}

bool integer(std::string_view s, std::size_t& pos, std::int64_t& out) {
  auto [end, ec] = std::from_chars(s.data() + pos, s.data() + s.size(), out);
  if (ec != std::errc())
    return false;
  pos = static_cast<std::size_t>(end - s.data());
  return true;
}

} // namespace

std::optional<envelope> fast_decode_envelope(std::string_view s) {
  std::size_t pos = 0;
  if (!expect(s, pos, R"({"data":)"))
    return std::nullopt;
  auto data_end = end_of_object(s, pos);
  if (data_end == std::string_view::npos)
    return std::nullopt;
  envelope e;
  e.data.assign(s.substr(pos, data_end - pos));
  pos = data_end;
  std::string_view at, stream, type;
  if (!expect(s, pos, R"(,"recorded_at":")") || !plain_string(s, pos, at)
      || !expect(s, pos, R"(,"seq":)") || !integer(s, pos, e.seq)
      || !expect(s, pos, R"(,"stream":")") || !plain_string(s, pos, stream)
      || !expect(s, pos, R"(,"type":")") || !plain_string(s, pos, type)
      || !expect(s, pos, R"(,"version":)") || !integer(s, pos, e.version) || !expect(s, pos, "}")
      || pos != s.size())
    return std::nullopt;
  auto recorded = parse_rfc3339(at);
  if (!recorded)
    return std::nullopt;
  e.recorded_at = *recorded;
  e.stream.assign(stream);
  e.type.assign(type);
  return e;
}

} // namespace flashsale
