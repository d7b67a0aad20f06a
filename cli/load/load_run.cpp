// Workers share one ticket counter: ticket k is buyer k % buyers, and in an open loop it is
// due at start + k / rate. A free worker takes the next ticket, so when all workers are busy
// the tickets wait and their measured latency grows, as a real crowd's would. Each worker
// keeps its own histogram (locked only against the progress thread) and its raw samples
// for the 100 ms timeline; they are merged after the join.
#include "cli/load/load_run.hpp"

#include <httplib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <memory>
#include <mutex>
#include <random>
#include <thread>

#include <nlohmann/json.hpp>

#include "cli/load/progress.hpp"

namespace flashsale::load {

namespace {

using json = nlohmann::json;
using steady = std::chrono::steady_clock;

struct sample {
  std::uint32_t sent_ms;    ///< scheduled send time since start
  std::uint32_t latency_us; ///< clamped to ~71 minutes
};

struct worker_state {
  std::mutex mutex; // guards `latency` against the progress thread
  latency_histogram latency;
  std::vector<sample> samples;
  std::vector<std::string> accepted_orders;
  std::map<std::string, std::uint64_t> other_4xx, shed_by, errors_by;
  std::uint64_t sold_out = 0;
  steady::time_point last_answer{};
};

/// Counters the progress thread reads while the workers run.
struct live_counters {
  std::atomic<std::uint64_t> requests{0}, accepted{0}, sold_out{0}, shed{0}, errors{0};
};

std::string error_code_of(const std::string& body) {
  auto j = json::parse(body, nullptr, false);
  if (j.is_object() && j.contains("error") && j["error"].is_object() && j["error"].contains("code")
      && j["error"]["code"].is_string())
    return j["error"]["code"].get<std::string>();
  return {};
}

std::string order_id_of(const httplib::Response& res) {
  auto j = json::parse(res.body, nullptr, false);
  if (j.is_object() && j.contains("order_id") && j["order_id"].is_string())
    return j["order_id"].get<std::string>();
  auto location = res.get_header_value("Location");
  auto slash = location.rfind('/');
  return slash == std::string::npos ? std::string{} : location.substr(slash + 1);
}

/// A random tag for this run's idempotency keys: the same --seed twice against one node
/// must not replay the first run's answers.
std::string run_nonce() {
  std::random_device rd;
  char buf[17];
  std::snprintf(buf, sizeof buf, "%08x%08x", rd(), rd());
  return buf;
}

class order_phase {
public:
  explicit order_phase(const scenario& plan) : plan_(plan), nonce_(run_nonce()) {
    if (plan_.open_loop())
      interval_ = std::chrono::duration<double>(1.0 / plan_.rate);
  }

  /// The accepted orders' ids, for the payment phase (valid after run()).
  std::vector<std::string> take_accepted() { return std::move(accepted_orders_); }

  void run(run_result& out) {
    start_ = steady::now();
    std::vector<std::unique_ptr<worker_state>> states;
    for (int i = 0; i < plan_.concurrency; ++i)
      states.push_back(std::make_unique<worker_state>());
    {
      progress_line progress([&] {
        progress_sample s;
        s.requests = live_.requests.load();
        s.accepted = live_.accepted.load();
        s.sold_out = live_.sold_out.load();
        s.shed = live_.shed.load();
        s.errors = live_.errors.load();
        latency_histogram merged;
        for (auto& w : states) {
          std::lock_guard<std::mutex> guard{w->mutex};
          merged.merge(w->latency);
        }
        s.p99_us = merged.percentile(0.99);
        return s;
      });
      std::vector<std::thread> threads;
      for (auto& w : states)
        threads.emplace_back([this, st = w.get()] { work(*st); });
      for (auto& t : threads)
        t.join();
      progress.stop();
    }
    collect(states, out);
  }

private:
  /// Next ticket's scheduled send time, or nullopt when the run is over.
  std::optional<std::pair<std::uint64_t, steady::time_point>> next_ticket() {
    std::uint64_t k = next_.fetch_add(1);
    if (!plan_.duration_s && k >= static_cast<std::uint64_t>(plan_.buyers))
      return std::nullopt;
    auto end = start_
               + std::chrono::duration_cast<steady::duration>(
                   std::chrono::duration<double>(plan_.duration_s.value_or(0)));
    steady::time_point due;
    if (plan_.open_loop())
      due = start_ + std::chrono::duration_cast<steady::duration>(interval_ * k);
    else
      due = steady::now();
    if (plan_.duration_s && due >= end)
      return std::nullopt;
    return std::make_pair(k, due);
  }

  void work(worker_state& st) {
    httplib::Client client(plan_.url);
    tune_client(client);
    const httplib::Headers no_headers;
    while (auto ticket = next_ticket()) {
      auto [k, due] = *ticket;
      if (plan_.open_loop())
        std::this_thread::sleep_until(due);
      std::uint64_t buyer = k % static_cast<std::uint64_t>(plan_.buyers);
      std::string user = "u-" + std::to_string(plan_.seed) + "-" + std::to_string(buyer);
      std::string body = R"({"user_id":")" + user + R"(","product_id":")" + plan_.product
                         + R"(","quantity":)" + std::to_string(plan_.quantity) + "}";
      httplib::Headers headers{{"Idempotency-Key", "load-" + nonce_ + "-" + std::to_string(k)}};
      auto res = client.Post("/orders", headers, body, "application/json");
      auto done = steady::now();
      auto latency = std::chrono::duration_cast<std::chrono::microseconds>(done - due).count();
      classify(st, res);
      {
        std::lock_guard<std::mutex> guard{st.mutex};
        st.latency.record(static_cast<std::uint64_t>(std::max<long long>(latency, 0)));
      }
      auto sent_ms = std::chrono::duration_cast<std::chrono::milliseconds>(due - start_).count();
      st.samples.push_back({static_cast<std::uint32_t>(sent_ms),
                            static_cast<std::uint32_t>(std::min<long long>(latency, UINT32_MAX))});
      st.last_answer = done;
      live_.requests.fetch_add(1, std::memory_order_relaxed);
    }
  }

  void classify(worker_state& st, const httplib::Result& res) {
    if (!res) {
      ++st.errors_by[httplib::to_string(res.error())];
      live_.errors.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    int status = res->status;
    if (status == 201) {
      auto id = order_id_of(*res);
      if (!id.empty()) {
        st.accepted_orders.push_back(std::move(id));
        live_.accepted.fetch_add(1, std::memory_order_relaxed);
        return;
      }
      ++st.errors_by["201 without order_id"];
      live_.errors.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    std::string code = error_code_of(res->body);
    std::string key = std::to_string(status) + (code.empty() ? "" : " " + code);
    if (status == 429 || status == 503) {
      ++st.shed_by[key];
      live_.shed.fetch_add(1, std::memory_order_relaxed);
    } else if (status == 409 && code == "sold_out") {
      ++st.sold_out;
      live_.sold_out.fetch_add(1, std::memory_order_relaxed);
    } else if (status >= 400 && status < 500) {
      ++st.other_4xx[key];
    } else { // 5xx and anything a POST /orders must never answer (200, 3xx)
      ++st.errors_by[key];
      live_.errors.fetch_add(1, std::memory_order_relaxed);
    }
  }

  void collect(std::vector<std::unique_ptr<worker_state>>& states, run_result& out) {
    steady::time_point last = start_;
    std::vector<sample> all;
    for (auto& w : states) {
      out.latency.merge(w->latency);
      out.sold_out += w->sold_out;
      for (auto& [k, n] : w->other_4xx)
        out.other_4xx[k] += n;
      for (auto& [k, n] : w->shed_by)
        out.shed_by[k] += n;
      for (auto& [k, n] : w->errors_by)
        out.errors_by[k] += n;
      for (auto& id : w->accepted_orders)
        accepted_orders_.push_back(std::move(id));
      all.insert(all.end(), w->samples.begin(), w->samples.end());
      last = std::max(last, w->last_answer);
    }
    out.requests = out.latency.count();
    out.accepted = accepted_orders_.size();
    out.accepted_units = static_cast<std::int64_t>(out.accepted) * plan_.quantity;
    for (auto& [k, n] : out.shed_by)
      out.shed += n;
    for (auto& [k, n] : out.errors_by)
      out.errors += n;
    out.elapsed_s = std::chrono::duration<double>(last - start_).count();
    out.timeline = timeline_of(all);
  }

  /// Exact p50/p99 per 100 ms slice of send time (nth_element on the slice's samples).
  static std::vector<timeline_point> timeline_of(std::vector<sample>& all) {
    std::sort(all.begin(), all.end(),
              [](const sample& a, const sample& b) { return a.sent_ms < b.sent_ms; });
    std::vector<timeline_point> out;
    std::vector<std::uint32_t> slice;
    for (size_t i = 0; i < all.size();) {
      std::uint32_t bucket = all[i].sent_ms / 100;
      slice.clear();
      for (; i < all.size() && all[i].sent_ms / 100 == bucket; ++i)
        slice.push_back(all[i].latency_us);
      auto at = [&](double q) {
        size_t rank = static_cast<size_t>(q * (slice.size() - 1) + 0.5);
        std::nth_element(slice.begin(), slice.begin() + rank, slice.end());
        return static_cast<std::uint64_t>(slice[rank]);
      };
      out.push_back({bucket * 0.1, slice.size(), at(0.5), at(0.99)});
    }
    return out;
  }

  const scenario& plan_;
  const std::string nonce_;
  std::chrono::duration<double> interval_{0};
  steady::time_point start_;
  std::atomic<std::uint64_t> next_{0};
  live_counters live_;
  std::vector<std::string> accepted_orders_;
};

/// Pays round(pay_share * accepted) of the accepted orders, chosen by a shuffle seeded with
/// --seed, spread over the same number of connections.
void pay_phase(const scenario& plan, std::vector<std::string> orders, run_result& out) {
  auto to_pay = static_cast<size_t>(std::llround(plan.pay_share * orders.size()));
  if (to_pay == 0)
    return;
  std::mt19937_64 rng(plan.seed);
  std::shuffle(orders.begin(), orders.end(), rng);
  orders.resize(to_pay);
  std::fprintf(stderr, "paying %zu of %llu accepted orders through the webhook\n", to_pay,
               static_cast<unsigned long long>(out.accepted));
  std::atomic<size_t> next{0};
  std::mutex merge_mutex;
  auto start = steady::now();
  std::vector<std::thread> threads;
  int workers = static_cast<int>(std::min<size_t>(plan.concurrency, to_pay));
  for (int i = 0; i < workers; ++i)
    threads.emplace_back([&] {
      httplib::Client client(plan.url);
      tune_client(client);
      latency_histogram latency;
      std::map<std::string, std::uint64_t> failures;
      std::uint64_t applied = 0;
      for (size_t j; (j = next.fetch_add(1)) < orders.size();) {
        auto t0 = steady::now();
        auto outcome = pay_order(client, orders[j], plan.webhook_secret);
        latency.record(
            std::chrono::duration_cast<std::chrono::microseconds>(steady::now() - t0).count());
        if (outcome.paid)
          ++applied;
        else
          ++failures[outcome.failure];
      }
      std::lock_guard<std::mutex> guard{merge_mutex};
      out.pay_latency.merge(latency);
      out.pay_applied += applied;
      for (auto& [k, n] : failures)
        out.pay_failures_by[k] += n;
    });
  for (auto& t : threads)
    t.join();
  out.pay_attempted = to_pay;
  out.paid_units = static_cast<std::int64_t>(out.pay_applied) * plan.quantity;
  out.pay_elapsed_s = std::chrono::duration<double>(steady::now() - start).count();
}

/// The product read back after the run. The view is a read model, so when it does not yet
/// show what we were told (accepted / paid units) it is read again for up to ~2 s.
void read_back(const scenario& plan, httplib::Client& client, run_result& out) {
  for (int attempt = 0; attempt < 20; ++attempt) {
    auto view = get_product(client, plan.product);
    if (auto* err = std::get_if<call_error>(&view)) {
      out.after.reset();
      out.after_error = err->message;
      if (!out.owned_product) // only our own product is worth waiting for
        return;
    } else {
      out.after = std::get<product_view>(view);
      out.after_error.clear();
      if (!out.owned_product || !out.before)
        return;
      auto committed = [](const product_view& v) { return v.reserved + v.sold; };
      if (committed(*out.after) - committed(*out.before) == out.accepted_units
          && out.after->sold - out.before->sold == out.paid_units)
        return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

} // namespace

run_result run_load(const scenario& plan) {
  run_result out;
  out.plan = plan;
  try {
    httplib::Client admin(plan.url);
    if (!admin.is_valid()) {
      out.setup_error = "cannot use URL '" + plan.url + "'";
      return out;
    }
    tune_client(admin);
    auto view = plan.stock ? put_product(admin, plan.product, *plan.stock, plan.admin_token)
                           : get_product(admin, plan.product);
    if (auto* err = std::get_if<call_error>(&view)) {
      // Asked to set the sale up and could not, or nobody answers: nothing to rehearse.
      if (plan.stock || !err->answered) {
        out.setup_error = err->message;
        return out;
      }
      // A product the target will not show may still take orders (or the target is no node,
      // e.g. the benchmark's trivial server): run anyway; the verdict fails on it.
      out.before_error = err->message;
      std::fprintf(stderr, "flashsale load: %s; running without a stock baseline\n",
                   err->message.c_str());
    } else {
      out.before = std::get<product_view>(view);
      out.owned_product = plan.stock.has_value();
    }

    order_phase orders(plan);
    orders.run(out);
    pay_phase(plan, orders.take_accepted(), out);
    read_back(plan, admin, out);
  } catch (const std::exception& e) { // httplib/json/thread errors end the run, not the process
    out.setup_error = std::string("load run failed: ") + e.what();
  }
  return out;
}

} // namespace flashsale::load
