// The nats.c handles behind a nats_link, for the cluster's .cpp files only (never include it
// from a header outside cluster/).
#pragma once

#include <string>

#include <nats/nats.h>

#include "cluster/nats_link.hpp"

namespace flashsale::cluster {

struct nats_link::impl {
  natsOptions* opts = nullptr;
  natsConnection* nc = nullptr;
  jsCtx* js = nullptr;
  std::int64_t api_timeout_ms = 2000;
  ~impl();
};

/// "what: <nats status text> (<last error>)".
std::string nats_failure(const char* what, natsStatus s);

/// Ends `sub` so that no callback of it runs any more once this returns (its closure may then
/// go): connected, a drain (what was delivered is handled, for at most 1 s); cut off, an
/// unsubscribe (nothing more can arrive). Destroys it.
void retire_subscription(nats_link& link, natsSubscription* sub);

} // namespace flashsale::cluster
