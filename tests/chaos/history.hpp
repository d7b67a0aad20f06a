// A chaos run's history: every call the workload made, with when it was invoked and when it
// completed (Unix ms, the clock the nodes stamp `recorded_at` with: all on one machine) and
// what it answered. A call that got no answer (timeout, connection refused or reset) has
// status 0: its outcome is unknown until the partition logs say. Pure data; the workload
// (tests/chaos/workload.*) records it, the checker (tests/chaos/checker.*) judges it.
// Rendered one call per line for violation reports:
//   #17 c2 node3 place u-2-5 key k-2-5 [p3x1,p7x2] 1700000000100..1700000000420 -> 201 o-ab
//   (reserved)
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

namespace flashsale::testing::chaos {

using unix_ms = std::int64_t;

enum class op_kind { place, cancel, pay };
const char* to_string(op_kind k);

struct item {
  std::string product_id;
  int quantity = 1;
};

struct operation {
  int index = -1;   ///< position in the history
  int client = 0;   ///< the buyer thread that made it
  std::string node; ///< the node it was sent to
  op_kind kind = op_kind::place;

  // The request.
  std::string user_id;
  std::string key;               ///< place: Idempotency-Key (retries of a call reuse it)
  std::vector<item> items;       ///< place
  std::string order_id;          ///< cancel, pay; place: from a 201
  std::string event_id;          ///< pay: the webhook's event id (retries reuse it)
  bool payment_succeeded = true; ///< pay: "succeeded" or "failed"
  std::int64_t amount_cents = 0; ///< pay

  unix_ms invoke = 0, complete = 0;

  // The answer.
  int status = 0;        ///< HTTP status; 0 = none (unknown outcome)
  std::string code;      ///< error.code of a 4xx/5xx
  std::string result;    ///< place/cancel: the order's status; pay: "applied" | "duplicate"
  bool replayed = false; ///< Idempotent-Replayed: true
  std::string detail;    ///< the error message, or why there was no answer

  /// 2xx: it happened. 4xx: it did not (a definite refusal). 0, 503 and other 5xx: unknown
  /// (a 503 after a forward that went unanswered may still have happened).
  bool acknowledged() const { return status >= 200 && status < 300; }
  bool refused() const { return status >= 400 && status < 500; }
  bool unknown() const { return !acknowledged() && !refused(); }

  std::string render() const;
};

/// The history, appended to by many threads.
class history {
public:
  /// Records `op` (its index is set here) and returns its index.
  int add(operation op);
  /// A copy of everything recorded, in order of recording.
  std::vector<operation> snapshot() const;

private:
  mutable std::mutex mutex_;
  std::vector<operation> ops_;
};

} // namespace flashsale::testing::chaos
