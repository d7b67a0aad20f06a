#include "payments/webhook_signature.hpp"

#include <charconv>
#include <optional>
#include <vector>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

namespace flashsale {

namespace {

constexpr std::size_t digest_size = 32; // SHA-256

bool hmac_sha256(std::string_view key, std::string_view message, unsigned char* out) {
  unsigned int len = 0;
  auto* r = HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
                 reinterpret_cast<const unsigned char*>(message.data()), message.size(), out, &len);
  return r != nullptr && len == digest_size;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

bool decode_digest(std::string_view hex, unsigned char* out) {
  if (hex.size() != 2 * digest_size)
    return false;
  for (std::size_t i = 0; i < digest_size; ++i) {
    int hi = hex_value(hex[2 * i]), lo = hex_value(hex[2 * i + 1]);
    if (hi < 0 || lo < 0)
      return false;
    out[i] = static_cast<unsigned char>(hi * 16 + lo);
  }
  return true;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
    s.remove_suffix(1);
  return s;
}

} // namespace

std::string hmac_sha256_hex(std::string_view key, std::string_view message) {
  unsigned char digest[digest_size];
  if (!hmac_sha256(key, message, digest))
    return {};
  static const char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(2 * digest_size);
  for (auto b : digest) {
    out += digits[b >> 4];
    out += digits[b & 15];
  }
  return out;
}

std::string sign_webhook(std::string_view secret, std::int64_t unix_seconds,
                         std::string_view body) {
  auto t = std::to_string(unix_seconds);
  std::string signed_text = t + "." + std::string(body);
  return "t=" + t + ",v1=" + hmac_sha256_hex(secret, signed_text);
}

const char* to_string(signature_check result) {
  switch (result) {
  case signature_check::valid:
    return "valid";
  case signature_check::missing:
    return "the Flashsale-Signature header is missing";
  case signature_check::malformed:
    return "the Flashsale-Signature header is malformed (want t=<unix seconds>,v1=<hex>)";
  case signature_check::mismatch:
    return "no v1 signature matches the body";
  case signature_check::outside_tolerance:
    return "the signature timestamp is more than 300 s away from now";
  }
  return "invalid signature";
}

signature_check verify_webhook(std::string_view secret, std::string_view header,
                               std::string_view body, std::int64_t now_unix_seconds,
                               std::int64_t tolerance_seconds) {
  header = trim(header);
  if (header.empty())
    return signature_check::missing;
  std::optional<std::int64_t> t;
  std::string_view t_text;
  std::vector<std::string_view> candidates;
  while (!header.empty()) {
    auto comma = header.find(',');
    auto part = trim(header.substr(0, comma));
    header = comma == std::string_view::npos ? std::string_view() : header.substr(comma + 1);
    auto eq = part.find('=');
    if (eq == std::string_view::npos)
      return signature_check::malformed;
    auto key = part.substr(0, eq), value = part.substr(eq + 1);
    if (key == "t") {
      std::int64_t parsed = 0;
      auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), parsed);
      if (t || ec != std::errc() || end != value.data() + value.size() || value.empty())
        return signature_check::malformed;
      t = parsed;
      t_text = value;
    } else if (key == "v1") {
      candidates.push_back(value);
    }
  }
  if (!t || candidates.empty())
    return signature_check::malformed;
  // Tolerance first is safe: t is public, and a stale request is refused whatever it carries.
  // Compared as t against now ± tolerance, so a hostile t (INT64_MIN) cannot overflow.
  if (*t < now_unix_seconds - tolerance_seconds || *t > now_unix_seconds + tolerance_seconds)
    return signature_check::outside_tolerance;
  unsigned char expected[digest_size];
  std::string signed_text;
  signed_text.reserve(t_text.size() + 1 + body.size());
  signed_text.append(t_text).append(".").append(body);
  if (!hmac_sha256(secret, signed_text, expected))
    return signature_check::mismatch;
  bool any_well_formed = false;
  for (auto candidate : candidates) {
    unsigned char given[digest_size];
    if (!decode_digest(candidate, given))
      continue;
    any_well_formed = true;
    if (CRYPTO_memcmp(given, expected, digest_size) == 0)
      return signature_check::valid;
  }
  return any_well_formed ? signature_check::mismatch : signature_check::malformed;
}

} // namespace flashsale
