// One NATS connection to a cluster of nats-servers, with its JetStream context, shared by
// the lease keeper and the partition log. It reconnects forever (any server of the list will
// do) and keeps nats.h out of every header. Thread-safe: nats.c connections are.
// Before connecting it checks every server's version (cluster/server_version.hpp): cluster mode
// refuses a nats-server older than 2.12. Credentials and TLS: persistence/nats_connection.hpp.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "persistence/jetstream.hpp" // split_nats_urls: a nats.url list into nats_link_options::urls
#include "persistence/nats_connection.hpp"

namespace flashsale::cluster {

struct nats_link_options {
  std::vector<std::string> urls;      ///< nats://host:port of any servers of the cluster
  std::string name = "flashsale";     ///< connection name, shown by the servers
  std::int64_t api_timeout_ms = 2000; ///< JetStream API and publish acknowledgements
  nats_security security;             ///< credentials and TLS (the nats.* keys)
  /// Refuse (connect fails, naming the server, its version and why) any server of `urls`, or
  /// of its cluster (INFO's connect_urls), older than `minimum_server_version`. Off only for
  /// tools that must reach an old server (bench/fence_race.sh measures one).
  bool check_server_version = true;
  std::string minimum_server_version = "2.12.0"; ///< cluster/server_version.hpp
  /// How long the check waits for at least one server of `urls` to answer (a starting cluster).
  std::int64_t version_check_timeout_ms = 10000;
};

class nats_link {
public:
  /// Checks the servers' versions (when `check_server_version`), then connects to one of
  /// `urls`: a server that refuses us (credentials, TLS) is an error naming its reason; a
  /// cluster not up yet is not (it keeps trying), once one of its servers answered the check.
  static std::variant<std::shared_ptr<nats_link>, std::string> connect(nats_link_options o);
  ~nats_link();
  nats_link(const nats_link&) = delete;
  nats_link& operator=(const nats_link&) = delete;

  bool connected() const;
  /// JetStream answers (a fresh cluster elects its meta leader seconds after it starts).
  bool jetstream_ready();
  std::int64_t api_timeout_ms() const;
  /// How `stream` is replicated now: its leader and the other replicas, how far behind each
  /// is. nullopt when JetStream does not answer or the stream does not exist.
  struct replication {
    std::string leader; ///< empty during an election
    struct replica {
      std::string server;
      bool current = false; ///< caught up with the leader
      bool offline = false;
      std::uint64_t lag = 0;    ///< operations behind the leader
      std::int64_t seen_ms = 0; ///< since the leader last heard from it
    };
    std::vector<replica> followers;
  };
  std::optional<replication> stream_replication(const std::string& stream);
  /// The leader of `stream`'s replicas now; empty when it has none or JetStream does not
  /// answer.
  std::string stream_leader(const std::string& stream);

  struct impl;
  impl& native() { return *self_; } ///< for the cluster's own .cpp files (nats.h types)

private:
  explicit nats_link(std::unique_ptr<impl> self);
  std::unique_ptr<impl> self_;
};

} // namespace flashsale::cluster
