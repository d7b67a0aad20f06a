#include "node/nats_access.hpp"

namespace flashsale {

nats_security nats_security_of(const node_config& config) {
  const auto& n = config.nats;
  nats_security s;
  s.creds_file = n.creds_file;
  s.user = n.user;
  s.password = n.password;
  s.token = n.token;
  s.ca_file = n.tls_ca_file;
  s.cert_file = n.tls_cert_file;
  s.key_file = n.tls_key_file;
  return s;
}

cluster::nats_link_options nats_link_options_of(const node_config& config, std::string name,
                                                std::int64_t api_timeout_ms) {
  cluster::nats_link_options o;
  o.urls = split_nats_urls(config.nats.url);
  o.name = std::move(name);
  o.api_timeout_ms = api_timeout_ms;
  o.security = nats_security_of(config);
  return o;
}

} // namespace flashsale
