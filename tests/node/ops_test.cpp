// docs/ops/ as an operator uses it: Debian's Prometheus runs docs/ops/prometheus.yml (only its
// target and intervals rewritten) against a real node under orders, loads the alert rules,
// and answers every query of docs/ops/grafana-dashboard.json with data that matches what the
// node's API says. promtool checks the config and the rules, and runs the rules' unit tests.
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "node/process_supervisor.hpp"
#include "tests/http/http_fixture.hpp"
#include "tests/support/child_process.hpp"
#include "tests/support/eventually.hpp"
#include "tests/support/temp_dir.hpp"

namespace t = flashsale::testing;
using json = nlohmann::json;
using namespace std::chrono_literals;

namespace {

const std::string ops_dir = std::string(FLASHSALE_SOURCE_DIR) + "/docs/ops";

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

/// Replaces the one occurrence of `from` in `text`; fails the test when there is none, so a
/// change to the shipped file cannot silently leave the test running something else.
void replace_once(std::string& text, const std::string& from, const std::string& to) {
  auto at = text.find(from);
  ASSERT_NE(at, std::string::npos) << "docs/ops/prometheus.yml no longer says " << from;
  text.replace(at, from.size(), to);
}

int run(const std::string& command, std::string* output = nullptr) {
  t::child_process p({"/bin/sh", "-c", command});
  auto code = p.wait_exit(60s);
  if (output)
    *output = p.output();
  return code ? *code : -1;
}

/// The dashboard's queries as Grafana sends them for "all nodes, all products": its
/// variables replaced by what Grafana substitutes.
std::vector<std::pair<std::string, std::string>> panel_queries(const json& dashboard,
                                                               const std::string& rate_window) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& panel : dashboard.at("panels"))
    for (const auto& target : panel.at("targets")) {
      auto expr = target.at("expr").get<std::string>();
      for (auto [from, to] : {std::pair<std::string, std::string>{"$instance", ".*"},
                              {"$product", ".*"},
                              {"$__rate_interval", rate_window}})
        for (auto at = expr.find(from); at != std::string::npos; at = expr.find(from))
          expr.replace(at, from.size(), to);
      out.emplace_back(panel.at("title").get<std::string>(), expr);
    }
  return out;
}

class prometheus_api {
public:
  explicit prometheus_api(int port) : client_("127.0.0.1", port) {
    client_.set_connection_timeout(2, 0);
    client_.set_read_timeout(10, 0);
  }

  /// The result vector of an instant query, or null when Prometheus is not ready or the
  /// query failed (the error is kept in last_error()).
  json query(const std::string& expr) {
    auto r = client_.Get("/api/v1/query", httplib::Params{{"query", expr}}, httplib::Headers{});
    if (!r)
      return last_error_ = "no answer", nullptr;
    auto body = json::parse(r->body, nullptr, false);
    if (r->status != 200 || !body.is_object() || body.value("status", "") != "success")
      return last_error_ = std::to_string(r->status) + " " + r->body, nullptr;
    return body["data"]["result"];
  }

  json get(const std::string& path) {
    auto r = client_.Get(path.c_str());
    return r && r->status == 200 ? json::parse(r->body, nullptr, false) : json();
  }

  const std::string& last_error() const { return last_error_; }

private:
  httplib::Client client_;
  std::string last_error_;
};

double value_of(const json& sample) {
  return std::stod(sample.at("value").at(1).get<std::string>());
}

} // namespace

TEST(OpsDocs, AlertRulesPassPromtoolAndTheirUnitTests) {
  std::string out;
  EXPECT_EQ(run("/usr/bin/promtool check rules " + ops_dir + "/flashsale-alerts.yml", &out), 0)
      << out;
  EXPECT_EQ(
      run("cd " + ops_dir + " && /usr/bin/promtool test rules flashsale-alerts.test.yml", &out), 0)
      << out;
}

TEST(OpsDocs, PrometheusScrapesANodeAndEveryDashboardQueryAnswersWithItsNumbers) {
  t::temp_dir dir;
  t::http_node node(dir.path() + "/node");
  auto c = node.client();
  ASSERT_EQ(t::define(*c, "drop", {{"name", "Drop"}, {"stock", 4}})->status, 201);

  // The shipped config, pointed at this node and scraping every second.
  auto config = read_file(ops_dir + "/prometheus.yml");
  replace_once(config, "\"127.0.0.1:8080\"", "\"127.0.0.1:" + std::to_string(node.port()) + "\"");
  replace_once(config, "scrape_interval: 5s", "scrape_interval: 1s");
  replace_once(config, "evaluation_interval: 5s", "evaluation_interval: 1s");
  auto prom_dir = dir.path() + "/prometheus";
  std::filesystem::create_directories(prom_dir);
  { std::ofstream(prom_dir + "/prometheus.yml") << config; }
  std::filesystem::copy_file(ops_dir + "/flashsale-alerts.yml", prom_dir + "/flashsale-alerts.yml");
  std::string out;
  ASSERT_EQ(run("/usr/bin/promtool check config " + prom_dir + "/prometheus.yml", &out), 0) << out;

  int port = flashsale::free_loopback_port();
  t::child_process prometheus(
      {"/usr/bin/prometheus", "--config.file=" + prom_dir + "/prometheus.yml",
       "--storage.tsdb.path=" + prom_dir + "/data",
       "--web.listen-address=127.0.0.1:" + std::to_string(port), "--log.level=warn"});
  prometheus_api api(port);
  auto node_up = [&] {
    auto r = api.query("up{job=\"flashsale\"}");
    return r.is_array() && r.size() == 1 && value_of(r[0]) == 1;
  };
  ASSERT_TRUE(t::eventually(node_up, 60s)) << api.last_error() << "\n" << prometheus.output();

  // A small sale after the first scrape, so rates have something to show.
  for (int i = 0; i < 6; ++i)
    ASSERT_EQ(t::order(*c, "u-" + std::to_string(i), "drop", 1)->status, i < 4 ? 201 : 409);
  ASSERT_EQ(t::order(*c, "u-x", "ghost", 1)->status, 404);
  auto product = t::body_of(c->Get("/products/drop"));
  auto seq = node.the_node().stats().last_seq;

  auto dashboard = json::parse(read_file(ops_dir + "/grafana-dashboard.json"));
  // A rate needs two samples of the window; 1 s scrapes put ten in it.
  for (const auto& [title, expr] : panel_queries(dashboard, "10s")) {
    json result;
    EXPECT_TRUE(t::eventually(
        [&] {
          result = api.query(expr);
          return result.is_array() && !result.empty();
        },
        30s))
        << "panel \"" << title << "\": " << expr << " answers nothing: " << api.last_error();
  }

  // Once a scrape after the sale is in, the numbers are the node's.
  auto units = [&](const std::string& state) {
    auto r = api.query("flashsale_product_units{product_id=\"drop\",state=\"" + state + "\"}");
    return r.is_array() && r.size() == 1 ? value_of(r[0]) : -1;
  };
  auto committed = [&] {
    auto r = api.query("flashsale_events_committed");
    return r.is_array() && r.size() == 1 ? value_of(r[0]) : -1;
  };
  EXPECT_TRUE(t::eventually([&] { return committed() == static_cast<double>(seq); }, 30s))
      << committed() << " vs " << seq;
  EXPECT_EQ(units("available"), product["available"].get<double>());
  EXPECT_EQ(units("reserved"), product["reserved"].get<double>());
  EXPECT_EQ(units("sold"), product["sold"].get<double>());
  EXPECT_EQ(units("stock"), 4);
  auto created = api.query("sum by (outcome) (increase(flashsale_orders_total[1m]))");
  ASSERT_TRUE(created.is_array());
  std::map<std::string, double> by_outcome;
  for (const auto& s : created)
    by_outcome[s["metric"].value("outcome", "")] = value_of(s);
  EXPECT_GT(by_outcome["created"], 0) << created.dump();
  EXPECT_GT(by_outcome["sold_out"], 0) << created.dump();

  // The alert rules are loaded, and a healthy node raises none of them.
  auto rules = api.get("/api/v1/rules");
  ASSERT_TRUE(rules.is_object()) << prometheus.output();
  std::size_t loaded = 0;
  for (const auto& group : rules["data"]["groups"])
    loaded += group["rules"].size();
  auto rules_file = read_file(ops_dir + "/flashsale-alerts.yml");
  std::size_t written = 0;
  for (auto at = rules_file.find("- alert:"); at != std::string::npos;
       at = rules_file.find("- alert:", at + 1))
    ++written;
  EXPECT_GT(written, 0u);
  EXPECT_EQ(loaded, written);
  auto alerts = api.get("/api/v1/alerts");
  ASSERT_TRUE(alerts.is_object());
  EXPECT_TRUE(alerts["data"]["alerts"].empty()) << alerts.dump();

  prometheus.signal(SIGTERM);
  EXPECT_TRUE(prometheus.wait_exit(30s)) << prometheus.output();
}
