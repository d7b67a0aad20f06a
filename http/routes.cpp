#include "http/routes.hpp"

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "actors/node_api.hpp"

namespace flashsale {

namespace {

void send_json(httplib::Response& res, int status, const nlohmann::json& body) {
  res.status = status;
  res.set_content(body.dump(), "application/json");
}

} // namespace

void install_routes(httplib::Server& server, node_api& node) {
  server.Get("/health", [&node](const httplib::Request&, httplib::Response& res) {
    auto h = node.health();
    nlohmann::json body{{"status", h.event_store_ok ? "ok" : "failing"},
                        {"event_store", h.event_store_ok ? "ok" : "failed"},
                        {"nats", h.nats},
                        {"outbox_lag", h.outbox_lag}};
    if (!h.event_store_ok)
      body["event_store_error"] = h.event_store_error;
    send_json(res, h.event_store_ok ? 200 : 503, body);
  });
}

} // namespace flashsale
