// JetStream KV buckets as the cluster uses them: created or opened with retries (a fresh
// cluster elects its meta leader seconds after it starts, and nodes starting together race to
// create the same bucket), read whole from the stream's replicas (stream info for the keys,
// direct gets for the values: no consumer, so no need of JetStream's meta leader), and
// cluster-wide constants agreed on at creation. Private to cluster/ (nats.h types).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "cluster/nats_native.hpp"

namespace flashsale::cluster {

struct kv_entry {
  std::string key;
  std::string value;
  std::uint64_t revision = 0;
  std::int64_t created_ms = 0; ///< when this revision was written (the bucket's clock)
};

/// Every live key of `bucket` (opened as `kv`) with its latest value.
std::variant<std::vector<kv_entry>, std::string>
read_bucket(jsCtx* js, kvStore* kv, const std::string& bucket, std::int64_t timeout_ms);

/// Creates bucket `name` (history 1, no TTL unless `ttl_ms`) or opens it when it exists.
std::variant<kvStore*, std::string> ensure_bucket(jsCtx* js, const std::string& name, int replicas,
                                                  std::int64_t ttl_ms = 0);

/// The cluster-wide constant `key` (created by the first node), checked against ours:
/// nullopt when they agree; an error naming `config_key` when they do not. `transient` is set
/// when the bucket did not answer (try again).
std::optional<std::string> agree_on(kvStore* meta, const char* key, const std::string& ours,
                                    const char* config_key, bool& transient);

/// A call that failed without an answer from JetStream: it may or may not have happened.
bool no_answer(natsStatus s);

} // namespace flashsale::cluster
