// libFuzzer target over http/validation and the webhook signature parser: arbitrary bytes as
// a request body (and as a signature header) must give a value or an invalid_request, never
// a crash, a hang or a sanitizer report. Build: cmake -DFLASHSALE_FUZZ=ON with clang++-14.
// Crashers go to tests/http/corpus/ (replayed by validation_regression_test under g++).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "http/validation.hpp"
#include "payments/webhook_signature.hpp"

using namespace flashsale;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string body(reinterpret_cast<const char*>(data), size);
  auto check = [](const auto& result) {
    if (auto r = std::get_if<rejection>(&result))
      if (r->code != errc::invalid_request || r->message.empty())
        std::abort();
  };
  check(parse_order_request(body, std::nullopt));
  check(parse_order_request(body, std::string("key-1")));
  check(parse_define_product("p", body, 600));
  check(parse_cancel_order(body));
  check(parse_webhook(body));
  (void)verify_webhook("secret", body, body, 1'800'000'000);
  return 0;
}
