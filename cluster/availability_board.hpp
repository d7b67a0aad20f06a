// Every product's availability, known on every node (issue 23): each partition's owner
// publishes its products' side of zero, and every node watches, so any node turns a sold-out
// buyer away itself and only orders that might reserve cross to the owner.
//
// Wire: KV bucket `flashsale_availability` (R = cluster.replicas, history 1, file storage),
// key = the product id with '.', ':' and '=' written =2E, =3A, =3D (KV keys allow neither ':'
// nor empty tokens), value `{"product_id":id,"available":n,"epoch":e,"version":v}`: `epoch` is
// the publishing owner's lease epoch, `version` a counter of its process (started from the
// clock, so a restart counts on). A node hears puts live (a core subscription to
// `$KV.flashsale_availability.>`: no consumer, no JetStream meta leader) and reads the bucket
// whole at start and after every reconnect.
// invariant: a node keeps, per product, the entry with the largest (epoch, version), so a
// former owner's late put never overwrites its successor's. Only owners reserve: a stale
// entry can turn a buyer away a moment too long, never sell a unit twice.
// Threads: publish() never blocks (the store's writer thread calls it); a thread of this class
// sends the puts; watchers run on NATS's delivery thread under the board's lock.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <variant>

#include "actors/read_models.hpp"
#include "cluster/nats_link.hpp"

namespace flashsale::cluster {

inline constexpr const char* availability_bucket = "flashsale_availability";

/// One product's published availability, as the board holds it.
struct availability_entry {
  std::string product_id;
  std::int64_t available = 0;
  std::uint64_t epoch = 0;   ///< the owner's lease epoch when it published
  std::uint64_t version = 0; ///< the publisher's counter
};

/// The bucket key of `product_id` (pure).
std::string availability_key(const std::string& product_id);
std::string availability_json(const availability_entry& e);
/// nullopt for a value that is not one (a foreign put is ignored, never trusted).
std::optional<availability_entry> availability_of(const std::string& text);
/// Whether `incoming` replaces `held`: a later epoch, or the same epoch and a later version.
bool supersedes(const availability_entry& incoming, const availability_entry& held);

class availability_board {
public:
  /// Creates or opens the bucket, subscribes, reads it whole; a message when it cannot.
  static std::variant<std::unique_ptr<availability_board>, std::string>
  start(std::shared_ptr<nats_link> link, int replicas);
  ~availability_board(); ///< stops the thread and the subscription (what is unsent is dropped)
  availability_board(const availability_board&) = delete;
  availability_board& operator=(const availability_board&) = delete;

  /// The owner of `product_id`'s partition at `epoch` publishes its availability. Only a
  /// change of side of zero (or of epoch) is sent, coalesced: a hot product's every commit
  /// costs nothing. Thread-safe, never blocks.
  void publish(const std::string& product_id, std::int64_t available, std::uint64_t epoch);
  /// Waits until everything published so far was acknowledged, at most `timeout`: a partition
  /// handed over leaves no put of its former owner to land after its successor's.
  bool flush(std::chrono::milliseconds timeout);

  /// The cluster's latest word on the product; nullopt when none was heard.
  std::optional<std::int64_t> available(const std::string& product_id) const;
  /// Replaces the watcher and tells it every product's availability now, then each change,
  /// in order (under the board's lock: it must not call back into the board).
  void watch(availability_listener watcher);

  struct impl;

private:
  explicit availability_board(std::unique_ptr<impl> self);
  std::unique_ptr<impl> self_;
};

} // namespace flashsale::cluster
