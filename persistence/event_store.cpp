// The implementation-independent part of the event store interface: the blocking append
// helper and the names of the error codes. Runs on the caller's thread.
#include "persistence/event_store.hpp"

#include <future>

namespace flashsale {

const char* to_string(store_errc code) {
  switch (code) {
  case store_errc::version_conflict:
    return "version_conflict";
  case store_errc::store_failed:
    return "store_failed";
  case store_errc::io_error:
    return "io_error";
  case store_errc::locked:
    return "locked";
  case store_errc::bad_schema:
    return "bad_schema";
  }
  return "unknown";
}

append_result event_store::append_sync(append_batch batch) {
  // A promise rather than a condition variable of our own: `done` runs exactly once, on the
  // writer thread, after the commit.
  std::promise<append_result> answer;
  auto result = answer.get_future();
  append(std::move(batch), [&answer](append_result r) { answer.set_value(std::move(r)); });
  return result.get();
}

} // namespace flashsale
