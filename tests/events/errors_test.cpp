// The error catalogue: every code string and status matches shared/API.md, and parsing a
// code string gives the errc back.
#include <set>
#include <string>

#include <gtest/gtest.h>

#include "events/errors.hpp"

namespace flashsale {
namespace {

TEST(ErrorCatalogue, MapsEveryCodeToItsApiStringAndStatus) {
  std::string table;
  for (std::size_t i = 0; i < errc_count; ++i) {
    auto e = static_cast<errc>(i);
    table += std::string(code_string(e)) + "=" + std::to_string(http_status(e)) + " ";
  }
  EXPECT_EQ(table, "invalid_request=400 unauthorized=401 forbidden=403 not_found=404 "
                   "unknown_product=404 sold_out=409 limit_exceeded=409 sale_not_started=409 "
                   "invalid_state=409 stock_below_committed=409 amount_mismatch=409 "
                   "idempotency_key_reused=422 payload_too_large=413 rate_limited=429 "
                   "invalid_signature=401 unavailable=503 request_timeout=408 internal=500 ");
}

TEST(ErrorCatalogue, ParsesEveryCodeStringBack) {
  std::set<std::string> seen;
  for (std::size_t i = 0; i < errc_count; ++i) {
    auto e = static_cast<errc>(i);
    EXPECT_EQ(parse_errc(code_string(e)), e) << code_string(e);
    EXPECT_TRUE(seen.insert(code_string(e)).second) << "duplicate code " << code_string(e);
  }
}

TEST(ErrorCatalogue, RejectsUnknownCodeStrings) {
  EXPECT_EQ(parse_errc(""), std::nullopt);
  EXPECT_EQ(parse_errc("SOLD_OUT"), std::nullopt);
  EXPECT_EQ(parse_errc("sold_out "), std::nullopt);
}

} // namespace
} // namespace flashsale
