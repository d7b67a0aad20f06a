#include "tests/chaos/partition_log.hpp"

#include <cstdio>
#include <ctime>
#include <sstream>

namespace flashsale::testing::chaos {

const char* to_string(record_kind k) {
  switch (k) {
  case record_kind::event:
    return "event";
  case record_kind::key:
    return "key";
  case record_kind::claim:
    return "claim";
  case record_kind::beat:
    return "beat";
  case record_kind::release:
    return "release";
  case record_kind::unknown:
    return "unknown";
  }
  return "?";
}

std::optional<unix_ms> parse_time(const std::string& text) {
  int y, mo, d, h, mi, s, ms;
  char z = 0;
  if (std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d.%3d%c", &y, &mo, &d, &h, &mi, &s, &ms, &z)
          != 8
      || z != 'Z')
    return std::nullopt;
  std::tm t{};
  t.tm_year = y - 1900;
  t.tm_mon = mo - 1;
  t.tm_mday = d;
  t.tm_hour = h;
  t.tm_min = mi;
  t.tm_sec = s;
  return static_cast<unix_ms>(timegm(&t)) * 1000 + ms;
}

int partition_of(const std::string& id, int partitions) {
  std::uint64_t h = 14695981039346656037ull;
  for (unsigned char c : id) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return static_cast<int>(h % static_cast<std::uint64_t>(partitions));
}

namespace {

bool starts_with(const std::string& s, const std::string& head) {
  return s.compare(0, head.size(), head) == 0;
}

void parse_event(log_record& r, const std::string& body) {
  auto j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    r.problem = "event body is not JSON";
    return;
  }
  try {
    r.type = j.at("type").get<std::string>();
    r.stream = j.at("stream").get<std::string>();
    r.version = j.at("version").get<std::int64_t>();
    r.envelope_seq = j.at("seq").get<std::int64_t>();
    r.data = j.at("data");
    auto at = parse_time(j.at("recorded_at").get<std::string>());
    if (!at)
      r.problem = "recorded_at is not RFC 3339";
    else
      r.recorded_at = *at;
  } catch (const nlohmann::json::exception& e) {
    r.problem = std::string("envelope: ") + e.what();
  }
}

void parse_control(log_record& r, const std::string& body) {
  auto j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("node") || !j.contains("epoch")
      || !j["node"].is_string() || !j["epoch"].is_number_unsigned()) {
    r.problem = "control body is not {node, epoch}";
    return;
  }
  r.control_node = j["node"].get<std::string>();
  r.control_epoch = j["epoch"].get<std::uint64_t>();
}

void parse_key(log_record& r, const std::string& body) {
  auto j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    r.problem = "idempotency body is not JSON";
    return;
  }
  r.key_user = j.value("user_id", "");
  r.key = j.value("key", "");
  r.key_order = j.value("order_id", "");
}

} // namespace

log_record parse_record(int partition, std::uint64_t seq, const std::string& subject,
                        const std::string& writer_header, const std::string& body,
                        unix_ms stored_at) {
  log_record r;
  r.partition = partition;
  r.stored_at = stored_at;
  r.seq = seq;
  r.subject = subject;
  r.writer = writer_header;
  if (auto slash = writer_header.rfind('/'); slash != std::string::npos && slash > 0) {
    try {
      std::size_t used = 0;
      auto epoch = std::stoull(writer_header.substr(slash + 1), &used);
      if (used == writer_header.size() - slash - 1) {
        r.writer_node = writer_header.substr(0, slash);
        r.writer_epoch = epoch;
      }
    } catch (const std::exception&) {
    }
  }
  const std::string head = "flashsale.p." + std::to_string(partition) + ".";
  if (!starts_with(subject, head)) {
    r.problem = "subject outside the partition";
    return r;
  }
  const auto rest = subject.substr(head.size());
  if (starts_with(rest, "order.") || starts_with(rest, "product.")) {
    r.kind = record_kind::event;
    parse_event(r, body);
  } else if (rest == "key") {
    r.kind = record_kind::key;
    parse_key(r, body);
  } else if (rest == "ctl.claim" || rest == "ctl.beat" || rest == "ctl.release") {
    r.kind = rest == "ctl.claim"  ? record_kind::claim
             : rest == "ctl.beat" ? record_kind::beat
                                  : record_kind::release;
    parse_control(r, body);
  } else {
    r.problem = "unknown subject";
  }
  return r;
}

std::string log_record::render() const {
  std::ostringstream out;
  out << "p" << partition << "#" << seq << " " << (writer.empty() ? "(no writer)" : writer) << " ";
  switch (kind) {
  case record_kind::event:
    out << type << " " << stream << " v" << version << " @" << recorded_at;
    if (stored_at)
      out << " stored+" << stored_at - recorded_at << "ms";
    out << " " << data.dump();
    break;
  case record_kind::key:
    out << "key " << key_user << "/" << key << " -> " << key_order;
    break;
  case record_kind::claim:
  case record_kind::beat:
  case record_kind::release:
    out << to_string(kind) << " " << control_node << "/" << control_epoch;
    break;
  case record_kind::unknown:
    out << subject;
    break;
  }
  if (!problem.empty())
    out << " [" << problem << "]";
  return out.str();
}

} // namespace flashsale::testing::chaos
