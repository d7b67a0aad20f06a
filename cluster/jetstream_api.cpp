#include "cluster/jetstream_api.hpp"

#include <array>

#include "cluster/nats_native.hpp"

namespace flashsale::cluster {

namespace {

constexpr int stream_name_in_use = 10058; ///< exists with another configuration
constexpr int no_message_found = 10037;

} // namespace

std::variant<nlohmann::json, api_error> jetstream_request(nats_link& link, const std::string& what,
                                                          const std::string& body,
                                                          std::int64_t timeout_ms) {
  natsMsg* reply = nullptr;
  auto subject = "$JS.API." + what;
  natsStatus s = natsConnection_Request(&reply, link.native().nc, subject.c_str(), body.data(),
                                        static_cast<int>(body.size()), timeout_ms);
  if (s != NATS_OK)
    return api_error{0, nats_failure(what.c_str(), s)};
  auto j =
      nlohmann::json::parse(natsMsg_GetData(reply),
                            natsMsg_GetData(reply) + natsMsg_GetDataLength(reply), nullptr, false);
  natsMsg_Destroy(reply);
  if (j.is_discarded() || !j.is_object())
    return api_error{-1, what + ": JetStream answered something that is not JSON"};
  if (auto e = j.find("error"); e != j.end() && e->is_object())
    return api_error{e->value("err_code", -1),
                     what + ": " + e->value("description", std::string{})};
  return j;
}

std::optional<api_error> ensure_stream(nats_link& link, const nlohmann::json& config,
                                       std::int64_t timeout_ms) {
  auto name = config.at("name").get<std::string>();
  auto created = jetstream_request(link, "STREAM.CREATE." + name, config.dump(), timeout_ms);
  if (std::holds_alternative<nlohmann::json>(created))
    return std::nullopt;
  auto error = std::get<api_error>(created);
  if (error.code != stream_name_in_use)
    return error;
  auto updated = jetstream_request(link, "STREAM.UPDATE." + name, config.dump(), timeout_ms);
  if (auto e = std::get_if<api_error>(&updated))
    return *e;
  return std::nullopt;
}

std::variant<std::optional<stored_message>, api_error>
get_message(nats_link& link, const std::string& stream, std::uint64_t seq,
            const std::string& filter, std::int64_t timeout_ms) {
  nlohmann::json request{{"seq", seq}, {"next_by_subj", filter}};
  auto answer = jetstream_request(link, "STREAM.MSG.GET." + stream, request.dump(), timeout_ms);
  if (auto e = std::get_if<api_error>(&answer)) {
    if (e->code == no_message_found)
      return std::optional<stored_message>{};
    return *e;
  }
  auto& m = std::get<nlohmann::json>(answer)["message"];
  stored_message out;
  out.seq = m.value("seq", std::uint64_t{0});
  out.subject = m.value("subject", std::string{});
  out.headers = base64_decode(m.value("hdrs", std::string{}));
  out.data = base64_decode(m.value("data", std::string{}));
  return std::optional<stored_message>{std::move(out)};
}

std::string header_value(std::string_view headers, std::string_view name) {
  std::size_t pos = headers.find("\r\n");
  while (pos != std::string_view::npos) {
    pos += 2;
    auto end = headers.find("\r\n", pos);
    auto line = headers.substr(pos, end == std::string_view::npos ? end : end - pos);
    auto colon = line.find(':');
    if (colon != std::string_view::npos && line.substr(0, colon) == name) {
      auto value = line.substr(colon + 1);
      while (!value.empty() && value.front() == ' ')
        value.remove_prefix(1);
      return std::string(value);
    }
    pos = end;
  }
  return {};
}

std::string base64_decode(std::string_view text) {
  static const auto table = [] {
    std::array<int, 256> t{};
    t.fill(-1);
    const char* alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (int i = 0; i < 64; ++i)
      t[static_cast<unsigned char>(alphabet[i])] = i;
    return t;
  }();
  std::string out;
  out.reserve(text.size() * 3 / 4);
  int bits = 0, buffer = 0;
  for (unsigned char c : text) {
    int v = table[c];
    if (v < 0)
      continue; // padding or line breaks
    buffer = (buffer << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((buffer >> bits) & 0xff));
    }
  }
  return out;
}

} // namespace flashsale::cluster
