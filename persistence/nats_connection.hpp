// How every connection the product makes to a NATS server authenticates and encrypts, in one
// place: the nats.* credential and TLS keys of shared/API.md (nats.creds_file, nats.user /
// nats.password, nats.token, nats.tls.ca_file, nats.tls.cert_file / nats.tls.key_file) applied
// to a nats.c natsOptions, and the first connect, which tells a server that refuses us (its
// reason, e.g. "Authorization Violation") from one that is not up yet (then nats.c keeps trying
// in the background). Used by persistence/jetstream.cpp (the outbox relay, the payment
// simulator) and cluster/nats_link.cpp (cluster mode, `cluster status`, `replay --partition`).
// invariant: no message made here holds a password, a token or a seed: only key names, file
// paths, server addresses and the server's own reason.
#pragma once

#include <optional>
#include <string>
#include <variant>

// nats.h's own declarations of these handles (so this header needs no nats.h).
typedef struct __natsOptions natsOptions;
typedef struct __natsConnection natsConnection;

namespace flashsale {

/// Credentials and TLS for a NATS server; every field empty = neither (the defaults).
/// At most one of creds_file, user + password and token (config/ checks the combinations).
struct nats_security {
  std::string creds_file; ///< nats.creds_file: a NATS .creds file (user JWT and nkey seed)
  std::string user;       ///< nats.user
  std::string password;   ///< nats.password (also FLASHSALE_NATS_PASSWORD); never printed
  std::string token;      ///< nats.token; never printed
  std::string ca_file;    ///< nats.tls.ca_file: trust these CAs for the servers; turns TLS on
  std::string cert_file;  ///< nats.tls.cert_file: a client certificate (PEM); turns TLS on
  std::string key_file;   ///< nats.tls.key_file: its key (PEM)

  bool any() const {
    return !(creds_file.empty() && user.empty() && password.empty() && token.empty()
             && ca_file.empty() && cert_file.empty() && key_file.empty());
  }
};

/// Applies `s` to `opts`. A message naming the key otherwise, e.g.
/// "nats.tls.ca_file: cannot load CA certificates from '/x/ca.pem': ...".
std::optional<std::string> apply_nats_security(natsOptions* opts, const nats_security& s);

/// Connects with `opts` (servers, security and timeouts already set), first without retrying:
/// a server that answers and refuses us (authorization, TLS) fails it with the server's reason.
/// Only when no server answered at all does it connect again in the background (nats.c's retry
/// on failed connect, `on_connected` then runs on a library thread); the connection returned is
/// then not connected yet. `what` opens the message: "<what>: Authentication Violation
/// (Authorization Violation)".
std::variant<natsConnection*, std::string>
connect_nats(natsOptions* opts, const std::string& what,
             void (*on_connected)(natsConnection*, void*) = nullptr, void* closure = nullptr);

/// "nats://user:secret@host:4222,tls://h2:4222" -> "nats://host:4222,tls://h2:4222": a nats.url
/// fit for a message or a log line.
std::string redact_nats_url(const std::string& urls);

} // namespace flashsale
