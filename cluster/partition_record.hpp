// What a partition's log holds, message by message: the partition's stream in JetStream is
// both its durable log and its event feed (docs/SCALING.md). Pure: names, encoding and
// parsing only; cluster/partition_stream does the I/O.
//
// Stream `FLASHSALE_P<p>` (one per partition, R3), subjects `flashsale.p.<p>.>`:
//   flashsale.p.<p>.order.<order id>.<EventType>      body: the event's envelope JSON
//   flashsale.p.<p>.product.<product id>.<EventType>  body: the event's envelope JSON
//   flashsale.p.<p>.key                               body: an idempotency record (JSON)
//   flashsale.p.<p>.ctl.claim|beat|release            body: {"node": "<id>", "epoch": E}
// Ids may hold '.', a subject's token separator: it is written '~' (not an id character).
// Header `Flashsale-Writer: <node>/<epoch>` on every message names who appended it. One
// commit group is one atomic batch (Nats-Batch-*), its first message carrying
// `Nats-Expected-Last-Sequence`: the stream refuses the whole group unless the writer knew
// the partition's last record (the fence).
// invariant: an envelope's `seq` is its message's stream sequence.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "events/envelope.hpp"
#include "persistence/event_store.hpp"

namespace flashsale::cluster {

inline constexpr const char* writer_header = "Flashsale-Writer";

/// Who appended a record: a node, at the epoch of its lease on the partition.
struct writer_id {
  std::string node;
  std::uint64_t epoch = 0;
  bool operator==(const writer_id& o) const { return node == o.node && epoch == o.epoch; }
  bool operator!=(const writer_id& o) const { return !(*this == o); }
};
std::string to_string(const writer_id& w); ///< "<node>/<epoch>", the header's value
std::optional<writer_id> writer_of(std::string_view header);

enum class record_kind { event, idempotency, claim, beat, release, unknown };
const char* to_string(record_kind k);

/// Names of one cluster's partition streams and subjects.
struct partition_names {
  std::string stream_prefix = "FLASHSALE_P";  ///< stream of partition p: <prefix><p>
  std::string subject_prefix = "flashsale.p"; ///< subjects of p: <prefix>.<p>.>

  std::string stream(int p) const;
  std::string all_subjects(int p) const; ///< <prefix>.<p>.>
  std::string event_subject(int p, const envelope& e) const;
  std::string idempotency_subject(int p) const;
  std::string control_subject(int p, record_kind k) const; ///< claim, beat or release
  /// Every event message of one event stream ("order-<id>", "product-<id>").
  std::string stream_filter(int p, const std::string& event_stream) const;
  /// The kind of a message of partition p from its subject.
  record_kind kind_of(int p, std::string_view subject) const;
};

/// '.' → '~' so an id is one subject token; and back.
std::string subject_token(std::string_view id);
std::string id_of_token(std::string_view token);

/// A control record's body and its reading.
std::string control_body(const writer_id& w);

/// An idempotency record as its message body, and back (nullopt: not one).
std::string idempotency_body(const idempotency_record& r);
std::optional<idempotency_record> idempotency_of_body(std::string_view body);

/// An event message's envelope (nullopt: malformed). Its seq is the body's; callers check it
/// against the message's stream sequence.
std::optional<envelope> envelope_of_body(std::string_view body);

} // namespace flashsale::cluster
