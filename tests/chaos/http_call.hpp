// One HTTP call of the workload or the prober, with its deadline, and what came back: a
// status and a parsed body, or 0 and why nothing came (refused, reset, timed out). Each call
// opens its own connection, so a call cut off by a fault leaves nothing behind.
#pragma once

#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace flashsale::testing::chaos {

struct http_answer {
  int status = 0;        ///< 0: no answer
  nlohmann::json body;   ///< discarded when not JSON
  bool replayed = false; ///< Idempotent-Replayed: true
  std::string error;     ///< why there was no answer
  /// error.code of an error body ("" otherwise).
  std::string code() const;
};

struct http_request {
  std::string host;
  int port = 8080;
  std::string method = "GET"; ///< GET, PUT or POST
  std::string path;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  std::chrono::milliseconds connect_timeout{1000};
  std::chrono::milliseconds read_timeout{4000};
};

http_answer http_call(const http_request& r);

} // namespace flashsale::testing::chaos
