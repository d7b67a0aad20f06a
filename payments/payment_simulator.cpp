#include "payments/payment_simulator.hpp"

#include <httplib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <iostream>
#include <mutex>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>
#include <openssl/evp.h>

#include "events/envelope.hpp"
#include "payments/webhook_signature.hpp"
#include "persistence/jetstream.hpp"

namespace flashsale {

namespace {

using json = nlohmann::json;

constexpr std::size_t fetch_batch = 64;
/// Fetched messages a worker holds while their latency runs (bounded so AckWait stays honest:
/// at a few ms per webhook call, the last one is handled well within the margin).
constexpr std::size_t max_waiting = 256;
constexpr std::int64_t fetch_timeout_ms = 500;
/// AckWait beyond the latency: time for a batch of webhook calls (each bounded by the HTTP
/// timeouts below), so a slow but healthy round is not redelivered behind our back.
constexpr std::int64_t ack_wait_margin_ms = 5000;

std::uint64_t splitmix64(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

enum class verdict { ack, retry, dead_letter };

} // namespace

bool simulator_pays(std::uint64_t seed, double success_rate, std::string_view order_id) {
  std::uint64_t h = 1469598103934665603ULL; // FNV-1a, then mixed with the seed
  for (unsigned char c : order_id)
    h = (h ^ c) * 1099511628211ULL;
  double u = static_cast<double>(splitmix64(h ^ seed) >> 11) / 9007199254740992.0; // [0, 1)
  return u < success_rate;
}

struct payment_simulator::impl {
  payment_simulator_options options;
  std::unique_ptr<jetstream_client> client;
  std::vector<std::thread> workers;
  std::mutex mutex;
  std::condition_variable stop_signal;
  bool stopping = false;
  std::atomic<std::int64_t> succeeded{0}, failed{0}, settled{0}, retried{0}, dead_lettered{0};

  /// Where the OrderReserved events are: one stream, or one per partition of a cluster.
  struct source {
    std::string stream, filter;
  };
  std::vector<source> sources;

  pull_consumer_spec consumer(int worker) const {
    auto& from = sources[static_cast<std::size_t>(worker) % sources.size()];
    pull_consumer_spec spec;
    spec.stream = from.stream;
    spec.durable = payments_consumer;
    spec.filter_subject = from.filter;
    spec.ack_wait_ms = options.latency_ms + ack_wait_margin_ms;
    spec.max_deliver = options.max_deliver;
    return spec;
  }

  /// Sleeps until `deadline` unless stopping; false when stopping.
  bool sleep_until(std::chrono::steady_clock::time_point deadline) {
    std::unique_lock<std::mutex> lock(mutex);
    return !stop_signal.wait_until(lock, deadline, [&] { return stopping; });
  }
  bool sleep_for(std::chrono::milliseconds d) {
    return sleep_until(std::chrono::steady_clock::now() + d);
  }

  /// Creates the DLQ stream and the consumer, then binds; retried until it works or we stop.
  std::unique_ptr<pull_subscription> bind(int worker) {
    auto backoff = std::chrono::milliseconds(100);
    std::string last_problem;
    while (sleep_for(std::chrono::milliseconds(0))) {
      std::string problem;
      if (!client->connected()) {
        problem = "not connected to NATS at " + redact_nats_url(options.nats_url);
      } else {
        stream_spec dlq;
        dlq.name = dlq_stream;
        dlq.subjects = {"flashsale.dlq.>"};
        dlq.max_age_hours = options.dlq_max_age_hours;
        if (auto e = client->ensure_stream(dlq))
          problem = "cannot create stream " + std::string(dlq_stream) + ": " + e->message;
        else if (auto e = client->ensure_pull_consumer(consumer(worker)))
          problem = "cannot create consumer " + std::string(payments_consumer)
                    + " (is the node's stream there yet?): " + e->message;
        else {
          auto bound = client->bind_pull(consumer(worker));
          if (auto sub = std::get_if<0>(&bound))
            return std::move(*sub);
          problem = "cannot bind consumer: " + std::get<jetstream_error>(bound).message;
        }
      }
      if (problem != last_problem && worker == 0) // one line per new problem, not per retry
        std::cerr << "flashsale: pay-sim: " << problem << "; retrying" << std::endl;
      last_problem = problem;
      if (!sleep_for(backoff))
        break;
      backoff = std::min(backoff * 2, std::chrono::milliseconds(2000));
    }
    return nullptr;
  }

  verdict call_webhook(httplib::Client& http, const json& data, std::string& reason) {
    std::string order_id = data.at("order_id").get<std::string>();
    bool pays = simulator_pays(options.seed, options.success_rate, order_id);
    json body = {{"event_id", "sim-" + order_id},
                 {"order_id", order_id},
                 {"payment_id", "simpay-" + order_id},
                 {"status", pays ? "succeeded" : "failed"},
                 {"amount_cents", data.value("total_cents", std::int64_t{0})}};
    std::string text = body.dump();
    auto now = std::chrono::duration_cast<std::chrono::seconds>(
                   std::chrono::system_clock::now().time_since_epoch())
                   .count();
    httplib::Headers headers = {
        {webhook_signature_header, sign_webhook(options.webhook_secret, now, text)}};
    auto r = http.Post("/payments/webhook", headers, text, "application/json");
    if (!r) {
      reason = "webhook call failed: " + httplib::to_string(r.error());
      return verdict::retry;
    }
    if (r->status == 200) {
      ++(pays ? succeeded : failed);
      return verdict::ack;
    }
    reason = "webhook answered " + std::to_string(r->status) + ": " + r->body;
    if (r->status == 404 || r->status == 409) { // the order is gone or settled: final
      ++settled;
      return verdict::ack;
    }
    if (r->status == 400 || r->status == 413 || r->status == 422)
      return verdict::dead_letter; // this request will never be accepted
    return verdict::retry;         // 401 (clock, secret rotation), 429, 5xx
  }

  void dead_letter(received_message& m, const std::string& reason) {
    json letter = {{"reason", reason},
                   {"subject", m.subject()},
                   {"stream_seq", m.stream_seq()},
                   {"num_delivered", m.num_delivered()}};
    auto original = json::parse(m.data(), nullptr, false);
    letter["data"] = original.is_discarded() ? json(m.data()) : original;
    auto id = std::string("payments-") + std::to_string(m.stream_seq());
    if (auto e = client->publish(payments_dlq_subject, id, letter.dump())) {
      // Not parked yet: keep the message (redelivered later) rather than drop it.
      m.nak(1000);
      return;
    }
    ++dead_lettered;
    std::cerr << "flashsale: pay-sim: dead-lettered stream seq " << m.stream_seq() << " to "
              << payments_dlq_subject << " after " << m.num_delivered() << " deliveries: " << reason
              << std::endl;
    m.term();
  }

  void handle(httplib::Client& http, received_message& m) {
    std::string reason;
    verdict v = verdict::dead_letter;
    try {
      json env = json::parse(m.data());
      const json& field = env.at("data"); // an object in the envelope's wire form
      json data = field.is_string() ? json::parse(field.get<std::string>()) : field;
      v = call_webhook(http, data, reason);
    } catch (const std::exception& e) { // untrusted input: park it, never crash on it
      reason = std::string("malformed OrderReserved message: ") + e.what();
    }
    if (v == verdict::retry && m.num_delivered() >= static_cast<std::uint64_t>(options.max_deliver))
      v = verdict::dead_letter;
    switch (v) {
    case verdict::ack:
      m.ack();
      break;
    case verdict::retry: {
      ++retried;
      auto delay =
          std::min<std::int64_t>(250LL << std::min<std::uint64_t>(m.num_delivered(), 4), 4000);
      m.nak(delay);
      break;
    }
    case verdict::dead_letter:
      dead_letter(m, reason);
      break;
    }
  }

  /// One worker: fetches on its own subscription and keeps what it fetched in a queue ordered
  /// by due time (fetch time + latency), so the latency overlaps across messages instead of
  /// adding up, and fetching goes on while earlier payments wait.
  void run(int worker) {
    httplib::Client http(options.node_url);
    http.enable_server_certificate_verification(options.verify_certificate);
    if (!options.ca_file.empty())
      http.set_ca_cert_path(options.ca_file);
    http.set_connection_timeout(1, 0);
    http.set_read_timeout(3, 0);
    http.set_write_timeout(3, 0);
    http.set_keep_alive(true);
    http.set_tcp_nodelay(true); // else each keep-alive call waits ~40 ms (Nagle + delayed ACK)
    std::unique_ptr<pull_subscription> sub;
    std::deque<std::pair<std::chrono::steady_clock::time_point, received_message>> waiting;
    int errors = 0;
    while (sleep_for(std::chrono::milliseconds(0))) {
      auto now = std::chrono::steady_clock::now();
      while (!waiting.empty() && waiting.front().first <= now) {
        handle(http, waiting.front().second);
        waiting.pop_front();
        now = std::chrono::steady_clock::now();
      }
      if (waiting.size() >= max_waiting) {
        if (!sleep_until(waiting.front().first))
          return;
        continue;
      }
      if (!sub && !(sub = bind(worker)))
        return;
      auto timeout = fetch_timeout_ms;
      if (!waiting.empty())
        timeout = std::clamp<std::int64_t>(
            std::chrono::duration_cast<std::chrono::milliseconds>(waiting.front().first - now)
                .count(),
            1, fetch_timeout_ms);
      auto fetched = sub->fetch(
          static_cast<int>(std::min<std::size_t>(fetch_batch, max_waiting - waiting.size())),
          timeout);
      if (std::holds_alternative<jetstream_error>(fetched)) {
        if (++errors >= 3) // e.g. the consumer was deleted: create and bind again
          sub.reset();
        if (!sleep_for(std::chrono::milliseconds(200)))
          return;
        continue;
      }
      errors = 0;
      auto due = std::chrono::steady_clock::now() + std::chrono::milliseconds(options.latency_ms);
      for (auto& m : std::get<0>(fetched))
        waiting.emplace_back(due, std::move(m));
    }
    // Stopping: what waits is neither acked nor lost; it is redelivered after AckWait.
  }
};

std::variant<std::unique_ptr<payment_simulator>, std::string>
payment_simulator::start(payment_simulator_options options) {
  if (options.node_url.empty() || options.nats_url.empty())
    return std::string("payment simulator: node URL and NATS URL are required");
  if (options.webhook_secret.empty())
    return std::string("payment simulator: the webhook secret is empty");
  if (options.workers < 1 || options.max_deliver < 1 || options.latency_ms < 0
      || options.success_rate < 0 || options.success_rate > 1)
    return std::string("payment simulator: workers and max_deliver must be >= 1, latency >= 0, "
                       "success rate in 0..1");
  auto self = std::make_unique<impl>();
  self->options = std::move(options);
  if (self->options.cluster_partitions <= 0) {
    self->sources.push_back({jetstream_stream, payments_subject});
  } else {
    for (int p = 0; p < self->options.cluster_partitions; ++p)
      self->sources.push_back({"FLASHSALE_P" + std::to_string(p),
                               "flashsale.p." + std::to_string(p) + ".order.*.OrderReserved"});
    // Every partition's consumer needs a worker of its own.
    self->options.workers = std::max(self->options.workers, self->options.cluster_partitions);
  }
  jetstream_options jo;
  jo.url = self->options.nats_url;
  jo.name = "flashsale-pay-sim";
  jo.security = self->options.nats;
  auto connected = jetstream_client::connect(std::move(jo));
  if (auto e = std::get_if<jetstream_error>(&connected))
    return "payment simulator: cannot connect to NATS: " + e->message;
  self->client = std::move(std::get<0>(connected));
  auto* raw = self.get();
  for (int i = 0; i < self->options.workers; ++i)
    self->workers.emplace_back([raw, i] { raw->run(i); });
  return std::unique_ptr<payment_simulator>(new payment_simulator(std::move(self)));
}

payment_simulator::payment_simulator(std::unique_ptr<impl> self) : self_(std::move(self)) {}

payment_simulator::~payment_simulator() {
  {
    std::lock_guard<std::mutex> lock(self_->mutex);
    self_->stopping = true;
  }
  self_->stop_signal.notify_all();
  for (auto& t : self_->workers)
    t.join();
}

payment_simulator_stats payment_simulator::stats() const {
  payment_simulator_stats s;
  s.succeeded = self_->succeeded;
  s.failed = self_->failed;
  s.settled = self_->settled;
  s.retried = self_->retried;
  s.dead_lettered = self_->dead_lettered;
  return s;
}

} // namespace flashsale
