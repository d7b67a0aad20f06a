#include "cluster/snapshot_store.hpp"

#include <random>

#include "cluster/jetstream_api.hpp"
#include "cluster/nats_native.hpp"

namespace flashsale::cluster {

namespace {

std::string random_id() {
  static thread_local std::mt19937_64 gen{std::random_device{}()};
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(gen()));
  return buf;
}

} // namespace

snapshot_store::snapshot_store(std::shared_ptr<nats_link> link, snapshot_store_options o)
  : link_(std::move(link)), o_(std::move(o)) {}

std::string snapshot_store::subject(int p, const std::string& leaf) const {
  return o_.subject_prefix + "." + std::to_string(p) + "." + leaf;
}

std::variant<std::unique_ptr<snapshot_store>, std::string>
snapshot_store::open(std::shared_ptr<nats_link> link, snapshot_store_options o) {
  nlohmann::json config{{"name", o.stream},     {"subjects", {o.subject_prefix + ".>"}},
                        {"storage", "file"},    {"num_replicas", o.replicas},
                        {"allow_direct", true}, {"allow_rollup_hdrs", true}};
  if (auto e = ensure_stream(*link, config, o.timeout_ms))
    return "stream " + o.stream + ": " + e->message;
  return std::unique_ptr<snapshot_store>(new snapshot_store(std::move(link), std::move(o)));
}

std::optional<std::string> snapshot_store::save(int p, const partition_snapshot& s) {
  auto& native = link_->native();
  const auto id = random_id();
  const auto chunk_subject = subject(p, id);
  std::size_t chunks = 0;
  std::uint64_t first_seq = 0;
  jsPubOptions po;
  jsPubOptions_Init(&po);
  po.MaxWait = o_.timeout_ms;
  auto publish = [&](const std::string& subj, const char* data, std::size_t len,
                     bool rollup) -> std::variant<std::uint64_t, std::string> {
    natsMsg* m = nullptr;
    natsStatus st = natsMsg_Create(&m, subj.c_str(), nullptr, data, static_cast<int>(len));
    if (st != NATS_OK)
      return nats_failure("snapshot message", st);
    if (rollup)
      natsMsgHeader_Set(m, "Nats-Rollup", "sub");
    jsPubAck* ack = nullptr;
    st = js_PublishMsg(&ack, native.js, m, &po, nullptr);
    natsMsg_Destroy(m);
    if (st != NATS_OK)
      return nats_failure("snapshot", st);
    auto seq = ack->Sequence;
    jsPubAck_Destroy(ack);
    return seq;
  };
  for (std::size_t at = 0; at < s.data.size() || chunks == 0; at += o_.chunk_bytes) {
    auto len = std::min(o_.chunk_bytes, s.data.size() - at);
    auto r = publish(chunk_subject, s.data.data() + at, len, false);
    if (auto e = std::get_if<std::string>(&r))
      return *e;
    if (chunks++ == 0)
      first_seq = std::get<std::uint64_t>(r);
    if (s.data.empty())
      break;
  }
  nlohmann::json head{{"id", id},           {"chunks", chunks},       {"bytes", s.data.size()},
                      {"covers", s.covers}, {"first_seq", first_seq}, {"taken_at", s.taken_at}};
  auto text = head.dump();
  auto r = publish(subject(p, "head"), text.data(), text.size(), true);
  if (auto e = std::get_if<std::string>(&r))
    return *e;
  // Older snapshots of this partition: everything on its subjects before this one's chunks
  // (the new head comes after them, so it stays).
  nlohmann::json purge{{"filter", subject(p, "*")}, {"seq", first_seq}};
  auto purged = jetstream_request(*link_, "STREAM.PURGE." + o_.stream, purge.dump(), o_.timeout_ms);
  (void)purged; // a failed purge leaves old chunks behind, harmless: the next one retries
  return std::nullopt;
}

std::variant<std::optional<partition_snapshot>, std::string> snapshot_store::load(int p) {
  nlohmann::json request{{"last_by_subj", subject(p, "head")}};
  auto answer =
      jetstream_request(*link_, "STREAM.MSG.GET." + o_.stream, request.dump(), o_.timeout_ms);
  if (auto e = std::get_if<api_error>(&answer)) {
    if (e->answered()) // no head: no snapshot yet
      return std::optional<partition_snapshot>{};
    return e->message;
  }
  auto head = nlohmann::json::parse(
      base64_decode(std::get<nlohmann::json>(answer)["message"].value("data", std::string{})),
      nullptr, false);
  if (head.is_discarded() || !head.is_object())
    return std::optional<partition_snapshot>{};
  partition_snapshot s;
  s.covers = head.value("covers", std::uint64_t{0});
  s.taken_at = head.value("taken_at", std::int64_t{0});
  const auto chunks = head.value("chunks", std::size_t{0});
  const auto bytes = head.value("bytes", std::size_t{0});
  const auto chunk_subject = subject(p, head.value("id", std::string{}));
  s.data.reserve(bytes);
  std::uint64_t next = head.value("first_seq", std::uint64_t{0});
  for (std::size_t i = 0; i < chunks; ++i) {
    auto got = get_message(*link_, o_.stream, next, chunk_subject, o_.timeout_ms);
    if (auto e = std::get_if<api_error>(&got))
      return e->message;
    auto& m = std::get<std::optional<stored_message>>(got);
    if (!m)
      return std::optional<partition_snapshot>{}; // purged under us: no usable snapshot
    s.data += m->data;
    next = m->seq + 1;
  }
  if (s.data.size() != bytes)
    return std::optional<partition_snapshot>{};
  return std::optional<partition_snapshot>{std::move(s)};
}

} // namespace flashsale::cluster
