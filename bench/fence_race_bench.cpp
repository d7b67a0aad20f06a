// The fence race (tests/cluster/fence_race.hpp) against any running cluster, for
// bench/fence_race.sh: two writers on two different servers, the same expected sequence, at the
// same instant; prints the forks per fence. No version check: measuring an old server is the
// point. Plain connections (the bench's clusters run without TLS or accounts).
//   fence_race_bench --a nats://127.0.0.1:P --b nats://127.0.0.1:Q [--trials N]
#include <cstdio>
#include <map>
#include <string>

#include "cluster/server_version.hpp"
#include "tests/cluster/fence_race.hpp"
#include "tests/cluster/raw_nats.hpp"

using namespace flashsale;
using namespace flashsale::testing;

int main(int argc, char** argv) {
  std::map<std::string, std::string> arg{{"--trials", "1000"}};
  for (int i = 1; i + 1 < argc; i += 2)
    arg[argv[i]] = argv[i + 1];
  raw_nats a(arg["--a"], {}), b(arg["--b"], {});
  if (!a.js || !b.js) {
    std::fprintf(stderr, "fence_race_bench: %s%s\n", a.error().c_str(), b.error().c_str());
    return 1;
  }
  auto info = cluster::probe_server(cluster::server_address(arg["--a"]), 2000);
  std::string version = std::holds_alternative<cluster::server_info>(info)
                            ? std::get<cluster::server_info>(info).version
                            : "unknown";
  int trials = std::stoi(arg["--trials"]);
  for (auto kind : {fence_kind::stream, fence_kind::subject}) {
    auto t = run_fence_race(a.js, b.js, kind, trials);
    std::printf("nats-server %s fence=%s %s\n", version.c_str(),
                kind == fence_kind::stream ? "Nats-Expected-Last-Sequence"
                                           : "Nats-Expected-Last-Subject-Sequence",
                to_string(t).c_str());
    if (!t.setup_error.empty())
      return 1;
  }
  nats_Close();
  return 0;
}
