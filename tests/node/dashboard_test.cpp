// The live dashboard in a real browser: `flashsale serve` on its defaults (HAProxy in front),
// a load run against it, and Debian's headless Chromium rendering GET /dashboard, whose
// Chart.js comes from the node (GET /dashboard/chart.js). While the sale runs the page keeps
// polling and its charts gain points; once the sale settles, its numbers are those of
// GET /products/{id}. A screenshot is kept as a test artifact (FLASHSALE_ARTIFACTS_DIR).
#include <httplib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <regex>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/support/child_process.hpp"
#include "tests/support/eventually.hpp"
#include "tests/support/serve_process.hpp"
#include "tests/support/temp_dir.hpp"

namespace {

using flashsale::testing::child_process;
using flashsale::testing::temp_dir;
using namespace std::chrono_literals;

const std::string admin_token = "dashboard-test-token";
const std::string chromium = "/usr/bin/chromium";

/// Headless Chromium on `url` for `virtual_ms` of page time (timers run, fetches are real);
/// `mode` is "--dump-dom" (returns the DOM) or "--screenshot=FILE".
std::string browse(const temp_dir& dir, const std::string& url, const std::string& mode,
                   int virtual_ms) {
  child_process browser({chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                         "--no-first-run", "--disable-background-networking",
                         "--disable-component-update", "--disable-sync", "--window-size=1280,560",
                         "--user-data-dir=" + dir.file("chromium"),
                         "--virtual-time-budget=" + std::to_string(virtual_ms), mode, url});
  auto code = browser.wait_exit(90s);
  EXPECT_TRUE(code) << "chromium did not finish";
  return browser.output();
}

int number_in(const std::string& dom, const std::string& pattern) {
  std::smatch m;
  if (!std::regex_search(dom, m, std::regex(pattern)))
    return -1;
  return std::stoi(m[1]);
}

/// The product row's numbers as the page shows them: "stock/available/reserved/sold".
std::string row_of(const std::string& dom, const std::string& product) {
  std::string out;
  for (const char* field : {"stock", "available", "reserved", "sold"}) {
    auto v = number_in(dom, "<tr data-product=\"" + product + "\">.*?<td data-field=\"" + field
                                + "\">(-?[0-9]+)</td>");
    out += (out.empty() ? "" : "/") + std::to_string(v);
  }
  return out;
}

TEST(Dashboard, ShowsTheSaleLiveAndSettlesOnTheProductViews) {
  ASSERT_EQ(::access(chromium.c_str(), X_OK), 0) << "`make test` installs Debian's chromium";
  temp_dir dir;
  child_process node({FLASHSALE_BINARY, "serve", "--set", "http.port=0", "--set",
                      "data_dir=" + dir.file("data"), "--set", "nats.url=off", "--set",
                      "store.sync=normal"},
                     {"FLASHSALE_ADMIN_TOKEN=" + admin_token});
  int port = flashsale::testing::listening_port(node);
  ASSERT_GT(port, 0) << node.output();
  auto base = "http://127.0.0.1:" + std::to_string(port);
  httplib::Client client("127.0.0.1", port);

  auto js = client.Get("/dashboard/chart.js");
  ASSERT_TRUE(js);
  ASSERT_EQ(js->status, 200) << js->body;
  EXPECT_NE(js->body.find("Chart.js v3"), std::string::npos) << "Debian's libjs-chart.js";

  child_process load({FLASHSALE_BINARY, "load", "--url", base, "--product", "dash", "--stock",
                      "100000", "--buyers", "1000000", "--concurrency", "8", "--duration", "6",
                      "--no-idempotency-keys"},
                     {"FLASHSALE_ADMIN_TOKEN=" + admin_token});
  ASSERT_TRUE(flashsale::testing::eventually([&] {
    auto r = client.Get("/products/dash");
    return r && r->status == 200 && nlohmann::json::parse(r->body)["reserved"].get<int>() > 0;
  })) << "the sale started";

  // During the sale: the page polls, its charts gain points.
  auto live = browse(dir, base + "/dashboard", "--dump-dom", 4000);
  EXPECT_GE(number_in(live, R"re(data-updates="([0-9]+)")re"), 3) << live;
  EXPECT_GE(number_in(live, R"re(id="orders-per-second" data-points="([0-9]+)")re"), 2) << live;
  EXPECT_GE(number_in(live, R"re(id="order-latency" data-points="([0-9]+)")re"), 2) << live;
  EXPECT_EQ(number_in(live, R"re(id="units" data-points="([0-9]+)")re"), 1) << live;
  EXPECT_NE(live.find(R"(<span id="store" class="ok">ok</span>)"), std::string::npos) << live;
  auto during = row_of(live, "dash");
  EXPECT_EQ(during.rfind("100000/", 0), 0u) << during;

  const char* artifacts = FLASHSALE_ARTIFACTS_DIR;
  ::mkdir(artifacts, 0755);
  auto shot = std::string(artifacts) + "/dashboard.png";
  ::unlink(shot.c_str());
  browse(dir, base + "/dashboard", "--screenshot=" + shot, 4000);
  struct stat st {};
  EXPECT_EQ(::stat(shot.c_str(), &st), 0) << "no screenshot at " << shot;
  EXPECT_GT(st.st_size, 10000) << "a page with drawn charts, not a blank one";

  // Once the sale settles, the page shows exactly what GET /products/{id} does.
  auto code = load.wait_exit(60s);
  ASSERT_TRUE(code) << load.output();
  auto settled = browse(dir, base + "/dashboard", "--dump-dom", 2500);
  auto view = nlohmann::json::parse(client.Get("/products/dash")->body);
  EXPECT_EQ(row_of(settled, "dash"), std::to_string(view["stock"].get<int>()) + "/"
                                         + std::to_string(view["available"].get<int>()) + "/"
                                         + std::to_string(view["reserved"].get<int>()) + "/"
                                         + std::to_string(view["sold"].get<int>()))
      << settled;
}

} // namespace
