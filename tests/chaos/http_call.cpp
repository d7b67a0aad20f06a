#include "tests/chaos/http_call.hpp"

#include <httplib.h>

namespace flashsale::testing::chaos {

std::string http_answer::code() const {
  if (body.is_object())
    if (auto e = body.find("error"); e != body.end() && e->is_object())
      return e->value("code", "");
  return "";
}

http_answer http_call(const http_request& r) {
  httplib::Client c(r.host, r.port);
  c.set_connection_timeout(r.connect_timeout);
  c.set_read_timeout(r.read_timeout);
  c.set_write_timeout(r.read_timeout);
  httplib::Headers headers(r.headers.begin(), r.headers.end());
  auto res = r.method == "GET"   ? c.Get(r.path.c_str(), headers)
             : r.method == "PUT" ? c.Put(r.path.c_str(), headers, r.body, "application/json")
                                 : c.Post(r.path.c_str(), headers, r.body, "application/json");
  http_answer a;
  if (!res) {
    a.error = httplib::to_string(res.error());
    return a;
  }
  a.status = res->status;
  a.body = nlohmann::json::parse(res->body, nullptr, false);
  a.replayed = res->get_header_value("Idempotent-Replayed") == "true";
  return a;
}

} // namespace flashsale::testing::chaos
