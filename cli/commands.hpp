// The subcommands of the `flashsale` executable. Each takes its arguments after the command
// name and returns the process exit code: 0 success, 1 failure, 2 usage error (the usage text
// then goes to stderr).
#pragma once

#include <string>
#include <vector>

namespace flashsale::cli {

using args = std::vector<std::string>;

int serve(const args& a);
int replay(const args& a);
int load(const args& a);
int pay_sim(const args& a);
int cluster(const args& a);

extern const char* const serve_usage;
extern const char* const replay_usage;
extern const char* const load_usage;
extern const char* const pay_sim_usage;
extern const char* const cluster_usage;

} // namespace flashsale::cli
