// The payment simulator: plays the payment provider. A durable JetStream pull consumer
// `payments` on flashsale.events.OrderReserved (a cluster: on each partition's stream,
// flashsale.p.<p>.order.*.OrderReserved; the body is the same envelope); each reserved order is
// paid (or fails, with probability 1 - success_rate, decided by a seeded hash of the order id so
// every redelivery and every process decides the same) after `latency_ms`, by calling the node's
// webhook:
//   POST /payments/webhook   Flashsale-Signature: t=<unix s>,v1=<hex HMAC-SHA256(secret, "t.body")>
//   {"event_id": "sim-<order_id>", "order_id", "payment_id": "simpay-<order_id>",
//    "status": "succeeded"|"failed", "amount_cents": <total_cents of OrderReserved>}
// invariant: a message is acked only once the webhook gave an answer that will never change
// (200, 404, 409); retryable failures are nak'ed with a delay; after max_deliver attempts (or a
// permanent 4xx) it goes to flashsale.dlq.payments (stream FLASHSALE_DLQ) and is terminated.
// Dead letter body: {"reason", "subject", "stream_seq", "num_delivered", "data": <original>}.
// Plain threads, one pull subscription each (nats.c refuses concurrent fetches of one); a
// worker keeps fetching while the payments it holds wait out their latency.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <variant>

#include "persistence/nats_connection.hpp"

namespace flashsale {

inline constexpr const char* payments_consumer = "payments";
inline constexpr const char* payments_subject = "flashsale.events.OrderReserved";
inline constexpr const char* payments_dlq_subject = "flashsale.dlq.payments";
inline constexpr const char* dlq_stream = "FLASHSALE_DLQ";

struct payment_simulator_options {
  std::string node_url; ///< http(s)://host:port of the node whose webhook is called
  /// For an https:// node: the CA (PEM) its certificate must chain to; empty = the system's.
  std::string ca_file;
  /// False only for the in-node simulator calling its own node over loopback.
  bool verify_certificate = true;
  std::string nats_url; ///< nats://host:port
  nats_security nats;   ///< credentials and TLS for the NATS server (the nats.* keys)
  std::string webhook_secret;
  int workers = 2;
  std::int64_t latency_ms = 3000;
  double success_rate = 0.9;
  int max_deliver = 5;
  std::uint64_t seed = 0x5eed;
  std::int64_t dlq_max_age_hours = 168;
  /// 0: a single node's events (stream FLASHSALE). P > 0: a cluster's, one stream per
  /// partition (FLASHSALE_P0..P-1, subjects flashsale.p.<p>.order.<id>.OrderReserved), a
  /// durable `payments` consumer on each and at least one worker per partition.
  int cluster_partitions = 0;
};

struct payment_simulator_stats {
  std::int64_t succeeded = 0; ///< webhooks applied with status succeeded (200)
  std::int64_t failed = 0;    ///< webhooks applied with status failed (200)
  std::int64_t settled = 0;   ///< acked on 404/409: the node will never take it
  std::int64_t retried = 0;   ///< nak'ed for redelivery
  std::int64_t dead_lettered = 0;
};

class payment_simulator {
public:
  /// Starts the workers; they connect, create the consumer and bind in the background, so a
  /// NATS or node that is not up yet only delays payments. A message for bad options.
  static std::variant<std::unique_ptr<payment_simulator>, std::string>
  start(payment_simulator_options options);
  /// Stops fetching; messages in hand are neither acked nor lost (redelivered after AckWait).
  ~payment_simulator();

  payment_simulator_stats stats() const;

  struct impl;

private:
  explicit payment_simulator(std::unique_ptr<impl> self);
  std::unique_ptr<impl> self_;
};

/// True when the order with `order_id` is paid successfully under `seed` and `success_rate`.
bool simulator_pays(std::uint64_t seed, double success_rate, std::string_view order_id);

} // namespace flashsale
