// One NATS connection to a cluster of nats-servers, with its JetStream context, shared by
// the lease keeper and the partition log. It reconnects forever (any server of the list will
// do) and keeps nats.h out of every header. Thread-safe: nats.c connections are.
#pragma once

#include <cstdint>
#include <memory>
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
  /// The name of the server leading `stream`'s replicas now; empty when it has none or
  /// JetStream does not answer (during an election).
  std::string stream_leader(const std::string& stream);

  struct impl;
  impl& native() { return *self_; } ///< for the cluster's own .cpp files (nats.h types)

private:
  explicit nats_link(std::unique_ptr<impl> self);
  std::unique_ptr<impl> self_;
};

} // namespace flashsale::cluster
