#include "actors/messages.hpp"

#include <caf/message.hpp>
#include <caf/sec.hpp>

namespace flashsale {

caf::error to_caf_error(errc code, std::string message) {
  return caf::error(static_cast<std::uint8_t>(code), error_category,
                    caf::make_message(std::move(message)));
}

caf::error to_caf_error(const rejection& r) {
  return to_caf_error(r.code, r.message);
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

answer error_answer(const rejection& r) {
  return answer{http_status(r.code), error_body(r), false};
}

} // namespace flashsale
