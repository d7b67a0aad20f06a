#include "actors/ids.hpp"

#include <openssl/rand.h>
#include <openssl/sha.h>

#include <chrono>
#include <cstdint>
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
  // 6 bytes of milliseconds since the epoch, big-endian, then 10 random bytes. The time
  // prefix makes ids of one period neighbours in the store's (stream, version) index, so a
  // group commit dirties a few index pages instead of one random page per order.
  unsigned char bytes[16];
  auto ms = static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                         std::chrono::system_clock::now().time_since_epoch())
                                         .count());
  for (int i = 5; i >= 0; --i, ms >>= 8)
    bytes[i] = static_cast<unsigned char>(ms & 0xff);
  if (RAND_bytes(bytes + 6, sizeof bytes - 6) != 1)
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
