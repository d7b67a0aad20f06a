#include "cluster/nats_link.hpp"

#include "cluster/nats_native.hpp"
#include "cluster/server_version.hpp"

namespace flashsale::cluster {

nats_link::impl::~impl() {
  if (js)
    jsCtx_Destroy(js);
  if (nc) {
    natsConnection_Close(nc);
    natsConnection_Destroy(nc);
  }
  if (opts)
    natsOptions_Destroy(opts);
}

std::string nats_failure(const char* what, natsStatus s) {
  std::string text = std::string(what) + ": " + natsStatus_GetText(s);
  if (const char* last = nats_GetLastError(nullptr); last && *last)
    text += std::string(" (") + last + ")";
  return text;
}

void retire_subscription(nats_link& link, natsSubscription* sub) {
  if (link.connected() && natsSubscription_Drain(sub) == NATS_OK)
    natsSubscription_WaitForDrainCompletion(sub, 1000);
  else
    natsSubscription_Unsubscribe(sub);
  natsSubscription_Destroy(sub);
}

std::variant<std::shared_ptr<nats_link>, std::string> nats_link::connect(nats_link_options o) {
  if (o.urls.empty())
    return std::string("no NATS server given");
  if (o.check_server_version)
    if (auto refused =
            check_server_versions(o.urls, o.minimum_server_version, o.version_check_timeout_ms))
      return *refused;
  auto self = std::make_unique<impl>();
  self->api_timeout_ms = o.api_timeout_ms;
  std::vector<const char*> servers;
  for (auto& u : o.urls)
    servers.push_back(u.c_str());
  natsStatus s = natsOptions_Create(&self->opts);
  if (s != NATS_OK)
    return nats_failure("nats options", s);
  natsOptions_SetServers(self->opts, servers.data(), static_cast<int>(servers.size()));
  natsOptions_SetName(self->opts, o.name.c_str());
  natsOptions_SetTimeout(self->opts, 1000);
  natsOptions_SetAllowReconnect(self->opts, true);
  natsOptions_SetMaxReconnect(self->opts, -1); // a node outlives any server of the cluster
  natsOptions_SetReconnectWait(self->opts, 100);
  // A dead server must be noticed well within a lease: ping often on loopback-grade links.
  natsOptions_SetPingInterval(self->opts, 1000);
  natsOptions_SetMaxPingsOut(self->opts, 2);
  // A request in flight when its server dies fails at once instead of waiting out its
  // timeout: a partition's append then resolves its fate from the log within milliseconds
  // of the reconnect, not a whole serving window later (docs/SCALING.md, a server's death).
  natsOptions_SetFailRequestsOnDisconnect(self->opts, true);
  if (auto problem = apply_nats_security(self->opts, o.security))
    return *problem;
  std::string servers_text;
  for (auto& u : o.urls)
    servers_text += (servers_text.empty() ? "" : ",") + u;
  auto connected = connect_nats(self->opts, "cannot connect to " + redact_nats_url(servers_text));
  if (auto problem = std::get_if<std::string>(&connected))
    return *problem;
  self->nc = std::get<natsConnection*>(connected);
  jsOptions jo;
  jsOptions_Init(&jo);
  jo.Wait = o.api_timeout_ms;
  s = natsConnection_JetStream(&self->js, self->nc, &jo);
  if (s != NATS_OK)
    return nats_failure("jetstream context", s);
  return std::shared_ptr<nats_link>(new nats_link(std::move(self)));
}

nats_link::nats_link(std::unique_ptr<impl> self) : self_(std::move(self)) {}
nats_link::~nats_link() = default;

bool nats_link::connected() const {
  return natsConnection_Status(self_->nc) == NATS_CONN_STATUS_CONNECTED;
}

bool nats_link::jetstream_ready() {
  jsAccountInfo* info = nullptr;
  if (js_GetAccountInfo(&info, self_->js, nullptr, nullptr) != NATS_OK)
    return false;
  jsAccountInfo_Destroy(info);
  return true;
}

std::optional<nats_link::replication> nats_link::stream_replication(const std::string& stream) {
  jsStreamInfo* si = nullptr;
  if (js_GetStreamInfo(&si, self_->js, stream.c_str(), nullptr, nullptr) != NATS_OK)
    return std::nullopt;
  replication r;
  if (auto* c = si->Cluster) {
    r.leader = c->Leader ? c->Leader : "";
    for (int i = 0; i < c->ReplicasLen; ++i) {
      auto* peer = c->Replicas[i];
      r.followers.push_back({peer->Name ? peer->Name : "", peer->Current, peer->Offline, peer->Lag,
                             peer->Active / 1'000'000});
    }
  }
  jsStreamInfo_Destroy(si);
  return r;
}

std::string nats_link::stream_leader(const std::string& stream) {
  auto r = stream_replication(stream);
  return r ? r->leader : "";
}

std::int64_t nats_link::api_timeout_ms() const {
  return self_->api_timeout_ms;
}

} // namespace flashsale::cluster
