// The node's configuration: every key of shared/API.md with its default from
// config/flashsale.json (embedded at build time, so the binary and the file never disagree).
// Layers, later beats earlier: defaults, then --config FILE, then FLASHSALE_* environment,
// then --set key=value. Unknown keys, wrong types and out-of-range values are an error whose
// message names the key and the source. Depends on nothing but nlohmann_json.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace flashsale {

struct node_config {
  std::string data_dir;
  struct http_section {
    std::string host;
    int port = 0;
    /// "embedded": the node runs HAProxy on host:port in front of its httplib adapter (which
    /// then listens on a loopback port of its own); "none": the adapter listens on host:port.
    std::string front;
    /// PEM files; both set: the edge serves HTTPS on host:port (the front terminates TLS).
    std::string tls_cert_file;
    std::string tls_key_file;
    int threads = 0; ///< 0 = chosen for the machine and the front (http/server.hpp)
    std::int64_t max_body_bytes = 0;
    std::int64_t shed_after_ms =
        0; ///< writes slower than this are shed (http/admission); 0 = never
  } http;
  struct store_section {
    std::string sync;                ///< "full" or "normal"
    std::int64_t snapshot_every = 0; ///< 0 = never
  } store;
  struct nats_section {
    std::string url;                           ///< "embedded", "off" or "nats://host:port"
    std::int64_t stream_max_age_hours = 0;     ///< MaxAge of stream FLASHSALE
    std::int64_t duplicate_window_seconds = 0; ///< its de-dup window; <= max age
    int publish_window = 0; ///< max unacknowledged async publishes of the outbox relay
    /// Credentials and TLS for a nats:// server (all empty = none; refused with "embedded").
    /// At most one of creds_file, user + password, token. Secrets: never printed.
    std::string creds_file; ///< a NATS .creds file (user JWT and nkey seed)
    std::string user;
    std::string password; ///< also FLASHSALE_NATS_PASSWORD
    std::string token;
    std::string tls_ca_file;   ///< trust these CAs for the servers (turns TLS on)
    std::string tls_cert_file; ///< a client certificate, with tls_key_file
    std::string tls_key_file;
  } nats;
  /// Cluster mode (docs/SCALING.md): products and orders in `partitions` partitions leased
  /// through the NATS cluster that nats.url names, each committed to its replicated log.
  struct cluster_section {
    bool enabled = false;
    std::string node_id;       ///< unique in the cluster: [A-Za-z0-9_-]+
    int partitions = 0;        ///< fixed when the cluster is created
    std::int64_t lease_ms = 0; ///< a dead owner's partitions move after this long
    int replicas = 0;          ///< of the lease bucket and the partition logs
  } cluster;
  struct orders_section {
    std::int64_t hold_seconds = 0;
  } orders;
  struct rate_limit_section {
    double per_user_per_second = 0; ///< 0 = off
    /// The same per client address (the front's X-Forwarded-For behind it): one bot with many
    /// user ids. 0 = off.
    double per_address_per_second = 0;
    std::int64_t burst = 0;
  } rate_limit;
  struct actors_section {
    int threads = 0;    ///< CAF scheduler workers; 0 = one per core (at least 2)
    std::string policy; ///< "sharing" or "stealing"
  } actors;
  std::string admin_token; ///< empty = generated into the data dir on first start
  struct payments_section {
    std::string webhook_secret; ///< empty = generated into the data dir on first start
    struct simulator_section {
      bool enabled = false;
      std::int64_t latency_ms = 0;
      double success_rate = 0;
      int workers = 0;     ///< threads, each with its own pull subscription
      int max_deliver = 0; ///< deliveries before a payment goes to the dead-letter subject
    } simulator;
  } payments;
};

/// Where the layers above the defaults come from.
struct config_sources {
  std::string file;                                     ///< empty = defaults only
  std::vector<std::pair<std::string, std::string>> env; ///< every FLASHSALE_* variable
  std::vector<std::string> sets;                        ///< "key=value" from --set
};

/// The loaded config, or a message such as
/// "config: http.port (from --set): expected an integer 0..65535, got \"abc\"".
std::variant<node_config, std::string> load_config(const config_sources& sources);

/// The FLASHSALE_* variables of this process's environment.
std::vector<std::pair<std::string, std::string>> flashsale_environment();

/// The dotted names of every key, in file order (for docs and tests).
std::vector<std::string> config_keys();

/// The environment variable that overrides `key`: "http.port" -> "FLASHSALE_HTTP_PORT".
std::string env_name_of(const std::string& key);

/// The embedded default file (config/flashsale.json).
const char* default_config_json();

} // namespace flashsale
