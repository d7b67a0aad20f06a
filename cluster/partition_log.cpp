#include "cluster/partition_log.hpp"

#include <chrono>
#include <thread>

#include "cluster/nats_native.hpp"

namespace flashsale::cluster {
namespace {

constexpr const char* owner_header = "Flashsale-Owner";
constexpr const char* epoch_header = "Flashsale-Epoch";
constexpr const char* kind_header = "Flashsale-Kind";
constexpr const char* expected_header = "Nats-Expected-Last-Subject-Sequence";

std::string header_of(natsMsg* m, const char* name) {
  const char* v = nullptr;
  return natsMsgHeader_Get(m, name, &v) == NATS_OK && v ? v : "";
}

partition_record record_of(natsMsg* m, std::uint64_t seq, bool with_body) {
  partition_record r;
  r.seq = seq;
  r.type = header_of(m, kind_header) == "claim" ? partition_record::kind::claim
                                                : partition_record::kind::events;
  r.owner = header_of(m, owner_header);
  r.epoch = std::strtoull(header_of(m, epoch_header).c_str(), nullptr, 10);
  if (with_body)
    r.body.assign(natsMsg_GetData(m), static_cast<std::size_t>(natsMsg_GetDataLength(m)));
  return r;
}

} // namespace

struct partition_log::impl {
  std::shared_ptr<nats_link> link;
  partition_log_options o;
  jsCtx* js() { return link->native().js; }
  std::string subject(int partition) const {
    return o.subject_prefix + "." + std::to_string(partition);
  }

  /// The records of `partition` after `after` up to `last`, one direct get each: slower than
  /// a consumer for a long log, but answered by any replica, with no consumer to create (which
  /// needs JetStream's meta leader, gone for seconds when its server died).
  std::variant<std::vector<partition_record>, std::string>
  read_directly(int partition, std::uint64_t after, std::uint64_t last) {
    std::vector<partition_record> records;
    auto subj = subject(partition);
    for (std::uint64_t next = after + 1; next <= last;) {
      jsDirectGetMsgOptions dg;
      jsDirectGetMsgOptions_Init(&dg);
      dg.Sequence = next;
      dg.NextBySubject = subj.c_str();
      natsMsg* m = nullptr;
      natsStatus s = js_DirectGetMsg(&m, js(), o.stream.c_str(), nullptr, &dg);
      if (s != NATS_OK)
        return nats_failure("read partition (direct)", s);
      auto seq = std::strtoull(header_of(m, "Nats-Sequence").c_str(), nullptr, 10);
      records.push_back(record_of(m, seq, true));
      natsMsg_Destroy(m);
      if (seq < next)
        return std::string("read partition (direct): sequence went back");
      next = seq + 1;
    }
    return records;
  }

  std::variant<std::uint64_t, append_refused> put(int partition, std::uint64_t expected_last,
                                                   std::string_view body,
                                                   const std::string& owner, std::uint64_t epoch,
                                                   const char* kind) {
    auto subj = subject(partition);
    natsMsg* m = nullptr;
    natsStatus s = natsMsg_Create(&m, subj.c_str(), nullptr, body.data(),
                                  static_cast<int>(body.size()));
    if (s != NATS_OK)
      return append_refused{false, nats_failure("message", s)};
    natsMsgHeader_Set(m, expected_header, std::to_string(expected_last).c_str());
    natsMsgHeader_Set(m, owner_header, owner.c_str());
    natsMsgHeader_Set(m, epoch_header, std::to_string(epoch).c_str());
    natsMsgHeader_Set(m, kind_header, kind);
    jsPubAck* ack = nullptr;
    jsErrCode jerr = static_cast<jsErrCode>(0);
    s = js_PublishMsg(&ack, js(), m, nullptr, &jerr);
    natsMsg_Destroy(m);
    if (s != NATS_OK)
      return append_refused{jerr == JSStreamWrongLastSequenceErr, nats_failure("append", s)};
    auto seq = ack->Sequence;
    jsPubAck_Destroy(ack);
    return seq;
  }
};

std::variant<std::unique_ptr<partition_log>, std::string>
partition_log::open(std::shared_ptr<nats_link> link, partition_log_options o) {
  auto self = std::make_unique<impl>();
  self->link = std::move(link);
  self->o = std::move(o);
  if (!self->o.create) {
    jsStreamInfo* si = nullptr;
    natsStatus s = js_GetStreamInfo(&si, self->js(), self->o.stream.c_str(), nullptr, nullptr);
    if (s != NATS_OK)
      return nats_failure(("stream " + self->o.stream).c_str(), s);
    jsStreamInfo_Destroy(si);
    return std::unique_ptr<partition_log>(new partition_log(std::move(self)));
  }
  jsStreamConfig sc;
  jsStreamConfig_Init(&sc);
  sc.Name = self->o.stream.c_str();
  auto wildcard = self->o.subject_prefix + ".>";
  const char* subjects[] = {wildcard.c_str()};
  sc.Subjects = subjects;
  sc.SubjectsLen = 1;
  sc.Storage = js_FileStorage;
  sc.Replicas = self->o.replicas;
  sc.DenyDelete = true; // a partition's history is its state: nobody removes a record
  sc.DenyPurge = true;
  sc.AllowDirect = true; // reads that need no consumer (see read_directly)
  std::string failure;
  auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  do {
    jsStreamInfo* si = nullptr;
    jsErrCode jerr = static_cast<jsErrCode>(0);
    natsStatus s = js_AddStream(&si, self->js(), &sc, nullptr, &jerr);
    if (jerr == JSStreamNameExistErr) // one made before reads were direct: allow them
      s = js_UpdateStream(&si, self->js(), &sc, nullptr, &jerr);
    if (s == NATS_OK) {
      jsStreamInfo_Destroy(si);
      return std::unique_ptr<partition_log>(new partition_log(std::move(self)));
    }
    failure = nats_failure(("stream " + self->o.stream).c_str(), s);
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  } while (std::chrono::steady_clock::now() < give_up);
  return failure;
}

partition_log::partition_log(std::unique_ptr<impl> self) : self_(std::move(self)) {}
partition_log::~partition_log() = default;

std::variant<std::uint64_t, append_refused>
partition_log::append(int partition, std::uint64_t expected_last, std::string_view body,
                      const std::string& owner, std::uint64_t epoch) {
  return self_->put(partition, expected_last, body, owner, epoch, "events");
}

std::variant<std::uint64_t, partition_log::claim_refused>
partition_log::claim(int partition, const std::string& owner, std::uint64_t epoch) {
  auto body = "{\"claim\":{\"owner\":\"" + owner + "\",\"epoch\":" + std::to_string(epoch) + "}}";
  std::string failure;
  for (int attempt = 0; attempt < 20; ++attempt) {
    auto last = last_record(partition);
    if (auto e = std::get_if<std::string>(&last)) {
      failure = *e;
      continue;
    }
    auto& head = std::get<partition_record>(last);
    if (head.epoch > epoch)
      return claim_refused{true, "partition " + std::to_string(partition)
                                   + " was claimed at epoch " + std::to_string(head.epoch)
                                   + ", after ours (" + std::to_string(epoch) + ")"};
    auto r = self_->put(partition, head.seq, body, owner, epoch, "claim");
    if (auto seq = std::get_if<std::uint64_t>(&r))
      return *seq;
    failure = std::get<append_refused>(r).message; // a former owner appended: read again
  }
  return claim_refused{false, "claim of partition " + std::to_string(partition) + ": " + failure};
}

std::variant<partition_record, std::string> partition_log::last_record(int partition) {
  natsMsg* m = nullptr;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  natsStatus s = js_GetLastMsg(&m, self_->js(), self_->o.stream.c_str(),
                               self_->subject(partition).c_str(), nullptr, &jerr);
  if (s == NATS_NOT_FOUND || jerr == JSNoMessageFoundErr)
    return partition_record{};
  if (s != NATS_OK)
    return nats_failure("last record", s);
  auto r = record_of(m, natsMsg_GetSequence(m), false);
  natsMsg_Destroy(m);
  return r;
}

std::variant<std::uint64_t, std::string> partition_log::last_seq(int partition) {
  auto r = last_record(partition);
  if (auto e = std::get_if<std::string>(&r))
    return *e;
  return std::get<partition_record>(r).seq;
}

std::variant<std::vector<partition_record>, std::string> partition_log::read(int partition) {
  auto last = last_seq(partition);
  if (auto e = std::get_if<std::string>(&last))
    return *e;
  std::vector<partition_record> records;
  if (std::get<std::uint64_t>(last) == 0)
    return records;
  jsSubOptions so;
  jsSubOptions_Init(&so);
  so.Ordered = true;
  so.Config.DeliverPolicy = js_DeliverAll;
  so.Stream = self_->o.stream.c_str();
  // A consumer streams a long log fast, but creating one needs JetStream's meta leader. Just
  // after a server died there may be none for seconds: then read record by record instead.
  natsSubscription* sub = nullptr;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  auto subject = self_->subject(partition);
  jsOptions jo;
  jsOptions_Init(&jo);
  jo.Wait = 500;
  if (js_SubscribeSync(&sub, self_->js(), subject.c_str(), &jo, &so, &jerr) != NATS_OK)
    return self_->read_directly(partition, 0, std::get<std::uint64_t>(last));
  bool stalled = false;
  while (records.empty() || records.back().seq < std::get<std::uint64_t>(last)) {
    natsMsg* m = nullptr;
    if (natsSubscription_NextMsg(&m, sub, 1000) != NATS_OK) {
      stalled = true; // its server died under it, say: the rest record by record
      break;
    }
    jsMsgMetaData* meta = nullptr;
    if (natsMsg_GetMetaData(&meta, m) == NATS_OK) {
      auto r = record_of(m, meta->Sequence.Stream, true);
      records.push_back(std::move(r));
      jsMsgMetaData_Destroy(meta);
    }
    natsMsg_Destroy(m);
  }
  natsSubscription_Unsubscribe(sub);
  natsSubscription_Destroy(sub);
  if (stalled) {
    auto rest = self_->read_directly(partition, records.empty() ? 0 : records.back().seq,
                                     std::get<std::uint64_t>(last));
    if (auto e = std::get_if<std::string>(&rest))
      return *e;
    for (auto& r : std::get<std::vector<partition_record>>(rest))
      records.push_back(std::move(r));
  }
  return records;
}

} // namespace flashsale::cluster
