#include "node/edge_front.hpp"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "events/errors.hpp"
#include "node/process_supervisor.hpp"

namespace flashsale {

namespace {

// Timeouts of the generated config, in seconds; docs/ARCHITECTURE.md ("The edge") says why.
constexpr int request_timeout_s = 5;     // headers and body of one request (slow clients)
constexpr int keep_alive_timeout_s = 30; // an idle client between requests: a socket, no thread
constexpr int queue_timeout_s = 10;      // waiting for a free backend connection
constexpr int server_timeout_s = 30;     // the node answers within its own 15 s request timeout
constexpr int hard_stop_after_s = 10;    // a soft stop finishes in-flight requests this long
constexpr int linger_s = 5;              // reading and dropping an oversized body after its 413

const char* const too_large_message = "the request body exceeds http.max_body_bytes";
/// The Lua service answering a body over the limit (render_too_large_service); its file is
/// <error_dir>/<name>.lua.
const char* const too_large_service = "flashsale_too_large";

/// One answer HAProxy gives itself, in API.md's shape. `status` may differ from the HAProxy
/// status it replaces: a dead or slow node is `503 unavailable` + Retry-After to clients.
struct edge_error {
  int replaces;
  errc code;
  const char* message;
};

const edge_error edge_errors[] = {
    {400, errc::invalid_request, "malformed HTTP request"},
    {408, errc::request_timeout, "the request did not arrive completely within 5 s"},
    {413, errc::payload_too_large, too_large_message},
    {500, errc::internal, "internal error at the edge"},
    {501, errc::invalid_request, "unsupported HTTP framing"},
    {502, errc::unavailable, "the node closed the connection without answering; retry shortly"},
    {503, errc::unavailable, "the node has no capacity free right now; retry shortly"},
    {504, errc::unavailable, "the node did not answer in time; retry shortly"},
};

const char* reason_phrase(int status) {
  switch (status) {
  case 400:
    return "Bad Request";
  case 408:
    return "Request Timeout";
  case 413:
    return "Payload Too Large";
  case 500:
    return "Internal Server Error";
  case 503:
    return "Service Unavailable";
  default:
    return "Error";
  }
}

/// A Lua string literal holding `text` exactly (control bytes as three-digit \ddd escapes).
std::string lua_quoted(const std::string& text) {
  std::string out = "\"";
  for (unsigned char c : text) {
    if (c < 0x20 || c == 0x7f) {
      char escape[5];
      std::snprintf(escape, sizeof escape, "\\%03u", c);
      out += escape;
      continue;
    }
    if (c == '"' || c == '\\')
      out += '\\';
    out += static_cast<char>(c);
  }
  return out + "\"";
}

struct listener {
  int fd = -1;
  int port = 0;
};

std::variant<listener, std::string> bind_listener(const std::string& host, int port) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  auto service = std::to_string(port);
  if (int rc = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &found); rc != 0 || !found)
    return "http.host '" + host + "': " + ::gai_strerror(rc);
  std::string problem;
  listener l;
  for (auto* a = found; a && l.fd < 0; a = a->ai_next) {
    int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0)
      continue;
    int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    // A crowd's SYNs arrive faster than any accept loop: a short queue drops them, and each
    // comes back as a 1 s retransmit in the buyer's wait.
    if (::bind(fd, a->ai_addr, a->ai_addrlen) == 0 && ::listen(fd, 4096) == 0) {
      sockaddr_storage bound{};
      socklen_t len = sizeof bound;
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &len);
      l.port = bound.ss_family == AF_INET6
                   ? ntohs(reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port)
                   : ntohs(reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
      l.fd = fd;
    } else {
      problem = std::strerror(errno);
      ::close(fd);
    }
  }
  ::freeaddrinfo(found);
  if (l.fd < 0)
    return "cannot listen on http " + host + ":" + service + ": " + problem
           + " (in use, or not a local address)";
  return l;
}

bool stats_socket_answers(const std::string& path) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return false;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return ok;
}

std::string absolute(const std::string& path) {
  if (!path.empty() && path[0] == '/')
    return path;
  char cwd[4096];
  return ::getcwd(cwd, sizeof cwd) ? std::string(cwd) + "/" + path : path;
}

/// Concatenates certificate and key into one PEM (mode 0600), as HAProxy's `crt` takes it.
std::string write_pem(const std::string& cert, const std::string& key, const std::string& out) {
  std::ifstream c(cert, std::ios::binary), k(key, std::ios::binary);
  if (!c)
    return "http.tls.cert_file: cannot read '" + cert + "'";
  if (!k)
    return "http.tls.key_file: cannot read '" + key + "'";
  ::unlink(out.c_str());
  int fd = ::open(out.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0)
    return "cannot write " + out + ": " + std::strerror(errno);
  std::ostringstream both;
  both << c.rdbuf() << "\n" << k.rdbuf() << "\n";
  auto text = both.str();
  bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  ::close(fd);
  return ok ? "" : "cannot write " + out;
}

} // namespace

int max_client_connections(int backend_connections) {
  rlimit lim{};
  ::getrlimit(RLIMIT_NOFILE, &lim);
  auto limit = static_cast<long long>(lim.rlim_cur);
  auto n = limit - 2LL * backend_connections - 100;
  return static_cast<int>(std::clamp<long long>(n, 256, 1000000));
}

std::string render_haproxy_config(const haproxy_settings& s) {
  std::ostringstream o;
  o << "# Generated by flashsale at every start (node/edge_front.cpp): edits are overwritten.\n"
       "global\n"
       "  maxconn "
    << s.max_client_connections
    << "\n"
       "  # An idle client holds one descriptor, a request in flight two; HAProxy's own check\n"
       "  # counts two for every connection, so under a tight open-file limit it would refuse\n"
       "  # this maxconn. A setrlimit that fails is a warning here (the FD-limit ALERT HAProxy\n"
       "  # logs at start is expected), and maxconn was sized from the real limit.\n"
       "  no strict-limits\n"
       "  nbthread "
    << s.threads
    << "\n"
       "  hard-stop-after "
    << hard_stop_after_s
    << "s\n"
       "  stats socket "
    << s.stats_socket
    << " mode 600 level user\n"
       "  log stdout format raw local0 info\n"
       "  lua-load "
    << s.error_dir << "/" << too_large_service << ".lua\n";
  if (!s.tls_pem.empty())
    o << "  ssl-default-bind-options ssl-min-ver TLSv1.2\n";
  o << "\n"
       "defaults\n"
       "  mode http\n"
       "  log global\n"
       "  option httplog\n"
       "  option dontlognull\n"
       "  option dontlog-normal\n"
       "  option http-keep-alive\n"
       "  option http-ignore-probes\n"
       "  timeout connect 5s\n"
       "  timeout client "
    << keep_alive_timeout_s
    << "s\n"
       "  timeout server "
    << server_timeout_s
    << "s\n"
       "  timeout http-request "
    << request_timeout_s
    << "s\n"
       "  timeout http-keep-alive "
    << keep_alive_timeout_s
    << "s\n"
       "  timeout queue "
    << queue_timeout_s << "s\n";
  for (const auto& e : edge_errors)
    o << "  errorfile " << e.replaces << " " << s.error_dir << "/" << e.replaces << ".http\n";
  o << "\n"
       "frontend flashsale\n"
       "  bind fd@"
    << s.listen_fd;
  if (!s.tls_pem.empty())
    o << " ssl crt " << s.tls_pem << " alpn http/1.1";
  o << "\n"
       "  # A body over the limit is refused on its Content-Length before anything waits for it,\n"
       "  # and no 100-continue invites it (backend too_large answers).\n"
       "  acl body_too_large req.hdr_val(content-length) gt "
    << s.max_body_bytes
    << "\n"
       "  http-request del-header Expect if body_too_large\n"
       "  # A request reaches a backend connection only once it is whole (or fills a buffer).\n"
       "  http-request wait-for-body time "
    << request_timeout_s
    << "s unless body_too_large\n"
       "  # The node sees exactly one X-Forwarded-For: the address HAProxy accepted.\n"
       "  http-request del-header X-Forwarded-For\n"
       "  # Nothing is served in parts; a Range the adapter cannot parse would cost a 416.\n"
       "  http-request del-header Range\n"
       "  option forwardfor\n"
       "  # Keep-alive towards clients is the edge's business, not the adapter's.\n"
       "  http-response del-header Keep-Alive\n"
       "  use_backend too_large if body_too_large\n"
       "  default_backend node\n"
       "\n"
       "backend too_large\n"
       "  # The Lua service answers 413 at once, then drains the body (a lingering close), so the\n"
       "  # client reads the answer instead of a reset. No Nagle/MSG_MORE: the answer goes out\n"
       "  # while the service still reads, not 200 ms later.\n"
       "  option http-no-delay\n"
       "  http-request use-service lua."
    << too_large_service
    << "\n"
       "\n"
       "backend node\n"
       "  # Every client's first request may use an idle backend connection: a crowd of one-shot\n"
       "  # buyers then shares the few connections the adapter has threads for.\n"
       "  http-reuse always\n"
       "  server node "
    << s.backend_address << " maxconn " << s.backend_connections << " pool-max-conn "
    << s.backend_connections << "\n";
  return o.str();
}

std::string render_too_large_service() {
  std::ostringstream o;
  o << "-- Generated by flashsale at every start (node/edge_front.cpp): edits are overwritten.\n"
       "-- A request whose Content-Length exceeds http.max_body_bytes is answered here at once:\n"
       "-- 413 in API.md's error shape. Then the rest of its body is read and dropped (at most "
    << linger_s
    << " s)\n"
       "-- before the connection closes, as nginx's lingering close does: a socket closed with\n"
       "-- unread data makes the kernel send a reset, and a client still sending its body\n"
       "-- (Python's http.client) got EPIPE instead of the answer.\n"
       "local body = "
    << lua_quoted(error_body(errc::payload_too_large, too_large_message))
    << "\n"
       "core.register_service(\""
    << too_large_service
    << "\", \"http\", function(applet)\n"
       "  applet:set_status(413, \"Payload Too Large\")\n"
       "  applet:add_header(\"content-type\", \"application/json\")\n"
       "  applet:add_header(\"cache-control\", \"no-store\")\n"
       "  applet:add_header(\"content-length\", tostring(#body))\n"
       "  applet:add_header(\"connection\", \"close\")\n"
       "  applet:start_response()\n"
       "  applet:send(body)\n"
       "  local stop_at = core.now().sec + "
    << linger_s
    << "\n"
       "  repeat\n"
       "    local chunk = applet:receive(65536) -- \"\" once the body ended or the client left\n"
       "  until chunk == nil or #chunk == 0 or core.now().sec >= stop_at\n"
       "end)\n";
  return o.str();
}

std::string write_error_files(const std::string& error_dir) {
  ::mkdir(error_dir.c_str(), 0755);
  {
    auto path = error_dir + "/" + too_large_service + ".lua";
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << render_too_large_service();
    if (!out)
      return "cannot write " + path;
  }
  for (const auto& e : edge_errors) {
    auto status = http_status(e.code);
    auto body = error_body(e.code, e.message);
    std::ostringstream r;
    r << "HTTP/1.1 " << status << " " << reason_phrase(status) << "\r\n"
      << "Content-Type: application/json\r\n"
      << "Cache-Control: no-store\r\n";
    if (status == 503)
      r << "Retry-After: 1\r\n";
    r << "Content-Length: " << body.size() << "\r\n\r\n" << body;
    auto path = error_dir + "/" + std::to_string(e.replaces) + ".http";
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << r.str();
    if (!out)
      return "cannot write " + path;
  }
  return "";
}

std::variant<std::unique_ptr<edge_front>, std::string> edge_front::start(const edge_options& o) {
  auto binary = find_program("haproxy");
  if (binary.empty())
    return std::string("http.front is \"embedded\" but haproxy is not installed (PATH, "
                       "/usr/sbin): install it with `apt-get install haproxy`, or set "
                       "http.front to \"none\"");
  bool tls = !o.tls_cert_file.empty() && !o.tls_key_file.empty();
  auto dir = absolute(o.data_dir);
  haproxy_settings s;
  s.backend_address = "127.0.0.1:" + std::to_string(o.backend_port);
  s.backend_connections = o.backend_connections;
  s.max_client_connections = max_client_connections(o.backend_connections);
  s.threads = o.threads;
  s.stats_socket = dir + "/haproxy.sock";
  s.max_body_bytes = o.max_body_bytes;
  s.error_dir = dir + "/haproxy-errors";
  if (s.stats_socket.size() >= sizeof(sockaddr_un::sun_path))
    return "data_dir '" + dir + "' is too long for HAProxy's stats socket (" + s.stats_socket
           + "): use a shorter path, or set http.front to \"none\"";
  if (tls) {
    s.tls_pem = dir + "/edge.pem";
    if (auto problem = write_pem(o.tls_cert_file, o.tls_key_file, s.tls_pem); !problem.empty())
      return problem;
  }
  if (auto problem = write_error_files(s.error_dir); !problem.empty())
    return problem;
  auto config_path = dir + "/haproxy.cfg";
  {
    std::ofstream out(config_path, std::ios::trunc);
    out << render_haproxy_config(s);
    if (!out)
      return "cannot write " + config_path;
  }
  auto bound = bind_listener(o.host, o.port);
  if (auto problem = std::get_if<std::string>(&bound))
    return *problem;
  auto l = std::get<listener>(bound);

  child_spec spec;
  spec.name = "haproxy (the HTTP edge)";
  // -db: stay in the foreground, the supervisor is the daemon manager; -W would fork a master.
  spec.argv = {binary, "-db", "-f", config_path};
  spec.log_path = dir + "/haproxy.log";
  spec.inherit_fds = {l.fd}; // becomes fd 3: `bind fd@3`
  spec.pid_file = dir + "/haproxy.pid";
  spec.ready = [sock = s.stats_socket] { return stats_socket_answers(sock); };
  spec.stop_signal = SIGUSR1; // soft stop: no new connections, finish those in flight
  spec.stop_timeout = std::chrono::seconds(hard_stop_after_s + 2);
  ::unlink(s.stats_socket.c_str()); // a SIGKILLed node's stale socket must not look ready
  auto started = process_supervisor::start(std::move(spec));
  if (auto problem = std::get_if<std::string>(&started)) {
    ::close(l.fd);
    return *problem;
  }
  return std::unique_ptr<edge_front>(
      new edge_front(l.fd, l.port, tls, std::move(std::get<0>(started))));
}

edge_front::edge_front(int listen_fd, int port, bool tls, std::unique_ptr<process_supervisor> child)
  : listen_fd_(listen_fd), port_(port), tls_(tls), child_(std::move(child)) {}

edge_front::~edge_front() {
  stop();
}

pid_t edge_front::pid() const {
  return child_ ? child_->pid() : -1;
}
int edge_front::restarts() const {
  return child_ ? child_->restarts() : 0;
}

void edge_front::stop() {
  if (listen_fd_ >= 0) { // first: HAProxy's copy is then the last, and closes on soft stop
    ::close(listen_fd_);
    listen_fd_ = -1;
  }
  child_.reset();
}

} // namespace flashsale
