// The payment webhook's signature, both sides: the provider (our payment simulator) signs,
// the node verifies. Header wire form (Stripe's scheme):
//   Flashsale-Signature: t=<unix seconds>,v1=<lowercase hex HMAC-SHA256(secret, "<t>.<raw body>")>
// invariant: a signature is accepted only when some v1 matches (compared in constant time) and
// |now - t| <= tolerance, so a captured request cannot be replayed later. Pure: now is passed in.
// A library of its own (flashsale_signature, OpenSSL only) because both sides use it: the
// simulator (payments/), the load generator (cli/load/) and the route (http/).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace flashsale {

inline constexpr const char* webhook_signature_header = "Flashsale-Signature";
/// How far `t` may be from the verifier's clock, either way (API.md: 300 s).
inline constexpr std::int64_t webhook_tolerance_seconds = 300;

/// Lowercase hex of HMAC-SHA256(key, message).
std::string hmac_sha256_hex(std::string_view key, std::string_view message);

/// The header value for `body` sent at `unix_seconds`: "t=<unix_seconds>,v1=<hex>".
std::string sign_webhook(std::string_view secret, std::int64_t unix_seconds, std::string_view body);

enum class signature_check { valid, missing, malformed, mismatch, outside_tolerance };

/// Why a check failed, for the 401 message (never reveals the expected value).
const char* to_string(signature_check result);

/// Verifies `header` (possibly empty = missing) for the raw `body` at `now_unix_seconds`.
/// Several v1 entries are allowed (secret rotation); unknown keys such as v0 are ignored.
signature_check verify_webhook(std::string_view secret, std::string_view header,
                               std::string_view body, std::int64_t now_unix_seconds,
                               std::int64_t tolerance_seconds = webhook_tolerance_seconds);

} // namespace flashsale
