// `flashsale load`'s flags, parsed as the command parses them (its CLI11 declarations, then
// finish_scenario) but in process: defaults, every flag into its field, both spellings of a
// value, strict checks that name the flag, the environment standing in for absent secrets,
// and the checks across flags.
#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "cli/load/scenario.hpp"
#include "cli/options.hpp"

using flashsale::load::scenario;

namespace {

std::map<std::string, std::string> environment;

const char* fake_env(const char* name) {
  auto it = environment.find(name);
  return it == environment.end() ? nullptr : it->second.c_str();
}

/// The scenario, or "usage: <problem>" as `flashsale load` would report it.
struct parsed {
  scenario s;
  std::string problem;
};

parsed parse(std::vector<std::string> args, std::map<std::string, std::string> env = {}) {
  environment = std::move(env);
  CLI::App app;
  parsed out;
  auto given = flashsale::load::add_scenario_options(app, out.s);
  std::reverse(args.begin(), args.end()); // CLI11 takes them last first
  try {
    app.parse(args);
  } catch (const CLI::ParseError& e) {
    out.problem = e.what();
    return out;
  }
  if (auto problem = flashsale::load::finish_scenario(out.s, given, fake_env))
    out.problem = *problem;
  return out;
}

} // namespace

TEST(LoadScenario, DefaultsAreTheDocumentedOnes) {
  auto p = parse({"--url", "http://127.0.0.1:8080/"});
  ASSERT_EQ(p.problem, "");
  EXPECT_EQ(p.s.url, "http://127.0.0.1:8080") << "trailing slashes go";
  EXPECT_EQ(p.s.product, "flash");
  EXPECT_FALSE(p.s.stock);
  EXPECT_EQ(p.s.buyers, 10000);
  EXPECT_EQ(p.s.concurrency, 64);
  EXPECT_EQ(p.s.quantity, 1);
  EXPECT_EQ(p.s.rate, 0);
  EXPECT_FALSE(p.s.duration_s);
  EXPECT_EQ(p.s.seed, 1u);
  EXPECT_TRUE(p.s.idempotency_keys);
  EXPECT_FALSE(p.s.crowd || p.s.json || p.s.strict);
  EXPECT_EQ(p.s.arrival_window_s, 1);
  EXPECT_EQ(p.s.buyer_timeout_s, 30);
}

TEST(LoadScenario, EveryFlagFillsItsFieldInEitherSpelling) {
  auto p = parse({"--url=https://shop.test",
                  "--ca-cert",
                  "ca.pem",
                  "--product",
                  "iphone",
                  "--stock=200",
                  "--admin-token",
                  "t",
                  "--buyers",
                  "5000",
                  "--concurrency=8",
                  "--quantity",
                  "2",
                  "--rate",
                  "250.5",
                  "--duration",
                  "3",
                  "--pay-share",
                  "0.5",
                  "--webhook-secret",
                  "w",
                  "--seed",
                  "7",
                  "--strict",
                  "--no-idempotency-keys",
                  "--json",
                  "--html",
                  "r.html"});
  ASSERT_EQ(p.problem, "");
  const auto& s = p.s;
  EXPECT_EQ(s.url + " " + s.ca_cert + " " + s.product + " " + s.admin_token + " " + s.webhook_secret
                + " " + s.html_file,
            "https://shop.test ca.pem iphone t w r.html");
  EXPECT_EQ(s.stock, 200);
  EXPECT_EQ(s.buyers, 5000);
  EXPECT_EQ(s.concurrency, 8);
  EXPECT_EQ(s.quantity, 2);
  EXPECT_EQ(s.rate, 250.5);
  EXPECT_EQ(s.duration_s, 3.0);
  EXPECT_EQ(s.pay_share, 0.5);
  EXPECT_EQ(s.seed, 7u);
  EXPECT_TRUE(s.strict && s.json && !s.idempotency_keys);

  auto crowd = parse({"--url", "http://h", "--crowd", "--arrival-window", "0.5", "--hold", "2",
                      "--idle-sockets", "300", "--buyer-timeout", "10"});
  ASSERT_EQ(crowd.problem, "");
  EXPECT_TRUE(crowd.s.crowd);
  EXPECT_EQ(crowd.s.arrival_window_s, 0.5);
  EXPECT_EQ(crowd.s.hold_s, 2);
  EXPECT_EQ(crowd.s.idle_sockets, 300);
  EXPECT_EQ(crowd.s.buyer_timeout_s, 10);
}

TEST(LoadScenario, AValueIsCheckedWholeAndTheProblemNamesItsFlag) {
  EXPECT_EQ(parse({"--url", "http://h", "--buyers", "5k"}).problem,
            "--buyers: expected an integer 1..1000000000, got '5k'");
  EXPECT_EQ(parse({"--url", "http://h", "--concurrency", "0"}).problem,
            "--concurrency: expected an integer 1..4096, got '0'");
  EXPECT_EQ(parse({"--url", "http://h", "--pay-share", "nan"}).problem,
            "--pay-share: expected a number 0..1, got 'nan'");
  EXPECT_EQ(parse({"--url", "http://h", "--product", "bad id"}).problem,
            "--product: expected an id of 1..128 characters [A-Za-z0-9._:-], got 'bad id'");
  EXPECT_EQ(parse({"--url", "h:80"}).problem,
            "--url: expected an http:// or https:// URL, got 'h:80'");
  EXPECT_EQ(parse({"--buyers", "3"}).problem, "--url is required");
}

TEST(LoadScenario, TheEnvironmentStandsInForSecretsTheFlagsDidNotGive) {
  auto from_env = parse({"--url", "http://h", "--stock", "5", "--pay-share", "1"},
                        {{"FLASHSALE_ADMIN_TOKEN", "env-token"},
                         {"FLASHSALE_WEBHOOK_SECRET", ""},
                         {"FLASHSALE_PAYMENTS_WEBHOOK_SECRET", "env-secret"}});
  ASSERT_EQ(from_env.problem, "");
  EXPECT_EQ(from_env.s.admin_token, "env-token");
  EXPECT_EQ(from_env.s.webhook_secret, "env-secret") << "an empty first variable falls through";
  auto flags_win =
      parse({"--url", "http://h", "--admin-token", "flag-token", "--webhook-secret", "flag-secret"},
            {{"FLASHSALE_ADMIN_TOKEN", "env-token"}, {"FLASHSALE_WEBHOOK_SECRET", "env-secret"}});
  EXPECT_EQ(flags_win.s.admin_token + " " + flags_win.s.webhook_secret, "flag-token flag-secret");
}

TEST(LoadScenario, ChecksAcrossFlagsAreUsageProblems) {
  EXPECT_EQ(parse({"--url", "http://h", "--stock", "5"}).problem,
            "--stock needs an admin token (--admin-token or FLASHSALE_ADMIN_TOKEN)");
  EXPECT_EQ(parse({"--url", "http://h", "--pay-share", "0.1"}).problem,
            "--pay-share needs a webhook secret (--webhook-secret or FLASHSALE_WEBHOOK_SECRET)");
  EXPECT_NE(parse({"--url", "https://h", "--crowd"}).problem.find("--crowd speaks plain HTTP"),
            std::string::npos);
  EXPECT_NE(parse({"--url", "http://h", "--crowd", "--rate", "5"})
                .problem.find("--crowd takes neither --rate nor --duration"),
            std::string::npos);
}
