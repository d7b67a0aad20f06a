// A real node in-process for saga tests: real SQLite store in a temp dir, real CAF actors,
// a manual clock the test advances (expiry without sleeping), NATS off. Restartable on the
// same data dir, as a crash-and-recover test needs.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <sqlite3.h>

#include "events/clock.hpp"
#include "events/order_view.hpp"
#include "events/time.hpp"
#include "node/node.hpp"
#include "tests/support/eventually.hpp"
#include "tests/support/temp_dir.hpp"

namespace flashsale::testing {

/// A manual clock that counts its reads. Once a placed order has been answered, nothing but
/// the expiry scheduler reads the clock, once per tick: a test can wait for the scheduler's own
/// timer to have fired instead of sleeping for it.
class counting_clock final : public clock {
public:
  explicit counting_clock(timestamp_ms start) : now_(start) {}
  timestamp_ms now() const override {
    ++reads_;
    return now_.load();
  }
  void advance(std::chrono::milliseconds by) { now_ += by.count(); }
  std::int64_t reads() const { return reads_.load(); }

private:
  std::atomic<timestamp_ms> now_;
  mutable std::atomic<std::int64_t> reads_{0};
};

class node_fixture : public ::testing::Test {
protected:
  node_fixture() : clock_(*parse_rfc3339("2026-11-21T10:00:00.000Z")) {}

  void SetUp() override { start(); }

  node_config config() {
    auto loaded = load_config({});
    auto c = std::get<node_config>(loaded);
    c.data_dir = dir_.path();
    c.nats.url = "off";
    c.store.sync = "normal";
    return c;
  }

  void start() {
    auto started = node::start(config(), node_options{&clock_});
    if (auto problem = std::get_if<std::string>(&started))
      FAIL() << *problem;
    node_ = std::move(std::get<0>(started));
  }

  void restart() {
    node_.reset();
    start();
  }

  node& n() { return *node_; }

  void define(const std::string& id, std::int64_t stock, std::int64_t per_user_limit = 0,
              std::int64_t price_cents = 100, std::int64_t hold_seconds = 600) {
    define_product c;
    c.product_id = id;
    c.name = "product " + id;
    c.stock = stock;
    c.price_cents = price_cents;
    c.per_user_limit = per_user_limit;
    c.hold_seconds = hold_seconds;
    auto r = node_->define(c);
    ASSERT_FALSE(r.error) << r.error->message;
  }

  /// An outcome as the HTTP adapter answers it, for terse assertions.
  struct reply {
    int status = 0;
    std::string body;
    bool replayed = false;
  };

  static reply rendered(const place_outcome& o) {
    if (auto* placed = std::get_if<placed_order>(&o.result))
      return {201, placed->view, o.replayed};
    auto& r = std::get<rejection>(o.result);
    return {http_status(r.code), error_body(r), o.replayed};
  }

  static reply rendered(const command_outcome& o) {
    if (auto* r = std::get_if<payment_result>(&o))
      return {200, *r == payment_result::applied ? R"({"result":"applied"})"
                                                 : R"({"result":"duplicate"})"};
    if (auto* order = std::get_if<order_state>(&o))
      return {200, order_view_json(*order)};
    auto& r = std::get<rejection>(o);
    return {http_status(r.code), error_body(r)};
  }

  reply place(const std::string& user, std::vector<order_line> items, const std::string& key = "") {
    return rendered(node_->place(order_request{user, std::move(items), key}));
  }

  reply command(const std::string& order_id, const order_command& c) {
    return rendered(node_->command(order_id, c));
  }

  static std::string order_id_of(const reply& a) {
    return nlohmann::json::parse(a.body).at("order_id").get<std::string>();
  }

  static std::string error_code_of(const reply& a) {
    auto j = nlohmann::json::parse(a.body, nullptr, false);
    return j.is_object() && j.contains("error") ? j["error"].value("code", "") : "";
  }

  /// "available/reserved/sold of stock", e.g. "7/2/1 of 10".
  std::string stock_of(const std::string& product_id) {
    auto v = node_->view(product_id);
    if (!v)
      return "missing";
    return std::to_string(v->available) + "/" + std::to_string(v->reserved) + "/"
           + std::to_string(v->sold) + " of " + std::to_string(v->stock);
  }

  std::string status_of(const std::string& order_id) {
    auto o = node_->order(order_id);
    return o.error   ? "error: " + o.error->message
           : o.state ? to_string(o.state->status)
                     : "missing";
  }

  /// "<stream> <type>" of every committed event after `after_seq`, read from the store's file
  /// as any SQLite reader would (what the log holds, not what the node says).
  std::vector<std::string> events_after(std::int64_t after_seq) {
    std::vector<std::string> out;
    sqlite3* db = nullptr;
    if (sqlite3_open_v2(dir_.file("events.db").c_str(), &db, SQLITE_OPEN_READONLY, nullptr)
        != SQLITE_OK) {
      ADD_FAILURE() << "cannot open the store";
      return out;
    }
    sqlite3_stmt* q = nullptr;
    sqlite3_prepare_v2(db, "SELECT stream, type FROM events WHERE seq > ? ORDER BY seq", -1, &q,
                       nullptr);
    sqlite3_bind_int64(q, 1, after_seq);
    while (sqlite3_step(q) == SQLITE_ROW)
      out.push_back(std::string(reinterpret_cast<const char*>(sqlite3_column_text(q, 0))) + " "
                    + reinterpret_cast<const char*>(sqlite3_column_text(q, 1)));
    sqlite3_finalize(q);
    sqlite3_close(db);
    return out;
  }

  /// Advances the clock and makes the scheduler look at it.
  void advance(std::chrono::milliseconds by) {
    clock_.advance(by);
    node_->check_expiries();
  }

  temp_dir dir_;
  counting_clock clock_;
  std::unique_ptr<node> node_;
};

} // namespace flashsale::testing
