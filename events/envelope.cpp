#include "events/envelope.hpp"

#include <nlohmann/json.hpp>

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
