#include "cluster/server_version.hpp"

#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <future>
#include <set>
#include <thread>

#include <nlohmann/json.hpp>

namespace flashsale::cluster {

namespace {

using clock = std::chrono::steady_clock;

bool all_digits(std::string_view s) {
  return !s.empty()
         && std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c); });
}

/// A non-negative decimal of at most 9 digits; -1 otherwise.
int number(std::string_view s) {
  if (!all_digits(s) || s.size() > 9)
    return -1;
  int n = 0;
  for (char c : s)
    n = n * 10 + (c - '0');
  return n;
}

std::vector<std::string_view> identifiers(std::string_view s) {
  std::vector<std::string_view> out;
  for (std::size_t at = 0; at <= s.size();) {
    auto dot = std::min(s.find('.', at), s.size());
    out.push_back(s.substr(at, dot - at));
    at = dot + 1;
  }
  return out;
}

/// Semantic-version precedence of two prereleases ("RC.1" < "RC.2" < "RC.10"; "" is a release).
int compare_prerelease(const std::string& a, const std::string& b) {
  if (a.empty() || b.empty())
    return a.empty() == b.empty() ? 0 : (a.empty() ? 1 : -1);
  auto x = identifiers(a), y = identifiers(b);
  for (std::size_t i = 0; i < x.size() && i < y.size(); ++i) {
    int nx = number(x[i]), ny = number(y[i]);
    int c = nx >= 0 && ny >= 0 ? (nx > ny) - (nx < ny)
            : nx >= 0          ? -1 // numeric identifiers sort before alphanumeric ones
            : ny >= 0          ? 1
                               : x[i].compare(y[i]);
    if (c != 0)
      return c < 0 ? -1 : 1;
  }
  return (x.size() > y.size()) - (x.size() < y.size());
}

} // namespace

std::optional<server_version> parse_server_version(std::string_view text) {
  if (!text.empty() && text.front() == 'v')
    text.remove_prefix(1);
  text = text.substr(0, text.find('+')); // build metadata does not order
  auto dash = text.find('-');
  std::string_view core = text.substr(0, dash);
  server_version v;
  if (dash != std::string_view::npos) {
    v.prerelease = std::string(text.substr(dash + 1));
    if (v.prerelease.empty())
      return std::nullopt;
  }
  auto dot1 = core.find('.');
  auto dot2 = dot1 == std::string_view::npos ? dot1 : core.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos)
    return std::nullopt;
  v.major = number(core.substr(0, dot1));
  v.minor = number(core.substr(dot1 + 1, dot2 - dot1 - 1));
  v.patch = number(core.substr(dot2 + 1)); // "2.15.1.4" -> "1.4": not a number
  if (v.major < 0 || v.minor < 0 || v.patch < 0)
    return std::nullopt;
  return v;
}

int compare(const server_version& a, const server_version& b) {
  for (auto [x, y] : {std::pair{a.major, b.major}, {a.minor, b.minor}, {a.patch, b.patch}})
    if (x != y)
      return x < y ? -1 : 1;
  return compare_prerelease(a.prerelease, b.prerelease);
}

std::string to_string(const server_version& v) {
  return std::to_string(v.major) + "." + std::to_string(v.minor) + "." + std::to_string(v.patch)
         + (v.prerelease.empty() ? "" : "-" + v.prerelease);
}

std::variant<server_info, std::string> parse_server_info(std::string_view line) {
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r'))
    line.remove_suffix(1);
  if (line.substr(0, 5) != "INFO ")
    return std::string("not a NATS server: it did not start with INFO");
  auto doc = nlohmann::json::parse(line.substr(5), nullptr, /*allow_exceptions=*/false);
  if (!doc.is_object())
    return std::string("not a NATS server: its INFO is not a JSON object");
  server_info info;
  auto text = [&](const char* key) {
    auto it = doc.find(key);
    return it != doc.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  auto flag = [&](const char* key) {
    auto it = doc.find(key);
    return it != doc.end() && it->is_boolean() && it->get<bool>();
  };
  info.server_id = text("server_id");
  info.server_name = text("server_name");
  info.version = text("version");
  info.tls_required = flag("tls_required");
  info.auth_required = flag("auth_required");
  info.jetstream = flag("jetstream");
  if (auto it = doc.find("connect_urls"); it != doc.end() && it->is_array())
    for (auto& u : *it)
      if (u.is_string())
        info.connect_urls.push_back(u.get<std::string>());
  if (info.version.empty())
    return std::string("not a NATS server: its INFO names no version");
  return info;
}

std::string server_address(std::string_view url) {
  if (auto scheme = url.find("://"); scheme != std::string_view::npos)
    url.remove_prefix(scheme + 3);
  url = url.substr(0, url.find('/'));
  if (auto at = url.rfind('@'); at != std::string_view::npos)
    url.remove_prefix(at + 1); // user:password@ never leaves here
  bool has_port = url.rfind(':') != std::string_view::npos
                  && (url.front() != '[' || url.rfind(':') > url.rfind(']'));
  return std::string(url) + (has_port ? "" : ":4222");
}

std::optional<std::string> refuse_older(const server_info& info, const server_version& minimum) {
  std::string who = "nats-server " + (info.server_name.empty() ? info.server_id : info.server_name)
                    + " at " + info.address;
  auto v = parse_server_version(info.version);
  if (!v)
    return who + " reports version \"" + info.version + "\", which cluster mode cannot compare "
           + "with the " + to_string(minimum) + " it needs (docs/NATS.md)";
  if (compare(*v, minimum) >= 0)
    return std::nullopt;
  return who + " is version " + info.version + ", older than the " + to_string(minimum)
         + " cluster mode needs: before 2.11 two appends in flight with the same expected last "
           "sequence (Nats-Expected-Last-Sequence) can both be stored, which forks a partition "
           "log (nats-io/nats-server#4320, #6194, #6485), and atomic batch publish needs 2.12 "
           "(docs/NATS.md says where to get one)";
}

std::variant<server_info, std::string> probe_server(const std::string& address,
                                                    std::int64_t timeout_ms) {
  auto deadline = clock::now() + std::chrono::milliseconds(timeout_ms);
  auto colon = address.rfind(':');
  if (colon == std::string::npos)
    return address + ": no port";
  std::string host = address.substr(0, colon), port = address.substr(colon + 1);
  if (host.size() > 1 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (int rc = ::getaddrinfo(host.c_str(), port.c_str(), &hints, &found); rc != 0)
    return address + ": " + gai_strerror(rc);
  std::string problem = address + ": no address";
  for (auto* ai = found; ai != nullptr; ai = ai->ai_next) {
    int fd =
        ::socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0)
      continue;
    auto remaining = [&] {
      return static_cast<int>(std::max<std::int64_t>(
          0,
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now()).count()));
    };
    std::string line;
    bool connected = ::connect(fd, ai->ai_addr, ai->ai_addrlen) == 0 || errno == EINPROGRESS;
    if (connected) {
      pollfd p{fd, POLLOUT, 0};
      int err = 0;
      socklen_t len = sizeof err;
      connected = ::poll(&p, 1, remaining()) == 1
                  && ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0;
      if (!connected)
        problem = address + ": " + (err ? std::strerror(err) : "connect timed out");
    } else {
      problem = address + ": " + std::strerror(errno);
    }
    while (connected && line.find("\r\n") == std::string::npos && line.size() < 64 * 1024) {
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, remaining()) != 1) {
        problem = address + ": no INFO within " + std::to_string(timeout_ms) + " ms";
        break;
      }
      char buf[4096];
      auto n = ::read(fd, buf, sizeof buf);
      if (n <= 0) {
        problem = address + ": closed before its INFO";
        break;
      }
      line.append(buf, static_cast<std::size_t>(n));
    }
    ::close(fd);
    if (auto end = line.find("\r\n"); end != std::string::npos) {
      ::freeaddrinfo(found);
      auto info = parse_server_info(std::string_view(line).substr(0, end));
      if (auto i = std::get_if<server_info>(&info))
        i->address = address;
      else
        return address + ": " + std::get<std::string>(info);
      return info;
    }
  }
  ::freeaddrinfo(found);
  return problem;
}

std::optional<std::string> check_server_versions(const std::vector<std::string>& urls,
                                                 const std::string& minimum,
                                                 std::int64_t timeout_ms) {
  auto floor = parse_server_version(minimum);
  if (!floor)
    return "minimum nats-server version \"" + minimum + "\" is not a version";
  constexpr std::int64_t probe_ms = 1000;
  auto deadline = clock::now() + std::chrono::milliseconds(timeout_ms);
  std::set<std::string> seen;
  std::vector<std::string> listed;
  for (auto& u : urls)
    if (seen.insert(server_address(u)).second)
      listed.push_back(server_address(u));

  // The listed servers, in parallel, again and again until one answers (a cluster starting).
  std::vector<server_info> answered;
  std::string last_problem;
  while (answered.empty()) {
    auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now()).count();
    std::vector<std::future<std::variant<server_info, std::string>>> probes;
    for (auto& a : listed)
      probes.push_back(std::async(std::launch::async, probe_server, a,
                                  std::clamp<std::int64_t>(left, 1, probe_ms)));
    for (auto& p : probes) {
      auto r = p.get();
      if (auto info = std::get_if<server_info>(&r))
        answered.push_back(std::move(*info));
      else
        last_problem = std::get<std::string>(r);
    }
    if (!answered.empty())
      break;
    if (clock::now() + std::chrono::milliseconds(100) >= deadline)
      return "no NATS server answered within " + std::to_string(timeout_ms)
             + " ms, so none could be checked for the nats-server " + minimum
             + " cluster mode needs (last: " + last_problem + ")";
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  // Then every peer they announce, once (a peer we cannot reach we cannot be sent to either,
  // unless the client is re-routed there later: a limit written down in docs/NATS.md).
  for (std::size_t i = 0; i < answered.size(); ++i) {
    if (auto refusal = refuse_older(answered[i], *floor))
      return refusal;
    for (auto& peer : answered[i].connect_urls)
      if (seen.insert(server_address(peer)).second)
        if (auto r = probe_server(server_address(peer), probe_ms);
            std::holds_alternative<server_info>(r))
          answered.push_back(std::get<server_info>(std::move(r)));
  }
  return std::nullopt;
}

} // namespace flashsale::cluster
