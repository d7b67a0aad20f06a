// Which nats-server cluster mode trusts (cluster/server_version.hpp): parsing and ordering
// versions, reading a server's INFO line, and the refusal's words. Pure: no server runs.
#include <gtest/gtest.h>

#include "cluster/server_version.hpp"

using namespace flashsale::cluster;

namespace {

std::string parsed(const std::string& text) {
  auto v = parse_server_version(text);
  return v ? to_string(*v) : "invalid";
}

int order(const std::string& a, const std::string& b) {
  return compare(*parse_server_version(a), *parse_server_version(b));
}

server_info info_of(const std::string& line) {
  auto r = parse_server_info(line);
  EXPECT_TRUE(std::holds_alternative<server_info>(r)) << std::get<std::string>(r);
  return std::holds_alternative<server_info>(r) ? std::get<server_info>(r) : server_info{};
}

} // namespace

TEST(ServerVersion, ParsesReleasesPrereleasesAndALeadingV) {
  EXPECT_EQ(parsed("2.15.1"), "2.15.1");
  EXPECT_EQ(parsed("v2.9.10"), "2.9.10");
  EXPECT_EQ(parsed("2.12.0-RC.1"), "2.12.0-RC.1");
  EXPECT_EQ(parsed("2.15.0-dev"), "2.15.0-dev");
  EXPECT_EQ(parsed("2.11.3+build.7"), "2.11.3");
}

TEST(ServerVersion, RefusesWhatIsNotAVersion) {
  for (auto bad : {"", "2", "2.15", "2.15.", "2..1", "a.b.c", "2.15.1.4", "2.15.1-", "-2.15.1",
                   "2.15.x", "99999999999.0.0"})
    EXPECT_EQ(parsed(bad), "invalid") << bad;
}

TEST(ServerVersion, OrdersNumericallyAndPrereleasesBeforeTheirRelease) {
  EXPECT_LT(order("2.9.10", "2.12.0"), 0); // not as strings: "2.9" > "2.1"
  EXPECT_LT(order("2.11.9", "2.12.0"), 0);
  EXPECT_GT(order("2.15.1", "2.12.0"), 0);
  EXPECT_GT(order("3.0.0", "2.99.99"), 0);
  EXPECT_EQ(order("v2.12.0", "2.12.0"), 0);
  EXPECT_LT(order("2.12.0-RC.6", "2.12.0"), 0);
  EXPECT_LT(order("2.12.0-RC.2", "2.12.0-RC.10"), 0);
  EXPECT_LT(order("2.12.0-1", "2.12.0-RC"), 0); // numeric identifiers sort first
  EXPECT_LT(order("2.12.0-RC", "2.12.0-RC.1"), 0);
  EXPECT_GT(order("2.12.1-RC.1", "2.12.0"), 0);
}

TEST(ServerInfo, ReadsVersionNameAndTheClustersOtherServers) {
  auto info = info_of(
      R"(INFO {"server_id":"NCFX","server_name":"n1","version":"2.15.1","tls_required":true,)"
      R"("auth_required":true,"jetstream":true,"connect_urls":["10.0.0.1:4222","10.0.0.2:4222"]})"
      "\r\n");
  EXPECT_EQ(info.server_id, "NCFX");
  EXPECT_EQ(info.server_name, "n1");
  EXPECT_EQ(info.version, "2.15.1");
  EXPECT_TRUE(info.tls_required && info.auth_required && info.jetstream);
  EXPECT_EQ(info.connect_urls, (std::vector<std::string>{"10.0.0.1:4222", "10.0.0.2:4222"}));
}

TEST(ServerInfo, IsAMessageForAnythingButANatsInfoLine) {
  for (auto bad : {"HTTP/1.1 400 Bad Request", "INFO not json", "INFO []",
                   R"(INFO {"server_id":"x"})", "-ERR 'Authorization Violation'"})
    EXPECT_TRUE(std::holds_alternative<std::string>(parse_server_info(bad))) << bad;
}

TEST(ServerAddress, IsHostAndPortWithoutSchemeOrCredentials) {
  EXPECT_EQ(server_address("nats://127.0.0.1:4222"), "127.0.0.1:4222");
  EXPECT_EQ(server_address("tls://user:secret@nats-1.internal:4443"), "nats-1.internal:4443");
  EXPECT_EQ(server_address("nats://nats-2.internal"), "nats-2.internal:4222");
  EXPECT_EQ(server_address("10.0.0.3:4222"), "10.0.0.3:4222");
  EXPECT_EQ(server_address("nats://[::1]:4333"), "[::1]:4333");
  EXPECT_EQ(server_address("nats://[::1]"), "[::1]:4222");
}

TEST(ServerVersionCheck, RefusesAnOlderServerNamingItItsVersionAndWhy) {
  auto info = info_of(R"(INFO {"server_id":"NX","server_name":"n0","version":"2.9.10"})");
  info.address = "127.0.0.1:4222";
  auto refusal = refuse_older(info, *parse_server_version("2.12.0"));
  ASSERT_TRUE(refusal);
  for (auto word : {"n0", "127.0.0.1:4222", "2.9.10", "2.12.0", "Nats-Expected-Last-Sequence",
                    "#4320", "batch"})
    EXPECT_NE(refusal->find(word), std::string::npos) << word << " in: " << *refusal;
}

TEST(ServerVersionCheck, AcceptsTheMinimumAndNewerAndRefusesAnUnreadableVersion) {
  auto minimum = *parse_server_version("2.12.0");
  server_info info;
  for (auto ok : {"2.12.0", "2.15.1", "3.0.0"}) {
    info.version = ok;
    EXPECT_FALSE(refuse_older(info, minimum)) << ok;
  }
  for (auto old : {"2.11.9", "2.12.0-RC.6", "nonsense"}) {
    info.version = old;
    EXPECT_TRUE(refuse_older(info, minimum)) << old;
  }
}
