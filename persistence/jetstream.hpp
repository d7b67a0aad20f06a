// The NATS JetStream client (nats.c 3.4.1): one connection that reconnects forever, the
// FLASHSALE stream, async publishing with message ids, and durable pull consumers.
// Wire form of what flashsale publishes (shared/API.md):
//   subject  flashsale.events.<EventType>        stream FLASHSALE (file storage, limits policy)
//   header   Nats-Msg-Id: <store_id>-<seq>       (de-duplicated within the Duplicates window)
//   body     the envelope JSON of events/envelope.hpp
// invariant: MaxAge, Duplicates and AckWait are nanoseconds on the wire; every duration in this
// API is milliseconds or seconds as its name says. No exception leaves it; nats.h stays in the
// .cpp.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "persistence/nats_connection.hpp"

namespace flashsale {

inline constexpr const char* jetstream_stream = "FLASHSALE";
inline constexpr const char* jetstream_subjects = "flashsale.events.>";
inline constexpr const char* jetstream_subject_prefix = "flashsale.events.";
inline constexpr const char* msg_id_header = "Nats-Msg-Id";

struct jetstream_error {
  int status = 0;  ///< natsStatus
  int js_code = 0; ///< jsErrCode (0 = none)
  std::string message;
};

/// One stream: its name, subjects and limits (create-or-update makes the server match it).
struct stream_spec {
  std::string name = jetstream_stream;
  std::vector<std::string> subjects{jetstream_subjects};
  std::int64_t max_age_hours = 168;
  std::int64_t duplicate_window_seconds = 120;
  int replicas = 1; ///< on a nats-server cluster, how many servers keep a copy
};

struct jetstream_options {
  std::string url;                        ///< nats://host:port
  std::string name = "flashsale";         ///< connection name, shown by the server
  nats_security security;                 ///< credentials and TLS (the nats.* keys); empty = none
  int publish_window = 1024;              ///< max async publishes in flight (library MaxPending)
  std::int64_t publish_timeout_ms = 5000; ///< an async publish without a PubAck by then fails
  std::int64_t api_timeout_ms = 5000;     ///< JetStream API requests (stream/consumer calls)
  /// Connection status changed (true = connected). Runs on a library thread; keep it short.
  std::function<void(bool connected)> on_status;
  /// The PubAck (error empty) or the failure of an async publish, by its msg id. Runs on a
  /// library thread; keep it short.
  std::function<void(const std::string& msg_id, const std::optional<jetstream_error>& error)>
      on_publish_result;
};

/// A message as stored in a stream (for inspection and tests).
struct stored_message {
  std::uint64_t seq = 0;
  std::string subject;
  std::string msg_id; ///< the Nats-Msg-Id header; empty when absent
  std::string data;
};

struct stream_state {
  std::uint64_t messages = 0;
  std::uint64_t first_seq = 0;
  std::uint64_t last_seq = 0;
};

struct pull_consumer_spec {
  std::string stream = jetstream_stream;
  std::string durable; ///< no '.' allowed
  std::string filter_subject;
  std::int64_t ack_wait_ms = 30000;
  int max_deliver = 5;
};

/// One message fetched from a pull consumer; ack it exactly one way. Not thread-safe.
class received_message {
public:
  struct impl;
  explicit received_message(std::unique_ptr<impl> self);
  ~received_message();
  received_message(received_message&&) noexcept;
  received_message& operator=(received_message&&) noexcept;

  const std::string& subject() const;
  const std::string& data() const;
  std::uint64_t num_delivered() const; ///< 1 on the first delivery
  std::uint64_t stream_seq() const;

  std::optional<jetstream_error> ack();
  /// Redeliver after `delay_ms` (0 = at once).
  std::optional<jetstream_error> nak(std::int64_t delay_ms);
  /// Never redeliver.
  std::optional<jetstream_error> term();

private:
  std::unique_ptr<impl> self_;
};

/// A bound pull subscription. Fetch it from one thread only (nats.c refuses concurrent fetches).
class pull_subscription {
public:
  struct impl;
  explicit pull_subscription(std::unique_ptr<impl> self);
  ~pull_subscription();

  /// Up to `batch` messages; an empty vector when none arrived within `timeout_ms`.
  std::variant<std::vector<received_message>, jetstream_error> fetch(int batch,
                                                                     std::int64_t timeout_ms);

private:
  std::unique_ptr<impl> self_;
};

/// "nats://a:4222,nats://b:4222" -> {"nats://a:4222", "nats://b:4222"}: nats.url may name
/// several servers of one cluster. Given to nats.c as one string, such a list never connected
/// (nats.c 3.4.1), so every connection hands the servers over one by one.
std::vector<std::string> split_nats_urls(const std::string& comma_separated);

class jetstream_client {
public:
  /// Connects to `options.url`. A server that is not up yet is not an error: the client keeps
  /// trying in the background (forever, as it reconnects after a loss). A server that refuses
  /// us (credentials, TLS) is: the error names its reason.
  static std::variant<std::unique_ptr<jetstream_client>, jetstream_error>
  connect(jetstream_options options);
  ~jetstream_client();

  bool connected() const;

  /// Creates the stream, or updates it when it exists with another config.
  std::optional<jetstream_error> ensure_stream(const stream_spec& spec);

  /// Publishes asynchronously with header Nats-Msg-Id = `msg_id`; the result arrives through
  /// `on_publish_result`. Stalls while `publish_window` publishes are in flight (then fails).
  std::optional<jetstream_error> publish_async(const std::string& subject,
                                               const std::string& msg_id, const std::string& body);
  /// Forgets every async publish still in flight: no result will be reported for them.
  void abandon_pending_publishes();

  /// Publishes and waits for the PubAck (msg_id empty = no de-duplication).
  std::optional<jetstream_error> publish(const std::string& subject, const std::string& msg_id,
                                         const std::string& body);

  /// Creates the durable consumer, or updates it when it exists with another config.
  std::optional<jetstream_error> ensure_pull_consumer(const pull_consumer_spec& spec);
  /// Binds to an existing durable consumer (never creates one, so never deletes one).
  std::variant<std::unique_ptr<pull_subscription>, jetstream_error>
  bind_pull(const pull_consumer_spec& spec);

  std::variant<stream_state, jetstream_error> state(const std::string& stream);
  /// The message at `seq`, or an error (e.g. deleted, not found).
  std::variant<stored_message, jetstream_error> get(const std::string& stream, std::uint64_t seq);

  struct impl;

private:
  explicit jetstream_client(std::unique_ptr<impl> self);
  std::unique_ptr<impl> self_;
};

} // namespace flashsale
