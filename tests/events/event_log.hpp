// A test stand-in for the event store: assigns seq and per-stream versions as the store does,
// so tests can fold exactly what a node would have persisted.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "events/event.hpp"

namespace flashsale::test {

struct event_log {
  std::vector<envelope> entries;
  std::map<std::string, std::int64_t> versions; // stream → last version

  const envelope& append(const event& e, timestamp_ms at) {
    envelope env = to_envelope(e, ++versions[stream_of(e)], at);
    env.seq = static_cast<std::int64_t>(entries.size()) + 1;
    entries.push_back(std::move(env));
    return entries.back();
  }
};

} // namespace flashsale::test
