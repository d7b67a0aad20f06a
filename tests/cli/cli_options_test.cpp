// The options of every `flashsale` command, as a user meets them: --help is generated from
// their declarations and lists every flag the docs (README.md, docs/API.md, shared/API.md)
// name; a bad value, an unknown option or a missing one is a usage error (exit 2) that names
// it, followed by the help of the command concerned.
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/support/child_process.hpp"

using flashsale::testing::child_process;
using namespace std::chrono_literals;

namespace {

struct run_result {
  int code = -1;
  std::string output;
};

run_result run(std::vector<std::string> args) {
  args.insert(args.begin(), FLASHSALE_BINARY);
  child_process p(args, {"FLASHSALE_ADMIN_TOKEN=", "FLASHSALE_WEBHOOK_SECRET="});
  auto code = p.wait_exit(30s);
  return {code ? *code : -1, p.output()};
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

/// Every flag the documentation names, per command: these must keep working.
const std::map<std::string, std::vector<std::string>> documented_flags{
    {"serve", {"--config", "--set"}},
    {"replay",
     {"--config", "--set", "--json", "--verify", "--at", "--stream", "--from-scratch",
      "--partition", "--nats"}},
    {"load", {"--url",
              "--ca-cert",
              "--product",
              "--stock",
              "--admin-token",
              "--buyers",
              "--concurrency",
              "--quantity",
              "--rate",
              "--duration",
              "--pay-share",
              "--webhook-secret",
              "--seed",
              "--strict",
              "--no-idempotency-keys",
              "--json",
              "--html",
              "--crowd",
              "--arrival-window",
              "--hold",
              "--idle-sockets",
              "--buyer-timeout"}},
    {"pay-sim",
     {"--node-url", "--nats-url", "--secret", "--ca-cert", "--workers", "--latency-ms",
      "--success-rate", "--max-deliver", "--seed"}},
    {"cluster status", {"--nats", "--bucket", "--json"}},
};

std::vector<std::string> words(const std::string& command) {
  std::istringstream in(command);
  std::vector<std::string> out;
  for (std::string w; in >> w;)
    out.push_back(w);
  return out;
}

} // namespace

TEST(CliOptions, EveryCommandsHelpIsGeneratedAndListsEveryDocumentedFlag) {
  for (const auto& [command, flags] : documented_flags) {
    auto args = words(command);
    args.push_back("--help");
    auto help = run(args);
    EXPECT_EQ(help.code, 0) << command;
    EXPECT_EQ(help.output.rfind("usage: flashsale " + command, 0), 0u) << help.output;
    for (const auto& flag : flags)
      EXPECT_TRUE(contains(help.output, "  " + flag + " ")
                  || contains(help.output, "  " + flag + "\n"))
          << command << " --help does not list " << flag << ":\n"
          << help.output;
  }
  // Defaults and checks come from the declarations, not from a hand-kept text.
  auto pay_sim = run({"pay-sim", "--help"});
  EXPECT_TRUE(contains(pay_sim.output, "--workers N in 1..64 [2]")) << pay_sim.output;
  EXPECT_TRUE(contains(pay_sim.output, "--node-url URL (required)")) << pay_sim.output;
  EXPECT_EQ(run({"help"}).output, run({"--help"}).output);
}

TEST(CliOptions, ABadValueIsAUsageErrorThatNamesItsOption) {
  struct bad {
    std::vector<std::string> args;
    std::string names;
    std::string usage;
  };
  for (const auto& b : std::vector<bad>{
           {{"load", "--url", "http://127.0.0.1:1", "--buyers", "5k"},
            "--buyers: expected an integer 1..1000000000, got '5k'",
            "usage: flashsale load"},
           {{"load", "--url", "ftp://127.0.0.1:1"},
            "--url: expected an http:// or https:// URL",
            "usage: flashsale load"},
           {{"replay", "--at", "-3"},
            "--at: expected an integer >= 0, got '-3'",
            "usage: flashsale replay"},
           {{"pay-sim", "--node-url", "http://a", "--nats-url", "nats://b", "--secret", "s",
             "--success-rate", "1.5"},
            "--success-rate: expected a number 0..1, got '1.5'",
            "usage: flashsale pay-sim"},
           {{"cluster", "status", "--nats"},
            "--nats needs a value",
            "usage: flashsale cluster status"},
           {{"cluster", "status"},
            "--nats (or nats.url) is required",
            "usage: flashsale cluster status"},
           {{"replay", "--stream", "iphone", "--frobnicate"},
            "unknown option '--frobnicate'",
            "usage: flashsale replay"},
           {{"serve", "--set", "http.port=0", "data_dir=x"},
            "unexpected argument 'data_dir=x'",
            "usage: flashsale serve"},
           {{"cluster", "state"}, "unknown cluster subcommand 'state'", "usage: flashsale cluster"},
       }) {
    auto r = run(b.args);
    EXPECT_EQ(r.code, 2) << r.output;
    EXPECT_TRUE(contains(r.output, "flashsale: " + b.names)) << r.output;
    EXPECT_TRUE(contains(r.output, b.usage)) << r.output;
  }
}
