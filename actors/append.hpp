// How an actor hands its events to the store's group-commit writer: the writer thread's
// callback only posts a `committed` message back to the actor, so every continuation runs
// inside the actor, in commit order (actors/commit_queue.hpp). Include only from actor .cpp
// files (it pulls in CAF's send machinery).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/actor_cast.hpp>
#include <caf/send.hpp>

#include "actors/commit_queue.hpp"
#include "actors/messages.hpp"
#include "events/event.hpp"
#include "persistence/event_store.hpp"

namespace flashsale {

/// The append of `events` (all of one stream) on top of `expected_version`.
stream_append make_stream_append(const std::string& stream, std::int64_t expected_version,
                                 const std::vector<event>& events, timestamp_ms now);

/// Submits `batch` and queues `k` to run in `self` after it commits (or fails).
/// `on_durable`, if set, runs on the writer thread right after a successful commit: before
/// any later commit is reported to anyone, so what it publishes (a read model) is visible
/// before a client hears of anything that committed after it. Keep it short and thread-safe.
template <class Self>
void append_then(Self* self, commit_queue& queue, event_store& store, append_batch batch,
                 commit_queue::continuation k, std::function<void()> on_durable = {}) {
  auto ticket = queue.add_append(std::move(k));
  auto handle = caf::actor_cast<caf::actor>(self);
  store.append(std::move(batch), [handle, ticket, on_durable = std::move(on_durable)](
                                   append_result r) {
    if (!r.error && on_durable)
      on_durable();
    int code = r.error ? static_cast<int>(r.error->code) : -1;
    caf::anon_send(handle, committed_atom::value, ticket, code,
                   r.error ? r.error->message : std::string{});
  });
}

/// The body of every actor's `committed` handler.
void deliver_commit(commit_queue& queue, std::uint64_t ticket, int code, std::string message);

} // namespace flashsale
