// The adapter's Prometheus metrics, kept in a prometheus-cpp registry and rendered by its
// text serializer (format 0.0.4) for GET /metrics:
//   flashsale_http_requests_total / flashsale_http_request_duration_seconds{method,route,status}
//     (route = the route pattern, e.g. "/orders/{order_id}", never the raw path, so label
//     cardinality stays bounded; "unmatched" for 404s and requests refused before routing)
//   flashsale_orders_total{outcome}  (created, replayed, or the error code of the answer;
//     also the orders the HAProxy edge answered itself)
//   flashsale_edge_orders_total{outcome}  (of those, the ones the edge answered: sold_out)
//   flashsale_product_units{product_id,state}  (stock, available, reserved, sold)
//   flashsale_store_commit_duration_seconds, flashsale_store_commit_events (histograms)
//   flashsale_outbox_lag, flashsale_live_actors{kind}, flashsale_events_committed,
//   flashsale_http_in_flight_writes, flashsale_http_shed_total
//   flashsale_nats_state{state}  (a state set: 1 for the one of connected, disconnected, off)
//   flashsale_event_store_up     (1 while the store takes writes, as GET /health says)
//   cluster mode only: flashsale_cluster_partition_served{partition} (1 = served here),
//   flashsale_cluster_partitions_started_total, ..._partitions_stopped_total,
//   flashsale_cluster_partition_opens_total, flashsale_cluster_last_open_seconds,
//   flashsale_cluster_forwards_total{outcome}  (answered, unanswered)
// Series names are API.md's and docs/ops/ builds on them. Thread-safe: prometheus-cpp's
// metrics are; the label sets of the request series are cached behind a shared lock, so the
// request path does not hash its labels twice.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "actors/node_api.hpp"

namespace flashsale {

class http_metrics {
public:
  http_metrics();
  ~http_metrics();

  void observe_request(const std::string& method, const std::string& route, int status,
                       std::chrono::microseconds latency);
  /// One POST /orders answer: "created", "replayed", or an error code such as "sold_out".
  void observe_order(const std::string& outcome);
  /// From node_api::on_commit (runs on the store's writer thread: keep it short).
  void observe_commit(std::size_t events, std::chrono::microseconds duration);

  /// What is read from the node at each scrape.
  struct gauges {
    std::vector<product_view> products;
    node_stats stats;
    std::size_t in_flight_writes = 0;
    std::size_t shed = 0; ///< writes refused so far
    health_report health;
    /// POST /orders the edge answered itself since the node started, by outcome.
    std::map<std::string, std::int64_t> edge_orders;
  };
  std::string render(const gauges& g);

private:
  struct impl;
  std::unique_ptr<impl> self_;
};

} // namespace flashsale
