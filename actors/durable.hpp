// "Apply now, answer when durable": the one way an actor of the node changes its state. It
// applies a decision's events to its in-memory state at once (so the next command in its
// mailbox already sees them), hands them to the store's group-commit writer, and runs the
// continuation inside the actor once they, and everything the actor appended before them, are
// durable (actors/commit_queue.hpp keeps that order, also for answers that wrote nothing).
// The writer thread's callback only posts a `committed` message back to the actor.
// Include only from actor .cpp files (it pulls in CAF's send machinery).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include <caf/actor_cast.hpp>
#include <caf/send.hpp>

#include "actors/commit_queue.hpp"
#include "actors/protocol.hpp"
#include "events/event.hpp"
#include "persistence/event_store.hpp"

namespace flashsale {

struct node_services;

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
  store.append(std::move(batch),
               [handle, ticket, on_durable = std::move(on_durable)](append_result r) {
                 if (!r.error && on_durable)
                   on_durable();
                 int code = r.error ? static_cast<int>(r.error->code) : -1;
                 caf::anon_send(handle, committed_atom::value, ticket, code,
                                r.error ? r.error->message : std::string{});
               });
}

/// Applies `events` (one decision's: all of one stream) to `state` with `apply_one`, at once:
/// the actor's next command sees them. Returns the transaction that makes them durable:
/// their append to their stream at the state's former version (`single_writer`: see
/// stream_append), then `with` (other streams, idempotency records). Empty when there is
/// nothing to append.
template <class State, class ApplyOne>
append_batch apply_events(State& state, const std::vector<event>& events, timestamp_ms now,
                          ApplyOne apply_one, append_batch with = {}, bool single_writer = false) {
  if (events.empty())
    return with;
  auto expected = state.version;
  for (const auto& e : events)
    apply_one(state, e);
  auto own = make_stream_append(stream_of(events.front()), expected, events, now);
  own.single_writer = single_writer;
  with.streams.insert(with.streams.begin(), std::move(own));
  return with;
}

/// Commits `batch` and runs `k` in `self` once it and everything `self` appended before are
/// durable. An empty batch is a barrier: an answer that wrote nothing still waits for what
/// the actor decided before it (a "sold out" rests on reservations not yet durable).
template <class Self>
void commit_then(Self* self, commit_queue& queue, event_store& store, append_batch batch,
                 commit_queue::continuation k, std::function<void()> on_durable = {}) {
  if (batch.streams.empty() && batch.idempotency.empty())
    queue.add_barrier(std::move(k));
  else
    append_then(self, queue, store, std::move(batch), std::move(k), std::move(on_durable));
}

/// Books a reserved order's expiry; wakes the scheduler only when its timer would be late.
void schedule_expiry(const scheduler_actor& scheduler, const node_services& services,
                     const std::string& order_id, timestamp_ms expires_at);

/// The body of every actor's `committed` handler.
void deliver_commit(commit_queue& queue, std::uint64_t ticket, int code, std::string message);

} // namespace flashsale
