#include "actors/protocol.hpp"

#include <caf/message.hpp>
#include <caf/sec.hpp>

namespace flashsale {

caf::error to_caf_error(const rejection& r) {
  return caf::error(static_cast<std::uint8_t>(r.code), error_category,
                    caf::make_message(r.message));
}

rejection to_rejection(const caf::error& e) {
  if (e.category() == error_category) {
    std::string message;
    if (e.context().match_elements<std::string>())
      message = e.context().get_as<std::string>(0);
    return {static_cast<errc>(e.code()), message};
  }
  if (e == caf::sec::request_timeout)
    return {errc::unavailable, "the node is overloaded: request timed out"};
  return {errc::unavailable, "the node could not complete the request"};
}

const std::string& product_of(const stock_command& command) {
  return std::visit([](const auto& c) -> const std::string& { return c.product_id; }, command);
}

const std::string& order_of(const stock_command& command) {
  return std::visit([](const auto& c) -> const std::string& { return c.order_id; }, command);
}

rejection store_unavailable(const store_error& err) {
  return {errc::unavailable, "event store cannot write: " + err.message};
}

} // namespace flashsale
