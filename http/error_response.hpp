// The one wire form of every error the HTTP adapter sends:
//   {"error": {"code": "<code_string(errc)>", "message": "<human text>"}}, application/json,
// with the status from the catalogue (events/errors.hpp); no handler writes a status number.
// invariant: every 503 and 429 carries Retry-After (clients and proxies back off on it).
// Runs on HTTP worker threads; pure apart from filling the response.
#pragma once

#include <string>

#include "events/errors.hpp"

namespace httplib {
struct Response;
}

namespace flashsale {

/// Sets status, body and Content-Type from the catalogue; adds `Retry-After: 1` to a 503 and
/// `Retry-After: <retry_after_seconds>` to a 429.
void send_error(httplib::Response& res, const rejection& error, long retry_after_seconds = 1);

/// The answer to a body over http.max_body_bytes, wherever the adapter refuses it (httplib on
/// its Content-Length, the routes on a chunked body).
rejection body_too_large();

/// Sends a body that is already JSON text (answers of the node, views) with `status`.
void send_json_text(httplib::Response& res, int status, const std::string& body);

} // namespace flashsale
