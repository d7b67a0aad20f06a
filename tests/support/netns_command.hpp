// Running a short system command (ip, iptables-restore, curl) to completion, either where the
// caller is or inside a named network namespace (/run/netns/NAME), and collecting its output.
// Fail-closed: when a namespace is named and cannot be entered, the command does not run at
// all, so a typo can never apply an `ip` or `iptables` command to the machine's own network.
#pragma once

#include <stdexcept>
#include <string>
#include <vector>

namespace flashsale::testing::netns {

/// A failed namespace operation: names the command and what it printed. Thrown in a test,
/// GoogleTest reports it as that test's failure.
class error : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

struct command_result {
  int status = -1;    ///< exit code; 128+signal when killed; 127 when it could not start
  std::string output; ///< stdout and stderr interleaved
  bool ok() const { return status == 0; }
};

/// Runs `argv` (argv[0] a path) with `input` on its stdin. With `netns` non-empty the child
/// enters /run/netns/<netns> before exec, and only then.
command_result run_command(const std::vector<std::string>& argv, const std::string& netns = "",
                           const std::string& input = "");

/// The path of a system tool (`ip`, `iptables-restore`) in the sbin/bin directories, whatever
/// PATH says; empty when it is not installed.
std::string system_tool(const std::string& name);

/// "ip -n NS link set dev X down" for error messages.
std::string render(const std::vector<std::string>& argv);

/// `ip -n <netns> -batch -` over `lines` (one `ip` command per line, without `ip`): they act
/// inside that namespace only. Returns the output; throws netns::error when a line fails or
/// when `netns` is empty.
std::string ip_in(const std::string& netns, const std::string& lines);

/// `ip -n <netns> ARGS...` (a query such as `-d -o link show dev X`); throws like ip_in.
std::string ip_query(const std::string& netns, const std::vector<std::string>& args);

/// `ip -force -batch -` over `netns add|delete|pids NAME` lines: namespace management, which
/// changes no namespace's network. Every line runs even when one fails.
command_result ip_netns(const std::string& lines);

} // namespace flashsale::testing::netns
