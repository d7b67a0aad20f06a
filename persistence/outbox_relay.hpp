// The outbox relay: publishes every committed event to JetStream in seq order and moves the
// store's durable outbox position forward as PubAcks arrive. Wire form of each message:
//   subject  flashsale.events.<type>    header  Nats-Msg-Id: <store_id>-<seq>
//   body     nlohmann::json(envelope).dump()  (events/envelope.hpp)
// invariant: the durable position only ever names a seq at or below which every event has a
// PubAck; after an error, a timeout, a reconnect or a crash, publishing resumes from it with the
// same msg ids, and the stream's Duplicates window drops the re-sends. At most `window` publishes
// are unacknowledged. A plain thread owned by the node (it blocks on NATS), woken by commits.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <variant>

#include "persistence/nats_connection.hpp"

namespace flashsale {

class event_store;

struct outbox_relay_options {
  std::string nats_url;   ///< nats://host:port
  nats_security security; ///< credentials and TLS (the nats.* keys)
  std::int64_t stream_max_age_hours = 168;
  std::int64_t duplicate_window_seconds = 120;
  /// Of stream FLASHSALE: 1 on a single server; in cluster mode cluster.replicas, so losing
  /// one server loses no published event and does not stop the relay.
  int stream_replicas = 1;
  int publish_window = 1024;              ///< max unacknowledged async publishes
  std::int64_t publish_timeout_ms = 5000; ///< a publish without PubAck by then is re-sent
};

struct outbox_relay_stats {
  std::int64_t published = 0; ///< publishes sent (re-sends included)
  std::int64_t acked = 0;     ///< highest seq below which everything is acknowledged
  std::int64_t resends = 0;   ///< times publishing restarted from the durable position
};

class outbox_relay {
public:
  /// Starts the thread; it connects in the background and never fails start-up because NATS is
  /// down. A message for a URL nats.c refuses outright, and for a server that refuses us
  /// (credentials, TLS), naming its reason.
  static std::variant<std::unique_ptr<outbox_relay>, std::string>
  start(event_store& store, outbox_relay_options options);
  /// Stops the thread; unacknowledged events stay in the store for the next start.
  ~outbox_relay();

  /// A commit happened: look for new events. Cheap; safe from the store's writer thread.
  void wake();
  /// The connection to NATS is up.
  bool connected() const;
  outbox_relay_stats stats() const;

  struct impl;

private:
  explicit outbox_relay(std::unique_ptr<impl> self);
  std::unique_ptr<impl> self_;
};

} // namespace flashsale
