#include "cli/load/report.hpp"

#include <cstdio>
#include <sstream>

namespace flashsale::load {

namespace {

std::string fmt(const char* format, double a) {
  char buf[64];
  std::snprintf(buf, sizeof buf, format, a);
  return buf;
}

std::string ms(std::uint64_t micros) {
  return fmt("%.3f", micros / 1000.0);
}

std::string view_text(const product_view& v) {
  return "stock " + std::to_string(v.stock) + ", available " + std::to_string(v.available)
         + ", reserved " + std::to_string(v.reserved) + ", sold " + std::to_string(v.sold);
}

nlohmann::json view_json(const std::optional<product_view>& v) {
  if (!v)
    return nullptr;
  return {{"stock", v->stock},
          {"available", v->available},
          {"reserved", v->reserved},
          {"sold", v->sold}};
}

nlohmann::json latency_json(const latency_histogram& h) {
  auto q = [&](double p) { return h.percentile(p) / 1000.0; };
  return {{"count", h.count()},      {"p50", q(0.5)},
          {"p90", q(0.9)},           {"p99", q(0.99)},
          {"p99_9", q(0.999)},       {"max", h.max() / 1000.0},
          {"min", h.min() / 1000.0}, {"mean", h.mean() / 1000.0}};
}

nlohmann::json crowd_json(const std::optional<crowd_figures>& c) {
  if (!c)
    return nullptr;
  return {{"buyers", c->buyers},
          {"answered", c->buyers - c->unanswered},
          {"unanswered", c->unanswered},
          {"connect_failed", c->connect_failed},
          {"over_1s", c->over_1s},
          {"dropped_idle", c->dropped_idle},
          {"idle_sockets", c->idle_sockets},
          {"idle_closed", c->idle_closed},
          {"arrival_lag_ms", c->arrival_lag_ms}};
}

} // namespace

verdict judge(const run_result& r) {
  verdict v;
  auto add = [&](std::string name, bool pass, std::string detail) {
    v.checks.push_back({std::move(name), pass, std::move(detail)});
  };
  if (!r.setup_error.empty())
    add("run_started", false, r.setup_error);
  if (!r.before_error.empty())
    add("product_read_before", false, r.before_error);
  if (!r.after) {
    if (r.setup_error.empty()) // else the run never started and run_started says why
      add("product_read_back", false,
          r.after_error.empty() ? "the product was not read after the run" : r.after_error);
  } else {
    const auto& a = *r.after;
    bool sums = a.available + a.reserved + a.sold == a.stock;
    bool non_negative = a.available >= 0 && a.reserved >= 0 && a.sold >= 0;
    add("no_oversell", sums && non_negative,
        view_text(a) + (sums ? "" : ": available + reserved + sold != stock")
            + (non_negative ? "" : ": a negative count"));
    if (r.before) {
      const auto& b = *r.before;
      add("accepted_within_stock", r.accepted_units <= b.available,
          std::to_string(r.accepted_units) + " units accepted, " + std::to_string(b.available)
              + " were available");
      std::int64_t committed = (a.reserved + a.sold) - (b.reserved + b.sold);
      std::int64_t sold = a.sold - b.sold;
      if (r.owned_product) { // nobody else touched it, so the counts must match exactly
        add("accepted_matches_product", committed == r.accepted_units,
            std::to_string(r.accepted_units) + " units accepted, product shows "
                + std::to_string(committed) + " more reserved + sold");
        add("sold_matches_paid", sold == r.paid_units,
            std::to_string(r.paid_units) + " units paid, product shows " + std::to_string(sold)
                + " more sold");
      } else { // others may buy too; ours must at least be there
        add("sold_covers_paid", sold >= r.paid_units,
            std::to_string(r.paid_units) + " units paid, product shows " + std::to_string(sold)
                + " more sold");
      }
    }
  }
  if (r.crowd)
    add("every_buyer_answered", r.crowd->unanswered == 0,
        std::to_string(r.crowd->unanswered) + " of " + std::to_string(r.crowd->buyers)
            + " buyers got no answer");
  add("no_errors", r.errors == 0,
      std::to_string(r.errors) + " order requests failed (5xx or connection errors)");
  add("payments_applied", r.pay_applied == r.pay_attempted,
      std::to_string(r.pay_applied) + " of " + std::to_string(r.pay_attempted)
          + " payments applied");
  if (r.plan.strict)
    add("no_shed", r.shed == 0, std::to_string(r.shed) + " requests shed (429/503)");
  v.pass = true;
  for (auto& c : v.checks)
    v.pass = v.pass && c.pass;
  return v;
}

std::string text_report(const run_result& r, const verdict& v) {
  std::ostringstream o;
  const auto& p = r.plan;
  o << "flashsale load: " << p.url << " product " << p.product << ", " << p.buyers << " buyers, ";
  if (p.crowd)
    o << "a crowd: one connection each, arriving over " << fmt("%.1f", p.arrival_window_s)
      << " s, holding " << fmt("%.1f", p.hold_s) << " s after the answer, " << p.idle_sockets
      << " idle sockets beside\n";
  else
    o << p.concurrency << " connections, "
      << (p.open_loop() ? "open loop at " + fmt("%.0f", p.rate) + "/s" : std::string("closed loop"))
      << "\n";
  if (!r.setup_error.empty())
    o << "  run failed: " << r.setup_error << "\n";
  o << "\norders       " << r.requests << " in " << fmt("%.2f", r.elapsed_s)
    << " s = " << fmt("%.0f", r.throughput()) << " req/s\n";
  o << "  accepted   " << r.accepted << " (" << r.accepted_units << " units)\n";
  o << "  sold_out   " << r.sold_out << "\n";
  for (auto& [k, n] : r.other_4xx)
    o << "  4xx        " << n << "  " << k << "\n";
  o << "  shed       " << r.shed << "\n";
  for (auto& [k, n] : r.shed_by)
    o << "             " << n << "  " << k << "\n";
  o << "  errors     " << r.errors << "\n";
  for (auto& [k, n] : r.errors_by)
    o << "             " << n << "  " << k << "\n";
  const auto& h = r.latency;
  o << "latency ms   p50 " << ms(h.percentile(0.5)) << "  p90 " << ms(h.percentile(0.9)) << "  p99 "
    << ms(h.percentile(0.99)) << "  p99.9 " << ms(h.percentile(0.999)) << "  max " << ms(h.max())
    << (p.open_loop() ? "  (from scheduled send time)" : "") << "\n";
  if (r.crowd) {
    const auto& c = *r.crowd;
    o << "buyers       " << c.buyers << ": answered " << (c.buyers - c.unanswered)
      << ", unanswered " << c.unanswered << " (connect failed " << c.connect_failed
      << "), waited > 1 s " << c.over_1s << "\n";
    o << "  wait ms    p50 " << ms(h.percentile(0.5)) << "  p99 " << ms(h.percentile(0.99))
      << "  max " << ms(h.max()) << "  (from the buyer's connect to the whole answer)\n";
    o << "  idle       " << c.dropped_idle << " buyers' idle connections closed by the server; "
      << c.idle_sockets << " silent sockets connected, " << c.idle_closed
      << " of them closed by the server\n";
    o << "  schedule   the last buyer connected " << fmt("%.1f", c.arrival_lag_ms)
      << " ms behind its arrival time at worst\n";
  }
  if (r.pay_attempted > 0) {
    o << "payments     " << r.pay_applied << " of " << r.pay_attempted << " applied ("
      << r.paid_units << " units) in " << fmt("%.2f", r.pay_elapsed_s) << " s, p99 "
      << ms(r.pay_latency.percentile(0.99)) << " ms\n";
    for (auto& [k, n] : r.pay_failures_by)
      o << "             " << n << " failed: " << k << "\n";
  }
  if (r.before)
    o << "product      before: " << view_text(*r.before) << "\n";
  if (r.after)
    o << "             after:  " << view_text(*r.after) << "\n";
  o << "\nverdict: " << (v.pass ? "PASS" : "FAIL") << "\n";
  for (auto& c : v.checks)
    if (!c.pass)
      o << "  FAILED " << c.name << ": " << c.detail << "\n";
  return o.str();
}

nlohmann::json json_report(const run_result& r, const verdict& v) {
  const auto& p = r.plan;
  nlohmann::json checks = nlohmann::json::array();
  nlohmann::json failed = nlohmann::json::array();
  for (auto& c : v.checks) {
    checks.push_back({{"name", c.name}, {"pass", c.pass}, {"detail", c.detail}});
    if (!c.pass)
      failed.push_back(c.name);
  }
  nlohmann::json timeline = nlohmann::json::array();
  for (auto& t : r.timeline)
    timeline.push_back({t.t_s, t.count, t.p50_us / 1000.0, t.p99_us / 1000.0});
  return {
      {"scenario",
       {{"url", p.url},
        {"product", p.product},
        {"stock", p.stock ? nlohmann::json(*p.stock) : nullptr},
        {"buyers", p.buyers},
        {"concurrency", p.concurrency},
        {"quantity", p.quantity},
        {"rate", p.rate},
        {"duration_s", p.duration_s ? nlohmann::json(*p.duration_s) : nullptr},
        {"pay_share", p.pay_share},
        {"seed", p.seed},
        {"strict", p.strict},
        {"idempotency_keys", p.idempotency_keys},
        {"arrival_window_s", p.crowd ? nlohmann::json(p.arrival_window_s) : nullptr},
        {"hold_s", p.crowd ? nlohmann::json(p.hold_s) : nullptr},
        {"idle_sockets", p.crowd ? nlohmann::json(p.idle_sockets) : nullptr},
        {"mode", p.crowd         ? "crowd"
                 : p.open_loop() ? "open"
                                 : "closed"}}},
      {"crowd", crowd_json(r.crowd)},
      {"setup_error",
       r.setup_error.empty() ? nlohmann::json(nullptr) : nlohmann::json(r.setup_error)},
      {"requests", r.requests},
      {"elapsed_s", r.elapsed_s},
      {"throughput_rps", r.throughput()},
      {"outcomes",
       {{"accepted", r.accepted},
        {"sold_out", r.sold_out},
        {"other_4xx", r.other_4xx},
        {"shed", r.shed},
        {"shed_by", r.shed_by},
        {"errors", r.errors},
        {"errors_by", r.errors_by}}},
      {"accepted_units", r.accepted_units},
      {"latency_ms", latency_json(r.latency)},
      {"timeline_columns", {"t_s", "count", "p50_ms", "p99_ms"}},
      {"timeline", timeline},
      {"payments",
       {{"attempted", r.pay_attempted},
        {"applied", r.pay_applied},
        {"paid_units", r.paid_units},
        {"failures_by", r.pay_failures_by},
        {"elapsed_s", r.pay_elapsed_s},
        {"latency_ms", latency_json(r.pay_latency)}}},
      {"product_before", view_json(r.before)},
      {"product_before_error",
       r.before_error.empty() ? nlohmann::json(nullptr) : nlohmann::json(r.before_error)},
      {"product_after", view_json(r.after)},
      {"owned_product", r.owned_product},
      {"verdict", {{"pass", v.pass}, {"failed", failed}, {"checks", checks}}},
  };
}

} // namespace flashsale::load
