// Partition snapshots in JetStream, so a new owner reads a snapshot and the log's tail instead
// of the whole log. Stream FLASHSALE_SNAPSHOTS (R3, file):
//   flashsale.snap.<p>.<id>    the snapshot's bytes in chunks of at most chunk_bytes
//   flashsale.snap.<p>.head    {"id", "chunks", "bytes", "covers", "first_seq", "taken_at"},
//                              rolled up: only the latest is kept
// A snapshot is written chunks first, head last, then older chunks of the partition are
// purged. Snapshots are not fenced: whoever writes one folded only acknowledged records of
// the log, so any of them is a true state of the log at `covers`. A reader that finds a head
// whose chunks are gone (a racing purge) reads the whole log instead.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <variant>

#include "cluster/nats_link.hpp"

namespace flashsale::cluster {

struct snapshot_store_options {
  std::string stream = "FLASHSALE_SNAPSHOTS";
  std::string subject_prefix = "flashsale.snap";
  int replicas = 3;
  std::size_t chunk_bytes = 512 * 1024; ///< under the servers' default max_payload (1 MiB)
  std::int64_t timeout_ms = 5000;
};

struct partition_snapshot {
  std::uint64_t covers = 0; ///< the last log sequence folded into `data`
  std::int64_t taken_at = 0;
  std::string data;
};

class snapshot_store {
public:
  /// Creates the stream or brings it to this configuration.
  static std::variant<std::unique_ptr<snapshot_store>, std::string>
  open(std::shared_ptr<nats_link> link, snapshot_store_options o = {});

  std::optional<std::string> save(int partition, const partition_snapshot& s);
  /// The latest usable snapshot of the partition; nullopt when there is none (or its chunks
  /// are gone). An error only when JetStream does not answer.
  std::variant<std::optional<partition_snapshot>, std::string> load(int partition);

private:
  snapshot_store(std::shared_ptr<nats_link> link, snapshot_store_options o);
  std::string subject(int partition, const std::string& leaf) const;

  std::shared_ptr<nats_link> link_;
  snapshot_store_options o_;
};

} // namespace flashsale::cluster
