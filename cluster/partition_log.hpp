// A partition's log in JetStream: stream FLASHSALE_PARTITIONS (R3, file storage), one subject
// per partition (flashsale.part.<p>). Every append carries the sequence its writer believes
// is the partition's last (Nats-Expected-Last-Subject-Sequence), so the stream itself refuses
// a writer that missed someone else's append: fencing by the stream, not by clocks.
//
// A new owner first *claims* the partition: it appends a claim record (its node and lease
// epoch) after whatever is last. From then on a former owner's next append names a sequence
// that is no longer the last and is refused, even if its lease expired while it was paused
// and it has not noticed yet. The acknowledgement arrives once a quorum of the replicas
// stored the record (R3: two of three servers).
// invariant: in a partition's log, the epochs of the records never decrease.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "cluster/nats_link.hpp"

namespace flashsale::cluster {

inline constexpr const char* partition_stream = "FLASHSALE_PARTITIONS";

struct partition_log_options {
  std::string stream = partition_stream;
  std::string subject_prefix = "flashsale.part"; ///< a partition's subject: <prefix>.<p>
  int replicas = 3;
  bool create = true; ///< false: only open a stream that exists (for read-only tools)
};

struct partition_record {
  enum class kind { claim, events };
  std::uint64_t seq = 0;       ///< the stream's sequence
  kind type = kind::events;
  std::string owner;           ///< the node that wrote it
  std::uint64_t epoch = 0;     ///< its lease's epoch
  std::string body;
};

struct append_refused {
  bool fenced = false;         ///< true: the partition moved on (someone else appended)
  std::string message;
};

class partition_log {
public:
  /// Creates the stream or checks it (waits up to 30 s for the cluster's JetStream); with
  /// `create` false, fails at once when the stream does not exist.
  static std::variant<std::unique_ptr<partition_log>, std::string>
  open(std::shared_ptr<nats_link> link, partition_log_options o = {});
  ~partition_log();

  /// Appends `body` if the partition's last sequence is still `expected_last` (0: empty).
  /// Returns the new record's sequence: the next `expected_last`.
  std::variant<std::uint64_t, append_refused>
  append(int partition, std::uint64_t expected_last, std::string_view body,
         const std::string& owner, std::uint64_t epoch);

  struct claim_refused {
    /// true: the log holds a later epoch, so a lease this old was lost whatever its holder
    /// believes (never worth retrying); false: the log did not answer now.
    bool superseded = false;
    std::string message;
  };
  /// Appends the claim of `owner` at `epoch` after whatever is last (retrying while a
  /// former owner still appends). Returns the claim's sequence.
  std::variant<std::uint64_t, claim_refused> claim(int partition, const std::string& owner,
                                                   std::uint64_t epoch);

  /// The sequence of the partition's last record, 0 when it has none.
  std::variant<std::uint64_t, std::string> last_seq(int partition);

  /// The partition's last record without its body (seq 0 when it has none).
  std::variant<partition_record, std::string> last_record(int partition);

  /// Every record of the partition, oldest first.
  std::variant<std::vector<partition_record>, std::string> read(int partition);

  struct impl;

private:
  explicit partition_log(std::unique_ptr<impl> self);
  std::unique_ptr<impl> self_;
};

} // namespace flashsale::cluster
