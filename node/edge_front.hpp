// The event-driven edge in front of the httplib adapter (`http.front = embedded`): Debian's
// HAProxy, supervised like the embedded nats-server. cpp-httplib serves a connection on one
// pool thread for its whole keep-alive life, so a crowd of buyers, each on a connection of
// their own, would wait for threads and idle sockets would hold them. HAProxy holds every
// client connection at the cost of a socket, cuts slow and idle clients, and queues requests
// in front of a backend pool no larger than the adapter's threads (`server ... maxconn N`,
// `timeout queue`), reusing those few backend connections for every client.
//
// The node binds the client-facing socket itself (http.host:http.port; port 0 works) and
// hands it to HAProxy as fd 3 (`bind fd@3`): the port stays bound across a HAProxy restart,
// so connections arriving meanwhile wait in the kernel's backlog instead of being refused,
// and it is gone the moment the node is (HAProxy dies with the node: PR_SET_PDEATHSIG).
// Files in the data dir: haproxy.cfg (generated at every start), haproxy.pid, haproxy.log
// (start-up messages and abnormal sessions only), haproxy.sock (stats socket, readiness),
// haproxy-errors/ (the answers it gives without the node: node/edge_answers.hpp),
// haproxy-sold-out.map (the products it turns buyers away for: node/edge_sold_out.hpp).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <variant>

namespace flashsale {

class process_supervisor;
class edge_sold_out;

struct edge_options {
  std::string host = "127.0.0.1"; ///< where clients connect (http.host)
  int port = 0;                   ///< http.port; 0 = any free port
  int backend_port = 0;           ///< the httplib adapter, on 127.0.0.1
  int backend_connections = 32;   ///< = the adapter's threads: requests beyond it queue here
  std::int64_t max_body_bytes = 65536;
  std::string data_dir;
  std::string tls_cert_file; ///< both set: the edge serves HTTPS (PEM files)
  std::string tls_key_file;
  int threads = 1; ///< HAProxy's nbthread
  /// The sold-out products the edge answers for itself, fed by the node's availability; the
  /// edge keeps HAProxy's map of them current while it runs. Null: an empty map of its own.
  std::shared_ptr<edge_sold_out> sold_out;
};

/// What the generated configuration is made of; render_haproxy_config is pure so tests can
/// check it (and `haproxy -c` can validate it) without starting anything.
struct haproxy_settings {
  int listen_fd = 3;           ///< the inherited client-facing socket
  std::string backend_address; ///< 127.0.0.1:<port>
  int backend_connections = 32;
  int max_client_connections = 1000; ///< global maxconn
  int threads = 1;
  std::string stats_socket; ///< absolute path
  std::int64_t max_body_bytes = 65536;
  std::string tls_pem;   ///< certificate + key in one PEM; empty = plain HTTP
  std::string error_dir; ///< holds the answers write_error_files writes (node/edge_answers.hpp)
  /// Absolute path of the sold-out map (node/edge_sold_out.hpp); empty = no edge answers.
  std::string sold_out_map;
};

/// The whole haproxy.cfg text.
std::string render_haproxy_config(const haproxy_settings& s);

/// Clients HAProxy may hold at once, for this process's open-file limit (the child inherits
/// it): an idle client costs one descriptor, a request in flight two.
int max_client_connections(int backend_connections);

class edge_front {
public:
  /// Binds the client-facing socket, writes the config, starts HAProxy and waits until its
  /// stats socket answers; a message naming the problem otherwise (e.g. haproxy is not
  /// installed, or the port is in use).
  static std::variant<std::unique_ptr<edge_front>, std::string> start(const edge_options& o);
  /// stop().
  ~edge_front();
  edge_front(const edge_front&) = delete;
  edge_front& operator=(const edge_front&) = delete;

  /// The port clients connect to (the real one when http.port was 0).
  int port() const { return port_; }
  /// "http" or "https".
  const char* scheme() const { return tls_ ? "https" : "http"; }
  /// HAProxy's PID; -1 between a crash and its restart.
  pid_t pid() const;
  int restarts() const;
  /// Stops taking connections (the port closes), lets HAProxy finish the requests in flight
  /// (soft stop, SIGUSR1; SIGKILL after 10 s), and waits for it. Idempotent.
  void stop();

private:
  edge_front(int listen_fd, int port, bool tls, std::unique_ptr<process_supervisor> child,
             std::shared_ptr<edge_sold_out> sold_out);
  int listen_fd_;
  int port_;
  bool tls_;
  std::unique_ptr<process_supervisor> child_;
  std::shared_ptr<edge_sold_out> sold_out_;
};

} // namespace flashsale
