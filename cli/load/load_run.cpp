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

#include "cli/load/crowd_run.hpp"
#include "cli/load/progress.hpp"

namespace flashsale::load {

namespace {

using json = nlohmann::json;
using steady = std::chrono::steady_clock;

struct worker_state {
  std::mutex mutex; // guards `latency` against the progress thread
  latency_histogram latency;
  std::vector<latency_sample> samples;
  outcome_tally tally;
  steady::time_point last_answer{};
};

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
        auto s = live_.sample();
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
    tune_client(client, plan_.ca_cert);
    const httplib::Headers no_headers;
    while (auto ticket = next_ticket()) {
      auto [k, due] = *ticket;
      if (plan_.open_loop())
        std::this_thread::sleep_until(due);
      std::uint64_t buyer = k % static_cast<std::uint64_t>(plan_.buyers);
      std::string body = order_body(plan_, buyer);
      httplib::Headers headers;
      if (plan_.idempotency_keys)
        headers.emplace("Idempotency-Key", idempotency_key(nonce_, k));
      auto res = client.Post("/orders", headers, body, "application/json");
      auto done = steady::now();
      auto latency = std::chrono::duration_cast<std::chrono::microseconds>(done - due).count();
      live_.count(
          res ? tally_answer(st.tally, res->status, res->body, res->get_header_value("Location"))
              : tally_failure(st.tally, httplib::to_string(res.error())));
      {
        std::lock_guard<std::mutex> guard{st.mutex};
        st.latency.record(static_cast<std::uint64_t>(std::max<long long>(latency, 0)));
      }
      auto sent_ms = std::chrono::duration_cast<std::chrono::milliseconds>(due - start_).count();
      st.samples.push_back(
          latency_sample{static_cast<std::uint32_t>(sent_ms),
                         static_cast<std::uint32_t>(std::min<long long>(latency, UINT32_MAX))});
      st.last_answer = done;
    }
  }

  void collect(std::vector<std::unique_ptr<worker_state>>& states, run_result& out) {
    steady::time_point last = start_;
    std::vector<latency_sample> all;
    outcome_tally tally;
    for (auto& w : states) {
      out.latency.merge(w->latency);
      tally.merge(std::move(w->tally));
      all.insert(all.end(), w->samples.begin(), w->samples.end());
      last = std::max(last, w->last_answer);
    }
    out.requests = out.latency.count();
    accepted_orders_ = out.add_outcomes(std::move(tally));
    out.elapsed_s = std::chrono::duration<double>(last - start_).count();
    out.timeline = timeline_of(all);
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
      tune_client(client, plan.ca_cert);
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

/// Exact p50/p99 per 100 ms slice of send time (nth_element on the slice's samples).
std::string run_nonce() {
  std::random_device rd;
  char buf[17];
  std::snprintf(buf, sizeof buf, "%08x%08x", rd(), rd());
  return buf;
}

std::string idempotency_key(const std::string& nonce, std::uint64_t ticket) {
  return "load-" + nonce + "-" + std::to_string(ticket);
}

std::string buyer_id(const scenario& plan, std::uint64_t buyer) {
  return "u-" + std::to_string(plan.seed) + "-" + std::to_string(buyer);
}

std::string order_body(const scenario& plan, std::uint64_t buyer) {
  return R"({"user_id":")" + buyer_id(plan, buyer) + R"(","product_id":")" + plan.product
         + R"(","quantity":)" + std::to_string(plan.quantity) + "}";
}

std::vector<timeline_point> timeline_of(std::vector<latency_sample>& all) {
  std::sort(all.begin(), all.end(),
            [](const latency_sample& a, const latency_sample& b) { return a.sent_ms < b.sent_ms; });
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

std::vector<std::string> run_result::add_outcomes(outcome_tally&& tally) {
  accepted = tally.accepted_orders.size();
  accepted_units = static_cast<std::int64_t>(accepted) * plan.quantity;
  sold_out = tally.sold_out;
  other_4xx = std::move(tally.other_4xx);
  shed_by = std::move(tally.shed_by);
  errors_by = std::move(tally.errors_by);
  shed = 0;
  for (auto& [k, n] : shed_by)
    shed += n;
  errors = 0;
  for (auto& [k, n] : errors_by)
    errors += n;
  return std::move(tally.accepted_orders);
}

run_result run_load(const scenario& plan) {
  run_result out;
  out.plan = plan;
  try {
    httplib::Client admin(plan.url);
    if (!admin.is_valid()) {
      out.setup_error = "cannot use URL '" + plan.url + "'";
      return out;
    }
    tune_client(admin, plan.ca_cert);
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

    std::vector<std::string> accepted;
    if (plan.crowd) {
      accepted = run_crowd(plan, out);
      if (!out.setup_error.empty())
        return out;
    } else {
      order_phase orders(plan);
      orders.run(out);
      accepted = orders.take_accepted();
    }
    pay_phase(plan, std::move(accepted), out);
    read_back(plan, admin, out);
  } catch (const std::exception& e) { // httplib/json/thread errors end the run, not the process
    out.setup_error = std::string("load run failed: ") + e.what();
  }
  return out;
}

} // namespace flashsale::load
