#include "cluster/partition_record.hpp"

#include <charconv>

#include <nlohmann/json.hpp>

#include "events/event.hpp"
#include "events/fast_decode.hpp"

namespace flashsale::cluster {

namespace {

bool starts_with(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

} // namespace

std::string to_string(const writer_id& w) {
  return w.node + "/" + std::to_string(w.epoch);
}

std::optional<writer_id> writer_of(std::string_view header) {
  auto slash = header.rfind('/');
  if (slash == std::string_view::npos || slash == 0)
    return std::nullopt;
  writer_id w;
  w.node = std::string(header.substr(0, slash));
  auto digits = header.substr(slash + 1);
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), w.epoch);
  if (ec != std::errc() || end != digits.data() + digits.size())
    return std::nullopt;
  return w;
}

const char* to_string(record_kind k) {
  switch (k) {
  case record_kind::event:
    return "event";
  case record_kind::idempotency:
    return "key";
  case record_kind::claim:
    return "claim";
  case record_kind::beat:
    return "beat";
  case record_kind::release:
    return "release";
  case record_kind::unknown:
    break;
  }
  return "unknown";
}

std::string subject_token(std::string_view id) {
  std::string out(id);
  for (auto& c : out)
    if (c == '.')
      c = '~';
  return out;
}

std::string id_of_token(std::string_view token) {
  std::string out(token);
  for (auto& c : out)
    if (c == '~')
      c = '.';
  return out;
}

std::string partition_names::stream(int p) const {
  return stream_prefix + std::to_string(p);
}

std::string partition_names::all_subjects(int p) const {
  return subject_prefix + "." + std::to_string(p) + ".>";
}

std::string partition_names::event_subject(int p, const envelope& e) const {
  std::string out = subject_prefix + "." + std::to_string(p);
  if (auto ref = parse_stream(e.stream))
    out +=
        (ref->what == stream_ref::kind::order ? ".order." : ".product.") + subject_token(ref->id);
  else
    out += ".stream." + subject_token(e.stream);
  return out + "." + e.type;
}

std::string partition_names::idempotency_subject(int p) const {
  return subject_prefix + "." + std::to_string(p) + ".key";
}

std::string partition_names::control_subject(int p, record_kind k) const {
  return subject_prefix + "." + std::to_string(p) + ".ctl." + to_string(k);
}

std::string partition_names::stream_filter(int p, const std::string& event_stream) const {
  envelope probe;
  probe.stream = event_stream;
  probe.type = "*";
  return event_subject(p, probe);
}

record_kind partition_names::kind_of(int p, std::string_view subject) const {
  auto head = subject_prefix + "." + std::to_string(p) + ".";
  if (!starts_with(subject, head))
    return record_kind::unknown;
  auto rest = subject.substr(head.size());
  if (starts_with(rest, "order.") || starts_with(rest, "product.") || starts_with(rest, "stream."))
    return record_kind::event;
  if (rest == "key")
    return record_kind::idempotency;
  if (rest == "ctl.claim")
    return record_kind::claim;
  if (rest == "ctl.beat")
    return record_kind::beat;
  if (rest == "ctl.release")
    return record_kind::release;
  return record_kind::unknown;
}

std::string control_body(const writer_id& w) {
  return nlohmann::json{{"node", w.node}, {"epoch", w.epoch}}.dump();
}

std::string idempotency_body(const idempotency_record& r) {
  return nlohmann::json{
      {"user_id", r.user_id},        {"key", r.key},       {"request_hash", r.request_hash},
      {"order_id", r.order_id},      {"status", r.status}, {"body", r.body},
      {"recorded_at", r.recorded_at}}
      .dump();
}

std::optional<idempotency_record> idempotency_of_body(std::string_view body) {
  auto j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return std::nullopt;
  try {
    idempotency_record r;
    j.at("user_id").get_to(r.user_id);
    j.at("key").get_to(r.key);
    j.at("request_hash").get_to(r.request_hash);
    j.at("order_id").get_to(r.order_id);
    j.at("status").get_to(r.status);
    j.at("body").get_to(r.body);
    j.at("recorded_at").get_to(r.recorded_at);
    return r;
  } catch (const nlohmann::json::exception&) {
    return std::nullopt;
  }
}

std::optional<envelope> envelope_of_body(std::string_view body) {
  if (auto fast = fast_decode_envelope(body))
    return fast;
  auto j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_discarded())
    return std::nullopt;
  try {
    return j.get<envelope>();
  } catch (const nlohmann::json::exception&) {
    return std::nullopt;
  }
}

} // namespace flashsale::cluster
