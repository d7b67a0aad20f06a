#include "http/routes.hpp"

#include <httplib.h>

#include <chrono>
#include <functional>

#include <nlohmann/json.hpp>

#include "actors/node_api.hpp"
#include "events/clock.hpp"
#include "events/order_view.hpp"
#include "events/time.hpp"
#include "http/admission.hpp"
#include "http/dashboard.hpp"
#include "http/error_response.hpp"
#include "http/metrics.hpp"
#include "http/rate_limiter.hpp"
#include "http/secrets.hpp"
#include "http/server.hpp"
#include "http/validation.hpp"
#include "payments/webhook_signature.hpp"

namespace flashsale {

namespace {

using handler = std::function<void(const httplib::Request&, httplib::Response&)>;

// The route pattern of the request this worker thread is serving, for the metrics logger.
// httplib runs pre-routing, the handler and the logger of one request on one thread.
struct request_timing {
  std::chrono::steady_clock::time_point start;
  const char* route = nullptr;
  bool active = false;
};
thread_local request_timing current_request;

/// POST /orders: 201 with Location and the order view, or the rejection's catalogue status;
/// Idempotent-Replayed on a replay, also of a rejection an older node stored (the client
/// learns nothing new happened).
void send_placed(httplib::Response& res, const place_outcome& o) {
  if (o.replayed)
    res.set_header("Idempotent-Replayed", "true");
  if (auto* placed = std::get_if<placed_order>(&o.result)) {
    res.set_header("Location", "/orders/" + placed->order_id);
    send_json_text(res, 201, placed->view);
  } else {
    send_error(res, std::get<rejection>(o.result));
  }
}

/// The orders-by-outcome label of /metrics.
std::string outcome_label(const place_outcome& o) {
  if (std::holds_alternative<placed_order>(o.result))
    return o.replayed ? "replayed" : "created";
  return code_string(std::get<rejection>(o.result).code);
}

/// Webhook and cancel: {"result": "applied"|"duplicate"}, the cancelled order's view, or
/// the rejection.
void send_command(httplib::Response& res, const command_outcome& o) {
  if (auto* r = std::get_if<payment_result>(&o))
    send_json_text(res, 200,
                   *r == payment_result::applied ? R"({"result":"applied"})"
                                                 : R"({"result":"duplicate"})");
  else if (auto* order = std::get_if<order_state>(&o))
    send_json_text(res, 200, order_view_json(*order));
  else
    send_error(res, std::get<rejection>(o));
}

std::optional<std::string> header(const httplib::Request& req, const char* name) {
  if (!req.has_header(name))
    return std::nullopt;
  return req.get_header_value(name);
}

/// Path ids come from a permissive regex so a bad one is a 400 naming the field, not a 404.
bool path_id_ok(httplib::Response& res, const char* field, const std::string& id) {
  if (auto problem = check_id(field, id)) {
    send_error(res, *problem);
    return false;
  }
  return true;
}

/// Methods are client-chosen text: only known ones become label values (bounded cardinality).
const char* method_label(const std::string& m) {
  for (const char* known : {"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"})
    if (m == known)
      return known;
  return "other";
}

/// Every handler runs inside this: it labels the request for the metrics, refuses a body over
/// the limit, and turns any exception into a typed 500 (the node must survive any input).
handler route(const route_context& c, const char* pattern, handler h) {
  return [&c, pattern, h = std::move(h)](const httplib::Request& req, httplib::Response& res) {
    current_request.route = pattern;
    // httplib 0.11 bounds a body by its Content-Length only (413 before reading it): a chunked
    // body arrives whole whatever its size. It is refused here, read to its end, so the answer
    // reaches the client (bare or behind the front) and the handler never runs.
    if (static_cast<std::int64_t>(req.body.size()) > c.max_body_bytes) {
      send_error(res, body_too_large());
      return;
    }
    try {
      h(req, res);
    } catch (const std::exception&) {
      res.headers.clear();
      send_error(res, {errc::internal, "internal error"});
    }
  };
}

void install_operations(httplib::Server& server, route_context& c) {
  server.Get(
      "/health", route(c, "/health", [&c](const httplib::Request&, httplib::Response& res) {
        auto h = c.node.health();
        nlohmann::ordered_json body{{"status", h.event_store_ok ? "ok" : "failing"},
                                    {"event_store", h.event_store_ok ? "ok" : "failed"},
                                    {"nats", h.nats},
                                    {"outbox_lag", h.outbox_lag}};
        if (!h.event_store_ok)
          body["event_store_error"] = h.event_store_error;
        if (h.cluster)
          body["cluster"] = {{"node", h.cluster->node}, {"partitions", h.cluster->partitions}};
        send_json_text(res, h.event_store_ok ? 200 : 503,
                       body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
      }));
  server.Get(
      "/cluster", route(c, "/cluster", [&c](const httplib::Request&, httplib::Response& res) {
        auto read = c.node.cluster();
        if (auto no = std::get_if<rejection>(&read))
          return send_error(res, *no);
        auto& view = std::get<std::optional<cluster_overview>>(read);
        if (!view)
          return send_error(res, {errc::not_found, "this node does not run in cluster mode"});
        auto partitions = nlohmann::ordered_json::array();
        for (auto& p : view->partitions)
          partitions.push_back({{"partition", p.id},
                                {"owner", p.owner.empty() ? nlohmann::ordered_json()
                                                          : nlohmann::ordered_json(p.owner)},
                                {"epoch", p.epoch},
                                {"log_leader", p.log_leader},
                                {"log_last_seq", p.log_last_seq},
                                {"served_here", p.served_here}});
        auto nodes = nlohmann::ordered_json::array();
        for (auto& n : view->nodes)
          nodes.push_back({{"node", n.id},
                           {"address", n.address},
                           {"heartbeat_at", format_rfc3339(n.heartbeat_ms)}});
        nlohmann::ordered_json body{{"node", view->node},
                                    {"lease_ms", view->lease_ms},
                                    {"partitions", partitions},
                                    {"nodes", nodes}};
        send_json_text(res, 200,
                       body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
      }));
  server.Get("/dashboard",
             route(c, "/dashboard", [](const httplib::Request&, httplib::Response& res) {
               res.set_header("Cache-Control", "no-cache");
               res.set_content(dashboard_html(), "text/html; charset=utf-8");
             }));
  server.Get("/dashboard/chart.js",
             route(c, "/dashboard/chart.js", [](const httplib::Request&, httplib::Response& res) {
               const auto& js = chart_js();
               if (js.empty())
                 return send_error(res, {errc::not_found,
                                         std::string("Chart.js is not installed (") + chart_js_path
                                             + "): apt-get install libjs-chart.js"});
               res.set_header("Cache-Control", "public, max-age=86400");
               res.set_content(js, "application/javascript");
             }));
  server.Get(
      "/metrics", route(c, "/metrics", [&c](const httplib::Request&, httplib::Response& res) {
        http_metrics::gauges g;
        // A partition without an owner for now costs its gauges this scrape, not
        // the scrape: the rest still reports.
        if (auto all = c.node.products(); auto views = std::get_if<std::vector<product_view>>(&all))
          g.products = std::move(*views);
        g.stats = c.node.stats();
        g.in_flight_writes = c.writes.in_flight();
        g.shed = c.writes.shed();
        g.health = c.node.health();
        if (c.edge_orders)
          g.edge_orders = c.edge_orders();
        res.status = 200;
        res.set_content(c.metrics.render(g), "text/plain; version=0.0.4; charset=utf-8");
      }));
}

void install_products(httplib::Server& server, route_context& c) {
  server.Put(
      R"(/products/([^/]+))",
      route(c, "/products/{product_id}", [&c](const httplib::Request& req, httplib::Response& res) {
        // Authenticate before looking at the body: strangers learn nothing about it.
        if (!bearer_matches(req.get_header_value("Authorization"), c.admin_token)) {
          res.set_header("WWW-Authenticate", "Bearer");
          send_error(res, {errc::unauthorized, "a valid admin bearer token is required"});
          return;
        }
        auto command = parse_define_product(req.matches[1].str(), req.body, c.default_hold_seconds);
        if (auto problem = std::get_if<rejection>(&command))
          return send_error(res, *problem);
        auto result = c.node.define(std::get<define_product>(command));
        if (result.error)
          return send_error(res, *result.error);
        if (!result.view)
          return send_error(res, {errc::internal, "the node returned no product view"});
        send_json_text(res, result.created ? 201 : 200, product_view_json(*result.view));
      }));
  server.Get(
      R"(/products/([^/]+))",
      route(c, "/products/{product_id}", [&c](const httplib::Request& req, httplib::Response& res) {
        auto id = req.matches[1].str();
        if (!path_id_ok(res, "product_id", id))
          return;
        auto read = c.node.product(id);
        if (auto no = std::get_if<rejection>(&read))
          return send_error(res, *no);
        auto& view = std::get<std::optional<product_view>>(read);
        if (!view)
          return send_error(res, {errc::not_found, "no product '" + id + "'"});
        send_json_text(res, 200, product_view_json(*view));
      }));
  server.Get("/products",
             route(c, "/products", [&c](const httplib::Request&, httplib::Response& res) {
               auto read = c.node.products();
               if (auto no = std::get_if<rejection>(&read))
                 return send_error(res, *no);
               std::string body = R"({"products":[)";
               bool first = true;
               for (auto& v : std::get<std::vector<product_view>>(read)) {
                 body += first ? "" : ",";
                 body += product_view_json(v);
                 first = false;
               }
               send_json_text(res, 200, body + "]}");
             }));
}

void install_orders(httplib::Server& server, route_context& c) {
  server.Post(
      "/orders", route(c, "/orders", [&c](const httplib::Request& req, httplib::Response& res) {
        auto request = parse_order_request(req.body, header(req, "Idempotency-Key"));
        if (auto problem = std::get_if<rejection>(&request)) {
          c.metrics.observe_order(code_string(problem->code));
          return send_error(res, *problem);
        }
        auto& order = std::get<order_request>(request);
        if (auto v = c.limiter.take(order.user_id); !v.allowed) {
          c.metrics.observe_order(code_string(errc::rate_limited));
          return send_error(res,
                            {errc::rate_limited, "too many orders from user '" + order.user_id
                                                     + "'; retry after the Retry-After seconds"},
                            static_cast<long>(v.retry_after_seconds));
        }
        if (c.address_limiter.enabled()) {
          auto address = client_address(req.remote_addr, req.get_header_value("X-Forwarded-For"),
                                        c.behind_front);
          if (auto v = c.address_limiter.take(address); !v.allowed) {
            c.metrics.observe_order(code_string(errc::rate_limited));
            return send_error(res,
                              {errc::rate_limited, "too many orders from address " + address
                                                       + "; retry after the Retry-After seconds"},
                              static_cast<long>(v.retry_after_seconds));
          }
        }
        auto ticket = c.writes.try_enter();
        if (!ticket) {
          c.metrics.observe_order(code_string(errc::unavailable));
          return send_error(res, {errc::unavailable, "the node is overloaded; retry shortly"});
        }
        auto outcome = c.node.place(order);
        c.metrics.observe_order(outcome_label(outcome));
        send_placed(res, outcome);
      }));
  server.Get(
      R"(/orders/([^/]+))",
      route(c, "/orders/{order_id}", [&c](const httplib::Request& req, httplib::Response& res) {
        auto id = req.matches[1].str();
        if (!path_id_ok(res, "order_id", id))
          return;
        auto found = c.node.order(id);
        if (found.error)
          return send_error(res, *found.error);
        if (!found.state)
          return send_error(res, {errc::not_found, "no order '" + id + "'"});
        send_json_text(res, 200, order_view_json(*found.state));
      }));
  server.Post(
      R"(/orders/([^/]+)/cancel)",
      route(
          c, "/orders/{order_id}/cancel",
          [&c](const httplib::Request& req, httplib::Response& res) {
            auto id = req.matches[1].str();
            if (!path_id_ok(res, "order_id", id))
              return;
            auto command = parse_cancel_order(req.body);
            if (auto problem = std::get_if<rejection>(&command))
              return send_error(res, *problem);
            auto ticket = c.writes.try_enter();
            if (!ticket)
              return send_error(res, {errc::unavailable, "the node is overloaded; retry shortly"});
            send_command(res, c.node.command(id, std::get<cancel_order>(command)));
          }));
}

void install_webhook(httplib::Server& server, route_context& c) {
  server.Post(
      "/payments/webhook",
      route(c, "/payments/webhook", [&c](const httplib::Request& req, httplib::Response& res) {
        // Verified over the raw bytes before any parsing: unauthenticated input goes no further.
        auto now_seconds = c.time.now() / 1000;
        auto check =
            verify_webhook(c.webhook_secret, req.get_header_value(webhook_signature_header),
                           req.body, now_seconds);
        if (check != signature_check::valid)
          return send_error(res, {errc::invalid_signature, to_string(check)});
        auto call = parse_webhook(req.body);
        if (auto problem = std::get_if<rejection>(&call))
          return send_error(res, *problem);
        auto ticket = c.writes.try_enter();
        if (!ticket)
          return send_error(res, {errc::unavailable, "the node is overloaded; retry shortly"});
        auto& w = std::get<webhook_call>(call);
        send_command(res, c.node.command(w.order_id, w.command));
      }));
}

} // namespace

void install_routes(httplib::Server& server, route_context& context) {
  auto* metrics = &context.metrics;
  server.set_pre_routing_handler([](const httplib::Request& req, httplib::Response&) {
    current_request = {std::chrono::steady_clock::now(), nullptr, true};
    // No resource here is served in parts, so a Range header is ignored, as RFC 9110 §14.2
    // allows. httplib would otherwise cut every answer to the range after the handler ran:
    // an order placed and committed, answered 416 or with half its JSON. httplib owns the
    // request as a non-const object and hands it on const, so the cast is well defined.
    // (A Range httplib cannot parse is answered 416 before routing: nothing is run.)
    const_cast<httplib::Request&>(req).ranges.clear();
    return httplib::Server::HandlerResponse::Unhandled;
  });
  // The logger runs after the response is written, for every request, matched or not.
  server.set_logger([metrics](const httplib::Request& req, const httplib::Response& res) {
    auto latency = current_request.active ? std::chrono::duration_cast<std::chrono::microseconds>(
                       std::chrono::steady_clock::now() - current_request.start)
                                          : std::chrono::microseconds(0);
    metrics->observe_request(method_label(req.method),
                             current_request.route ? current_request.route : "unmatched",
                             res.status, latency);
    current_request = {};
  });
  install_operations(server, context);
  install_products(server, context);
  install_orders(server, context);
  install_webhook(server, context);
}

} // namespace flashsale
