#include "tests/chaos/log_reader.hpp"

#include <chrono>
#include <cstdlib>
#include <thread>

#include <nats/nats.h>

namespace flashsale::testing::chaos {

namespace {

std::string failure(const char* what, natsStatus s) {
  return std::string(what) + ": " + natsStatus_GetText(s) + " " + nats_GetLastError(nullptr);
}

std::string header(natsMsg* m, const char* name) {
  const char* v = nullptr;
  return natsMsgHeader_Get(m, name, &v) == NATS_OK && v ? v : "";
}

/// Every record up to `last` through an ordered consumer; "" or why it could not.
std::string by_consumer(jsCtx* js, partition_log& log, const std::string& stream,
                        std::uint64_t last) {
  const auto subjects = "flashsale.p." + std::to_string(log.partition) + ".>";
  jsOptions jo;
  jsOptions_Init(&jo);
  jo.Wait = 5000;
  jsSubOptions so;
  jsSubOptions_Init(&so);
  so.Ordered = true;
  so.Stream = stream.c_str();
  so.Config.DeliverPolicy = js_DeliverAll;
  natsSubscription* sub = nullptr;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  if (auto s = js_SubscribeSync(&sub, js, subjects.c_str(), &jo, &so, &jerr); s != NATS_OK)
    return failure(("consumer on " + stream).c_str(), s);
  natsSubscription_SetPendingLimits(sub, -1, -1);
  std::string error;
  for (std::uint64_t seq = 0; seq < last;) {
    natsMsg* m = nullptr;
    if (auto s = natsSubscription_NextMsg(&m, sub, 5000); s != NATS_OK) {
      error = failure(("reading " + stream + " after " + std::to_string(seq)).c_str(), s);
      break;
    }
    jsMsgMetaData* meta = nullptr;
    if (natsMsg_GetMetaData(&meta, m) == NATS_OK) {
      seq = meta->Sequence.Stream;
      const unix_ms stored_at = meta->Timestamp / 1'000'000; // ns since the epoch
      jsMsgMetaData_Destroy(meta);
      if (seq <= last)
        log.records.push_back(parse_record(
            log.partition, seq, natsMsg_GetSubject(m), header(m, "Flashsale-Writer"),
            std::string(natsMsg_GetData(m), static_cast<std::size_t>(natsMsg_GetDataLength(m))),
            stored_at));
    }
    natsMsg_Destroy(m);
  }
  natsSubscription_Unsubscribe(sub);
  natsSubscription_Destroy(sub);
  return error;
}

/// The same record by record from the stream's leader (STREAM.MSG.GET needs no consumer, so
/// no JetStream meta leader: after a server's restart that one may be electing for seconds).
std::string by_get(jsCtx* js, partition_log& log, const std::string& stream, std::uint64_t last) {
  jsOptions jo;
  jsOptions_Init(&jo);
  jo.Wait = 5000;
  for (std::uint64_t seq = 1; seq <= last; ++seq) {
    natsMsg* m = nullptr;
    jsErrCode jerr = static_cast<jsErrCode>(0);
    auto s = js_GetMsg(&m, js, stream.c_str(), seq, &jo, &jerr);
    if (s == NATS_NOT_FOUND)
      continue; // a heartbeat rolled up by a later one
    if (s != NATS_OK)
      return failure(("getting " + stream + " #" + std::to_string(seq)).c_str(), s);
    log.records.push_back(parse_record(
        log.partition, seq, natsMsg_GetSubject(m), header(m, "Flashsale-Writer"),
        std::string(natsMsg_GetData(m), static_cast<std::size_t>(natsMsg_GetDataLength(m))),
        natsMsg_GetTime(m) / 1'000'000));
    natsMsg_Destroy(m);
  }
  return "";
}

/// The partition's last sequence (its leader's), then every record up to it: through a
/// consumer, else record by record; tried again for a while, since the cluster just healed.
void read_one(jsCtx* js, partition_log& log) {
  const auto stream = "FLASHSALE_P" + std::to_string(log.partition);
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  for (;;) {
    log.records.clear();
    jsStreamInfo* info = nullptr;
    jsErrCode jerr = static_cast<jsErrCode>(0);
    jsOptions jo;
    jsOptions_Init(&jo);
    jo.Wait = 5000;
    if (auto s = js_GetStreamInfo(&info, js, stream.c_str(), &jo, &jerr); s != NATS_OK) {
      log.error = failure(("stream info of " + stream).c_str(), s);
    } else {
      const auto last = info->State.LastSeq;
      jsStreamInfo_Destroy(info);
      static const bool get_only = std::getenv("CHAOS_READ_BY_GET") != nullptr; // to test it
      log.error = get_only ? "by get" : by_consumer(js, log, stream, last);
      if (!log.error.empty()) {
        log.records.clear();
        log.error = by_get(js, log, stream, last);
      }
    }
    if (log.error.empty() || std::chrono::steady_clock::now() >= give_up)
      return;
    std::this_thread::sleep_for(std::chrono::milliseconds(500)); // the cluster settles
  }
}

} // namespace

std::vector<partition_log> read_partition_logs(const std::string& nats_urls, int partitions) {
  std::vector<partition_log> logs(static_cast<std::size_t>(partitions));
  for (int p = 0; p < partitions; ++p)
    logs[static_cast<std::size_t>(p)].partition = p;
  natsConnection* nc = nullptr;
  natsOptions* opts = nullptr;
  natsOptions_Create(&opts);
  std::vector<std::string> urls;
  for (std::size_t from = 0; from <= nats_urls.size();) {
    auto comma = nats_urls.find(',', from);
    if (comma == std::string::npos)
      comma = nats_urls.size();
    urls.push_back(nats_urls.substr(from, comma - from));
    from = comma + 1;
  }
  std::vector<const char*> servers;
  for (auto& u : urls)
    servers.push_back(u.c_str());
  natsOptions_SetServers(opts, servers.data(), static_cast<int>(servers.size()));
  natsOptions_SetTimeout(opts, 5000);
  if (auto s = natsConnection_Connect(&nc, opts); s != NATS_OK) {
    natsOptions_Destroy(opts);
    for (auto& l : logs)
      l.error = failure("connect", s);
    return logs;
  }
  natsOptions_Destroy(opts);
  jsCtx* js = nullptr;
  natsConnection_JetStream(&js, nc, nullptr);
  for (auto& l : logs)
    read_one(js, l);
  jsCtx_Destroy(js);
  natsConnection_Destroy(nc);
  return logs;
}

} // namespace flashsale::testing::chaos
