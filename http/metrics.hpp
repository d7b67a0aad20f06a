// The adapter's Prometheus metrics, rendered as text format 0.0.4 for GET /metrics:
//   flashsale_http_requests_total / flashsale_http_request_duration_seconds{method,route,status}
//     (route = the route pattern, e.g. "/orders/{order_id}", never the raw path, so label
//     cardinality stays bounded; "unmatched" for 404s and requests refused before routing)
//   flashsale_orders_total{outcome}  (created, replayed, or the error code of the answer)
//   flashsale_product_units{product_id,state}  (stock, available, reserved, sold)
//   flashsale_store_commit_duration_seconds, flashsale_store_commit_events (histograms)
//   flashsale_outbox_lag, flashsale_live_actors{kind}, flashsale_events_committed,
//   flashsale_http_in_flight_writes, flashsale_http_shed_total
// Thread-safe: counters are atomics; a shared lock guards only the creation of label sets.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <shared_mutex>
#include <string>
#include <tuple>
#include <vector>

#include "actors/node_api.hpp"

namespace flashsale {

/// A cumulative histogram with fixed upper bounds; the sum is kept in integer micro-units
/// (microseconds, or events × 10^6) so it can be an atomic.
class histogram {
public:
  explicit histogram(std::vector<double> bounds);
  void observe(double value);
  /// Appends the _bucket, _sum and _count lines of `name` with `labels` ("a=\"b\"" or "").
  void render(std::string& out, const std::string& name, const std::string& labels) const;

private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> buckets_;
  std::atomic<std::uint64_t> count_{0};
  std::atomic<std::uint64_t> sum_micros_{0};
};

class http_metrics {
public:
  http_metrics();

  void observe_request(const std::string& method, const std::string& route, int status,
                       std::chrono::microseconds latency);
  /// One POST /orders answer: "created", "replayed", or an error code such as "sold_out".
  void observe_order(const std::string& outcome);
  /// From node_api::on_commit (runs on the store's writer thread: only atomics).
  void observe_commit(std::size_t events, std::chrono::microseconds duration);

  struct gauges {
    std::vector<product_view> products;
    node_stats stats;
    std::size_t in_flight_writes = 0;
    std::size_t shed = 0;
  };
  std::string render(const gauges& g) const;

private:
  struct request_series {
    std::atomic<std::uint64_t> count{0};
    histogram latency;
    request_series();
  };
  using request_key = std::tuple<std::string, std::string, int>; ///< method, route, status

  template <class Map>
  static typename Map::mapped_type::element_type& series(std::shared_mutex& mutex, Map& map,
                                                         const typename Map::key_type& key);

  mutable std::shared_mutex mutex_;
  std::map<request_key, std::unique_ptr<request_series>> requests_;
  std::map<std::string, std::unique_ptr<std::atomic<std::uint64_t>>> orders_;
  histogram commit_seconds_;
  histogram commit_events_;
};

} // namespace flashsale
