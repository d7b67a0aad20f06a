// A partition's log as the checker sees it, parsed from the stream's messages with no code of
// the product's own: the layout is the contract (cluster/partition_record.hpp,
// docs/SCALING.md), so the harness keeps working whatever changes inside the nodes.
//
// Stream FLASHSALE_P<p>, one message per record:
//   flashsale.p.<p>.order.<id>.<Type>    | event: envelope JSON {"data":{...},"recorded_at":
//   flashsale.p.<p>.product.<id>.<Type>  |   "<RFC 3339>","seq":<stream seq>,"stream":..,
//                                        |   "type":..,"version":..}
//   flashsale.p.<p>.key                  idempotency record {"user_id","key","order_id",...}
//   flashsale.p.<p>.ctl.claim|beat|release  {"node": "<id>", "epoch": E}
// Every message carries header `Flashsale-Writer: <node>/<epoch>`. Heartbeats roll up (only the
// latest survives), so sequences have gaps. Pure: parsing only (tests/chaos/log_reader reads).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/chaos/history.hpp"

namespace flashsale::testing::chaos {

enum class record_kind { event, key, claim, beat, release, unknown };
const char* to_string(record_kind k);

struct log_record {
  int partition = 0;
  std::uint64_t seq = 0;
  std::string subject;
  record_kind kind = record_kind::unknown;
  std::string writer;    ///< the header's value as it came ("" = none)
  unix_ms stored_at = 0; ///< when the stream stored it (JetStream's timestamp); 0: unknown
  std::optional<std::string> writer_node;
  std::uint64_t writer_epoch = 0;

  // kind == event
  std::string type;   ///< "StockReserved", ...
  std::string stream; ///< "product-<id>" / "order-<id>"
  std::int64_t version = 0;
  std::int64_t envelope_seq = 0;
  unix_ms recorded_at = 0;
  nlohmann::json data; ///< the event's fields

  // kind == claim | beat | release: the body's node and epoch
  std::string control_node;
  std::uint64_t control_epoch = 0;

  // kind == key
  std::string key_user, key, key_order;

  std::string problem; ///< non-empty when the message could not be parsed

  /// "p3#17 node2/45 StockReserved product-x v3 @1700000000123 {...}"
  std::string render() const;
};

struct partition_log {
  int partition = 0;
  std::vector<log_record> records; ///< in stream order
  std::string error;               ///< non-empty when it could not be read whole
};

/// One message of partition p's stream as a record (problem set when malformed).
log_record parse_record(int partition, std::uint64_t seq, const std::string& subject,
                        const std::string& writer_header, const std::string& body,
                        unix_ms stored_at = 0);

/// "2026-11-21T10:00:00.000Z" -> Unix ms; nullopt when it is not that shape.
std::optional<unix_ms> parse_time(const std::string& rfc3339);

/// The partition of an id: FNV-1a 64 of its bytes, modulo the partition count. Fixed forever
/// by the cluster (a partition's events live in its stream), so restated here rather than
/// linked: the checker finds each record where this says it must be.
int partition_of(const std::string& id, int partitions);

} // namespace flashsale::testing::chaos
