#include "persistence/nats_connection.hpp"

#include <unistd.h>

#include <algorithm>

#include <nats/nats.h>

namespace flashsale {

namespace {

/// "Authentication Violation (Authorization Violation)": nats.c's status text and the
/// thread-local detail, without the "(conn.c:1905): " source location nats.c puts in front.
std::string reason(natsStatus s) {
  std::string text = natsStatus_GetText(s);
  const char* last = nats_GetLastError(nullptr);
  if (last == nullptr || *last == '\0')
    return text;
  std::string detail = last;
  if (detail.rfind('(', 0) == 0)
    if (auto close = detail.find("): "); close != std::string::npos)
      detail.erase(0, close + 3);
  return detail == text ? text : text + " (" + detail + ")";
}

std::optional<std::string> readable(const char* key, const std::string& path) {
  if (::access(path.c_str(), R_OK) != 0)
    return std::string(key) + ": cannot read '" + path + "'";
  return std::nullopt;
}

} // namespace

std::optional<std::string> apply_nats_security(natsOptions* opts, const nats_security& s) {
  if (!s.creds_file.empty()) {
    if (auto problem = readable("nats.creds_file", s.creds_file))
      return problem;
    // One file holds both the JWT and the seed (nats.c reads it at every connect).
    if (natsStatus st =
            natsOptions_SetUserCredentialsFromFiles(opts, s.creds_file.c_str(), nullptr);
        st != NATS_OK)
      return "nats.creds_file: " + reason(st);
  }
  if (!s.user.empty() || !s.password.empty())
    if (natsStatus st = natsOptions_SetUserInfo(opts, s.user.c_str(), s.password.c_str());
        st != NATS_OK)
      return "nats.user: " + reason(st);
  if (!s.token.empty())
    if (natsStatus st = natsOptions_SetToken(opts, s.token.c_str()); st != NATS_OK)
      return "nats.token: " + reason(st);
  if (!s.ca_file.empty()) {
    if (auto problem = readable("nats.tls.ca_file", s.ca_file))
      return problem;
    if (natsStatus st = natsOptions_LoadCATrustedCertificates(opts, s.ca_file.c_str());
        st != NATS_OK)
      return "nats.tls.ca_file: cannot load CA certificates from '" + s.ca_file
             + "': " + reason(st);
  }
  if (!s.cert_file.empty() || !s.key_file.empty()) {
    if (auto problem = readable("nats.tls.cert_file", s.cert_file))
      return problem;
    if (auto problem = readable("nats.tls.key_file", s.key_file))
      return problem;
    if (natsStatus st =
            natsOptions_LoadCertificatesChain(opts, s.cert_file.c_str(), s.key_file.c_str());
        st != NATS_OK)
      return "nats.tls.cert_file: cannot load the certificate '" + s.cert_file + "' with key '"
             + s.key_file + "': " + reason(st);
  }
  // A CA or a client certificate means TLS: a server without it is then refused, not used in
  // the clear. (A server that requires TLS gets it from nats.c anyway.)
  if (!s.ca_file.empty() || !s.cert_file.empty())
    if (natsStatus st = natsOptions_SetSecure(opts, true); st != NATS_OK)
      return "nats.tls.ca_file: " + reason(st);
  return std::nullopt;
}

std::variant<natsConnection*, std::string>
connect_nats(natsOptions* opts, const std::string& what,
             void (*on_connected)(natsConnection*, void*), void* closure) {
  natsConnection* nc = nullptr;
  // First without retrying: with nats.c's retry on failed connect, a refusal (a wrong password)
  // would only be retried forever in the background, and the start would never learn why.
  natsOptions_SetRetryOnFailedConnect(opts, false, nullptr, nullptr);
  natsStatus s = natsConnection_Connect(&nc, opts);
  if (s == NATS_OK)
    return nc;
  natsConnection_Destroy(nc);
  nc = nullptr;
  // Nobody answered (not up yet, or a network gap): keep trying in the background.
  if (s == NATS_NO_SERVER || s == NATS_TIMEOUT || s == NATS_IO_ERROR) {
    natsOptions_SetRetryOnFailedConnect(opts, true, on_connected, closure);
    s = natsConnection_Connect(&nc, opts);
    if (s == NATS_OK || s == NATS_NOT_YET_CONNECTED)
      return nc;
    natsConnection_Destroy(nc);
  }
  return what + ": " + reason(s);
}

std::string redact_nats_url(const std::string& urls) {
  std::string out;
  std::size_t at = 0;
  while (at <= urls.size()) {
    auto comma = std::min(urls.find(',', at), urls.size());
    std::string url = urls.substr(at, comma - at);
    auto scheme = url.find("://");
    auto host = scheme == std::string::npos ? 0 : scheme + 3;
    if (auto userinfo = url.find('@', host);
        userinfo != std::string::npos && userinfo < url.find('/', host))
      url.erase(host, userinfo + 1 - host);
    out += (at ? "," : "") + url;
    at = comma + 1;
  }
  return out;
}

} // namespace flashsale
