// The answers the HTTP edge (HAProxy, node/edge_front) gives without the node, all in API.md's
// error shape, written into its error directory at every start:
//   <status>.http            what HAProxy sends for its own 400, 408, 413, 500, 501, 502, 503
//                            and 504 (a dead or slow node, 502/504, is 503 unavailable +
//                            Retry-After: 1, which a client retries with the same key)
//   flashsale_too_large.lua  the service answering a body whose Content-Length exceeds the
//                            limit: 413 at once, then it reads and drops the rest of the body
//                            for up to 5 s before the connection closes, as nginx's lingering
//                            close does, so a client still sending (Python's http.client)
//                            reads the answer instead of a reset
//   sold_out.lf              the body of `409 sold_out` for a product in the edge's sold-out
//                            map (node/edge_sold_out.hpp), a log-format file naming the product
//                            from a variable: byte for byte the node's own sold_out body
#pragma once

#include <string>

namespace flashsale {

/// The service's name in the config: `http-request use-service lua.<name>`.
inline constexpr const char* too_large_service = "flashsale_too_large";

/// Where write_error_files puts the service (the config's `lua-load`).
std::string too_large_service_file(const std::string& error_dir);

/// The variable the edge's rules put a sold-out product's id in, which sold_out.lf names.
inline constexpr const char* sold_out_variable = "txn.sold_out";

/// Where write_error_files puts the sold-out body (the config's `lf-file`).
std::string sold_out_body_file(const std::string& error_dir);

/// The sold-out body as a log-format string (pure, for tests): events/product's sold_out with
/// 0 units available, the product id `%[var(<sold_out_variable>)]`.
std::string render_sold_out_body();

/// The config's `errorfile` lines, one per status HAProxy answers itself.
std::string errorfile_lines(const std::string& error_dir);

/// The service's Lua text (pure, for tests).
std::string render_too_large_service();

/// Writes the answers into `error_dir` (created if missing); an error message, empty on
/// success.
std::string write_error_files(const std::string& error_dir);

} // namespace flashsale
