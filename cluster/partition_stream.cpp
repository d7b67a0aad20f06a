#include "cluster/partition_stream.hpp"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <random>
#include <thread>

#include "cluster/jetstream_api.hpp"
#include "cluster/nats_native.hpp"

namespace flashsale::cluster {

namespace {

constexpr int wrong_last_sequence = 10071;

/// Unique enough for a batch in flight: random per process, then a counter.
std::string next_batch_id() {
  static const std::string process = [] {
    std::random_device rd;
    char buf[17];
    std::snprintf(buf, sizeof buf, "%08x%08x", rd(), rd());
    return std::string(buf);
  }();
  static std::atomic<std::uint64_t> counter{0};
  return process + "-" + std::to_string(++counter);
}

std::string header_of(natsMsg* m, const char* name) {
  const char* v = nullptr;
  return natsMsgHeader_Get(m, name, &v) == NATS_OK && v ? v : "";
}

bool unanswered(natsStatus s) {
  return s == NATS_TIMEOUT || s == NATS_NO_RESPONDERS || s == NATS_NOT_YET_CONNECTED
         || s == NATS_CONNECTION_CLOSED || s == NATS_CONNECTION_DISCONNECTED || s == NATS_IO_ERROR
         || s == NATS_STALE_CONNECTION;
}

} // namespace

partition_stream::partition_stream(std::shared_ptr<nats_link> link, partition_stream_options o)
  : link_(std::move(link)), o_(std::move(o)) {}

std::optional<std::string> partition_stream::ensure(int p) {
  nlohmann::json config{
      {"name", o_.names.stream(p)}, {"subjects", {o_.names.all_subjects(p)}},
      {"storage", "file"},          {"num_replicas", o_.replicas},
      {"retention", "limits"},      {"discard", "old"},
      {"allow_atomic", true},      // a commit group is stored whole or not at all
      {"allow_direct", true},      // reads answered by any replica where staleness is safe
      {"allow_rollup_hdrs", true}, // a heartbeat replaces the one before it
      {"deny_delete", true},       // a partition's history is its state
  };
  if (auto e = ensure_stream(*link_, config, o_.timeout_ms))
    return "stream " + o_.names.stream(p) + ": " + e->message;
  return std::nullopt;
}

std::variant<std::uint64_t, append_failure>
partition_stream::append(int /*partition: its subjects say*/, std::uint64_t expected_last,
                         const std::vector<outgoing_message>& messages, const writer_id& writer,
                         std::int64_t timeout_ms, bool rollup) {
  if (messages.empty())
    return expected_last;
  auto& native = link_->native();
  const auto writer_value = to_string(writer);
  const auto expected = std::to_string(expected_last);
  const bool batch = messages.size() > 1;
  const auto batch_id = batch ? next_batch_id() : std::string{};
  for (std::size_t i = 0; i < messages.size(); ++i) {
    auto& out = messages[i];
    natsMsg* m = nullptr;
    natsStatus s = natsMsg_Create(&m, out.subject.c_str(), nullptr, out.body.data(),
                                  static_cast<int>(out.body.size()));
    if (s != NATS_OK)
      return append_failure{append_failure::kind::refused, nats_failure("message", s)};
    natsMsgHeader_Set(m, writer_header, writer_value.c_str());
    if (i == 0)
      natsMsgHeader_Set(m, "Nats-Expected-Last-Sequence", expected.c_str());
    if (rollup)
      natsMsgHeader_Set(m, "Nats-Rollup", "sub");
    const bool last = i + 1 == messages.size();
    if (batch) {
      natsMsgHeader_Set(m, "Nats-Batch-Id", batch_id.c_str());
      natsMsgHeader_Set(m, "Nats-Batch-Sequence", std::to_string(i + 1).c_str());
      if (last)
        natsMsgHeader_Set(m, "Nats-Batch-Commit", "1");
    }
    if (!last) {
      s = natsConnection_PublishMsg(native.nc, m);
      natsMsg_Destroy(m);
      if (s != NATS_OK) // nothing was committed: the batch never completes
        return append_failure{append_failure::kind::refused, nats_failure("append", s)};
      continue;
    }
    jsPubOptions po;
    jsPubOptions_Init(&po);
    po.MaxWait = timeout_ms;
    jsPubAck* ack = nullptr;
    jsErrCode jerr = static_cast<jsErrCode>(0);
    s = js_PublishMsg(&ack, native.js, m, &po, &jerr);
    natsMsg_Destroy(m);
    if (s != NATS_OK) {
      auto text = nats_failure("append", s);
      if (static_cast<int>(jerr) == wrong_last_sequence)
        return append_failure{append_failure::kind::fenced, text};
      // No answer says nothing of the batch's fate (nats.c reports a publish that found no
      // responder, as when the client has just reconnected to another server, as
      // JSNotEnabledErr: a code, but no server said it). Resolved from the log.
      if (unanswered(s))
        return append_failure{append_failure::kind::unknown, text};
      return append_failure{append_failure::kind::refused, text};
    }
    std::uint64_t seq = ack->Sequence;
    jsPubAck_Destroy(ack);
    if (seq != expected_last + messages.size())
      return append_failure{append_failure::kind::unknown,
                            "append acknowledged at sequence " + std::to_string(seq) + ", expected "
                                + std::to_string(expected_last + messages.size())};
    return seq;
  }
  return expected_last; // not reached
}

std::optional<partition_stream::replicas> partition_stream::placement(int p) {
  auto info = jetstream_request(*link_, "STREAM.INFO." + o_.names.stream(p), "", o_.timeout_ms);
  if (std::holds_alternative<api_error>(info))
    return std::nullopt;
  auto& cluster = std::get<nlohmann::json>(info)["cluster"];
  replicas r;
  r.leader = cluster.value("leader", std::string{});
  if (!r.leader.empty())
    r.servers.push_back(r.leader);
  for (auto& peer : cluster.value("replicas", nlohmann::json::array()))
    r.servers.push_back(peer.value("name", std::string{}));
  return r;
}

bool partition_stream::move_leader(int p, const std::string& server, std::int64_t timeout_ms) {
  nlohmann::json request{{"placement", {{"preferred", server}}}};
  auto asked = jetstream_request(*link_, "STREAM.LEADER.STEPDOWN." + o_.names.stream(p),
                                 request.dump(), o_.timeout_ms);
  if (std::holds_alternative<api_error>(asked))
    return false;
  auto give_up = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (std::chrono::steady_clock::now() < give_up) {
    if (auto now = placement(p); now && now->leader == server)
      return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

std::variant<std::uint64_t, std::string> partition_stream::last_seq(int p,
                                                                    std::int64_t timeout_ms) {
  auto info = jetstream_request(*link_, "STREAM.INFO." + o_.names.stream(p), "",
                                timeout_ms > 0 ? timeout_ms : o_.timeout_ms);
  if (auto e = std::get_if<api_error>(&info))
    return e->message;
  return std::get<nlohmann::json>(info)["state"].value("last_seq", std::uint64_t{0});
}

namespace {

stored_record record_of(const partition_names& names, int p, stored_message&& m) {
  stored_record r;
  r.seq = m.seq;
  r.kind = names.kind_of(p, m.subject);
  r.writer = writer_of(header_value(m.headers, writer_header));
  r.subject = std::move(m.subject);
  r.body = std::move(m.data);
  return r;
}

stored_record record_of(const partition_names& names, int p, natsMsg* m, std::uint64_t seq,
                        bool with_writer) {
  stored_record r;
  r.seq = seq;
  r.subject = natsMsg_GetSubject(m);
  r.kind = names.kind_of(p, r.subject);
  if (with_writer)
    r.writer = writer_of(header_of(m, writer_header));
  r.body.assign(natsMsg_GetData(m), static_cast<std::size_t>(natsMsg_GetDataLength(m)));
  return r;
}

} // namespace

std::variant<std::optional<stored_record>, std::string>
partition_stream::record_at(int p, std::uint64_t seq) {
  auto got = get_message(*link_, o_.names.stream(p), seq, o_.names.all_subjects(p), o_.timeout_ms);
  if (auto e = std::get_if<api_error>(&got))
    return e->message;
  auto& m = std::get<std::optional<stored_message>>(got);
  if (!m)
    return std::optional<stored_record>{};
  return std::optional<stored_record>{record_of(o_.names, p, std::move(*m))};
}

std::optional<std::string> partition_stream::read(int p, std::uint64_t after, std::uint64_t up_to,
                                                  const std::function<void(stored_record&&)>& each,
                                                  bool with_writer) {
  if (up_to <= after)
    return std::nullopt;
  auto& native = link_->native();
  const auto stream = o_.names.stream(p);
  const auto filter = o_.names.all_subjects(p);
  std::uint64_t next = after + 1;
  // A consumer streams a long log fast, but creating one needs JetStream's meta leader,
  // which may be electing for seconds after a server died: then read record by record.
  jsSubOptions so;
  jsSubOptions_Init(&so);
  so.Ordered = true;
  so.Stream = stream.c_str();
  so.Config.DeliverPolicy = js_DeliverByStartSequence;
  so.Config.OptStartSeq = next;
  jsOptions jo;
  jsOptions_Init(&jo);
  jo.Wait = 500;
  natsSubscription* sub = nullptr;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  if (js_SubscribeSync(&sub, native.js, filter.c_str(), &jo, &so, &jerr) == NATS_OK) {
    natsSubscription_SetPendingLimits(sub, -1, -1);
    while (next <= up_to) {
      natsMsg* m = nullptr;
      if (natsSubscription_NextMsg(&m, sub, 1000) != NATS_OK)
        break; // its server died under it, say: the rest record by record
      jsMsgMetaData* meta = nullptr;
      if (natsMsg_GetMetaData(&meta, m) == NATS_OK) {
        auto seq = meta->Sequence.Stream;
        jsMsgMetaData_Destroy(meta);
        if (seq >= next && seq <= up_to) {
          each(record_of(o_.names, p, m, seq, with_writer));
          next = seq + 1;
        } else if (seq > up_to) {
          next = up_to + 1;
        }
      }
      natsMsg_Destroy(m);
    }
    natsSubscription_Unsubscribe(sub);
    natsSubscription_Destroy(sub);
  }
  while (next <= up_to) {
    auto r = record_at(p, next);
    if (auto e = std::get_if<std::string>(&r))
      return "read partition " + std::to_string(p) + ": " + *e;
    auto& rec = std::get<std::optional<stored_record>>(r);
    if (!rec || rec->seq > up_to)
      break; // the rest was rolled up (heartbeats)
    next = rec->seq + 1;
    each(std::move(*rec));
  }
  return std::nullopt;
}

std::variant<std::vector<stored_record>, std::string>
partition_stream::read_subject(int p, const std::string& filter) {
  std::vector<stored_record> out;
  const auto stream = o_.names.stream(p);
  for (std::uint64_t next = 1;;) {
    auto got = get_message(*link_, stream, next, filter, o_.timeout_ms);
    if (auto e = std::get_if<api_error>(&got))
      return e->message;
    auto& m = std::get<std::optional<stored_message>>(got);
    if (!m)
      return out;
    next = m->seq + 1;
    out.push_back(record_of(o_.names, p, std::move(*m)));
  }
}

} // namespace flashsale::cluster
