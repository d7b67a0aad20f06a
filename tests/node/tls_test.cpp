// HTTPS at the edge: a certificate made by the test with `openssl req`, the node started with
// http.tls.cert_file/key_file, HAProxy terminating TLS on http.port. Clients that trust the
// certificate get the API (the banner says https://); clients that do not are refused by their
// own verification; `flashsale load` rehearses a sale and pays through the webhook over HTTPS;
// the in-node payment simulator (through the node's own edge) and `flashsale pay-sim` (a
// process of its own, trusting the certificate) pay reserved orders over HTTPS.
#include <httplib.h>
#include <signal.h>

#include <sstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/nats/nats_support.hpp"
#include "tests/support/child_process.hpp"
#include "tests/support/eventually.hpp"
#include "tests/support/serve_process.hpp"
#include "tests/support/temp_dir.hpp"

namespace {

using flashsale::testing::child_process;
using flashsale::testing::eventually;
using flashsale::testing::temp_dir;
using json = nlohmann::json;
using namespace std::chrono_literals;

const std::string admin_token = "tls-test-admin-token";
const std::string webhook_secret = "tls-test-webhook-secret";

class Tls : public ::testing::Test {
protected:
  void SetUp() override {
    child_process openssl({"/usr/bin/openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                           "-keyout", dir_.file("key.pem"), "-out", dir_.file("cert.pem"), "-days",
                           "2", "-subj", "/CN=localhost", "-addext",
                           "subjectAltName=DNS:localhost,IP:127.0.0.1"});
    auto code = openssl.wait_exit(60s);
    ASSERT_TRUE(code && *code == 0) << openssl.output();
  }

  void start(std::vector<std::string> extra = {}) {
    std::vector<std::string> argv{FLASHSALE_BINARY, "serve",
                                  "--set",          "http.port=0",
                                  "--set",          "data_dir=" + dir_.file("data"),
                                  "--set",          "store.sync=normal",
                                  "--set",          "http.tls.cert_file=" + dir_.file("cert.pem"),
                                  "--set",          "http.tls.key_file=" + dir_.file("key.pem")};
    argv.insert(argv.end(), extra.begin(), extra.end());
    node_ = std::make_unique<child_process>(
        argv, std::vector<std::string>{"FLASHSALE_ADMIN_TOKEN=" + admin_token,
                                       "FLASHSALE_PAYMENTS_WEBHOOK_SECRET=" + webhook_secret});
    port_ = flashsale::testing::listening_port(*node_);
    ASSERT_GT(port_, 0) << node_->output();
  }

  std::string url() const { return "https://127.0.0.1:" + std::to_string(port_); }

  std::unique_ptr<httplib::Client> trusting_client() const {
    auto c = std::make_unique<httplib::Client>(url());
    c->enable_server_certificate_verification(true);
    c->set_ca_cert_path(dir_.file("cert.pem"));
    c->set_connection_timeout(5, 0);
    c->set_read_timeout(30, 0);
    return c;
  }

  json load(std::vector<std::string> args) {
    args.insert(args.begin(), {FLASHSALE_BINARY, "load", "--url", url(), "--json"});
    child_process run(args, {"FLASHSALE_ADMIN_TOKEN=" + admin_token,
                             "FLASHSALE_WEBHOOK_SECRET=" + webhook_secret});
    auto code = run.wait_exit(60s);
    EXPECT_TRUE(code) << run.output();
    std::istringstream lines(run.output());
    for (std::string l; std::getline(lines, l);)
      if (l.rfind("{\"", 0) == 0)
        return json::parse(l);
    ADD_FAILURE() << run.output();
    return json();
  }

  int sold(const std::string& product) {
    auto r = trusting_client()->Get("/products/" + product);
    return r && r->status == 200 ? json::parse(r->body)["sold"].get<int>() : -1;
  }

  temp_dir dir_;
  std::unique_ptr<child_process> node_;
  int port_ = -1;
};

} // namespace

TEST_F(Tls, TheEdgeServesHttpsToClientsThatTrustItsCertificate) {
  start({"--set", "nats.url=off"});
  EXPECT_NE(node_->output().find("flashsale listening on https://"), std::string::npos);
  auto health = trusting_client()->Get("/health");
  ASSERT_TRUE(health) << httplib::to_string(health.error());
  EXPECT_EQ(health->status, 200);

  httplib::Client stranger(url()); // the system's CAs know nothing of this certificate
  stranger.enable_server_certificate_verification(true);
  auto refused = stranger.Get("/health");
  EXPECT_FALSE(refused) << "a client must not accept an untrusted certificate";

  httplib::Client plain("127.0.0.1", port_); // plain HTTP on the HTTPS port
  plain.set_read_timeout(5, 0);
  auto garbled = plain.Get("/health");
  EXPECT_TRUE(!garbled || garbled->status != 200) << "no plain HTTP on the TLS port";

  auto run = load({"--ca-cert", dir_.file("cert.pem"), "--stock", "60", "--buyers", "600",
                   "--concurrency", "8", "--pay-share", "0.5"});
  EXPECT_EQ(run["verdict"]["pass"], true) << run.dump(2);
  EXPECT_EQ(run["outcomes"]["accepted"], 60);
  EXPECT_EQ(run["payments"]["applied"], 30) << "the webhook, signed and over HTTPS";

  auto untrusted = load({"--stock", "10", "--buyers", "10"});
  EXPECT_NE(untrusted["setup_error"].get<std::string>().find("SSLServerVerification"),
            std::string::npos)
      << untrusted.dump(2);
}

TEST_F(Tls, TheInNodeSimulatorPaysThroughTheNodesOwnEdgeOverHttps) {
  start({"--set", "payments.simulator.enabled=true", "--set", "payments.simulator.latency_ms=50",
         "--set", "payments.simulator.success_rate=1"}); // embedded NATS, the default
  auto run = load({"--ca-cert", dir_.file("cert.pem"), "--product", "inside", "--stock", "20",
                   "--buyers", "20", "--concurrency", "4"});
  ASSERT_EQ(run["outcomes"]["accepted"], 20) << run.dump(2);
  EXPECT_TRUE(eventually([&] { return sold("inside") == 20; }, 30s)) << sold("inside");
}

TEST_F(Tls, PaySimPaysOverHttpsTrustingTheCertificateItIsGiven) {
  flashsale::testing::nats_server_process nats(flashsale::testing::free_port(),
                                               dir_.file("jetstream"));
  nats.start();
  start({"--set", "nats.url=" + nats.url()});
  auto run = load({"--ca-cert", dir_.file("cert.pem"), "--product", "outside", "--stock", "20",
                   "--buyers", "20", "--concurrency", "4"});
  ASSERT_EQ(run["outcomes"]["accepted"], 20) << run.dump(2);
  child_process sim({FLASHSALE_BINARY, "pay-sim", "--node-url", url(), "--nats-url", nats.url(),
                     "--secret", webhook_secret, "--ca-cert", dir_.file("cert.pem"), "--latency-ms",
                     "50", "--success-rate", "1"});
  EXPECT_TRUE(eventually([&] { return sold("outside") == 20; }, 30s)) << sold("outside") << "\n"
                                                                      << sim.output();
  sim.signal(SIGTERM);
  EXPECT_TRUE(sim.wait_exit(10s));
}
