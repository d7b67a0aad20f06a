#include "http/metrics.hpp"

#include <cmath>
#include <cstdio>
#include <mutex>

namespace flashsale {

namespace {

// Seconds: from sub-millisecond (an in-memory GET) to the 5 s read timeout.
const std::vector<double> latency_bounds{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                         0.05,   0.1,   0.25,   0.5,   1,     2.5, 5};
// Events per group commit: powers of two up to the largest groups seen under load.
const std::vector<double> batch_bounds{1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096};

std::string number(double v) {
  if (std::isinf(v))
    return "+Inf";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

/// Label values per the text format: backslash, quote and newline escaped.
std::string escape(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"')
      out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

void header(std::string& out, const char* name, const char* type, const char* help) {
  out += "# HELP ";
  out += name;
  out += ' ';
  out += help;
  out += "\n# TYPE ";
  out += name;
  out += ' ';
  out += type;
  out += '\n';
}

void sample(std::string& out, const std::string& name, const std::string& labels, double v) {
  out += name;
  if (!labels.empty())
    out += "{" + labels + "}";
  out += ' ';
  out += number(v);
  out += '\n';
}

} // namespace

histogram::histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)), buckets_(new std::atomic<std::uint64_t>[bounds_.size()]) {
  for (std::size_t i = 0; i < bounds_.size(); ++i)
    buckets_[i] = 0;
}

void histogram::observe(double value) {
  // Non-cumulative per bucket here; render() accumulates, so observe touches one counter.
  for (std::size_t i = 0; i < bounds_.size(); ++i)
    if (value <= bounds_[i]) {
      buckets_[i].fetch_add(1, std::memory_order_relaxed);
      break;
    }
  count_.fetch_add(1, std::memory_order_relaxed);
  sum_micros_.fetch_add(static_cast<std::uint64_t>(std::llround(value * 1e6)),
                        std::memory_order_relaxed);
}

void histogram::render(std::string& out, const std::string& name,
                       const std::string& labels) const {
  auto sep = labels.empty() ? "" : ",";
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < bounds_.size(); ++i) {
    cumulative += buckets_[i].load(std::memory_order_relaxed);
    sample(out, name + "_bucket", labels + sep + "le=\"" + number(bounds_[i]) + "\"",
           static_cast<double>(cumulative));
  }
  auto count = count_.load(std::memory_order_relaxed);
  // +Inf equals _count: a scrape racing an observe() may see a bucket before the count, so
  // take the larger and keep the buckets monotonic.
  sample(out, name + "_bucket", labels + sep + "le=\"+Inf\"",
         static_cast<double>(std::max(count, cumulative)));
  sample(out, name + "_sum", labels,
         static_cast<double>(sum_micros_.load(std::memory_order_relaxed)) / 1e6);
  sample(out, name + "_count", labels, static_cast<double>(std::max(count, cumulative)));
}

http_metrics::request_series::request_series() : latency(latency_bounds) {}

http_metrics::http_metrics() : commit_seconds_(latency_bounds), commit_events_(batch_bounds) {}

template <class Map>
typename Map::mapped_type::element_type&
http_metrics::series(std::shared_mutex& mutex, Map& map, const typename Map::key_type& key) {
  {
    std::shared_lock<std::shared_mutex> lock(mutex);
    auto it = map.find(key);
    if (it != map.end())
      return *it->second;
  }
  std::unique_lock<std::shared_mutex> lock(mutex);
  auto& slot = map[key];
  if (!slot)
    slot = std::make_unique<typename Map::mapped_type::element_type>();
  return *slot; // entries are never erased, so the reference outlives the lock
}

void http_metrics::observe_request(const std::string& method, const std::string& route,
                                   int status, std::chrono::microseconds latency) {
  auto& s = series(mutex_, requests_, request_key{method, route, status});
  s.count.fetch_add(1, std::memory_order_relaxed);
  s.latency.observe(static_cast<double>(latency.count()) / 1e6);
}

void http_metrics::observe_order(const std::string& outcome) {
  series(mutex_, orders_, outcome).fetch_add(1, std::memory_order_relaxed);
}

void http_metrics::observe_commit(std::size_t events, std::chrono::microseconds duration) {
  commit_seconds_.observe(static_cast<double>(duration.count()) / 1e6);
  commit_events_.observe(static_cast<double>(events));
}

std::string http_metrics::render(const gauges& g) const {
  std::string out;
  std::shared_lock<std::shared_mutex> lock(mutex_);
  header(out, "flashsale_http_requests_total", "counter",
         "HTTP requests answered, by method, route pattern and status.");
  for (auto& [key, s] : requests_)
    sample(out, "flashsale_http_requests_total",
           "method=\"" + escape(std::get<0>(key)) + "\",route=\"" + escape(std::get<1>(key))
             + "\",status=\"" + std::to_string(std::get<2>(key)) + "\"",
           static_cast<double>(s->count.load(std::memory_order_relaxed)));
  header(out, "flashsale_http_request_duration_seconds", "histogram",
         "Time from routing to the handler's return, by method, route pattern and status.");
  for (auto& [key, s] : requests_)
    s->latency.render(out, "flashsale_http_request_duration_seconds",
                      "method=\"" + escape(std::get<0>(key)) + "\",route=\""
                        + escape(std::get<1>(key)) + "\",status=\""
                        + std::to_string(std::get<2>(key)) + "\"");
  header(out, "flashsale_orders_total", "counter",
         "POST /orders answers by outcome: created, replayed, or the error code.");
  for (auto& [outcome, n] : orders_)
    sample(out, "flashsale_orders_total", "outcome=\"" + escape(outcome) + "\"",
           static_cast<double>(n->load(std::memory_order_relaxed)));
  lock.unlock();

  header(out, "flashsale_product_units", "gauge",
         "Units of each product by state; available + reserved + sold == stock.");
  for (auto& p : g.products) {
    auto id = "product_id=\"" + escape(p.product_id) + "\",state=";
    sample(out, "flashsale_product_units", id + "\"stock\"", static_cast<double>(p.stock));
    sample(out, "flashsale_product_units", id + "\"available\"",
           static_cast<double>(p.available));
    sample(out, "flashsale_product_units", id + "\"reserved\"", static_cast<double>(p.reserved));
    sample(out, "flashsale_product_units", id + "\"sold\"", static_cast<double>(p.sold));
  }
  header(out, "flashsale_store_commit_duration_seconds", "histogram",
         "Duration of each event store group commit, fsync included.");
  commit_seconds_.render(out, "flashsale_store_commit_duration_seconds", "");
  header(out, "flashsale_store_commit_events", "histogram", "Events per group commit.");
  commit_events_.render(out, "flashsale_store_commit_events", "");
  header(out, "flashsale_events_committed", "gauge", "Events committed to the store (last seq).");
  sample(out, "flashsale_events_committed", "", static_cast<double>(g.stats.last_seq));
  header(out, "flashsale_outbox_lag", "gauge",
         "Committed events not yet acknowledged by JetStream.");
  sample(out, "flashsale_outbox_lag", "", static_cast<double>(g.stats.outbox_lag));
  header(out, "flashsale_live_actors", "gauge", "Live actors by kind.");
  sample(out, "flashsale_live_actors", "kind=\"inventory\"",
         static_cast<double>(g.stats.inventory_actors));
  sample(out, "flashsale_live_actors", "kind=\"saga\"", static_cast<double>(g.stats.saga_actors));
  header(out, "flashsale_http_in_flight_writes", "gauge",
         "Order and webhook requests inside the node now.");
  sample(out, "flashsale_http_in_flight_writes", "", static_cast<double>(g.in_flight_writes));
  header(out, "flashsale_http_shed_total", "counter",
         "Write requests refused with 503 because too many were in flight.");
  sample(out, "flashsale_http_shed_total", "", static_cast<double>(g.shed));
  return out;
}

} // namespace flashsale
