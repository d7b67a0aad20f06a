// The config loader: defaults from config/flashsale.json, then file, env, --set; every error
// names the key and the source, and nothing half-loaded is returned.
#include <fstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "config/config.hpp"
#include "tests/support/temp_dir.hpp"

using namespace flashsale;

namespace {

node_config load_ok(const config_sources& sources) {
  auto result = load_config(sources);
  if (auto problem = std::get_if<std::string>(&result))
    ADD_FAILURE() << *problem;
  return std::get<node_config>(result);
}

std::string load_error(const config_sources& sources) {
  auto result = load_config(sources);
  if (auto problem = std::get_if<std::string>(&result))
    return *problem;
  ADD_FAILURE() << "expected a config error";
  return "";
}

std::string write_file(const flashsale::testing::temp_dir& dir, const std::string& text) {
  auto path = dir.file("config.json");
  std::ofstream(path) << text;
  return path;
}

} // namespace

TEST(ConfigDefaults, MatchApiDocument) {
  auto c = load_ok({});
  EXPECT_EQ(c.data_dir, "data");
  EXPECT_EQ(c.http.host, "127.0.0.1");
  EXPECT_EQ(c.http.port, 8080);
  EXPECT_EQ(c.http.max_body_bytes, 65536);
  EXPECT_EQ(c.store.sync, "full");
  EXPECT_GT(c.store.snapshot_every, 0);
  EXPECT_EQ(c.nats.url, "embedded");
  EXPECT_EQ(c.orders.hold_seconds, 600);
  EXPECT_EQ(c.rate_limit.per_user_per_second, 0);
  EXPECT_EQ(c.rate_limit.burst, 10);
  EXPECT_EQ(c.admin_token, "");
  EXPECT_EQ(c.payments.webhook_secret, "");
  EXPECT_FALSE(c.payments.simulator.enabled);
  EXPECT_EQ(c.payments.simulator.latency_ms, 3000);
  EXPECT_DOUBLE_EQ(c.payments.simulator.success_rate, 0.9);
}

TEST(ConfigDefaults, RepositoryFileHoldsEveryKeyExactlyAsEmbedded) {
  std::ifstream in(std::string(FLASHSALE_SOURCE_DIR) + "/config/flashsale.json");
  auto file = nlohmann::json::parse(in);
  EXPECT_EQ(file, nlohmann::json::parse(default_config_json()));
  for (auto& key : config_keys()) {
    nlohmann::json::json_pointer ptr("/" + [&] {
      std::string p = key;
      for (auto& ch : p)
        if (ch == '.')
          ch = '/';
      return p;
    }());
    EXPECT_TRUE(file.contains(ptr)) << key << " has no default in config/flashsale.json";
  }
}

TEST(ConfigLayers, FileThenEnvironmentThenFlagsLaterWins) {
  flashsale::testing::temp_dir dir;
  auto path = write_file(dir, R"({"http": {"port": 1000, "host": "0.0.0.0"}, "data_dir": "d1"})");
  config_sources sources;
  sources.file = path;
  sources.env = {{"FLASHSALE_HTTP_PORT", "2000"}, {"FLASHSALE_DATA_DIR", "d2"}};
  sources.sets = {"http.port=3000"};
  auto c = load_ok(sources);
  EXPECT_EQ(c.http.port, 3000);
  EXPECT_EQ(c.data_dir, "d2");
  EXPECT_EQ(c.http.host, "0.0.0.0");
  EXPECT_EQ(c.orders.hold_seconds, 600) << "keys not mentioned keep their defaults";
}

TEST(ConfigLayers, TextValuesAreReadAsTheKeysType) {
  config_sources sources;
  sources.sets = {"payments.simulator.enabled=true", "payments.simulator.success_rate=0.5",
                  "rate_limit.per_user_per_second=2.5", "admin_token=s3cret=x"};
  auto c = load_ok(sources);
  EXPECT_TRUE(c.payments.simulator.enabled);
  EXPECT_DOUBLE_EQ(c.payments.simulator.success_rate, 0.5);
  EXPECT_DOUBLE_EQ(c.rate_limit.per_user_per_second, 2.5);
  EXPECT_EQ(c.admin_token, "s3cret=x") << "only the first '=' separates key and value";
}

TEST(ConfigErrors, FlagWithWrongTypeNamesKeyAndSource) {
  config_sources sources;
  sources.sets = {"http.port=abc"};
  auto e = load_error(sources);
  EXPECT_NE(e.find("http.port"), std::string::npos) << e;
  EXPECT_NE(e.find("--set"), std::string::npos) << e;
}

TEST(ConfigErrors, OutOfRangeIsRejected) {
  config_sources sources;
  sources.sets = {"http.port=70000"};
  EXPECT_NE(load_error(sources).find("http.port"), std::string::npos);
  sources.sets = {"payments.simulator.success_rate=1.5"};
  EXPECT_NE(load_error(sources).find("success_rate"), std::string::npos);
  sources.sets = {"store.sync=sometimes"};
  EXPECT_NE(load_error(sources).find("store.sync"), std::string::npos);
  sources.sets = {"nats.url=http://x"};
  EXPECT_NE(load_error(sources).find("nats.url"), std::string::npos);
  sources.sets = {"http.port=12 "};
  EXPECT_NE(load_error(sources).find("http.port"), std::string::npos);
}

TEST(ConfigErrors, HttpsNeedsBothFilesAndTheEdge) {
  config_sources sources;
  sources.sets = {"http.tls.cert_file=/x/cert.pem"};
  EXPECT_NE(load_error(sources).find("http.tls.key_file"), std::string::npos)
      << load_error(sources);
  sources.sets = {"http.tls.key_file=/x/key.pem"};
  EXPECT_NE(load_error(sources).find("http.tls.cert_file"), std::string::npos);
  sources.sets = {"http.tls.cert_file=/x/cert.pem", "http.tls.key_file=/x/key.pem",
                  "http.front=none"};
  auto e = load_error(sources);
  EXPECT_NE(e.find("http.tls.cert_file"), std::string::npos) << e;
  EXPECT_NE(e.find("http.front"), std::string::npos) << e;
  sources.sets = {"http.front=haproxy"};
  EXPECT_NE(load_error(sources).find("http.front"), std::string::npos);
}

TEST(ConfigErrors, UnknownKeysInEverySourceAreRejected) {
  flashsale::testing::temp_dir dir;
  config_sources from_file;
  from_file.file = write_file(dir, R"({"http": {"prot": 1}})");
  auto e = load_error(from_file);
  EXPECT_NE(e.find("http.prot"), std::string::npos) << e;
  EXPECT_NE(e.find("file"), std::string::npos) << e;

  config_sources from_env;
  from_env.env = {{"FLASHSALE_HTTP_PROT", "1"}};
  e = load_error(from_env);
  EXPECT_NE(e.find("FLASHSALE_HTTP_PROT"), std::string::npos) << e;
  EXPECT_NE(e.find("environment"), std::string::npos) << e;

  config_sources from_flag;
  from_flag.sets = {"nope=1"};
  EXPECT_NE(load_error(from_flag).find("nope"), std::string::npos);
}

TEST(ConfigErrors, FileWithWrongTypeOrBadJsonNamesTheFile) {
  flashsale::testing::temp_dir dir;
  config_sources sources;
  sources.file = write_file(dir, R"({"http": {"port": "8080"}})");
  auto e = load_error(sources);
  EXPECT_NE(e.find("http.port"), std::string::npos) << e;
  EXPECT_NE(e.find(sources.file), std::string::npos) << e;

  sources.file = write_file(dir, R"({"http": )");
  EXPECT_NE(load_error(sources).find("not valid JSON"), std::string::npos);

  sources.file = dir.file("missing.json");
  EXPECT_NE(load_error(sources).find("cannot read"), std::string::npos);
}

TEST(ConfigErrors, EnvironmentValueWithWrongTypeNamesTheVariable) {
  config_sources sources;
  sources.env = {{"FLASHSALE_ORDERS_HOLD_SECONDS", "ten"}};
  auto e = load_error(sources);
  EXPECT_NE(e.find("orders.hold_seconds"), std::string::npos) << e;
  EXPECT_NE(e.find("FLASHSALE_ORDERS_HOLD_SECONDS"), std::string::npos) << e;
}

TEST(ConfigNames, EnvironmentNameIsUpperCasedPathWithUnderscores) {
  EXPECT_EQ(env_name_of("http.port"), "FLASHSALE_HTTP_PORT");
  EXPECT_EQ(env_name_of("payments.simulator.latency_ms"),
            "FLASHSALE_PAYMENTS_SIMULATOR_LATENCY_MS");
  EXPECT_EQ(env_name_of("admin_token"), "FLASHSALE_ADMIN_TOKEN");
}

TEST(ConfigErrors, ClusterModeNeedsANodeIdAndANatsCluster) {
  config_sources sources;
  sources.sets = {"cluster.enabled=true", "nats.url=nats://127.0.0.1:4222"};
  auto e = load_error(sources);
  EXPECT_NE(e.find("cluster.node_id: required"), std::string::npos) << e;
  sources.sets = {"cluster.enabled=true", "cluster.node_id=n1"};
  e = load_error(sources);
  EXPECT_NE(e.find("nats.url: cluster mode needs"), std::string::npos) << e;
  sources.sets = {"cluster.node_id=n 1"};
  EXPECT_NE(load_error(sources).find("cluster.node_id"), std::string::npos);
  sources.sets = {"cluster.lease_ms=50"};
  EXPECT_NE(load_error(sources).find("cluster.lease_ms"), std::string::npos);
  sources.sets = {"cluster.enabled=true", "cluster.node_id=n1",
                  "nats.url=nats://127.0.0.1:1,nats://127.0.0.1:2"};
  auto c = load_ok(sources);
  EXPECT_TRUE(c.cluster.enabled);
  EXPECT_EQ(c.cluster.partitions, 12);
  EXPECT_EQ(c.cluster.lease_ms, 3000);
  EXPECT_EQ(c.cluster.replicas, 3);
}

TEST(ConfigDefaults, NatsCredentialsAndTlsAreEmpty) {
  auto c = load_ok({});
  for (auto* v : {&c.nats.creds_file, &c.nats.user, &c.nats.password, &c.nats.token,
                  &c.nats.tls_ca_file, &c.nats.tls_cert_file, &c.nats.tls_key_file})
    EXPECT_EQ(*v, "");
}

TEST(ConfigLayers, NatsCredentialsComeFromEveryLayerThePasswordAlsoFromItsVariable) {
  config_sources sources;
  sources.sets = {"nats.url=nats://10.0.0.1:4222", "nats.user=flashsale-node",
                  "nats.tls.ca_file=/etc/flashsale/ca.pem",
                  "nats.tls.cert_file=/etc/flashsale/node.pem",
                  "nats.tls.key_file=/etc/flashsale/node-key.pem"};
  sources.env = {{"FLASHSALE_NATS_PASSWORD", "s3cret"}};
  auto c = load_ok(sources);
  EXPECT_EQ(c.nats.user, "flashsale-node");
  EXPECT_EQ(c.nats.password, "s3cret");
  EXPECT_EQ(c.nats.tls_ca_file, "/etc/flashsale/ca.pem");
  EXPECT_EQ(c.nats.tls_cert_file, "/etc/flashsale/node.pem");
  EXPECT_EQ(c.nats.tls_key_file, "/etc/flashsale/node-key.pem");
  sources.sets = {"nats.url=nats://10.0.0.1:4222", "nats.creds_file=/etc/flashsale/node.creds"};
  sources.env = {};
  EXPECT_EQ(load_ok(sources).nats.creds_file, "/etc/flashsale/node.creds");
  sources.sets = {"nats.url=nats://10.0.0.1:4222", "nats.token=t0ken"};
  EXPECT_EQ(load_ok(sources).nats.token, "t0ken");
}

TEST(ConfigErrors, NatsCredentialsAreRefusedWithTheEmbeddedServerNamingTheKey) {
  config_sources sources;
  for (auto key :
       {"nats.creds_file", "nats.user", "nats.token", "nats.tls.ca_file", "nats.tls.cert_file"}) {
    sources.sets = {std::string(key) + "=x"};
    auto e = load_error(sources);
    EXPECT_EQ(e.rfind(std::string("config: ") + key + ":", 0), 0u) << e;
    EXPECT_NE(e.find("embedded"), std::string::npos) << e;
  }
  sources.sets = {"nats.url=off", "nats.user=u", "nats.password=p"};
  EXPECT_NE(load_error(sources).find("nats.user"), std::string::npos);
}

TEST(ConfigErrors, NatsCredentialCombinationsNameTheKey) {
  auto error_with = [](std::vector<std::string> sets) {
    config_sources sources;
    sources.sets = std::move(sets);
    sources.sets.insert(sources.sets.begin(), "nats.url=nats://10.0.0.1:4222");
    return load_error(sources);
  };
  EXPECT_EQ(error_with({"nats.user=u"}).rfind("config: nats.password:", 0), 0u);
  EXPECT_EQ(error_with({"nats.password=p"}).rfind("config: nats.user:", 0), 0u);
  EXPECT_EQ(error_with({"nats.user=u", "nats.password=p", "nats.token=t"})
                .rfind("config: nats.token:", 0),
            0u);
  EXPECT_EQ(error_with({"nats.creds_file=c", "nats.token=t"}).rfind("config: nats.creds_file:", 0),
            0u);
  EXPECT_EQ(error_with({"nats.tls.cert_file=c"}).rfind("config: nats.tls.key_file:", 0), 0u);
  EXPECT_EQ(error_with({"nats.tls.key_file=k"}).rfind("config: nats.tls.cert_file:", 0), 0u);
}

TEST(ConfigErrors, NeverShowASecretsValue) {
  flashsale::testing::temp_dir dir;
  config_sources sources;
  sources.file = write_file(dir, R"({"nats": {"password": 123456789}})");
  auto e = load_error(sources);
  EXPECT_NE(e.find("nats.password"), std::string::npos) << e;
  EXPECT_EQ(e.find("123456789"), std::string::npos) << e;
  sources.file = write_file(dir, R"({"admin_token": ["hunter2"]})");
  e = load_error(sources);
  EXPECT_NE(e.find("admin_token"), std::string::npos) << e;
  EXPECT_EQ(e.find("hunter2"), std::string::npos) << e;
}
