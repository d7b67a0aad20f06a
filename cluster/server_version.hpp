// Which nats-server cluster mode trusts: a server's version, read from the INFO line every
// server sends first on a plain TCP connection (before any TLS handshake, before any auth):
//   INFO {"server_id":"N...","server_name":"n1","version":"2.15.1",...,
//         "connect_urls":["10.0.0.2:4222","10.0.0.3:4222"]}\r\n
// connect_urls names the other servers of its cluster, so one probe finds them all.
// invariant: cluster mode never runs on a server older than the minimum (2.12.0, docs/NATS.md):
// before 2.11 two conditional appends in flight with the same expected sequence could both be
// stored, which forks a partition log; atomic batch publish arrives in 2.12.
// The parsing and comparing are pure (unit-tested); probe_server and check_server_versions do
// blocking network I/O with timeouts, on the caller's thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace flashsale::cluster {

inline constexpr const char* minimum_cluster_server_version = "2.12.0";

/// major.minor.patch[-prerelease], e.g. 2.12.0-RC.1 (a prerelease sorts before its release).
struct server_version {
  int major = 0, minor = 0, patch = 0;
  std::string prerelease; ///< "" for a release
};

/// "2.15.1", "v2.9.10", "2.12.0-RC.1", "2.15.0-dev"; nullopt for anything else.
std::optional<server_version> parse_server_version(std::string_view text);
/// < 0, 0, > 0 as `a` is older than, the same as, newer than `b`.
int compare(const server_version& a, const server_version& b);
std::string to_string(const server_version& v);

/// What a server's INFO line says (the fields cluster mode looks at).
struct server_info {
  std::string address; ///< host:port we reached it at (set by the probe)
  std::string server_id;
  std::string server_name;
  std::string version;
  std::vector<std::string> connect_urls; ///< host:port of its cluster's servers
  bool tls_required = false;
  bool auth_required = false;
  bool jetstream = false;
};

/// Parses "INFO {json}" (with or without the trailing \r\n); a message for anything else.
std::variant<server_info, std::string> parse_server_info(std::string_view line);

/// The host:port of a NATS URL: "nats://u:p@host:4222" -> "host:4222", "tls://[::1]" ->
/// "[::1]:4222" (4222 when the URL names no port).
std::string server_address(std::string_view url);

/// Why cluster mode refuses the server `info` describes, naming it, its version and the reason;
/// nullopt when its version is `minimum` or newer.
std::optional<std::string> refuse_older(const server_info& info, const server_version& minimum);

/// Connects to `address` (host:port) over plain TCP, reads its INFO line and hangs up, within
/// `timeout_ms`. A message when it cannot (refused, timed out, not a NATS server).
std::variant<server_info, std::string> probe_server(const std::string& address,
                                                    std::int64_t timeout_ms);

/// Probes every server of `urls` and every server their INFO names in connect_urls, and refuses
/// (a message) the first one older than `minimum`. A listed server that does not answer is
/// skipped; at least one must answer within `timeout_ms`, else that is the message (a version
/// nobody could read is not trusted).
std::optional<std::string> check_server_versions(const std::vector<std::string>& urls,
                                                 const std::string& minimum,
                                                 std::int64_t timeout_ms);

} // namespace flashsale::cluster
