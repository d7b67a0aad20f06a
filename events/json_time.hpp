// Internal helpers for reading and writing timestamp fields of event JSON: a time is an
// RFC 3339 string (events/time.hpp), an absent optional time is null.
// Readers throw nlohmann::json::exception on bad input; only `decode` (events/event.cpp)
// calls them, and it turns the exception into a typed error. Not part of the public API.
#pragma once

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "events/time.hpp"

namespace flashsale::json_time {

/// The required time field `key`; throws when it is missing or not an RFC 3339 string.
inline timestamp_ms read(const nlohmann::json& j, const char* key) {
  const auto& v = j.at(key);
  auto t = parse_rfc3339(v.get<std::string>());
  if (!t)
    throw nlohmann::json::other_error::create(501, std::string(key) + " is not an RFC 3339 time",
                                              &j);
  return *t;
}

/// An optional time: missing or null → nullopt (older logs lack newer fields).
inline std::optional<timestamp_ms> read_optional(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null())
    return std::nullopt;
  return read(j, key);
}

inline nlohmann::json write_optional(const std::optional<timestamp_ms>& t) {
  return t ? nlohmann::json(format_rfc3339(*t)) : nlohmann::json(nullptr);
}

} // namespace flashsale::json_time
