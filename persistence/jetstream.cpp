// nats.c behind persistence/jetstream.hpp. Callbacks run on library threads and may arrive
// after the client is gone (nats.c queues them with the connection retained), so they reach the
// client's hooks through a process-wide table keyed by a number, never through a raw pointer.
#include "persistence/jetstream.hpp"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <map>
#include <mutex>

#include <nats/nats.h>

#include "persistence/nats_connection.hpp"

namespace flashsale {

namespace {

constexpr std::int64_t ns_per_ms = 1000000;
constexpr std::int64_t ns_per_second = 1000 * ns_per_ms;

jetstream_error make_error(natsStatus s, jsErrCode jerr = static_cast<jsErrCode>(0)) {
  jetstream_error e;
  e.status = static_cast<int>(s);
  e.js_code = static_cast<int>(jerr);
  // The thread-local last error names the cause (e.g. "no responders"); status text otherwise.
  const char* detail = nats_GetLastError(nullptr);
  e.message = natsStatus_GetText(s);
  if (detail != nullptr && *detail != '\0')
    e.message += std::string(": ") + detail;
  return e;
}

/// The hooks of one live client. Erased when the client is destroyed; late callbacks find
/// nothing and do nothing.
struct hooks {
  std::function<void(bool)> on_status;
  std::function<void(const std::string&, const std::optional<jetstream_error>&)> on_result;
  std::atomic<bool> connected{false};
  /// Held while a hook runs; the client's destructor takes it to make sure none still does.
  std::mutex call_mutex;
  bool alive = true;
};

std::mutex registry_mutex;
std::map<std::uintptr_t, std::shared_ptr<hooks>>& registry() {
  static std::map<std::uintptr_t, std::shared_ptr<hooks>> clients;
  return clients;
}
std::atomic<std::uintptr_t> next_client_id{1};

std::shared_ptr<hooks> hooks_of(void* closure) {
  std::lock_guard<std::mutex> lock(registry_mutex);
  auto& r = registry();
  auto it = r.find(reinterpret_cast<std::uintptr_t>(closure));
  return it == r.end() ? nullptr : it->second;
}

void report_status(void* closure, bool up) {
  if (auto h = hooks_of(closure)) {
    h->connected = up;
    std::lock_guard<std::mutex> lock(h->call_mutex);
    if (h->alive && h->on_status)
      h->on_status(up);
  }
}

void on_connected(natsConnection*, void* closure) {
  report_status(closure, true);
}
void on_disconnected(natsConnection*, void* closure) {
  report_status(closure, false);
}
void on_closed(natsConnection*, void* closure) {
  report_status(closure, false);
}

void on_pub_ack(jsCtx*, natsMsg* msg, jsPubAck* pa, jsPubAckErr* pae, void* closure) {
  if (auto h = hooks_of(closure); h && h->on_result) {
    const char* id = nullptr;
    if (natsMsgHeader_Get(msg, msg_id_header, &id) == NATS_OK && id != nullptr) {
      std::optional<jetstream_error> error;
      if (pa == nullptr) {
        jetstream_error e;
        e.status = pae ? static_cast<int>(pae->Err) : static_cast<int>(NATS_ERR);
        e.js_code = pae ? static_cast<int>(pae->ErrCode) : 0;
        e.message = pae && pae->ErrText ? pae->ErrText
                                        : natsStatus_GetText(static_cast<natsStatus>(e.status));
        error = std::move(e);
      }
      std::lock_guard<std::mutex> lock(h->call_mutex);
      if (h->alive)
        h->on_result(id, error);
    }
  }
  natsMsg_Destroy(msg); // ours to destroy (nats.h, jsPubAckHandler)
}

/// Copies a C array of subjects so jsStreamConfig can point into it.
struct subject_list {
  explicit subject_list(const std::vector<std::string>& subjects) {
    for (auto& s : subjects)
      pointers.push_back(s.c_str());
  }
  std::vector<const char*> pointers;
};

} // namespace

struct jetstream_client::impl {
  std::uintptr_t id = 0;
  std::shared_ptr<hooks> hooks_;
  natsOptions* opts = nullptr;
  natsConnection* nc = nullptr;
  jsCtx* js = nullptr;
  jetstream_options options;
  std::atomic<bool> published_async{false};

  ~impl() {
    {
      std::lock_guard<std::mutex> lock(registry_mutex);
      registry().erase(id);
    }
    if (hooks_) {
      std::lock_guard<std::mutex> lock(hooks_->call_mutex);
      hooks_->alive = false;
    }
    // The context first: it may still reference pending publishes of the connection.
    if (nc != nullptr)
      natsConnection_Close(nc);
    jsCtx_Destroy(js);
    natsConnection_Destroy(nc);
    natsOptions_Destroy(opts);
  }
};

std::vector<std::string> split_nats_urls(const std::string& comma_separated) {
  std::vector<std::string> urls;
  for (std::size_t at = 0; at <= comma_separated.size();) {
    auto comma = std::min(comma_separated.find(',', at), comma_separated.size());
    if (comma > at)
      urls.push_back(comma_separated.substr(at, comma - at));
    at = comma + 1;
  }
  return urls;
}

std::variant<std::unique_ptr<jetstream_client>, jetstream_error>
jetstream_client::connect(jetstream_options options) {
  auto self = std::make_unique<impl>();
  self->options = std::move(options);
  self->id = next_client_id++;
  self->hooks_ = std::make_shared<hooks>();
  self->hooks_->on_status = self->options.on_status;
  self->hooks_->on_result = self->options.on_publish_result;
  {
    std::lock_guard<std::mutex> lock(registry_mutex);
    registry()[self->id] = self->hooks_;
  }
  void* closure = reinterpret_cast<void*>(self->id);
  const auto& o = self->options;

  natsStatus s = natsOptions_Create(&self->opts);
  if (s != NATS_OK)
    return make_error(s);
  auto urls = split_nats_urls(o.url);
  std::vector<const char*> servers;
  for (auto& u : urls)
    servers.push_back(u.c_str());
  natsOptions_SetServers(self->opts, servers.data(), static_cast<int>(servers.size()));
  natsOptions_SetName(self->opts, o.name.c_str());
  natsOptions_SetTimeout(self->opts, 2000); // ms
  natsOptions_SetAllowReconnect(self->opts, true);
  natsOptions_SetMaxReconnect(self->opts, -1);   // forever: the node outlives NATS outages
  natsOptions_SetReconnectWait(self->opts, 250); // ms
  natsOptions_SetReconnectJitter(self->opts, 100, 1000);
  natsOptions_SetReconnectBufSize(self->opts, 8 * 1024 * 1024);
  natsOptions_SetPingInterval(self->opts, 5000); // ms: notice a dead server within ~15 s
  natsOptions_SetMaxPingsOut(self->opts, 3);
  natsOptions_SetDisconnectedCB(self->opts, on_disconnected, closure);
  natsOptions_SetReconnectedCB(self->opts, on_connected, closure);
  natsOptions_SetClosedCB(self->opts, on_closed, closure);
  if (auto problem = apply_nats_security(self->opts, o.security))
    return jetstream_error{static_cast<int>(NATS_INVALID_ARG), 0, *problem};

  // A server that is not up yet: connect in the background instead of failing start-up.
  auto connected = connect_nats(self->opts, redact_nats_url(o.url), on_connected, closure);
  if (auto problem = std::get_if<std::string>(&connected))
    return jetstream_error{static_cast<int>(NATS_CONNECTION_AUTH_FAILED), 0, *problem};
  self->nc = std::get<natsConnection*>(connected);
  if (natsConnection_Status(self->nc) == NATS_CONN_STATUS_CONNECTED)
    self->hooks_->connected = true;

  jsOptions jo;
  jsOptions_Init(&jo);
  jo.Wait = o.api_timeout_ms; // ms
  jo.PublishAsync.MaxPending = o.publish_window;
  jo.PublishAsync.AckHandler = on_pub_ack; // replaces ErrHandler
  jo.PublishAsync.AckHandlerClosure = closure;
  jo.PublishAsync.StallWait = 200; // ms
  s = natsConnection_JetStream(&self->js, self->nc, &jo);
  if (s != NATS_OK)
    return make_error(s);
  return std::unique_ptr<jetstream_client>(new jetstream_client(std::move(self)));
}

jetstream_client::jetstream_client(std::unique_ptr<impl> self) : self_(std::move(self)) {}
jetstream_client::~jetstream_client() = default;

bool jetstream_client::connected() const {
  return self_->hooks_->connected;
}

std::optional<jetstream_error> jetstream_client::ensure_stream(const stream_spec& spec) {
  subject_list subjects(spec.subjects);
  jsStreamConfig sc;
  jsStreamConfig_Init(&sc);
  sc.Name = spec.name.c_str();
  sc.Subjects = subjects.pointers.data();
  sc.SubjectsLen = static_cast<int>(subjects.pointers.size());
  sc.Storage = js_FileStorage;
  sc.Retention = js_LimitsPolicy;
  sc.MaxAge = spec.max_age_hours * 3600 * ns_per_second;         // nanoseconds
  sc.Duplicates = spec.duplicate_window_seconds * ns_per_second; // nanoseconds
  sc.Replicas = spec.replicas;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  natsStatus s = js_AddStream(nullptr, self_->js, &sc, nullptr, &jerr);
  if (s != NATS_OK && jerr == JSStreamNameExistErr)
    s = js_UpdateStream(nullptr, self_->js, &sc, nullptr, &jerr);
  if (s != NATS_OK)
    return make_error(s, jerr);
  return std::nullopt;
}

std::optional<jetstream_error> jetstream_client::publish_async(const std::string& subject,
                                                               const std::string& msg_id,
                                                               const std::string& body) {
  natsMsg* msg = nullptr;
  natsStatus s =
      natsMsg_Create(&msg, subject.c_str(), nullptr, body.data(), static_cast<int>(body.size()));
  if (s == NATS_OK)
    s = natsMsgHeader_Set(msg, msg_id_header, msg_id.c_str());
  if (s == NATS_OK) {
    jsPubOptions po;
    jsPubOptions_Init(&po);
    po.MaxWait = self_->options.publish_timeout_ms; // ms; a lost PubAck becomes a reported timeout
    s = js_PublishMsgAsync(self_->js, &msg, &po);   // takes ownership on success (msg = NULL)
    if (s == NATS_OK)
      self_->published_async = true;
  }
  natsMsg_Destroy(msg);
  if (s != NATS_OK)
    return make_error(s);
  return std::nullopt;
}

void jetstream_client::abandon_pending_publishes() {
  // nats.c 3.4.1 crashes here before the first async publish (its pending map does not exist).
  if (!self_->published_async)
    return;
  natsMsgList pending{nullptr, 0};
  if (js_PublishAsyncGetPendingList(&pending, self_->js) == NATS_OK)
    natsMsgList_Destroy(&pending);
}

std::optional<jetstream_error> jetstream_client::publish(const std::string& subject,
                                                         const std::string& msg_id,
                                                         const std::string& body) {
  jsPubOptions po;
  jsPubOptions_Init(&po);
  if (!msg_id.empty())
    po.MsgId = msg_id.c_str();
  po.MaxWait = self_->options.publish_timeout_ms;
  jsPubAck* pa = nullptr;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  natsStatus s = js_Publish(&pa, self_->js, subject.c_str(), body.data(),
                            static_cast<int>(body.size()), &po, &jerr);
  jsPubAck_Destroy(pa);
  if (s != NATS_OK)
    return make_error(s, jerr);
  return std::nullopt;
}

std::optional<jetstream_error>
jetstream_client::ensure_pull_consumer(const pull_consumer_spec& spec) {
  jsConsumerConfig cc;
  jsConsumerConfig_Init(&cc);
  cc.Durable = spec.durable.c_str();
  cc.AckPolicy = js_AckExplicit;
  cc.AckWait = spec.ack_wait_ms * ns_per_ms; // nanoseconds
  cc.MaxDeliver = spec.max_deliver;
  cc.FilterSubject = spec.filter_subject.c_str();
  cc.DeliverPolicy = js_DeliverAll;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  natsStatus s = js_AddConsumer(nullptr, self_->js, spec.stream.c_str(), &cc, nullptr, &jerr);
  if (s != NATS_OK && jerr == JSConsumerNameExistErr)
    s = js_UpdateConsumer(nullptr, self_->js, spec.stream.c_str(), &cc, nullptr, &jerr);
  if (s != NATS_OK)
    return make_error(s, jerr);
  return std::nullopt;
}

std::variant<stream_state, jetstream_error> jetstream_client::state(const std::string& stream) {
  jsStreamInfo* si = nullptr;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  natsStatus s = js_GetStreamInfo(&si, self_->js, stream.c_str(), nullptr, &jerr);
  if (s != NATS_OK)
    return make_error(s, jerr);
  stream_state out{si->State.Msgs, si->State.FirstSeq, si->State.LastSeq};
  jsStreamInfo_Destroy(si);
  return out;
}

std::variant<stored_message, jetstream_error> jetstream_client::get(const std::string& stream,
                                                                    std::uint64_t seq) {
  natsMsg* msg = nullptr;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  natsStatus s = js_GetMsg(&msg, self_->js, stream.c_str(), seq, nullptr, &jerr);
  if (s != NATS_OK)
    return make_error(s, jerr);
  stored_message out;
  out.seq = seq;
  out.subject = natsMsg_GetSubject(msg);
  out.data.assign(natsMsg_GetData(msg), static_cast<std::size_t>(natsMsg_GetDataLength(msg)));
  const char* id = nullptr;
  if (natsMsgHeader_Get(msg, msg_id_header, &id) == NATS_OK && id != nullptr)
    out.msg_id = id;
  natsMsg_Destroy(msg);
  return out;
}

// ---- pull consumers --------------------------------------------------------------------------

struct received_message::impl {
  natsMsg* msg = nullptr;
  std::string subject, data;
  std::uint64_t num_delivered = 0, stream_seq = 0;
  ~impl() { natsMsg_Destroy(msg); }
};

received_message::received_message(std::unique_ptr<impl> self) : self_(std::move(self)) {}
received_message::~received_message() = default;
received_message::received_message(received_message&&) noexcept = default;
received_message& received_message::operator=(received_message&&) noexcept = default;

const std::string& received_message::subject() const {
  return self_->subject;
}
const std::string& received_message::data() const {
  return self_->data;
}
std::uint64_t received_message::num_delivered() const {
  return self_->num_delivered;
}
std::uint64_t received_message::stream_seq() const {
  return self_->stream_seq;
}

std::optional<jetstream_error> received_message::ack() {
  if (natsStatus s = natsMsg_Ack(self_->msg, nullptr); s != NATS_OK)
    return make_error(s);
  return std::nullopt;
}

std::optional<jetstream_error> received_message::nak(std::int64_t delay_ms) {
  natsStatus s = delay_ms > 0 ? natsMsg_NakWithDelay(self_->msg, delay_ms, nullptr) // ms
                              : natsMsg_Nak(self_->msg, nullptr);
  if (s != NATS_OK)
    return make_error(s);
  return std::nullopt;
}

std::optional<jetstream_error> received_message::term() {
  if (natsStatus s = natsMsg_Term(self_->msg, nullptr); s != NATS_OK)
    return make_error(s);
  return std::nullopt;
}

struct pull_subscription::impl {
  natsSubscription* sub = nullptr;
  ~impl() { natsSubscription_Destroy(sub); } // since 3.4.0 this keeps the durable consumer
};

pull_subscription::pull_subscription(std::unique_ptr<impl> self) : self_(std::move(self)) {}
pull_subscription::~pull_subscription() = default;

std::variant<std::vector<received_message>, jetstream_error>
pull_subscription::fetch(int batch, std::int64_t timeout_ms) {
  natsMsgList list{nullptr, 0};
  jsErrCode jerr = static_cast<jsErrCode>(0);
  natsStatus s = natsSubscription_Fetch(&list, self_->sub, batch, timeout_ms, &jerr); // ms
  std::vector<received_message> out;
  if (s == NATS_TIMEOUT)
    return out;
  if (s != NATS_OK)
    return make_error(s, jerr);
  for (int i = 0; i < list.Count; ++i) {
    auto m = std::make_unique<received_message::impl>();
    m->msg = list.Msgs[i];
    list.Msgs[i] = nullptr; // ownership moves to `m`; the list destroy below skips it
    m->subject = natsMsg_GetSubject(m->msg);
    m->data.assign(natsMsg_GetData(m->msg),
                   static_cast<std::size_t>(natsMsg_GetDataLength(m->msg)));
    jsMsgMetaData* md = nullptr;
    if (natsMsg_GetMetaData(&md, m->msg) == NATS_OK) {
      m->num_delivered = md->NumDelivered;
      m->stream_seq = md->Sequence.Stream;
    }
    jsMsgMetaData_Destroy(md);
    out.emplace_back(std::move(m));
  }
  natsMsgList_Destroy(&list);
  return out;
}

std::variant<std::unique_ptr<pull_subscription>, jetstream_error>
jetstream_client::bind_pull(const pull_consumer_spec& spec) {
  jsSubOptions so;
  jsSubOptions_Init(&so);
  so.Stream = spec.stream.c_str();
  so.Consumer = spec.durable.c_str(); // bind only: a consumer we create is never deleted by us
  auto sub = std::make_unique<pull_subscription::impl>();
  jsErrCode jerr = static_cast<jsErrCode>(0);
  natsStatus s = js_PullSubscribe(&sub->sub, self_->js, spec.filter_subject.c_str(),
                                  spec.durable.c_str(), nullptr, &so, &jerr);
  if (s != NATS_OK)
    return make_error(s, jerr);
  return std::make_unique<pull_subscription>(std::move(sub));
}

} // namespace flashsale
