#include "tests/chaos/log_reader.hpp"

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

void read_one(jsCtx* js, partition_log& log) {
  const auto stream = "FLASHSALE_P" + std::to_string(log.partition);
  const auto subjects = "flashsale.p." + std::to_string(log.partition) + ".>";
  jsStreamInfo* info = nullptr;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  jsOptions jo;
  jsOptions_Init(&jo);
  jo.Wait = 5000;
  if (auto s = js_GetStreamInfo(&info, js, stream.c_str(), &jo, &jerr); s != NATS_OK) {
    log.error = failure(("stream info of " + stream).c_str(), s);
    return;
  }
  const auto last = info->State.LastSeq;
  jsStreamInfo_Destroy(info);
  if (last == 0)
    return;
  jsSubOptions so;
  jsSubOptions_Init(&so);
  so.Ordered = true;
  so.Stream = stream.c_str();
  so.Config.DeliverPolicy = js_DeliverAll;
  natsSubscription* sub = nullptr;
  if (auto s = js_SubscribeSync(&sub, js, subjects.c_str(), &jo, &so, &jerr); s != NATS_OK) {
    log.error = failure(("consumer on " + stream).c_str(), s);
    return;
  }
  natsSubscription_SetPendingLimits(sub, -1, -1);
  for (std::uint64_t seq = 0; seq < last;) {
    natsMsg* m = nullptr;
    if (auto s = natsSubscription_NextMsg(&m, sub, 5000); s != NATS_OK) {
      log.error = failure(("reading " + stream + " after " + std::to_string(seq)).c_str(), s);
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
