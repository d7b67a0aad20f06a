#include "http/metrics.hpp"

#include <algorithm>
#include <map>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <tuple>

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include "events/errors.hpp"

namespace flashsale {

namespace {

using prometheus::Counter;
using prometheus::Family;
using prometheus::Gauge;
using prometheus::Histogram;

// Seconds: from a tenth of a millisecond (a sold-out answer, an in-memory GET) to the 5 s
// read timeout.
const Histogram::BucketBoundaries latency_bounds{
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5};
// Events per group commit: powers of two up to the largest groups seen under load.
const Histogram::BucketBoundaries batch_bounds{1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096};

} // namespace

struct http_metrics::impl {
  prometheus::Registry registry;
  Family<Counter>& requests =
      prometheus::BuildCounter()
          .Name("flashsale_http_requests_total")
          .Help("HTTP requests answered, by method, route pattern and status.")
          .Register(registry);
  Family<Histogram>& durations =
      prometheus::BuildHistogram()
          .Name("flashsale_http_request_duration_seconds")
          .Help("Time from routing to the handler's return, by method, route pattern and status.")
          .Register(registry);
  Family<Counter>& orders =
      prometheus::BuildCounter()
          .Name("flashsale_orders_total")
          .Help("POST /orders answers by outcome: created, replayed, or the error code.")
          .Register(registry);
  Family<Gauge>& units =
      prometheus::BuildGauge()
          .Name("flashsale_product_units")
          .Help("Units of each product by state; available + reserved + sold == stock.")
          .Register(registry);
  Histogram& commit_seconds =
      prometheus::BuildHistogram()
          .Name("flashsale_store_commit_duration_seconds")
          .Help("Duration of each event store group commit, fsync included.")
          .Register(registry)
          .Add({}, latency_bounds);
  Histogram& commit_events = prometheus::BuildHistogram()
                                 .Name("flashsale_store_commit_events")
                                 .Help("Events per group commit.")
                                 .Register(registry)
                                 .Add({}, batch_bounds);
  Gauge& committed = prometheus::BuildGauge()
                         .Name("flashsale_events_committed")
                         .Help("Events committed to the store (last seq).")
                         .Register(registry)
                         .Add({});
  Gauge& outbox_lag = prometheus::BuildGauge()
                          .Name("flashsale_outbox_lag")
                          .Help("Committed events not yet acknowledged by JetStream.")
                          .Register(registry)
                          .Add({});
  Family<Gauge>& actors = prometheus::BuildGauge()
                              .Name("flashsale_live_actors")
                              .Help("Live actors by kind.")
                              .Register(registry);
  Gauge& in_flight = prometheus::BuildGauge()
                         .Name("flashsale_http_in_flight_writes")
                         .Help("Order and webhook requests inside the node now.")
                         .Register(registry)
                         .Add({});
  Family<Gauge>& nats_state = prometheus::BuildGauge()
                                  .Name("flashsale_nats_state")
                                  .Help("The node's link to NATS: 1 for its current state.")
                                  .Register(registry);
  Gauge& store_up = prometheus::BuildGauge()
                        .Name("flashsale_event_store_up")
                        .Help("1 while the event store takes writes.")
                        .Register(registry)
                        .Add({});
  Family<Counter>& edge_orders =
      prometheus::BuildCounter()
          .Name("flashsale_edge_orders_total")
          .Help("POST /orders the HAProxy edge answered itself, by outcome (sold_out); "
                "flashsale_orders_total counts them too.")
          .Register(registry);
  Counter& shed = prometheus::BuildCounter()
                      .Name("flashsale_http_shed_total")
                      .Help("Write requests refused with 503 because the node was behind.")
                      .Register(registry)
                      .Add({});
  // Cluster mode only (registered at the first scrape that has them): single-node /metrics
  // stays as it was.
  struct cluster_series {
    Family<Gauge>& served;
    Counter& started;
    Counter& stopped;
    Counter& opens;
    Gauge& last_open;
    Family<Counter>& forwards;
  };
  std::optional<cluster_series> cluster;
  std::map<std::string, double> seen; ///< counters the node reports as totals: what was added

  /// The request series by (method, route, status); entries are never erased, so the
  /// pointers outlive the lock.
  struct request_series {
    Counter* count;
    Histogram* latency;
  };
  std::shared_mutex mutex;
  std::map<std::tuple<std::string, std::string, int>, request_series> request_cache;
  std::map<std::string, Counter*> order_cache;
  std::mutex scrape; ///< one render at a time (the shed counter moves by deltas)

  /// Moves `counter` up to the node's total `now` (counters only go up; a total lower than
  /// seen, after a restart of what counts, is ignored).
  void advance(Counter& counter, const std::string& key, double now) {
    auto& was = seen[key];
    if (now > was) {
      counter.Increment(now - was);
      was = now;
    }
  }

  void render_cluster(const node_stats::cluster_part& c) {
    if (!cluster) {
      auto counter = [&](const char* name, const char* help) -> Counter& {
        return prometheus::BuildCounter().Name(name).Help(help).Register(registry).Add({});
      };
      cluster.emplace(cluster_series{
          prometheus::BuildGauge()
              .Name("flashsale_cluster_partition_served")
              .Help("1 for each partition this node serves now, 0 for the others.")
              .Register(registry),
          counter("flashsale_cluster_partitions_started_total",
                  "Partitions this node began serving (take-overs, its share at start)."),
          counter("flashsale_cluster_partitions_stopped_total",
                  "Partitions this node stopped serving (lease lost or given back, fenced)."),
          counter("flashsale_cluster_partition_opens_total",
                  "Partitions opened from their logs (claim, snapshot and tail read)."),
          prometheus::BuildGauge()
              .Name("flashsale_cluster_last_open_seconds")
              .Help("How long the last partition took from its assignment to serving.")
              .Register(registry)
              .Add({}),
          prometheus::BuildCounter()
              .Name("flashsale_cluster_forwards_total")
              .Help(
                  "Requests sent to another partition's owner, by outcome (answered, unanswered).")
              .Register(registry)});
    }
    auto& k = *cluster;
    std::vector<bool> served(static_cast<std::size_t>(std::max(c.partitions, 0)));
    for (int p : c.served)
      if (p >= 0 && p < c.partitions)
        served[static_cast<std::size_t>(p)] = true;
    for (std::size_t p = 0; p < served.size(); ++p)
      k.served.Add({{"partition", std::to_string(p)}}).Set(served[p] ? 1 : 0);
    advance(k.started, "started", static_cast<double>(c.partitions_started));
    advance(k.stopped, "stopped", static_cast<double>(c.partitions_stopped));
    advance(k.opens, "opens", static_cast<double>(c.opens));
    k.last_open.Set(c.last_open_seconds);
    advance(k.forwards.Add({{"outcome", "answered"}}), "answered",
            static_cast<double>(c.forwarded - c.forwards_unanswered));
    advance(k.forwards.Add({{"outcome", "unanswered"}}), "unanswered",
            static_cast<double>(c.forwards_unanswered));
  }

  request_series& series(const std::string& method, const std::string& route, int status) {
    auto key = std::make_tuple(method, route, status);
    {
      std::shared_lock<std::shared_mutex> lock(mutex);
      if (auto it = request_cache.find(key); it != request_cache.end())
        return it->second;
    }
    std::unique_lock<std::shared_mutex> lock(mutex);
    auto [it, added] = request_cache.try_emplace(key, request_series{nullptr, nullptr});
    if (added) {
      prometheus::Labels labels{
          {"method", method}, {"route", route}, {"status", std::to_string(status)}};
      it->second = request_series{&requests.Add(labels), &durations.Add(labels, latency_bounds)};
    }
    return it->second;
  }

  Counter& order(const std::string& outcome) {
    {
      std::shared_lock<std::shared_mutex> lock(mutex);
      if (auto it = order_cache.find(outcome); it != order_cache.end())
        return *it->second;
    }
    std::unique_lock<std::shared_mutex> lock(mutex);
    auto& slot = order_cache[outcome];
    if (!slot)
      slot = &orders.Add({{"outcome", outcome}});
    return *slot;
  }
};

http_metrics::http_metrics() : self_(std::make_unique<impl>()) {
  // A counter Prometheus first sees at 4 has no increase: the first sold_out of a sale would
  // be missing from every rate(). So the outcomes of a sale exist, at 0, from the start;
  // rarer ones (an internal error, say) appear when they happen.
  for (const char* outcome : {"created", "replayed"})
    self_->order(outcome);
  for (errc e :
       {errc::sold_out, errc::limit_exceeded, errc::sale_not_started, errc::unknown_product,
        errc::invalid_request, errc::idempotency_key_reused, errc::rate_limited, errc::unavailable})
    self_->order(code_string(e));
}

http_metrics::~http_metrics() = default;

void http_metrics::observe_request(const std::string& method, const std::string& route, int status,
                                   std::chrono::microseconds latency) {
  auto& s = self_->series(method, route, status);
  s.count->Increment();
  s.latency->Observe(static_cast<double>(latency.count()) / 1e6);
}

void http_metrics::observe_order(const std::string& outcome) {
  self_->order(outcome).Increment();
}

void http_metrics::observe_commit(std::size_t events, std::chrono::microseconds duration) {
  self_->commit_seconds.Observe(static_cast<double>(duration.count()) / 1e6);
  self_->commit_events.Observe(static_cast<double>(events));
}

std::string http_metrics::render(const gauges& g) {
  auto& s = *self_;
  std::lock_guard<std::mutex> guard{s.scrape};
  for (const auto& p : g.products) {
    auto set = [&](const char* state, std::int64_t v) {
      s.units.Add({{"product_id", p.product_id}, {"state", state}}).Set(static_cast<double>(v));
    };
    set("stock", p.stock);
    set("available", p.available);
    set("reserved", p.reserved);
    set("sold", p.sold);
  }
  s.committed.Set(static_cast<double>(g.stats.last_seq));
  s.outbox_lag.Set(static_cast<double>(g.stats.outbox_lag));
  s.actors.Add({{"kind", "inventory"}}).Set(static_cast<double>(g.stats.inventory_actors));
  s.actors.Add({{"kind", "saga"}}).Set(static_cast<double>(g.stats.saga_actors));
  s.in_flight.Set(static_cast<double>(g.in_flight_writes));
  for (const char* state : {"connected", "disconnected", "off"})
    s.nats_state.Add({{"state", state}}).Set(g.health.nats == state ? 1 : 0);
  s.store_up.Set(g.health.event_store_ok ? 1 : 0);
  s.advance(s.shed, "shed", static_cast<double>(g.shed));
  for (const auto& [outcome, total] : g.edge_orders) {
    // Totals since the node started: both series move by what the edge added since the last
    // scrape, so the node's own answers and the edge's add up in flashsale_orders_total.
    s.advance(s.edge_orders.Add({{"outcome", outcome}}), "edge " + outcome,
              static_cast<double>(total));
    s.advance(s.order(outcome), "edge orders " + outcome, static_cast<double>(total));
  }
  if (g.stats.cluster)
    s.render_cluster(*g.stats.cluster);
  return prometheus::TextSerializer().Serialize(s.registry.Collect());
}

} // namespace flashsale
