// What the node's nats.* keys say about reaching a NATS server (config/flashsale.json): its
// credentials and TLS for every connection the product makes (the outbox relay, the payment
// simulator, cluster mode's link, `flashsale cluster status`, `flashsale replay --partition`),
// read from node_config in this one place.
#pragma once

#include <string>

#include "cluster/nats_link.hpp"
#include "config/config.hpp"
#include "persistence/nats_connection.hpp"

namespace flashsale {

/// nats.creds_file, nats.user / nats.password, nats.token, nats.tls.*.
nats_security nats_security_of(const node_config& config);

/// A link to the NATS cluster nats.url names (comma-separated servers), with the node's
/// credentials and TLS, the version check on (cluster/server_version.hpp).
cluster::nats_link_options nats_link_options_of(const node_config& config, std::string name,
                                                std::int64_t api_timeout_ms = 2000);

} // namespace flashsale
