// The one error catalogue: every domain rejection is an `errc`, and each errc maps, once,
// to the stable `error.code` string of shared/API.md and to its HTTP status.
// invariant: code strings never change once released (clients match on them); the table in
// errors.cpp is the only place a status number for a domain error is written.
// Wire form: {"error": {"code": "<code_string>", "message": "<rejection::message>"}}.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace flashsale {

enum class errc : std::uint8_t {
  invalid_request,
  unauthorized,
  forbidden,
  not_found,
  unknown_product,
  sold_out,
  limit_exceeded,
  sale_not_started,
  invalid_state,
  stock_below_committed,
  amount_mismatch,
  idempotency_key_reused,
  payload_too_large,
  rate_limited,
  invalid_signature,
  unavailable,
  request_timeout,
  internal,
};

/// Number of errc values; the catalogue table has exactly this many rows.
inline constexpr std::size_t errc_count = static_cast<std::size_t>(errc::internal) + 1;

/// The stable API code, e.g. "sold_out". Never null.
const char* code_string(errc e);

/// The HTTP status an adapter answers with, e.g. 409 for sold_out.
int http_status(errc e);

/// Inverse of code_string; nullopt for an unknown string (e.g. an event written by a newer
/// version).
std::optional<errc> parse_errc(std::string_view code);

/// A domain "no": what the caller reports to the client. `message` is for humans only.
struct rejection {
  errc code = errc::internal;
  std::string message;
};

/// The one wire form of an error: {"error":{"code":"<code_string>","message":"<message>"}}.
/// Invalid UTF-8 in the message (it may quote untrusted bytes) is replaced, never thrown on.
std::string error_body(errc code, const std::string& message);
inline std::string error_body(const rejection& r) {
  return error_body(r.code, r.message);
}

} // namespace flashsale
