#include "cluster/kv_bucket.hpp"

namespace flashsale::cluster {

bool no_answer(natsStatus s) {
  return s == NATS_TIMEOUT || s == NATS_NO_RESPONDERS || s == NATS_NOT_YET_CONNECTED
         || s == NATS_CONNECTION_CLOSED || s == NATS_CONNECTION_DISCONNECTED || s == NATS_IO_ERROR
         || s == NATS_STALE_CONNECTION;
}

std::variant<std::vector<kv_entry>, std::string>
read_bucket(jsCtx* js, kvStore* kv, const std::string& bucket, std::int64_t timeout_ms) {
  jsOptions jo;
  jsOptions_Init(&jo);
  jo.Wait = timeout_ms;
  const std::string prefix = "$KV." + bucket + ".";
  const std::string filter = prefix + ">";
  jo.Stream.Info.SubjectsFilter = filter.c_str();
  jsStreamInfo* si = nullptr;
  natsStatus s = js_GetStreamInfo(&si, js, ("KV_" + bucket).c_str(), &jo, nullptr);
  if (s != NATS_OK)
    return nats_failure("read bucket keys", s);
  std::vector<std::string> keys;
  if (si->State.Subjects)
    for (int i = 0; i < si->State.Subjects->Count; ++i)
      keys.emplace_back(si->State.Subjects->List[i].Subject + prefix.size());
  jsStreamInfo_Destroy(si);
  std::vector<kv_entry> entries;
  for (auto& key : keys) {
    kvEntry* e = nullptr;
    s = kvStore_Get(&e, kv, key.c_str());
    if (s == NATS_NOT_FOUND) // deleted since
      continue;
    if (s != NATS_OK)
      return nats_failure("read bucket", s);
    entries.push_back({key,
                       std::string(static_cast<const char*>(kvEntry_Value(e)),
                                   static_cast<std::size_t>(kvEntry_ValueLen(e))),
                       kvEntry_Revision(e), kvEntry_Created(e) / 1'000'000});
    kvEntry_Destroy(e);
  }
  return entries;
}

std::variant<kvStore*, std::string> ensure_bucket(jsCtx* js, const std::string& name, int replicas,
                                                  std::int64_t ttl_ms) {
  kvConfig cfg;
  kvConfig_Init(&cfg);
  cfg.Bucket = name.c_str();
  cfg.History = 1;
  cfg.TTL = ttl_ms * 1'000'000; // nanoseconds: the stream's MaxAge
  cfg.Replicas = replicas;
  cfg.StorageType = js_FileStorage;
  kvStore* kv = nullptr;
  natsStatus s = js_CreateKeyValue(&kv, js, &cfg);
  if (s == NATS_OK)
    return kv;
  // Another node created it first (maybe with a config we would not write): open it.
  if (js_KeyValue(&kv, js, name.c_str()) == NATS_OK)
    return kv;
  return nats_failure(("bucket " + name).c_str(), s);
}

std::optional<std::string> agree_on(kvStore* meta, const char* key, const std::string& ours,
                                    const char* config_key, bool& transient) {
  transient = false;
  uint64_t rev = 0;
  natsStatus s = kvStore_CreateString(&rev, meta, key, ours.c_str());
  if (s == NATS_OK)
    return std::nullopt;
  kvEntry* e = nullptr;
  s = kvStore_Get(&e, meta, key);
  if (s != NATS_OK) { // created by another node a moment ago, not yet on this replica; or no answer
    transient = true;
    return nats_failure((std::string("read cluster ") + key).c_str(), s);
  }
  std::string theirs = kvEntry_ValueString(e);
  kvEntry_Destroy(e);
  if (theirs != ours)
    return std::string(config_key) + " is " + ours + " but the cluster was created with " + theirs;
  return std::nullopt;
}

} // namespace flashsale::cluster
