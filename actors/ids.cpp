#include "actors/ids.hpp"

#include <openssl/rand.h>
#include <openssl/sha.h>

#include <random>
#include <stdexcept>

namespace flashsale {

namespace {

std::string hex(const unsigned char* bytes, size_t n) {
  static const char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(n * 2);
  for (size_t i = 0; i < n; ++i) {
    out += digits[bytes[i] >> 4];
    out += digits[bytes[i] & 0xf];
  }
  return out;
}

std::string sha256_hex(const std::string& text) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(text.data()), text.size(), digest);
  return hex(digest, sizeof digest);
}

/// Length-prefixed fields, so ("ab","c") and ("a","bc") never collide.
void add_field(std::string& out, const std::string& field) {
  out += std::to_string(field.size());
  out += ':';
  out += field;
}

} // namespace

std::string derive_order_id(const std::string& user_id, const std::string& key) {
  std::string canonical;
  add_field(canonical, "order-id");
  add_field(canonical, user_id);
  add_field(canonical, key);
  return "o-" + sha256_hex(canonical).substr(0, 32);
}

std::string random_order_id() {
  unsigned char bytes[16];
  if (RAND_bytes(bytes, sizeof bytes) != 1)
    throw std::runtime_error("RAND_bytes failed"); // the OS CSPRNG is gone: can't go on
  return "o-" + hex(bytes, sizeof bytes);
}

std::string request_hash(const order_request& request) {
  std::string canonical;
  add_field(canonical, request.user_id);
  for (auto& item : request.items) {
    add_field(canonical, item.product_id);
    add_field(canonical, std::to_string(item.quantity));
  }
  return sha256_hex(canonical);
}

} // namespace flashsale
