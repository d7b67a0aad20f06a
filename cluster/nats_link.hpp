// One NATS connection to a cluster of nats-servers, with its JetStream context, shared by
// the lease keeper and the partition log. It reconnects forever (any server of the list will
// do) and keeps nats.h out of every header. Thread-safe: nats.c connections are.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "persistence/jetstream.hpp" // split_nats_urls: a nats.url list into nats_link_options::urls

namespace flashsale::cluster {

struct nats_link_options {
  std::vector<std::string> urls;         ///< nats://host:port of any servers of the cluster
  std::string name = "flashsale";        ///< connection name, shown by the servers
  std::int64_t api_timeout_ms = 2000;    ///< JetStream API and publish acknowledgements
};

class nats_link {
public:
  /// Connects to one of `urls`; a cluster not up yet is not an error (it keeps trying).
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
      bool current = false;      ///< caught up with the leader
      bool offline = false;
      std::uint64_t lag = 0;     ///< operations behind the leader
      std::int64_t seen_ms = 0;  ///< since the leader last heard from it
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
