// /metrics as Prometheus reads it: the text a node serves after real traffic (orders placed,
// sold out, refused) passes `promtool check metrics` (Debian's prometheus package), keeps the
// series names of API.md, writes bucket bounds as written in the code (le="0.0005", not its
// binary expansion) and counts rejected buyers by outcome.
#include <gtest/gtest.h>

#include "tests/http/http_fixture.hpp"
#include "tests/support/child_process.hpp"
#include "tests/support/temp_dir.hpp"

namespace t = flashsale::testing;
using namespace std::chrono_literals;

TEST(Metrics, ServedTextPassesPromtoolAndCountsEveryOutcome) {
  t::temp_dir dir;
  t::http_node n(dir.path());
  auto c = n.client();
  ASSERT_EQ(t::define(*c, "m", {{"name", "m"}, {"stock", 1}, {"per_user_limit", 1}})->status, 201);
  ASSERT_EQ(t::order(*c, "u-1", "m", 1)->status, 201);
  ASSERT_EQ(t::order(*c, "u-2", "m", 1)->status, 409); // sold out, on the HTTP worker
  ASSERT_EQ(t::order(*c, "u-3", "ghost", 1)->status, 404);
  ASSERT_EQ(c->Get("/no/such/route")->status, 404);
  auto metrics = c->Get("/metrics");
  ASSERT_TRUE(metrics);
  ASSERT_EQ(metrics->status, 200);
  EXPECT_EQ(metrics->get_header_value("Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
  const auto& text = metrics->body;
  for (const char* series :
       {"flashsale_orders_total{outcome=\"created\"} 1",
        "flashsale_orders_total{outcome=\"sold_out\"} 1",
        "flashsale_orders_total{outcome=\"unknown_product\"} 1",
        "flashsale_product_units{product_id=\"m\",state=\"reserved\"} 1",
        "flashsale_http_request_duration_seconds_bucket{method=\"POST\",route=\"/"
        "orders\",status=\"201\",le=\"0.0005\"}",
        "flashsale_http_requests_total{method=\"GET\",route=\"unmatched\",status=\"404\"} 1",
        "flashsale_store_commit_duration_seconds_count", "flashsale_outbox_lag 0",
        "flashsale_live_actors{kind=\"inventory\"} 1", "flashsale_nats_state{state=\"off\"} 1",
        "flashsale_nats_state{state=\"connected\"} 0", "flashsale_event_store_up 1"})
    EXPECT_NE(text.find(series), std::string::npos) << series << " missing in\n" << text;
  EXPECT_EQ(text.find("0.00050000000000000001"), std::string::npos) << "bounds as written";

  auto file = dir.file("metrics.txt");
  { std::ofstream(file) << text; }
  t::child_process check({"/bin/sh", "-c", "/usr/bin/promtool check metrics < " + file});
  auto code = check.wait_exit(30s);
  ASSERT_TRUE(code) << "promtool did not finish";
  EXPECT_EQ(*code, 0) << check.output();
  EXPECT_EQ(check.output(), "") << "promtool lints nothing";
}
