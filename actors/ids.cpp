#include "actors/ids.hpp"

#include <sys/random.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <stdexcept>

#include <openssl/sha.h>

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

/// Bytes from the kernel's CSPRNG (getrandom), drawn 4 KiB at a time per thread: one system
/// call per ~400 order ids instead of an OpenSSL DRBG call per id (its locks and fork check
/// were 2% of the HTTP workers). A fork copies the pool, but the node's children exec at once.
void random_bytes(unsigned char* out, std::size_t n) {
  thread_local unsigned char pool[4096];
  thread_local std::size_t left = 0;
  while (n > 0) {
    if (left == 0) {
      std::size_t got = 0;
      while (got < sizeof pool) {
        auto r = ::getrandom(pool + got, sizeof pool - got, 0);
        if (r < 0 && errno != EINTR)
          throw std::runtime_error("getrandom failed"); // no CSPRNG: cannot make ids
        if (r > 0)
          got += static_cast<std::size_t>(r);
      }
      left = sizeof pool;
    }
    auto take = std::min(n, left);
    std::memcpy(out, pool + sizeof pool - left, take);
    left -= take;
    out += take;
    n -= take;
  }
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
  random_bytes(bytes + 6, sizeof bytes - 6);
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
