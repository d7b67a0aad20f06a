// JetStream's JSON API by plain request/reply, for what nats.c 3.4.1 has no call for: streams
// with `allow_atomic` (atomic batch publish, nats-server >= 2.12), message gets by subject
// answered by the stream's leader (`next_by_subj`). Private to cluster/ (uses nats_link's
// connection); no nats.h in this header.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include <nlohmann/json.hpp>

#include "cluster/nats_link.hpp"

namespace flashsale::cluster {

/// A JetStream API error: `code` is JetStream's err_code (10071 = wrong last sequence, ...),
/// 0 when nothing answered (timeout, no responders, no connection).
struct api_error {
  int code = 0;
  std::string message;
  bool answered() const { return code != 0; }
};

/// Sends `body` to `$JS.API.<what>` and returns the answer's JSON, or its error.
std::variant<nlohmann::json, api_error> jetstream_request(nats_link& link, const std::string& what,
                                                          const std::string& body,
                                                          std::int64_t timeout_ms);

/// Creates stream `config["name"]`, or updates it to `config` when it exists with another.
std::optional<api_error> ensure_stream(nats_link& link, const nlohmann::json& config,
                                       std::int64_t timeout_ms);

/// A stored message as the leader's message get answers it.
struct stored_message {
  std::uint64_t seq = 0;
  std::string subject;
  std::string headers; ///< "NATS/1.0\r\nKey: Value\r\n..." as stored (may be empty)
  std::string data;
};

/// The first message at or after `seq` whose subject matches `filter` (wildcards allowed),
/// answered by the stream's leader: it holds everything acknowledged, which a replica
/// answering a direct get may not yet. nullopt when there is none.
std::variant<std::optional<stored_message>, api_error>
get_message(nats_link& link, const std::string& stream, std::uint64_t seq,
            const std::string& filter, std::int64_t timeout_ms);

/// The value of header `name` in a raw header block; empty when absent.
std::string header_value(std::string_view headers, std::string_view name);

std::string base64_decode(std::string_view text);

} // namespace flashsale::cluster
