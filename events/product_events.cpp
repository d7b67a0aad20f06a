#include "events/product_events.hpp"

namespace flashsale {

// The JSON codecs of these events come from their field lists (events/event_fields.hpp).

const char* to_string(release_reason r) {
  switch (r) {
  case release_reason::expired:
    return "expired";
  case release_reason::cancelled:
    return "cancelled";
  case release_reason::payment_failed:
    return "payment_failed";
  case release_reason::compensation:
    return "compensation";
  }
  return "compensation";
}

std::optional<release_reason> parse_release_reason(std::string_view s) {
  for (auto r : {release_reason::expired, release_reason::cancelled, release_reason::payment_failed,
                 release_reason::compensation})
    if (s == to_string(r))
      return r;
  return std::nullopt;
}

} // namespace flashsale
