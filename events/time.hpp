// Timestamps on the wire: RFC 3339 UTC with milliseconds, "2026-11-21T10:00:00.000Z".
// Pure conversions between that text and timestamp_ms; no clock is read here.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "events/envelope.hpp"

namespace flashsale {

/// Always "YYYY-MM-DDTHH:MM:SS.mmmZ".
std::string format_rfc3339(timestamp_ms t);

/// Accepts "YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM)"; fractions beyond milliseconds
/// are truncated. nullopt for anything else (including impossible dates such as Feb 30).
std::optional<timestamp_ms> parse_rfc3339(std::string_view text);

} // namespace flashsale
