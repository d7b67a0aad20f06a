#include "events/envelope.hpp"

#include <nlohmann/json.hpp>

#include "events/fast_encode.hpp"
#include "events/time.hpp"

namespace flashsale {

void to_json(nlohmann::json& j, const envelope& e) {
  j = nlohmann::json{{"seq", e.seq},
                     {"stream", e.stream},
                     {"version", e.version},
                     {"type", e.type},
                     {"data", nlohmann::json::parse(e.data)},
                     {"recorded_at", format_rfc3339(e.recorded_at)}};
}

std::string envelope_json(const envelope& e) {
  std::string out;
  out.reserve(e.data.size() + e.stream.size() + e.type.size() + 96);
  out += R"({"data":)";
  out += e.data;
  out += R"(,"recorded_at":")";
  out += format_rfc3339(e.recorded_at);
  out += R"(","seq":)";
  append_json_int(out, e.seq);
  out += R"(,"stream":)";
  bool plain = append_json_string(out, e.stream);
  out += R"(,"type":)";
  plain = append_json_string(out, e.type) && plain;
  out += R"(,"version":)";
  append_json_int(out, e.version);
  out += '}';
  if (!plain) // non-ASCII ids: nlohmann checks the UTF-8
    return nlohmann::json(e).dump();
  return out;
}

void from_json(const nlohmann::json& j, envelope& e) {
  j.at("seq").get_to(e.seq);
  j.at("stream").get_to(e.stream);
  j.at("version").get_to(e.version);
  j.at("type").get_to(e.type);
  e.data = j.at("data").dump();
  auto at = parse_rfc3339(j.at("recorded_at").get<std::string>());
  if (!at)
    throw nlohmann::json::other_error::create(501, "recorded_at is not an RFC 3339 time", &j);
  e.recorded_at = *at;
}

} // namespace flashsale
