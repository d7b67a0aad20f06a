// The node's two shared secrets: the admin bearer token and the webhook HMAC secret. Taken
// from config (admin_token, payments.webhook_secret, or their FLASHSALE_* variables); when
// empty, generated once (32 random bytes from RAND_bytes, hex) into <data_dir>/admin_token and
// <data_dir>/webhook_secret with mode 0600, and read back on every later start.
// invariant: a secret is never logged or printed, only the path of its file; comparisons of
// presented credentials run in constant time. Runs at start-up and on HTTP worker threads.
#pragma once

#include <string>
#include <string_view>
#include <variant>

namespace flashsale {

struct secret {
  std::string value;
  std::string path;       ///< the file holding it; empty when it came from config
  bool generated = false; ///< written by this start
};

/// `configured` when non-empty; else the content of <data_dir>/<file_name>, created with a
/// fresh random value when missing. A message naming the file when it cannot be read or
/// written, is empty, or is readable by group or others.
std::variant<secret, std::string> load_or_create_secret(const std::string& configured,
                                                        const std::string& data_dir,
                                                        const std::string& file_name);

/// `bytes` random bytes from the OS CSPRNG as lowercase hex; throws when RAND_bytes fails
/// (start-up only: without a CSPRNG no secret can be made).
std::string random_hex(std::size_t bytes);

/// Equality whose time depends on neither content nor length: both sides are hashed with
/// SHA-256 and the digests compared with CRYPTO_memcmp.
bool constant_time_equals(std::string_view a, std::string_view b);

/// True when `authorization` is "Bearer <token>" (scheme case-insensitive) for `token`.
bool bearer_matches(std::string_view authorization, std::string_view token);

} // namespace flashsale
