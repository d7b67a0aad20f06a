// The I/O of partition logs: one JetStream stream per partition (cluster/partition_record.hpp
// has the layout), R3, file storage, never expiring: it is the partition's truth. Creating it,
// fenced appends, and reading it back.
//
// A fenced append names the sequence its writer believes is the partition's last
// (`Nats-Expected-Last-Sequence`); a group of messages travels as one atomic batch
// (nats-server >= 2.12: stored whole or not at all, one Raft entry). The acknowledgement
// arrives once a quorum of the replicas stored it. Thread-safe (nats.c connections are).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "cluster/nats_link.hpp"
#include "cluster/partition_record.hpp"

namespace flashsale::cluster {

struct partition_stream_options {
  partition_names names;
  int replicas = 3;
  std::int64_t timeout_ms = 2000; ///< JetStream API calls (appends take their own)
};

/// One message to append: subject and body (the writer header is added).
struct outgoing_message {
  std::string subject;
  std::string body;
};

struct append_failure {
  enum class kind {
    fenced,  ///< the partition's last sequence was not the one expected: someone appended
    unknown, ///< no answer in time: it may or may not be stored
    refused, ///< JetStream refused it: nothing stored
  } what = kind::unknown;
  std::string message;
};

/// A record read back from a partition's log.
struct stored_record {
  std::uint64_t seq = 0;
  record_kind kind = record_kind::unknown;
  std::string subject;
  std::optional<writer_id> writer;
  std::string body;
};

class partition_stream {
public:
  partition_stream(std::shared_ptr<nats_link> link, partition_stream_options o);

  const partition_names& names() const { return o_.names; }
  nats_link& link() { return *link_; }

  /// Creates the partition's stream, or brings an existing one to this configuration.
  std::optional<std::string> ensure(int partition);

  /// Appends `messages` (one atomic batch when more than one) if the partition's last
  /// sequence is still `expected_last` (0: empty). Returns the sequence of the last one.
  /// `rollup`: the single message replaces earlier ones on its subject (heartbeats).
  std::variant<std::uint64_t, append_failure> append(int partition, std::uint64_t expected_last,
                                                     const std::vector<outgoing_message>& messages,
                                                     const writer_id& writer,
                                                     std::int64_t timeout_ms, bool rollup = false);

  /// The partition's last sequence (the leader's), 0 when it is empty. `timeout_ms` 0: the
  /// stream's default.
  std::variant<std::uint64_t, std::string> last_seq(int partition, std::int64_t timeout_ms = 0);

  /// The record at `seq` or, if deleted (a rolled-up heartbeat), the first one after it;
  /// nullopt when there is none.
  std::variant<std::optional<stored_record>, std::string> record_at(int partition,
                                                                    std::uint64_t seq);

  /// Calls `each` with every record after `after` up to and including `up_to`, in order.
  /// Streams them through an ordered consumer, or record by record when no consumer can be
  /// made (JetStream's meta leader electing). `with_writer` false leaves `writer` empty
  /// (parsing the headers of every message is a take-over's measurable cost).
  std::optional<std::string> read(int partition, std::uint64_t after, std::uint64_t up_to,
                                  const std::function<void(stored_record&&)>& each,
                                  bool with_writer = true);

  /// Where the partition's stream is replicated now: its leader (empty during an election)
  /// and the servers holding it. nullopt when the stream does not exist or does not answer.
  struct replicas {
    std::string leader;
    std::vector<std::string> servers;
  };
  std::optional<replicas> placement(int partition);

  /// Asks the partition's stream to hand its leadership to `server` (nats-server >= 2.11)
  /// and waits until it has (at most `timeout_ms`); false when it did not.
  bool move_leader(int partition, const std::string& server, std::int64_t timeout_ms);

  /// Every record whose subject matches `filter` (one event stream's messages), from the
  /// leader, oldest first.
  std::variant<std::vector<stored_record>, std::string> read_subject(int partition,
                                                                     const std::string& filter);

private:
  std::shared_ptr<nats_link> link_;
  partition_stream_options o_;
};

} // namespace flashsale::cluster
