#include "actors/durable.hpp"

#include "actors/expiry_book.hpp"
#include "actors/services.hpp"

namespace flashsale {

stream_append make_stream_append(const std::string& stream, std::int64_t expected_version,
                                 const std::vector<event>& events, timestamp_ms now) {
  stream_append append{stream, expected_version, {}};
  append.events.reserve(events.size());
  auto version = expected_version;
  for (auto& e : events) {
    auto env = to_envelope(e, ++version, now);
    append.events.push_back(new_event{std::move(env.type), std::move(env.data), now});
  }
  return append;
}

void schedule_expiry(const scheduler_actor& scheduler, const node_services& services,
                     const std::string& order_id, timestamp_ms expires_at) {
  if (services.expiries->add(order_id, expires_at))
    caf::anon_send(scheduler, tick_atom::value);
}

void deliver_commit(commit_queue& queue, std::uint64_t ticket, int code, std::string message) {
  std::optional<store_error> error;
  if (code >= 0)
    error = store_error{static_cast<store_errc>(code), std::move(message)};
  queue.committed(ticket, std::move(error));
}

} // namespace flashsale
