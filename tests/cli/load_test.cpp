// `flashsale load` as a user runs it: a flash sale against a real node passes its verdict, a
// target that accepts more than it has fails it, and the HTML report draws its charts in
// headless Chromium. Every server binds port 0; every process is stopped by its own PID.
#include <httplib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <regex>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/support/child_process.hpp"
#include "tests/support/serve_process.hpp"
#include "tests/support/temp_dir.hpp"

using flashsale::testing::child_process;
using flashsale::testing::temp_dir;
using json = nlohmann::json;
using namespace std::chrono_literals;

namespace {

const std::string admin_token = "load-test-admin-token";
const std::string webhook_secret = "load-test-webhook-secret";

struct load_outcome {
  int exit_code = -1;
  json report; // the one JSON line of --json, or null
  std::string output;
};

load_outcome run_load(std::vector<std::string> args, std::vector<std::string> env = {}) {
  args.insert(args.begin(), {FLASHSALE_BINARY, "load"});
  child_process p(args, env);
  load_outcome out;
  auto code = p.wait_exit(60s);
  out.exit_code = code ? *code : -1;
  out.output = p.output();
  std::istringstream lines(out.output);
  for (std::string l; std::getline(lines, l);)
    if (l.rfind("{\"", 0) == 0)
      out.report = json::parse(l, nullptr, false);
  return out;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

/// A broken node: accepts every order, and its product view never moves (stock 200, none
/// reserved), so every accepted unit beyond the first 200 is oversold and none shows up.
class oversell_server {
public:
  oversell_server() {
    const std::string view =
        R"({"product_id":"flash","name":"flash","stock":200,"available":200,"reserved":0,)"
        R"("sold":0,"per_user_limit":0,"price_cents":0,"sale_starts_at":null,"hold_seconds":600})";
    server_.set_tcp_nodelay(true);
    server_.Post("/orders", [this](const httplib::Request&, httplib::Response& res) {
      res.status = 201;
      res.set_content(
          R"({"order_id":"o-fake-)" + std::to_string(next_++)
              + R"(","status":"reserved","items":[{"product_id":"flash","quantity":1}]})",
          "application/json");
    });
    server_.Get(R"(/products/([A-Za-z0-9._:-]+))",
                [view](const httplib::Request&, httplib::Response& res) {
                  res.set_content(view, "application/json");
                });
    server_.Put(R"(/products/([A-Za-z0-9._:-]+))",
                [view](const httplib::Request&, httplib::Response& res) {
                  res.set_content(view, "application/json");
                });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
  }
  ~oversell_server() {
    server_.stop();
    thread_.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

private:
  httplib::Server server_;
  std::atomic<long> next_{0};
  int port_ = -1;
  std::thread thread_;
};

} // namespace

TEST(LoadCommand, FlashSaleAgainstARealNodeSellsExactlyTheStockAndPasses) {
  temp_dir dir;
  child_process node({FLASHSALE_BINARY, "serve", "--set", "http.port=0", "--set",
                      "data_dir=" + dir.file("data"), "--set", "nats.url=off", "--set",
                      "store.sync=normal"},
                     {"FLASHSALE_ADMIN_TOKEN=" + admin_token,
                      "FLASHSALE_PAYMENTS_WEBHOOK_SECRET=" + webhook_secret});
  int port = flashsale::testing::listening_port(node);
  ASSERT_GT(port, 0) << node.output();

  auto html = dir.file("report.html");
  auto run = run_load(
      {"--url", "http://127.0.0.1:" + std::to_string(port), "--stock", "200", "--buyers", "5000",
       "--concurrency", "32", "--pay-share", "0.5", "--json", "--html", html, "--seed", "7"},
      {"FLASHSALE_ADMIN_TOKEN=" + admin_token, "FLASHSALE_WEBHOOK_SECRET=" + webhook_secret});
  ASSERT_TRUE(run.report.is_object()) << run.output;
  const auto& r = run.report;
  EXPECT_EQ(run.exit_code, 0) << run.output;
  EXPECT_EQ(r["requests"], 5000);
  EXPECT_EQ(r["outcomes"]["accepted"], 200) << r.dump(2);
  EXPECT_EQ(r["outcomes"]["sold_out"], 4800) << r.dump(2);
  EXPECT_EQ(r["outcomes"]["errors"], 0) << r.dump(2);
  EXPECT_EQ(r["payments"]["applied"], 100) << r.dump(2);
  EXPECT_EQ(r["product_after"],
            (json{{"stock", 200}, {"available", 0}, {"reserved", 100}, {"sold", 100}}));
  EXPECT_EQ(r["verdict"]["pass"], true) << r["verdict"].dump(2);
  EXPECT_GT(r["latency_ms"]["p99"].get<double>(), 0.0);
  EXPECT_GE(r["latency_ms"]["max"].get<double>(), r["latency_ms"]["p99"].get<double>());
  // The progress line went to stderr as plain lines (not a TTY).
  EXPECT_NE(run.output.find("requests 5000"), std::string::npos) << run.output;
  auto page = read_file(html);
  EXPECT_NE(page.find("id=\"latency-over-time\""), std::string::npos);
  EXPECT_NE(page.find("PASS"), std::string::npos);
  // The report of a real sale, as the README shows it: a screenshot kept as an artifact.
  const char* artifacts = FLASHSALE_ARTIFACTS_DIR;
  ::mkdir(artifacts, 0755);
  auto shot = std::string(artifacts) + "/report.png";
  child_process browser({"/usr/bin/chromium", "--headless", "--no-sandbox", "--disable-gpu",
                         "--disable-quic", "--no-first-run", "--disable-background-networking",
                         "--disable-component-update", "--disable-sync", "--window-size=1000,1500",
                         "--user-data-dir=" + dir.file("chromium"), "--screenshot=" + shot,
                         "file://" + html});
  ASSERT_TRUE(browser.wait_exit(45s));
  EXPECT_EQ(::access(shot.c_str(), R_OK), 0) << "no screenshot at " << shot;
}

TEST(LoadCommand, TargetThatAcceptsMoreThanItHasFailsTheVerdictWithExitOne) {
  oversell_server fake;
  auto run = run_load({"--url", fake.url(), "--stock", "200", "--admin-token", "t", "--buyers",
                       "500", "--concurrency", "8", "--json"});
  ASSERT_TRUE(run.report.is_object()) << run.output;
  EXPECT_EQ(run.exit_code, 1) << run.output;
  EXPECT_EQ(run.report["outcomes"]["accepted"], 500);
  EXPECT_EQ(run.report["verdict"]["pass"], false);
  EXPECT_EQ(run.report["verdict"]["failed"],
            (json{"accepted_within_stock", "accepted_matches_product"}))
      << run.report["verdict"].dump(2);

  auto text = run_load({"--url", fake.url(), "--buyers", "300", "--concurrency", "4"});
  EXPECT_EQ(text.exit_code, 1);
  EXPECT_NE(text.output.find("verdict: FAIL"), std::string::npos) << text.output;
  EXPECT_NE(text.output.find("FAILED accepted_within_stock: 300 units accepted, 200 were "
                             "available"),
            std::string::npos)
      << text.output;
}

TEST(LoadCommand, HtmlReportDrawsItsChartsInHeadlessChromium) {
  const std::string chromium = "/usr/bin/chromium";
  ASSERT_EQ(::access(chromium.c_str(), X_OK), 0)
      << chromium
      << " is missing: `make test` installs it (Debian package chromium), or run "
         "`apt-get install chromium`";
  temp_dir dir;
  oversell_server fake;
  auto html = dir.file("report.html");
  // Open loop at 5,000/s: the 2,000 orders take 0.4 s however fast the machine, so the chart
  // over time has several 100 ms slices (closed loop, a fast run fit in one and the test failed).
  auto run = run_load({"--url", fake.url(), "--buyers", "2000", "--concurrency", "4", "--rate",
                       "5000", "--html", html});
  ASSERT_EQ(run.exit_code, 1) << run.output;

  auto chrome = [&](const std::string& mode) {
    child_process browser({chromium, "--headless", "--no-sandbox", "--disable-gpu",
                           "--disable-quic", "--no-first-run", "--disable-background-networking",
                           "--disable-component-update", "--disable-sync",
                           "--window-size=1000,1400", "--user-data-dir=" + dir.file("chromium"),
                           mode, "file://" + html});
    auto code = browser.wait_exit(45s);
    EXPECT_TRUE(code) << "chromium did not finish";
    return browser.output();
  };
  auto dom = chrome("--dump-dom");
  // Set by the inline script after Chart.js drew both charts: only if it ran without an error
  // (the page is opened from a file: Chart.js must be embedded, nothing is fetched).
  EXPECT_NE(dom.find("data-charts=\"drawn\""), std::string::npos) << dom;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(
      dom, m, std::regex(R"re(id="latency-over-time"[^>]*data-points="([0-9]+)")re")))
      << dom;
  EXPECT_GT(std::stoi(m[1]), 1) << "100 ms slices of the run";
  ASSERT_TRUE(std::regex_search(
      dom, m, std::regex(R"re(id="latency-histogram"[^>]*data-points="([0-9]+)")re")))
      << dom;
  EXPECT_GT(std::stoi(m[1]), 1) << "bins of the histogram";
  EXPECT_NE(dom.find("<th>accepted</th><td>2000</td>"), std::string::npos) << dom;
  EXPECT_NE(dom.find("FAIL"), std::string::npos);
  EXPECT_EQ(read_file(html).find("<script src="), std::string::npos) << "self-contained";
}

TEST(LoadCommand, StockWithoutAdminTokenIsAUsageError) {
  auto run = run_load({"--url", "http://127.0.0.1:1", "--stock", "5"}, {"FLASHSALE_ADMIN_TOKEN="});
  EXPECT_EQ(run.exit_code, 2) << run.output;
  EXPECT_NE(run.output.find("--stock needs an admin token"), std::string::npos) << run.output;
}
