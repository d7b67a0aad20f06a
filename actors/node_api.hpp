// The narrow interface the HTTP adapter (and tests) use to talk to a running node. No CAF
// types cross it: the adapter stays ignorant of actors, and a test can drive the node without
// HTTP. Every method is thread-safe and may block its caller (an HTTP worker thread), never an
// actor.
#pragma once

#include <cstdint>
#include <string>

namespace flashsale {

struct health_report {
  bool event_store_ok = true;
  std::string event_store_error;   ///< why the store refuses writes, when it does
  std::string nats = "off";        ///< "connected", "disconnected" or "off"
  std::int64_t outbox_lag = 0;     ///< committed events not yet acknowledged by JetStream
};

class node_api {
public:
  virtual ~node_api() = default;
  virtual health_report health() = 0;
};

} // namespace flashsale
