// The `flashsale` executable as a user runs it: subcommands, --version, usage errors, config
// errors, and `serve` on port 0 answering /health and stopping cleanly on SIGTERM.
#include <httplib.h>
#include <signal.h>

#include <chrono>
#include <fstream>
#include <regex>
#include <sstream>

#include <gtest/gtest.h>

#include "tests/support/child_process.hpp"
#include "tests/support/serve_process.hpp"
#include "tests/support/temp_dir.hpp"

using flashsale::testing::child_process;
using namespace std::chrono_literals;

namespace {

int run(std::vector<std::string> args, std::string* output = nullptr) {
  args.insert(args.begin(), FLASHSALE_BINARY);
  child_process p(args);
  auto code = p.wait_exit(30s);
  if (output)
    *output = p.output();
  return code ? *code : -1;
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

} // namespace

TEST(Cli, HelpForEveryCommandExitsZero) {
  std::string out;
  EXPECT_EQ(run({"--help"}, &out), 0);
  EXPECT_TRUE(contains(out, "serve") && contains(out, "replay") && contains(out, "load")) << out;
  for (std::string cmd : {"serve", "replay", "load"}) {
    EXPECT_EQ(run({cmd, "--help"}, &out), 0) << cmd;
    EXPECT_TRUE(contains(out, "usage: flashsale " + cmd)) << out;
  }
}

TEST(Cli, VersionPrintsTheProjectVersionAndTheGitCommit) {
  std::string out;
  EXPECT_EQ(run({"--version"}, &out), 0);
  // "flashsale 0.2.0 (git 1a2b3c4)"; "-dirty" when built from changed files, "unknown" when
  // built outside a git checkout.
  static const std::regex format(
      R"(flashsale (\d+\.\d+(\.\d+)?) \(git ([0-9a-f]{7,}(-dirty)?|unknown)\)\n)");
  std::smatch m;
  ASSERT_TRUE(std::regex_match(out, m, format)) << out;
  // The version is the one project() declares, not a copy that could fall behind it.
  std::ifstream root(FLASHSALE_SOURCE_DIR "/CMakeLists.txt");
  std::stringstream text;
  text << root.rdbuf();
  std::smatch declared;
  std::string cmake = text.str();
  ASSERT_TRUE(
      std::regex_search(cmake, declared, std::regex(R"(project\(flashsale VERSION (\S+))")));
  EXPECT_EQ(m[1].str(), declared[1].str());
  std::string usage;
  run({"--help"}, &usage);
  EXPECT_TRUE(contains(usage, "--version")) << usage;
}

TEST(Cli, UnknownCommandOrFlagIsAUsageErrorWithExitTwo) {
  std::string out;
  EXPECT_EQ(run({"frobnicate"}, &out), 2);
  EXPECT_TRUE(contains(out, "unknown command 'frobnicate'")) << out;
  EXPECT_TRUE(contains(out, "usage: flashsale")) << out;
  EXPECT_EQ(run({}, &out), 2);
  for (std::string cmd : {"serve", "replay", "load"}) {
    EXPECT_EQ(run({cmd, "--bogus"}, &out), 2) << cmd;
    EXPECT_TRUE(contains(out, "unknown option '--bogus'")) << out;
  }
  EXPECT_EQ(run({"serve", "--set"}, &out), 2);
  EXPECT_TRUE(contains(out, "--set needs a value")) << out;
}

TEST(Cli, ServeWithBadPortFailsNamingTheKey) {
  flashsale::testing::temp_dir dir;
  std::string out;
  EXPECT_NE(run({"serve", "--set", "http.port=abc", "--set", "data_dir=" + dir.path()}, &out), 0);
  EXPECT_TRUE(contains(out, "http.port")) << out;
}

TEST(Cli, ServeWithBadEnvironmentFailsNamingTheVariable) {
  flashsale::testing::temp_dir dir;
  child_process p({FLASHSALE_BINARY, "serve", "--set", "data_dir=" + dir.path()},
                  {"FLASHSALE_STORE_SYNC=sometimes"});
  auto code = p.wait_exit(30s);
  ASSERT_TRUE(code);
  EXPECT_NE(*code, 0);
  EXPECT_TRUE(contains(p.output(), "FLASHSALE_STORE_SYNC")) << p.output();
}

TEST(CliServe, ListensOnPortZeroAnswersHealthAndStopsOnSigterm) {
  flashsale::testing::temp_dir dir;
  child_process node({FLASHSALE_BINARY, "serve", "--set", "http.port=0", "--set",
                      "data_dir=" + dir.path(), "--set", "nats.url=off"});
  int port = flashsale::testing::listening_port(node);
  ASSERT_GT(port, 0) << node.output();

  httplib::Client client("127.0.0.1", port);
  auto res = client.Get("/health");
  ASSERT_TRUE(res) << httplib::to_string(res.error());
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->get_header_value("Content-Type"), "application/json");
  EXPECT_TRUE(contains(res->body, R"("status":"ok")")) << res->body;

  auto missing = client.Get("/no/such/route");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);
  EXPECT_TRUE(contains(missing->body, R"("code":"not_found")")) << missing->body;

  node.signal(SIGTERM);
  auto code = node.wait_exit(30s);
  ASSERT_TRUE(code) << "node did not stop on SIGTERM";
  EXPECT_EQ(*code, 0) << node.output();
}

TEST(CliServe, SecondNodeOnTheSameDataDirIsRefused) {
  flashsale::testing::temp_dir dir;
  child_process first({FLASHSALE_BINARY, "serve", "--set", "http.port=0", "--set",
                       "data_dir=" + dir.path(), "--set", "nats.url=off"});
  ASSERT_GT(flashsale::testing::listening_port(first), 0) << first.output();
  std::string out;
  EXPECT_EQ(run({"serve", "--set", "http.port=0", "--set", "data_dir=" + dir.path(), "--set",
                 "nats.url=off"},
                &out),
            1);
  EXPECT_TRUE(contains(out, "locked")) << out;
}
