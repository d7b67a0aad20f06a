#include "http/error_response.hpp"

#include <httplib.h>

namespace flashsale {

void send_error(httplib::Response& res, const rejection& error, long retry_after_seconds) {
  res.status = http_status(error.code);
  if (res.status == 503 || res.status == 429)
    res.set_header("Retry-After",
                   std::to_string(retry_after_seconds < 1 ? 1 : retry_after_seconds));
  res.set_content(error_body(error.code, error.message), "application/json");
}

rejection body_too_large() {
  return {errc::payload_too_large, "the request body exceeds http.max_body_bytes"};
}

void send_json_text(httplib::Response& res, int status, const std::string& body) {
  res.status = status;
  if (status == 503 && !res.has_header("Retry-After"))
    res.set_header("Retry-After", "1");
  res.set_content(body, "application/json");
}

} // namespace flashsale
