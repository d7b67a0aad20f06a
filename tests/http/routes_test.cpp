// Every route of shared/API.md through a real node over HTTP: status codes, error codes,
// field names, headers, the stock invariant, and that a rejected request writes no event.
#include <atomic>
#include <condition_variable>
#include <mutex>

#include "http/server.hpp"
#include "tests/http/http_fixture.hpp"

using namespace flashsale;
using flashsale::testing::http_node;
using json = nlohmann::json;
namespace t = flashsale::testing;

namespace {

class HttpRoutes : public ::testing::Test {
protected:
  t::temp_dir dir_;
  std::unique_ptr<http_node> node_ = std::make_unique<http_node>(dir_.path());
  std::unique_ptr<httplib::Client> c_ = node_->client();

  void make_product(const std::string& id, json extra = json::object()) {
    json body{{"name", "Product " + id}, {"stock", 10}};
    body.update(extra);
    auto r = t::define(*c_, id, body);
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 201) << r->body;
  }
};

} // namespace

TEST_F(HttpRoutes, PutCreatesThenUpdatesAndAnswersTheProductView) {
  auto r = t::define(*c_, "iphone",
                     {{"name", "iPhone 17"},
                      {"stock", 100},
                      {"price_cents", 99900},
                      {"per_user_limit", 1},
                      {"sale_starts_at", "2020-11-21T10:00:00.000Z"},
                      {"hold_seconds", 600}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 201) << r->body;
  EXPECT_EQ(r->get_header_value("Content-Type"), "application/json");
  EXPECT_EQ(r->body, R"({"product_id":"iphone","name":"iPhone 17","stock":100,"available":100,)"
                     R"("reserved":0,"sold":0,"per_user_limit":1,"price_cents":99900,)"
                     R"("sale_starts_at":"2020-11-21T10:00:00.000Z","hold_seconds":600})");
  auto updated = t::define(*c_, "iphone", {{"name", "iPhone 17"}, {"stock", 120}});
  ASSERT_TRUE(updated);
  EXPECT_EQ(updated->status, 200) << updated->body;
  auto j = t::body_of(updated);
  EXPECT_EQ(j["stock"], 120);
  EXPECT_EQ(j["price_cents"], 0); // default
  EXPECT_TRUE(j["sale_starts_at"].is_null());
  EXPECT_EQ(j["hold_seconds"], node_->config().orders.hold_seconds); // default from config
  EXPECT_EQ(t::counts(*c_, "iphone"), "120/120/0/0");
}

TEST_F(HttpRoutes, GetProductAndListAnswerViewsOrNotFound) {
  make_product("a");
  make_product("b");
  auto one = c_->Get("/products/a");
  ASSERT_TRUE(one);
  EXPECT_EQ(one->status, 200);
  EXPECT_EQ(t::body_of(one)["product_id"], "a");
  auto all = c_->Get("/products");
  ASSERT_TRUE(all);
  EXPECT_EQ(all->status, 200);
  auto list = t::body_of(all)["products"];
  ASSERT_EQ(list.size(), 2u) << all->body;
  EXPECT_EQ(list[0]["product_id"], "a");
  auto missing = c_->Get("/products/nope");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);
  EXPECT_EQ(t::error_code(missing), "not_found");
  auto bad = c_->Get("/products/bad%20id");
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->status, 400);
  EXPECT_EQ(t::error_code(bad), "invalid_request");
}

TEST_F(HttpRoutes, AdminCallsNeedTheBearerToken) {
  json body{{"name", "x"}, {"stock", 1}};
  for (auto headers : {httplib::Headers{}, httplib::Headers{{"Authorization", "Bearer wrong"}},
                       httplib::Headers{{"Authorization", t::admin_token}},
                       httplib::Headers{{"Authorization", "Basic " + t::admin_token}}}) {
    auto r = c_->Put("/products/p", headers, body.dump(), "application/json");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 401);
    EXPECT_EQ(t::error_code(r), "unauthorized");
    EXPECT_EQ(r->get_header_value("WWW-Authenticate"), "Bearer");
  }
  auto lower = c_->Put("/products/p", {{"Authorization", "bearer " + t::admin_token}}, body.dump(),
                       "application/json");
  ASSERT_TRUE(lower);
  EXPECT_EQ(lower->status, 201) << "the scheme is case-insensitive";
}

TEST_F(HttpRoutes, InvalidProductBodiesNameTheField) {
  struct bad_case {
    std::string body;
    std::string field;
  };
  std::vector<bad_case> cases{
      {"not json", "JSON"},
      {"[1]", "object"},
      {R"({"stock": 1})", "name"},
      {R"({"name": "", "stock": 1})", "name"},
      {R"({"name": ")" + std::string(201, 'x') + R"(", "stock": 1})", "name"},
      {R"({"name": "x"})", "stock"},
      {R"({"name": "x", "stock": "10"})", "stock"},
      {R"({"name": "x", "stock": 1.5})", "stock"},
      {R"({"name": "x", "stock": 1000000001})", "stock"},
      {R"({"name": "x", "stock": -1})", "stock"},
      {R"({"name": "x", "stock": 1, "price_cents": -5})", "price_cents"},
      {R"({"name": "x", "stock": 1, "per_user_limit": true})", "per_user_limit"},
      {R"({"name": "x", "stock": 1, "sale_starts_at": "tomorrow"})", "sale_starts_at"},
      {R"({"name": "x", "stock": 1, "hold_seconds": 0})", "hold_seconds"},
      {R"({"name": "x", "stock": 1, "colour": "red"})", "colour"},
  };
  auto before = node_->the_node().stats().last_seq;
  for (auto& bc : cases) {
    auto r = c_->Put("/products/p", t::admin(), bc.body, "application/json");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 400) << bc.body;
    EXPECT_EQ(t::error_code(r), "invalid_request") << bc.body;
    EXPECT_NE(t::body_of(r)["error"]["message"].get<std::string>().find(bc.field),
              std::string::npos)
        << bc.body << " → " << r->body;
  }
  EXPECT_EQ(node_->the_node().stats().last_seq, before) << "a rejected request writes no event";
  // 200 characters counted as characters, not bytes.
  std::string name;
  for (int i = 0; i < 200; ++i)
    name += "é";
  auto ok = t::define(*c_, "accents", {{"name", name}, {"stock", 1}});
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 201) << ok->body;
}

TEST_F(HttpRoutes, LoweringStockBelowCommittedIsRejected) {
  make_product("p", {{"stock", 5}});
  auto placed = t::order(*c_, "u1", "p", 3);
  ASSERT_TRUE(placed);
  ASSERT_EQ(placed->status, 201) << placed->body;
  auto before = node_->the_node().stats().last_seq;
  auto r = t::define(*c_, "p", {{"name", "Product p"}, {"stock", 2}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 409);
  EXPECT_EQ(t::error_code(r), "stock_below_committed");
  EXPECT_EQ(node_->the_node().stats().last_seq, before);
  EXPECT_EQ(t::counts(*c_, "p"), "5/2/3/0");
}

TEST_F(HttpRoutes, PlaceOrderAnswers201WithLocationAndTheOrderView) {
  make_product("p", {{"price_cents", 250}});
  auto r = c_->Post("/orders", R"({"user_id":"u-42","items":[{"product_id":"p","quantity":2}]})",
                    "application/json");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 201) << r->body;
  auto j = t::body_of(r);
  EXPECT_EQ(j["status"], "reserved");
  EXPECT_EQ(j["user_id"], "u-42");
  EXPECT_EQ(j["total_cents"], 500);
  EXPECT_TRUE(j["expires_at"].is_string());
  EXPECT_TRUE(j["payment_id"].is_null());
  EXPECT_EQ(r->get_header_value("Location"), "/orders/" + j["order_id"].get<std::string>());
  EXPECT_FALSE(r->has_header("Idempotent-Replayed"));
  auto got = c_->Get(r->get_header_value("Location").c_str());
  ASSERT_TRUE(got);
  EXPECT_EQ(got->status, 200);
  EXPECT_EQ(t::body_of(got)["status"], "reserved");
  EXPECT_EQ(t::body_of(got)["items"], json::parse(R"([{"product_id":"p","quantity":2}])"));
  EXPECT_EQ(t::counts(*c_, "p"), "10/8/2/0");
  auto missing = c_->Get("/orders/o-nope");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);
  EXPECT_EQ(t::error_code(missing), "not_found");
}

TEST_F(HttpRoutes, ARangeHeaderDoesNotCutTheAnswerToAnOrderAlreadyPlaced) {
  make_product("p");
  for (const char* range : {"bytes=0-1", "bytes=5000-6000"}) {
    auto r = c_->Post("/orders", {{"Range", range}},
                      R"({"user_id":"u-range","items":[{"product_id":"p","quantity":1}]})",
                      "application/json");
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 201) << range << ": " << r->body;
    EXPECT_EQ(t::body_of(r)["status"], "reserved") << range;
    auto view = c_->Get(r->get_header_value("Location").c_str(), {{"Range", range}});
    ASSERT_TRUE(view);
    EXPECT_EQ(view->status, 200) << range;
    EXPECT_EQ(t::body_of(view)["order_id"], t::body_of(r)["order_id"]) << range;
  }
  EXPECT_EQ(t::counts(*c_, "p"), "10/8/2/0");
}

TEST_F(HttpRoutes, DomainRejectionsOfOrdersUseTheCatalogue) {
  make_product("few", {{"stock", 1}});
  make_product("limited", {{"per_user_limit", 1}});
  make_product("later", {{"sale_starts_at", "2999-01-01T00:00:00.000Z"}});
  ASSERT_EQ(t::order(*c_, "u1", "few", 1)->status, 201);
  auto sold_out = t::order(*c_, "u2", "few", 1);
  auto over_limit = t::order(*c_, "u1", "limited", 2);
  auto not_started = t::order(*c_, "u1", "later", 1);
  auto unknown = t::order(*c_, "u1", "ghost", 1);
  for (auto* e : {&sold_out, &over_limit, &not_started, &unknown})
    ASSERT_TRUE(*e);
  EXPECT_EQ(sold_out->status, 409);
  EXPECT_EQ(t::error_code(sold_out), "sold_out");
  EXPECT_EQ(over_limit->status, 409);
  EXPECT_EQ(t::error_code(over_limit), "limit_exceeded");
  EXPECT_EQ(not_started->status, 409);
  EXPECT_EQ(t::error_code(not_started), "sale_not_started");
  EXPECT_EQ(unknown->status, 404);
  EXPECT_EQ(t::error_code(unknown), "unknown_product");
  EXPECT_NE(unknown->body.find("ghost"), std::string::npos) << unknown->body;
  // All or nothing: the available item is not kept when another item fails.
  auto mixed = c_->Post("/orders",
                        R"({"user_id":"u3","items":[{"product_id":"limited","quantity":1},)"
                        R"({"product_id":"few","quantity":1}]})",
                        "application/json");
  ASSERT_TRUE(mixed);
  EXPECT_EQ(mixed->status, 409);
  EXPECT_TRUE(t::eventually([&] { return t::counts(*c_, "limited") == "10/10/0/0"; }));
  EXPECT_EQ(t::counts(*c_, "few"), "1/0/1/0");
}

TEST_F(HttpRoutes, InvalidOrderBodiesNameTheFieldAndWriteNothing) {
  make_product("p");
  json many = json::array();
  for (int i = 0; i < 51; ++i)
    many.push_back({{"product_id", "p" + std::to_string(i)}, {"quantity", 1}});
  struct bad_case {
    std::string body;
    std::string field;
    httplib::Headers headers;
  };
  std::vector<bad_case> cases{
      {"{", "JSON", {}},
      {R"({"items":[{"product_id":"p","quantity":1}]})", "user_id", {}},
      {R"({"user_id":"bad id","product_id":"p","quantity":1})", "user_id", {}},
      {R"({"user_id":")" + std::string(129, 'u') + R"(","product_id":"p","quantity":1})",
       "user_id",
       {}},
      {R"({"user_id":7,"product_id":"p","quantity":1})", "user_id", {}},
      {R"({"user_id":"u","items":[{"product_id":"p","quantity":1},{"product_id":"q","quantity":0}]})",
       "items[1].quantity must be an integer 1..1000",
       {}},
      {R"({"user_id":"u","items":[{"product_id":"p","quantity":1001}]})", "items[0].quantity", {}},
      {R"({"user_id":"u","items":[{"product_id":"p","quantity":"1"}]})", "items[0].quantity", {}},
      {R"({"user_id":"u","items":[{"product_id":"p/x","quantity":1}]})", "items[0].product_id", {}},
      {R"({"user_id":"u","items":[{"product_id":"p","quantity":1},{"product_id":"p","quantity":1}]})",
       "items[1].product_id",
       {}},
      {R"({"user_id":"u","items":[]})", "items", {}},
      {json{{"user_id", "u"}, {"items", many}}.dump(), "items", {}},
      {R"({"user_id":"u","items":[{"product_id":"p","quantity":1,"note":"x"}]})",
       "items[0].'note'",
       {}},
      {R"({"user_id":"u","product_id":"p"})", "quantity", {}},
      {R"({"user_id":"u","product_id":"p","quantity":1,"items":[]})", "items", {}},
      {R"({"user_id":"u","product_id":"p","quantity":1,"coupon":"x"})", "coupon", {}},
      {R"({"user_id":"u","product_id":"p","quantity":1})",
       "Idempotency-Key",
       {{"Idempotency-Key", "has space"}}},
      {R"({"user_id":"u","product_id":"p","quantity":1,"request_id":"k2"})",
       "request_id",
       {{"Idempotency-Key", "k1"}}},
  };
  auto before = node_->the_node().stats().last_seq;
  for (auto& bc : cases) {
    auto r = c_->Post("/orders", bc.headers, bc.body, "application/json");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 400) << bc.body;
    EXPECT_EQ(t::error_code(r), "invalid_request") << bc.body;
    EXPECT_NE(r->body.find(bc.field), std::string::npos) << bc.body << " → " << r->body;
  }
  EXPECT_EQ(node_->the_node().stats().last_seq, before) << "a rejected request writes no event";
  EXPECT_EQ(t::counts(*c_, "p"), "10/10/0/0");
}

TEST_F(HttpRoutes, CancelReturnsStockOnlyForTheOwnerOfAReservedOrder) {
  make_product("p");
  auto placed = t::order(*c_, "owner", "p", 3);
  ASSERT_EQ(placed->status, 201);
  auto path = placed->get_header_value("Location") + "/cancel";
  auto stranger = c_->Post(path.c_str(), R"({"user_id":"stranger"})", "application/json");
  ASSERT_TRUE(stranger);
  EXPECT_EQ(stranger->status, 403);
  EXPECT_EQ(t::error_code(stranger), "forbidden");
  auto bad = c_->Post(path.c_str(), R"({"user":"owner"})", "application/json");
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->status, 400);
  auto ok = c_->Post(path.c_str(), R"({"user_id":"owner"})", "application/json");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200) << ok->body;
  EXPECT_EQ(t::body_of(ok)["status"], "cancelled");
  EXPECT_TRUE(t::eventually([&] { return t::counts(*c_, "p") == "10/10/0/0"; }));
  auto again = c_->Post(path.c_str(), R"({"user_id":"owner"})", "application/json");
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 409);
  EXPECT_EQ(t::error_code(again), "invalid_state");
  auto unknown = c_->Post("/orders/o-none/cancel", R"({"user_id":"owner"})", "application/json");
  ASSERT_TRUE(unknown);
  EXPECT_EQ(unknown->status, 404);
}

TEST_F(HttpRoutes, UnknownRoutesAndOversizedBodiesGetJsonErrors) {
  auto missing = c_->Get("/nowhere");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);
  EXPECT_EQ(t::error_code(missing), "not_found");
  EXPECT_EQ(missing->get_header_value("Content-Type"), "application/json");
  std::string big(node_->config().http.max_body_bytes + 1, ' ');
  auto before = node_->the_node().stats().last_seq;
  auto r = c_->Post("/orders", big, "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 413);
  EXPECT_EQ(t::error_code(r), "payload_too_large");
  EXPECT_EQ(r->get_header_value("Content-Type"), "application/json");
  EXPECT_EQ(node_->the_node().stats().last_seq, before);
}

TEST_F(HttpRoutes, AChunkedBodyOverTheLimitIsRefusedToo) {
  // A chunked body has no Content-Length to refuse it by: it arrives whole, then gets the same
  // 413, and the order it carries is not placed.
  make_product("chunky");
  auto order = json{{"user_id", "u-1"}, {"product_id", "chunky"}, {"quantity", 1}}.dump();
  auto padded = order.substr(0, order.size() - 1)
                + std::string(node_->config().http.max_body_bytes, ' ') + "}";
  auto before = node_->the_node().stats().last_seq;
  auto chunked = [this](const std::string& body) {
    return c_->Post(
        "/orders",
        [&body](std::size_t offset, httplib::DataSink& sink) {
          auto n = std::min<std::size_t>(8192, body.size() - offset);
          sink.write(body.data() + offset, n);
          if (offset + n == body.size())
            sink.done();
          return true;
        },
        "application/json");
  };
  auto r = chunked(padded);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 413);
  EXPECT_EQ(t::error_code(r), "payload_too_large");
  EXPECT_EQ(node_->the_node().stats().last_seq, before);
  auto fits = chunked(order);
  ASSERT_TRUE(fits);
  EXPECT_EQ(fits->status, 201) << "a chunked body within the limit is served as before";
}

TEST_F(HttpRoutes, TheDashboardPageAndItsChartLibraryAreServed) {
  auto page = c_->Get("/dashboard");
  ASSERT_TRUE(page);
  EXPECT_EQ(page->status, 200);
  EXPECT_EQ(page->get_header_value("Content-Type").rfind("text/html", 0), 0u);
  EXPECT_NE(page->body.find("<script src=\"/dashboard/chart.js\"></script>"), std::string::npos);
  auto chart = c_->Get("/dashboard/chart.js");
  ASSERT_TRUE(chart);
  EXPECT_EQ(chart->status, 200); // the library is a test dependency (libjs-chart.js)
  EXPECT_EQ(chart->get_header_value("Content-Type").rfind("application/javascript", 0), 0u);
  EXPECT_NE(chart->body.find("Chart"), std::string::npos);
}

TEST_F(HttpRoutes, HealthAndMetricsAnswer) {
  make_product("p");
  ASSERT_EQ(t::order(*c_, "u", "p", 1)->status, 201);
  ASSERT_EQ(t::order(*c_, "u", "ghost", 1)->status, 404);
  auto h = c_->Get("/health");
  ASSERT_TRUE(h);
  EXPECT_EQ(h->status, 200);
  EXPECT_EQ(t::body_of(h)["event_store"], "ok");
  auto m = c_->Get("/metrics");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->status, 200);
  EXPECT_EQ(m->get_header_value("Content-Type").rfind("text/plain; version=0.0.4", 0), 0u);
  for (
      std::string line :
      {R"(flashsale_http_requests_total{method="POST",route="/orders",status="201"} 1)",
       R"(flashsale_http_requests_total{method="PUT",route="/products/{product_id}",status="201"} 1)",
       R"(flashsale_http_request_duration_seconds_bucket{method="POST",route="/orders",status="201",le="+Inf"} 1)",
       R"(flashsale_orders_total{outcome="created"} 1)",
       R"(flashsale_orders_total{outcome="unknown_product"} 1)",
       R"(flashsale_product_units{product_id="p",state="reserved"} 1)",
       R"(flashsale_product_units{product_id="p",state="available"} 9)",
       "# TYPE flashsale_store_commit_duration_seconds histogram",
       "flashsale_store_commit_events_count ", "flashsale_outbox_lag 0",
       R"(flashsale_live_actors{kind="inventory"} )", "flashsale_events_committed "})
    EXPECT_NE(m->body.find(line), std::string::npos) << line << "\n" << m->body;
  // The commit histogram saw the commits (the listener is wired).
  EXPECT_EQ(m->body.find("flashsale_store_commit_events_count 0\n"), std::string::npos) << m->body;
}

TEST(HttpRateLimit, RefusesBeyondTheBurstWithRetryAfterAndRefills) {
  t::temp_dir dir;
  manual_clock time(1'800'000'000'000);
  t::node_setup setup;
  setup.time = &time;
  setup.config = [](node_config& c) {
    c.rate_limit.per_user_per_second = 0.5;
    c.rate_limit.burst = 2;
  };
  http_node n(dir.path(), setup);
  auto c = n.client();
  ASSERT_EQ(t::define(*c, "p", {{"name", "p"}, {"stock", 100}})->status, 201);
  EXPECT_EQ(t::order(*c, "u", "p", 1)->status, 201);
  EXPECT_EQ(t::order(*c, "u", "p", 1)->status, 201);
  auto before = n.the_node().stats().last_seq;
  auto limited = t::order(*c, "u", "p", 1);
  ASSERT_TRUE(limited);
  EXPECT_EQ(limited->status, 429);
  EXPECT_EQ(t::error_code(limited), "rate_limited");
  EXPECT_EQ(limited->get_header_value("Retry-After"), "2"); // one token every 2 s
  EXPECT_EQ(n.the_node().stats().last_seq, before);
  EXPECT_EQ(t::order(*c, "other", "p", 1)->status, 201) << "buckets are per user";
  time.advance(std::chrono::seconds(2));
  EXPECT_EQ(t::order(*c, "u", "p", 1)->status, 201);
}

TEST(HttpStoreSyncFull, OrdersAreAcknowledgedWithFullSync) {
  t::temp_dir dir;
  t::node_setup setup;
  setup.sync = "full";
  http_node n(dir.path(), setup);
  auto c = n.client();
  ASSERT_EQ(t::define(*c, "p", {{"name", "p"}, {"stock", 3}})->status, 201);
  EXPECT_EQ(t::order(*c, "u", "p", 1)->status, 201);
  EXPECT_EQ(t::counts(*c, "p"), "3/2/1/0");
}

namespace {

/// A node whose place() blocks until released, to hold requests in flight.
class blocking_node final : public node_api {
public:
  health_report health() override { return {}; }
  node_stats stats() override { return {}; }
  void on_commit(commit_listener) override {}
  define_result define(const define_product&) override { return {}; }
  read_outcome<std::optional<product_view>> product(const std::string&) override {
    return std::optional<product_view>{};
  }
  read_outcome<std::vector<product_view>> products() override {
    return std::vector<product_view>{};
  }
  place_outcome place(const order_request&) override {
    std::unique_lock<std::mutex> lock(mutex_);
    ++waiting_;
    changed_.notify_all();
    changed_.wait(lock, [&] { return released_; });
    return {placed_order{"o-1", R"({"order_id":"o-1"})"}};
  }
  order_lookup order(const std::string&) override { return {std::nullopt, order_error}; }
  command_outcome command(const std::string&, const order_command&) override {
    return rejection{errc::not_found, "no such order"};
  }

  void wait_for_waiters(int n) {
    std::unique_lock<std::mutex> lock(mutex_);
    changed_.wait(lock, [&] { return waiting_ >= n; });
  }
  void release() {
    std::lock_guard<std::mutex> lock(mutex_);
    released_ = true;
    changed_.notify_all();
  }

  std::optional<rejection> order_error; ///< what order() reports; none = no such order

private:
  std::mutex mutex_;
  std::condition_variable changed_;
  int waiting_ = 0;
  bool released_ = false;
};

} // namespace

TEST(HttpOverload, WritesBeyondTheInFlightLimitGet503WithRetryAfterAtOnce) {
  blocking_node node;
  http_options o;
  o.admin_token = "a";
  o.webhook_secret = "w";
  o.threads = 4;
  o.max_in_flight_writes = 1;
  auto bound = http_server::bind(o, node);
  ASSERT_EQ(bound.index(), 0u);
  auto& server = *std::get<0>(bound);
  server.start();
  const std::string body = R"({"user_id":"u","product_id":"p","quantity":1})";
  std::thread first([&] {
    httplib::Client c("127.0.0.1", server.port());
    auto r = c.Post("/orders", body, "application/json");
    EXPECT_TRUE(r && r->status == 201);
  });
  node.wait_for_waiters(1);
  httplib::Client c("127.0.0.1", server.port());
  auto shed = c.Post("/orders", body, "application/json");
  ASSERT_TRUE(shed);
  EXPECT_EQ(shed->status, 503);
  EXPECT_EQ(t::error_code(shed), "unavailable");
  EXPECT_EQ(shed->get_header_value("Retry-After"), "1");
  auto health = c.Get("/health");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200) << "reads are not shed";
  node.release();
  first.join();
  server.stop();
}

TEST(HttpOverload, WritesAreShedWhileTheNodeAnswersNoneWithinShedAfterMs) {
  blocking_node node;
  manual_clock time(1'800'000'000'000);
  http_options o;
  o.admin_token = "a";
  o.webhook_secret = "w";
  o.threads = 4;
  o.shed_after_ms = 1000;
  o.time = &time;
  auto bound = http_server::bind(o, node);
  ASSERT_EQ(bound.index(), 0u);
  auto& server = *std::get<0>(bound);
  server.start();
  const std::string body = R"({"user_id":"u","product_id":"p","quantity":1})";
  std::thread stuck([&] { // the node takes this write and does not answer
    httplib::Client c("127.0.0.1", server.port());
    auto r = c.Post("/orders", body, "application/json");
    EXPECT_TRUE(r && r->status == 201);
  });
  node.wait_for_waiters(1);
  time.advance(std::chrono::milliseconds(1001));
  httplib::Client c("127.0.0.1", server.port());
  auto shed = c.Post("/orders", body, "application/json");
  ASSERT_TRUE(shed);
  EXPECT_EQ(shed->status, 503) << "not queued behind a node that answers nothing";
  EXPECT_EQ(t::error_code(shed), "unavailable");
  EXPECT_EQ(shed->get_header_value("Retry-After"), "1");
  auto health = c.Get("/health");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200) << "reads are not shed";
  node.release(); // the node answers again, and answers fast from now on
  stuck.join();
  auto later = c.Post("/orders", body, "application/json");
  ASSERT_TRUE(later);
  EXPECT_EQ(later->status, 503) << "the stall's interval is not over";
  time.advance(std::chrono::milliseconds(200));
  later = c.Post("/orders", body, "application/json");
  ASSERT_TRUE(later);
  EXPECT_EQ(later->status, 503) << "the interval in which the 1001 ms write finished was slow";
  time.advance(std::chrono::milliseconds(200));
  later = c.Post("/orders", body, "application/json");
  ASSERT_TRUE(later);
  EXPECT_EQ(later->status, 201) << "admitted again once an interval passed without slow writes";
  server.stop();
}

TEST(HttpReadErrors, AnUnreadableStoreIs503NotNotFound) {
  blocking_node node;
  http_options o;
  o.admin_token = "a";
  o.webhook_secret = "w";
  auto bound = http_server::bind(o, node);
  ASSERT_EQ(bound.index(), 0u);
  auto& server = *std::get<0>(bound);
  server.start();
  httplib::Client c("127.0.0.1", server.port());
  auto missing = c.Get("/orders/o-1");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);
  node.order_error = rejection{errc::unavailable, "event store cannot be read: disk I/O error"};
  auto unreadable = c.Get("/orders/o-1");
  ASSERT_TRUE(unreadable);
  EXPECT_EQ(unreadable->status, 503) << "the order may well exist";
  EXPECT_EQ(t::error_code(unreadable), "unavailable");
  EXPECT_EQ(unreadable->get_header_value("Retry-After"), "1");
  server.stop();
}
