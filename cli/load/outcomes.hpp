// How `flashsale load` counts the answers to POST /orders, the same way in every mode (closed
// loop, open loop, crowd): 201 with an order id is accepted; 409 sold_out is sold out; 429 and
// 503 are shed; other 4xx are tallied by "<status> <code>"; 5xx, a 201 without an order id,
// anything else a POST /orders must never answer, and connection failures are errors.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace flashsale::load {

enum class outcome { accepted, sold_out, shed, other_4xx, error };

struct outcome_tally {
  std::vector<std::string> accepted_orders;
  std::uint64_t sold_out = 0;
  std::map<std::string, std::uint64_t> other_4xx; ///< "409 limit_exceeded" -> n
  std::map<std::string, std::uint64_t> shed_by;   ///< "503 unavailable" -> n
  std::map<std::string, std::uint64_t> errors_by; ///< "500 internal", "Connection" -> n

  /// Adds `other`'s counts (and moves its order ids) into this tally.
  void merge(outcome_tally&& other);
};

/// Counts one answer; `location` is the Location header (the order id's fallback).
outcome tally_answer(outcome_tally& t, int status, const std::string& body,
                     const std::string& location);

/// Counts a request that got no answer at all (`what`: "Connection", "timeout", ...).
outcome tally_failure(outcome_tally& t, const std::string& what);

/// The `error.code` of an error body; empty when it has none.
std::string error_code_of(const std::string& body);

} // namespace flashsale::load
