// The nats.c handles behind a nats_link, for the cluster's .cpp files only (never include it
// from a header outside cluster/).
#pragma once

#include <nats/nats.h>

#include <string>

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

} // namespace flashsale::cluster
