#include "cli/load/outcomes.hpp"

#include <nlohmann/json.hpp>

namespace flashsale::load {

void outcome_tally::merge(outcome_tally&& other) {
  for (auto& id : other.accepted_orders)
    accepted_orders.push_back(std::move(id));
  sold_out += other.sold_out;
  for (auto& [k, n] : other.other_4xx)
    other_4xx[k] += n;
  for (auto& [k, n] : other.shed_by)
    shed_by[k] += n;
  for (auto& [k, n] : other.errors_by)
    errors_by[k] += n;
}

std::string error_code_of(const std::string& body) {
  auto j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_object() && j.contains("error") && j["error"].is_object() && j["error"].contains("code")
      && j["error"]["code"].is_string())
    return j["error"]["code"].get<std::string>();
  return {};
}

namespace {

std::string order_id_of(const std::string& body, const std::string& location) {
  auto j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_object() && j.contains("order_id") && j["order_id"].is_string())
    return j["order_id"].get<std::string>();
  auto slash = location.rfind('/');
  return slash == std::string::npos ? std::string{} : location.substr(slash + 1);
}

} // namespace

outcome tally_answer(outcome_tally& t, int status, const std::string& body,
                     const std::string& location) {
  if (status == 201) {
    auto id = order_id_of(body, location);
    if (!id.empty()) {
      t.accepted_orders.push_back(std::move(id));
      return outcome::accepted;
    }
    ++t.errors_by["201 without order_id"];
    return outcome::error;
  }
  std::string code = error_code_of(body);
  std::string key = std::to_string(status) + (code.empty() ? "" : " " + code);
  if (status == 429 || status == 503) {
    ++t.shed_by[key];
    return outcome::shed;
  }
  if (status == 409 && code == "sold_out") {
    ++t.sold_out;
    return outcome::sold_out;
  }
  if (status >= 400 && status < 500) {
    ++t.other_4xx[key];
    return outcome::other_4xx;
  }
  ++t.errors_by[key]; // 5xx and anything a POST /orders must never answer (200, 3xx)
  return outcome::error;
}

outcome tally_failure(outcome_tally& t, const std::string& what) {
  ++t.errors_by[what];
  return outcome::error;
}

} // namespace flashsale::load
