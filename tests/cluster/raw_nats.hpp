// A raw nats.c connection for tests and benchmarks that must speak NATS below the product's own
// clients: publishing with headers of their choosing, watching the asynchronous errors a server
// sends (a permission violation arrives that way; the publish itself returns OK). It connects
// the way the product does (persistence/nats_connection.hpp), to one server only.
#pragma once

#include <mutex>
#include <string>
#include <vector>

#include <nats/nats.h>

#include "persistence/nats_connection.hpp"

namespace flashsale::testing {

class raw_nats {
public:
  raw_nats(const std::string& url, const nats_security& s, std::int64_t js_wait_ms = 5000) {
    natsOptions_Create(&opts_);
    natsOptions_SetURL(opts_, url.c_str());
    natsOptions_SetTimeout(opts_, 5000);
    natsOptions_SetErrorHandler(opts_, on_error, this);
    if (auto problem = apply_nats_security(opts_, s)) {
      error_ = *problem;
      return;
    }
    auto r = connect_nats(opts_, url);
    if (auto problem = std::get_if<std::string>(&r)) {
      error_ = *problem;
      return;
    }
    nc = std::get<natsConnection*>(r);
    jsOptions jo;
    jsOptions_Init(&jo);
    jo.Wait = js_wait_ms;
    natsConnection_JetStream(&js, nc, &jo);
  }
  ~raw_nats() {
    jsCtx_Destroy(js);
    natsConnection_Destroy(nc);
    natsOptions_Destroy(opts_);
  }
  raw_nats(const raw_nats&) = delete;
  raw_nats& operator=(const raw_nats&) = delete;

  /// Why it did not connect; empty when it did.
  const std::string& error() const { return error_; }

  /// Every asynchronous error so far, one per line ("Not Permitted: Permissions Violation ...").
  std::string async_errors() {
    std::lock_guard lock(mutex_);
    std::string all;
    for (auto& e : async_errors_)
      all += e + "\n";
    return all;
  }

  natsConnection* nc = nullptr;
  jsCtx* js = nullptr;

private:
  static void on_error(natsConnection* nc, natsSubscription*, natsStatus s, void* self) {
    auto* c = static_cast<raw_nats*>(self);
    const char* text = nullptr;
    natsConnection_GetLastError(nc, &text);
    std::lock_guard lock(c->mutex_);
    c->async_errors_.push_back(std::string(natsStatus_GetText(s)) + ": " + (text ? text : ""));
  }

  natsOptions* opts_ = nullptr;
  std::string error_;
  std::mutex mutex_;
  std::vector<std::string> async_errors_;
};

} // namespace flashsale::testing
