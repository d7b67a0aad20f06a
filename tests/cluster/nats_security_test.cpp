// Credentials and TLS to the NATS servers, end to end, on the test cluster that runs as
// production should (TLS, the shipped docs/ops/flashsale-accounts.conf): a client without
// credentials, or one that does not trust the servers' certificate, is refused with the
// server's (or TLS's) reason; the reader user reads a partition stream through a consumer of its
// own but cannot publish a command, an event into a partition log or a lease; a `serve` with a
// wrong password exits non-zero naming the reason; a node and `flashsale pay-sim`, each with its
// own user, sell and pay an order, and no password shows in their output, /health or /metrics.
#include <httplib.h>
#include <sys/stat.h>

#include <fstream>
#include <sstream>

#include <nats/nats.h>
#include <nlohmann/json.hpp>

#include "tests/cluster/cluster_fixture.hpp"
#include "tests/cluster/raw_nats.hpp"
#include "tests/support/serve_process.hpp"

using namespace flashsale;
using namespace flashsale::testing;
using nlohmann::json;
using std::chrono::seconds;

namespace {

/// A jetstream_client on `url` as the user `s` names; null (and a failure) when refused.
std::unique_ptr<jetstream_client> client_as(const std::string& url, const nats_security& s) {
  jetstream_options o;
  o.url = url;
  o.security = s;
  o.publish_timeout_ms = 1000; // a refused publish gets no answer
  auto c = jetstream_client::connect(o);
  if (auto e = std::get_if<jetstream_error>(&c)) {
    ADD_FAILURE() << e->message;
    return nullptr;
  }
  return std::move(std::get<0>(c));
}

std::string get_text(int port, const std::string& path) {
  httplib::Client c("127.0.0.1", port);
  c.set_read_timeout(10);
  auto r = c.Get(path.c_str());
  return r ? r->body : "";
}

} // namespace

TEST_F(ClusterTest, AClientWithoutCredentialsIsRefusedWithTheServersReason) {
  auto o = cluster->link_options("anonymous");
  o.security.user.clear();
  o.security.password.clear();
  auto refused = cluster::nats_link::connect(o);
  ASSERT_TRUE(std::holds_alternative<std::string>(refused));
  EXPECT_NE(std::get<std::string>(refused).find("Authorization Violation"), std::string::npos)
      << std::get<std::string>(refused);

  o = cluster->link_options("wrong-password");
  o.security.password = "not-the-password";
  refused = cluster::nats_link::connect(o);
  ASSERT_TRUE(std::holds_alternative<std::string>(refused));
  EXPECT_NE(std::get<std::string>(refused).find("Authorization Violation"), std::string::npos);
  EXPECT_EQ(std::get<std::string>(refused).find("not-the-password"), std::string::npos);
}

TEST_F(ClusterTest, AClientThatDoesNotTrustTheServersCertificateIsRefused) {
  auto o = cluster->link_options("no-ca");
  o.security.ca_file.clear(); // the servers require TLS; their CA is not the system's
  auto refused = cluster::nats_link::connect(o);
  ASSERT_TRUE(std::holds_alternative<std::string>(refused));
  EXPECT_NE(std::get<std::string>(refused).find("SSL"), std::string::npos)
      << std::get<std::string>(refused);
}

TEST_F(ClusterTest, TheReaderCannotPublishCommandsPartitionLogsOrLeases) {
  // What the nodes own: a partition stream, the lease bucket, and a listener on commands.
  raw_nats node(cluster->url(0), cluster->node_security());
  ASSERT_TRUE(node.js) << node.error();
  const char* p3_subjects[] = {"flashsale.p.3.>"};
  jsStreamConfig sc;
  jsStreamConfig_Init(&sc);
  sc.Name = "FLASHSALE_P3";
  sc.Subjects = p3_subjects;
  sc.SubjectsLen = 1;
  sc.Replicas = 3;
  // (R3 placement needs every server to have met the others: retried until it has.)
  ASSERT_TRUE(
      eventually([&] { return js_AddStream(nullptr, node.js, &sc, nullptr, nullptr) == NATS_OK; },
                 seconds(30)))
      << nats_GetLastError(nullptr);
  kvConfig kc;
  kvConfig_Init(&kc);
  kc.Bucket = "flashsale_cluster";
  kc.Replicas = 3;
  kvStore* kv = nullptr;
  ASSERT_TRUE(
      eventually([&] { return js_CreateKeyValue(&kv, node.js, &kc) == NATS_OK; }, seconds(30)))
      << nats_GetLastError(nullptr);
  natsSubscription* commands = nullptr;
  ASSERT_EQ(natsConnection_SubscribeSync(&commands, node.nc, "flashsale.cmd.3"), NATS_OK);
  ASSERT_EQ(natsConnection_Flush(node.nc), NATS_OK);

  raw_nats reader(cluster->url(1), cluster->reader_security());
  ASSERT_TRUE(reader.nc) << reader.error();
  const std::vector<std::string> forbidden = {
      "flashsale.cmd.3", "flashsale.p.3.order.x.OrderPlaced", "$KV.flashsale_cluster.lease.3"};
  // One at a time: nats.c keeps only the connection's last error for its handler to read.
  for (auto& subject : forbidden) {
    EXPECT_EQ(natsConnection_PublishString(reader.nc, subject.c_str(), "{}"), NATS_OK);
    ASSERT_EQ(natsConnection_FlushTimeout(reader.nc, 5000), NATS_OK);
    EXPECT_TRUE(eventually(
        [&] {
          return reader.async_errors().find("Permissions Violation for Publish to \"" + subject
                                            + "\"")
                 != std::string::npos;
        },
        seconds(5)))
        << subject << "; errors seen:\n"
        << reader.async_errors();
  }
  // ...and none of it arrived: no command, nothing in the log, no lease.
  natsMsg* got = nullptr;
  EXPECT_EQ(natsSubscription_NextMsg(&got, commands, 200), NATS_TIMEOUT);
  natsMsg_Destroy(got);
  jsStreamInfo* si = nullptr;
  ASSERT_EQ(js_GetStreamInfo(&si, node.js, "FLASHSALE_P3", nullptr, nullptr), NATS_OK);
  EXPECT_EQ(si->State.Msgs, 0u);
  jsStreamInfo_Destroy(si);
  kvEntry* lease = nullptr;
  EXPECT_EQ(kvStore_Get(&lease, kv, "lease.3"), NATS_NOT_FOUND);
  kvEntry_Destroy(lease);
  natsSubscription_Destroy(commands);
  kvStore_Destroy(kv);
}

TEST_F(ClusterTest, TheReaderReadsAPartitionStreamThroughAConsumerOfItsOwn) {
  auto writer_or = client_as(cluster->url(0), cluster->node_security());
  ASSERT_TRUE(writer_or);
  auto& writer = *writer_or;
  stream_spec p0;
  p0.name = "FLASHSALE_P0";
  p0.subjects = {"flashsale.p.0.>"};
  p0.replicas = 3;
  ASSERT_TRUE(eventually([&] { return !writer.ensure_stream(p0); }, seconds(30)));
  for (auto type : {"OrderPlaced", "OrderReserved", "OrderPaid"})
    ASSERT_FALSE(writer.publish(std::string("flashsale.p.0.order.o-1.") + type, "", "{}"));

  auto reader_or = client_as(cluster->url(2), cluster->reader_security());
  ASSERT_TRUE(reader_or);
  auto& reader = *reader_or;
  pull_consumer_spec audit;
  audit.stream = "FLASHSALE_P0";
  audit.durable = "audit";
  audit.filter_subject = "flashsale.p.0.order.>";
  auto created = reader.ensure_pull_consumer(audit);
  ASSERT_FALSE(created) << created->message;
  auto bound = reader.bind_pull(audit);
  ASSERT_TRUE(std::holds_alternative<std::unique_ptr<pull_subscription>>(bound))
      << std::get<jetstream_error>(bound).message;
  std::vector<std::string> subjects;
  ASSERT_TRUE(eventually(
      [&] {
        auto got = std::get<0>(bound)->fetch(10, 500);
        if (auto msgs = std::get_if<std::vector<received_message>>(&got))
          for (auto& m : *msgs) {
            subjects.push_back(m.subject());
            EXPECT_FALSE(m.ack());
          }
        return subjects.size() >= 3;
      },
      seconds(10)));
  EXPECT_EQ(subjects, (std::vector<std::string>{"flashsale.p.0.order.o-1.OrderPlaced",
                                                "flashsale.p.0.order.o-1.OrderReserved",
                                                "flashsale.p.0.order.o-1.OrderPaid"}));
  // Reading is all: the reader cannot append to the stream it reads.
  auto refused = reader.publish("flashsale.p.0.order.o-2.OrderPlaced", "", "{}");
  EXPECT_TRUE(refused);
}

TEST_F(ClusterTest, ServeWithAWrongPasswordExitsNamingTheReason) {
  for (bool cluster_mode : {false, true}) {
    std::vector<std::string> argv{
        FLASHSALE_BINARY, "serve",
        "--set",          "http.port=0",
        "--set",          "http.front=none",
        "--set",          "data_dir=" + dir.file(cluster_mode ? "c" : "s")};
    for (auto& a : cluster->nats_set_args())
      argv.push_back(a.rfind("nats.password=", 0) == 0 ? "nats.password=wrong-password" : a);
    if (cluster_mode)
      argv.insert(argv.end(), {"--set", "cluster.enabled=true", "--set", "cluster.node_id=a"});
    child_process node(argv);
    auto code = node.wait_exit(seconds(60));
    ASSERT_TRUE(code) << node.output();
    EXPECT_NE(*code, 0) << node.output();
    EXPECT_NE(node.output().find("Authorization Violation"), std::string::npos) << node.output();
    EXPECT_EQ(node.output().find("wrong-password"), std::string::npos) << node.output();
  }
}

TEST_F(ClusterTest, ANodeAndPaySimEachWithItsUserSellAndPayAndShowNoSecret) {
  // The node user's password only through FLASHSALE_NATS_PASSWORD, the pay-sim's likewise.
  auto node_user = cluster->node_security();
  auto payer = cluster->payments_security();
  std::vector<std::string> argv{FLASHSALE_BINARY, "serve",
                                "--set",          "http.port=0",
                                "--set",          "http.front=none",
                                "--set",          "data_dir=" + dir.file("node"),
                                "--set",          "store.sync=normal",
                                "--set",          "payments.webhook_secret=whsec-test",
                                "--set",          "nats.url=" + cluster->urls(),
                                "--set",          "nats.user=" + node_user.user,
                                "--set",          "nats.tls.ca_file=" + node_user.ca_file};
  child_process node(
      argv, {"FLASHSALE_ADMIN_TOKEN=tok", "FLASHSALE_NATS_PASSWORD=" + node_user.password});
  int port = listening_port(node, seconds(60));
  ASSERT_GT(port, 0) << node.output();
  httplib::Client http("127.0.0.1", port);
  http.set_read_timeout(10);
  httplib::Headers admin{{"Authorization", "Bearer tok"}};
  auto put = http.Put("/products/p1", admin, R"({"name":"p1","stock":5})", "application/json");
  ASSERT_TRUE(put && put->status == 201);
  auto order = http.Post("/orders", R"({"user_id":"u1","product_id":"p1","quantity":1})",
                         "application/json");
  ASSERT_TRUE(order && order->status == 201) << (order ? order->body : "no answer");
  auto order_id = json::parse(order->body)["order_id"].get<std::string>();

  child_process sim({FLASHSALE_BINARY, "pay-sim", "--node-url",
                     "http://127.0.0.1:" + std::to_string(port), "--nats-url", cluster->urls(),
                     "--secret", "whsec-test", "--latency-ms", "0", "--success-rate", "1", "--set",
                     "nats.user=" + payer.user, "--set", "nats.tls.ca_file=" + payer.ca_file},
                    {"FLASHSALE_NATS_PASSWORD=" + payer.password});
  EXPECT_TRUE(eventually(
      [&] {
        return json::parse(get_text(port, "/orders/" + order_id), nullptr, false)
                   .value("status", "")
               == "paid";
      },
      seconds(30)))
      << sim.output();

  auto health = get_text(port, "/health");
  EXPECT_EQ(json::parse(health, nullptr, false).value("nats", ""), "connected") << health;
  auto metrics = get_text(port, "/metrics");
  EXPECT_FALSE(metrics.empty());
  sim.signal(SIGTERM);
  sim.wait_exit(seconds(10));
  node.signal(SIGTERM);
  ASSERT_EQ(node.wait_exit(seconds(30)), 0) << node.output();
  const std::vector<std::pair<std::string, std::string>> shown = {{"node output", node.output()},
                                                                  {"pay-sim output", sim.output()},
                                                                  {"/health", health},
                                                                  {"/metrics", metrics}};
  for (auto& secret : {node_user.password, payer.password})
    for (auto& [where, text] : shown)
      EXPECT_EQ(text.find(secret), std::string::npos) << "a password in " << where;
}

TEST_F(ClusterTest, TheShippedServerConfigIsValid) {
  // docs/ops/nats-cluster.conf with its /etc/nats and /var/lib/nats paths pointed at this
  // test's certificates and directory, checked by the server itself (`nats-server -t`).
  std::ifstream in(std::string(FLASHSALE_SOURCE_DIR) + "/docs/ops/nats-cluster.conf");
  std::stringstream text;
  text << in.rdbuf();
  std::string conf = text.str();
  auto tls = dir.file("tls");
  for (auto [from, to] :
       {std::pair<std::string, std::string>{"/etc/nats/tls/nats-1.pem", tls + "/server.pem"},
        {"/etc/nats/tls/nats-1-key.pem", tls + "/server-key.pem"},
        {"/etc/nats/tls/ca.pem", tls + "/ca.pem"},
        {"/var/lib/nats/jetstream", dir.file("shipped-js")}})
    for (std::size_t at; (at = conf.find(from)) != std::string::npos;)
      conf.replace(at, from.size(), to);
  ::mkdir(dir.file("shipped").c_str(), 0700);
  std::ofstream(dir.file("shipped/nats-cluster.conf")) << conf;
  std::ifstream accounts(std::string(FLASHSALE_SOURCE_DIR) + "/docs/ops/flashsale-accounts.conf");
  std::ofstream(dir.file("shipped/flashsale-accounts.conf")) << accounts.rdbuf();
  child_process check({cluster_nats_server(), "-t", "-c", dir.file("shipped/nats-cluster.conf")},
                      {"FLASHSALE_NODE_PASSWORD=a", "FLASHSALE_PAYMENTS_PASSWORD=b",
                       "FLASHSALE_READER_PASSWORD=c"});
  EXPECT_EQ(check.wait_exit(seconds(30)), 0) << check.output();
  EXPECT_NE(check.output().find("is valid"), std::string::npos) << check.output();
}
