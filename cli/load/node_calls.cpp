#include "cli/load/node_calls.hpp"

#include <httplib.h>

#include <chrono>
#include <thread>

#include <nlohmann/json.hpp>

#include "payments/webhook_signature.hpp"

namespace flashsale::load {

namespace {

using json = nlohmann::json;

/// "<status> <error.code>" for an error answer, or "<status>" when the body has no code.
std::string describe(const httplib::Response& res) {
  auto body = json::parse(res.body, nullptr, false);
  std::string out = std::to_string(res.status);
  if (body.is_object() && body.contains("error") && body["error"].is_object()
      && body["error"].contains("code") && body["error"]["code"].is_string())
    out += " " + body["error"]["code"].get<std::string>();
  return out;
}

std::variant<product_view, call_error> parse_view(const std::string& text) {
  auto j = json::parse(text, nullptr, false);
  product_view v;
  const char* keys[] = {"stock", "available", "reserved", "sold"};
  std::int64_t* fields[] = {&v.stock, &v.available, &v.reserved, &v.sold};
  if (!j.is_object())
    return call_error{"product view is not a JSON object", true};
  for (int i = 0; i < 4; ++i) {
    if (!j.contains(keys[i]) || !j[keys[i]].is_number_integer())
      return call_error{std::string("product view lacks integer '") + keys[i] + "'", true};
    *fields[i] = j[keys[i]].get<std::int64_t>();
  }
  return v;
}

} // namespace

void tune_client(httplib::Client& client, const std::string& ca_cert) {
  client.enable_server_certificate_verification(true);
  if (!ca_cert.empty())
    client.set_ca_cert_path(ca_cert);
  client.set_keep_alive(true);
  client.set_tcp_nodelay(true);
  client.set_connection_timeout(5, 0);
  client.set_read_timeout(30, 0);
  client.set_write_timeout(10, 0);
}

std::variant<product_view, call_error> put_product(httplib::Client& client,
                                                   const std::string& product, std::int64_t stock,
                                                   const std::string& admin_token) {
  httplib::Headers headers{{"Authorization", "Bearer " + admin_token}};
  json body{{"name", product}, {"stock", stock}};
  auto res = client.Put(("/products/" + product).c_str(), headers, body.dump(), "application/json");
  if (!res)
    return call_error{"PUT /products/" + product + ": " + httplib::to_string(res.error())};
  if (res->status != 200 && res->status != 201)
    return call_error{"PUT /products/" + product + ": " + describe(*res), true};
  return parse_view(res->body);
}

std::variant<product_view, call_error> get_product(httplib::Client& client,
                                                   const std::string& product) {
  auto res = client.Get(("/products/" + product).c_str());
  if (!res)
    return call_error{"GET /products/" + product + ": " + httplib::to_string(res.error())};
  if (res->status != 200)
    return call_error{"GET /products/" + product + ": " + describe(*res), true};
  return parse_view(res->body);
}

payment_outcome pay_order(httplib::Client& client, const std::string& order_id,
                          const std::string& secret) {
  const std::string body = json{
      {"event_id", "evt-load-" + order_id},
      {"order_id", order_id},
      {"payment_id", "pay-load-" + order_id},
      {"status", "succeeded"}}.dump();
  payment_outcome out;
  auto pause = std::chrono::milliseconds(20);
  for (int attempt = 0; attempt < 6; ++attempt) {
    auto now = std::chrono::duration_cast<std::chrono::seconds>(
                   std::chrono::system_clock::now().time_since_epoch())
                   .count();
    httplib::Headers headers{{webhook_signature_header, sign_webhook(secret, now, body)}};
    auto res = client.Post("/payments/webhook", headers, body, "application/json");
    bool retry = false;
    if (!res) {
      out.failure = httplib::to_string(res.error());
      retry = true;
    } else if (res->status == 200) {
      auto j = json::parse(res->body, nullptr, false);
      // "duplicate" after a retry means an earlier attempt was applied.
      if (j.is_object() && j.contains("result") && j["result"].is_string()
          && (j["result"] == "applied" || j["result"] == "duplicate")) {
        out.paid = true;
        out.failure.clear();
        return out;
      }
      out.failure = "200 unexpected body";
    } else {
      out.failure = describe(*res);
      retry = res->status == 429 || res->status == 503;
    }
    if (!retry)
      break;
    std::this_thread::sleep_for(pause); // back off: the node asked us to (shed) or is gone
    pause *= 2;
  }
  return out;
}

} // namespace flashsale::load
