// HAProxy's runtime API: its stats socket (a Unix socket in the data dir, node/edge_front),
// spoken in non-interactive mode: connect, send one line (commands separated by ';'), read the
// answer until HAProxy closes. Every call is bounded by a timeout, so a wedged HAProxy cannot
// hold its caller long. Blocking: call it from a thread of its own (node/edge_sold_out) or
// where a millisecond is nothing (a /metrics scrape), never from an actor or a commit.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

namespace flashsale {

/// HAProxy's answer to `line`; nullopt when the socket could not be reached or the answer did
/// not end within `timeout`.
std::optional<std::string> haproxy_command(const std::string& socket_path, const std::string& line,
                                           std::chrono::milliseconds timeout);

/// `text` as one argument of a CLI command: HAProxy splits a line at spaces and ';'.
std::string haproxy_cli_argument(const std::string& text);

/// The number in column `field` of the first data row of `show stat` CSV output; nullopt when
/// the header or the row lacks it.
std::optional<std::int64_t> haproxy_stat_field(const std::string& csv, const std::string& field);

} // namespace flashsale
