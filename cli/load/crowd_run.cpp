// The crowd's event loop. Buyer i is due at start + window * i / buyers; when due it opens a
// non-blocking connection, writes its order once connected, reads the answer (Content-Length
// or chunked), and then either hangs up or holds the connection idle for --hold seconds,
// noticing when the server closes it. Idle sockets connect before the first buyer and stay
// silent until the run ends. On a loopback target the sockets spread over 127.0.0.1-8 as
// source addresses (IP_BIND_ADDRESS_NO_PORT), so back-to-back runs of tens of thousands of
// connections never run out of ephemeral ports while earlier ones sit in TIME_WAIT.
#include "cli/load/crowd_run.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <deque>
#include <mutex>
#include <optional>
#include <variant>

#include "cli/load/progress.hpp"

namespace flashsale::load {

namespace {

using steady = std::chrono::steady_clock;

struct target {
  sockaddr_in addr{};
  std::string host_header; ///< host:port as the URL names it
  bool loopback = false;
};

std::variant<target, std::string> resolve(const std::string& url) {
  const std::string scheme = "http://";
  if (url.rfind(scheme, 0) != 0)
    return "--crowd speaks plain HTTP only; got '" + url + "'";
  std::string rest = url.substr(scheme.size());
  auto slash = rest.find('/');
  if (slash != std::string::npos)
    rest.resize(slash);
  auto colon = rest.rfind(':');
  std::string host = colon == std::string::npos ? rest : rest.substr(0, colon);
  std::string port = colon == std::string::npos ? "80" : rest.substr(colon + 1);
  addrinfo hints{};
  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (int rc = ::getaddrinfo(host.c_str(), port.c_str(), &hints, &found); rc != 0 || !found)
    return "cannot resolve '" + rest + "': " + ::gai_strerror(rc);
  target t;
  std::memcpy(&t.addr, found->ai_addr, sizeof t.addr);
  ::freeaddrinfo(found);
  t.host_header = rest;
  t.loopback = (ntohl(t.addr.sin_addr.s_addr) >> 24) == 127;
  return t;
}

/// Raises the soft open-file limit to the hard one: a crowd is one descriptor per buyer.
void raise_fd_limit() {
  rlimit lim{};
  if (::getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < lim.rlim_max) {
    lim.rlim_cur = lim.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &lim);
  }
}

/// A parsed HTTP/1.1 answer, once complete.
struct answer {
  int status = 0;
  std::string body;
  std::string location;
};

std::string header_value(const std::string& head, const char* name) {
  // Case-insensitive search for "\r\n<name>:" in the header block.
  std::string needle = std::string("\r\n") + name + ":";
  auto it = std::search(head.begin(), head.end(), needle.begin(), needle.end(),
                        [](char a, char b) { return std::tolower(a) == std::tolower(b); });
  if (it == head.end())
    return {};
  auto begin = static_cast<std::size_t>(it - head.begin()) + needle.size();
  auto end = head.find("\r\n", begin);
  auto v = head.substr(begin, end == std::string::npos ? std::string::npos : end - begin);
  auto first = v.find_first_not_of(' ');
  return first == std::string::npos ? std::string{} : v.substr(first);
}

/// Decodes a complete chunked body; nullopt while more bytes are needed.
std::optional<std::string> dechunk(const std::string& in, std::size_t pos) {
  std::string out;
  for (;;) {
    auto line_end = in.find("\r\n", pos);
    if (line_end == std::string::npos)
      return std::nullopt;
    auto size = std::strtoul(in.c_str() + pos, nullptr, 16);
    pos = line_end + 2;
    if (size == 0)
      return in.find("\r\n", pos) == std::string::npos ? std::nullopt : std::optional(out);
    if (in.size() < pos + size + 2)
      return std::nullopt;
    out.append(in, pos, size);
    pos += size + 2;
  }
}

/// The answer in `in`, when it is complete (`eof`: the server closed after it).
std::optional<answer> parse_answer(const std::string& in, bool eof) {
  auto head_end = in.find("\r\n\r\n");
  if (head_end == std::string::npos || in.compare(0, 5, "HTTP/") != 0)
    return std::nullopt;
  auto head = in.substr(0, head_end + 2);
  answer a;
  auto space = head.find(' ');
  a.status = space == std::string::npos ? 0 : std::atoi(head.c_str() + space + 1);
  a.location = header_value(head, "Location");
  auto body_start = head_end + 4;
  if (auto length = header_value(head, "Content-Length"); !length.empty()) {
    auto n = std::strtoul(length.c_str(), nullptr, 10);
    if (in.size() < body_start + n)
      return std::nullopt;
    a.body = in.substr(body_start, n);
    return a;
  }
  if (header_value(head, "Transfer-Encoding").find("chunked") != std::string::npos) {
    auto body = dechunk(in, body_start);
    if (!body)
      return std::nullopt;
    a.body = std::move(*body);
    return a;
  }
  if (!eof)
    return std::nullopt; // no length: the body runs to the close
  a.body = in.substr(body_start);
  return a;
}

enum class phase : std::uint8_t { waiting, connecting, reading, holding, done };

struct connection {
  int fd = -1;
  phase state = phase::waiting;
  bool idle = false; ///< a silent socket, not a buyer
  steady::time_point due{};
  std::string out; ///< the request still to write
  std::string in;
};

class crowd {
public:
  crowd(const scenario& plan, const target& t, run_result& out)
    : plan_(plan), target_(t), out_(out), nonce_(run_nonce()) {
    auto n = static_cast<std::size_t>(plan.buyers + plan.idle_sockets);
    conns_.resize(n);
    for (std::size_t i = static_cast<std::size_t>(plan.buyers); i < n; ++i)
      conns_[i].idle = true;
  }

  std::vector<std::string> run() {
    epoll_ = ::epoll_create1(EPOLL_CLOEXEC);
    if (epoll_ < 0) {
      out_.setup_error = std::string("epoll_create1: ") + std::strerror(errno);
      return {};
    }
    progress_line progress([this] {
      auto s = live_.sample();
      std::lock_guard<std::mutex> guard{latency_mutex_};
      s.p99_us = latency_.percentile(0.99);
      return s;
    });
    start_ = steady::now();
    for (std::size_t i = static_cast<std::size_t>(plan_.buyers); i < conns_.size(); ++i)
      open(i, start_);
    loop();
    progress.stop();
    ::close(epoll_);
    return finish();
  }

private:
  steady::time_point due_of(std::uint64_t buyer) const {
    auto offset = std::chrono::duration<double>(plan_.arrival_window_s * static_cast<double>(buyer)
                                                / static_cast<double>(plan_.buyers));
    return start_ + std::chrono::duration_cast<steady::duration>(offset);
  }

  std::string request_for(std::uint64_t buyer) const {
    auto body = order_body(plan_, buyer);
    std::string r = "POST /orders HTTP/1.1\r\nHost: " + target_.host_header
                    + "\r\nContent-Type: application/json\r\nContent-Length: "
                    + std::to_string(body.size()) + "\r\n";
    if (plan_.idempotency_keys)
      r += "Idempotency-Key: " + idempotency_key(nonce_, buyer) + "\r\n";
    return r + "\r\n" + body;
  }

  void open(std::size_t i, steady::time_point due) {
    auto& c = conns_[i];
    c.due = due;
    c.fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c.fd < 0)
      return fail(i, std::string("socket: ") + std::strerror(errno));
    int one = 1;
    ::setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (target_.loopback) {
      sockaddr_in source{};
      source.sin_family = AF_INET;
      source.sin_addr.s_addr = htonl((127u << 24) | (1u + static_cast<std::uint32_t>(i % 8)));
      ::setsockopt(c.fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
      ::bind(c.fd, reinterpret_cast<sockaddr*>(&source), sizeof source);
    }
    if (!c.idle)
      c.out = request_for(i);
    c.state = phase::connecting;
    epoll_event ev{};
    ev.events = EPOLLOUT | EPOLLIN | EPOLLRDHUP;
    ev.data.u64 = i;
    ::epoll_ctl(epoll_, EPOLL_CTL_ADD, c.fd, &ev);
    int rc = ::connect(c.fd, reinterpret_cast<const sockaddr*>(&target_.addr), sizeof target_.addr);
    if (rc != 0 && errno != EINPROGRESS)
      return fail(i, std::string("connect: ") + std::strerror(errno));
  }

  void close_fd(connection& c) {
    if (c.fd >= 0) {
      ::close(c.fd);
      c.fd = -1;
    }
  }

  /// A buyer that got no answer (connection error, early close, timeout).
  void fail(std::size_t i, const std::string& why) {
    auto& c = conns_[i];
    close_fd(c);
    if (c.state == phase::done)
      return;
    c.state = phase::done;
    if (c.idle)
      return;
    ++figures_.unanswered;
    if (why.rfind("connect", 0) == 0 || why.rfind("socket", 0) == 0)
      ++figures_.connect_failed;
    live_.count(tally_failure(tally_, why));
    ++finished_;
  }

  void on_event(std::size_t i, std::uint32_t events) {
    auto& c = conns_[i];
    if (c.state == phase::connecting && (events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) {
      int err = 0;
      socklen_t len = sizeof err;
      ::getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len);
      if (err != 0)
        return fail(i, std::string("connect: ") + std::strerror(err));
      c.state = phase::reading;
      if (c.idle)
        ++figures_.idle_sockets;
      epoll_event ev{};
      ev.events = EPOLLIN | EPOLLRDHUP | (c.out.empty() ? 0u : EPOLLOUT);
      ev.data.u64 = i;
      ::epoll_ctl(epoll_, EPOLL_CTL_MOD, c.fd, &ev);
    }
    if (c.state == phase::reading && !c.out.empty() && (events & EPOLLOUT))
      write_some(i);
    if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
      read_some(i);
  }

  void write_some(std::size_t i) {
    auto& c = conns_[i];
    auto n = ::send(c.fd, c.out.data(), c.out.size(), MSG_NOSIGNAL);
    if (n < 0) {
      if (errno != EAGAIN)
        fail(i, std::string("send: ") + std::strerror(errno));
      return;
    }
    c.out.erase(0, static_cast<std::size_t>(n));
    if (c.out.empty()) {
      epoll_event ev{};
      ev.events = EPOLLIN | EPOLLRDHUP;
      ev.data.u64 = i;
      ::epoll_ctl(epoll_, EPOLL_CTL_MOD, c.fd, &ev);
    }
  }

  void read_some(std::size_t i) {
    auto& c = conns_[i];
    char buf[4096];
    bool eof = false;
    for (;;) {
      auto n = ::recv(c.fd, buf, sizeof buf, 0);
      if (n > 0) {
        if (c.state == phase::reading && !c.idle)
          c.in.append(buf, static_cast<std::size_t>(n));
        continue;
      }
      if (n == 0 || (errno != EAGAIN && errno != EINTR))
        eof = true;
      break;
    }
    if (c.idle) {
      if (eof) { // the server gave up on a silent socket
        ++figures_.idle_closed;
        close_fd(c);
        c.state = phase::done;
      }
      return;
    }
    if (c.state == phase::holding) {
      if (eof) {
        ++figures_.dropped_idle;
        close_fd(c);
        c.state = phase::done;
      }
      return;
    }
    if (c.state != phase::reading)
      return;
    auto a = parse_answer(c.in, eof);
    if (!a) {
      if (eof)
        fail(i, c.in.empty() ? "closed before answering" : "closed mid-answer");
      return;
    }
    answered(i, *a);
    if (plan_.hold_s > 0 && !eof) {
      c.state = phase::holding;
      holds_.push_back(i);
    } else {
      close_fd(c);
      c.state = phase::done;
    }
  }

  void answered(std::size_t i, const answer& a) {
    auto& c = conns_[i];
    auto now = steady::now();
    c.in.clear();
    c.in.shrink_to_fit();
    auto wait = std::chrono::duration_cast<std::chrono::microseconds>(now - c.due).count();
    if (wait > 1000000)
      ++figures_.over_1s;
    {
      std::lock_guard<std::mutex> guard{latency_mutex_};
      latency_.record(static_cast<std::uint64_t>(std::max<long long>(wait, 0)));
    }
    auto due_ms = std::chrono::duration_cast<std::chrono::milliseconds>(c.due - start_).count();
    samples_.push_back(
        latency_sample{static_cast<std::uint32_t>(due_ms),
                       static_cast<std::uint32_t>(std::min<long long>(wait, UINT32_MAX))});
    live_.count(tally_answer(tally_, a.status, a.body, a.location));
    c.due = now; // from here on: when the hold started
    last_answer_ = now;
    ++finished_;
  }

  /// Opens due buyers, ends holds and times out the slow; returns the next deadline.
  steady::time_point housekeeping(steady::time_point now) {
    auto n = static_cast<std::size_t>(plan_.buyers);
    while (next_buyer_ < n && due_of(next_buyer_) <= now) {
      auto due = due_of(next_buyer_);
      figures_.arrival_lag_ms = std::max(
          figures_.arrival_lag_ms, std::chrono::duration<double, std::milli>(now - due).count());
      open(next_buyer_++, due);
    }
    auto hold =
        std::chrono::duration_cast<steady::duration>(std::chrono::duration<double>(plan_.hold_s));
    while (!holds_.empty()
           && (conns_[holds_.front()].state != phase::holding
               || conns_[holds_.front()].due + hold <= now)) {
      auto& c = conns_[holds_.front()];
      if (c.state == phase::holding) {
        close_fd(c);
        c.state = phase::done;
      }
      holds_.pop_front();
    }
    auto timeout = std::chrono::duration_cast<steady::duration>(
        std::chrono::duration<double>(plan_.buyer_timeout_s));
    while (oldest_ < next_buyer_
           && (conns_[oldest_].state == phase::done || conns_[oldest_].state == phase::holding
               || conns_[oldest_].due + timeout <= now)) {
      if (conns_[oldest_].state != phase::done && conns_[oldest_].state != phase::holding)
        fail(oldest_, "no answer within --buyer-timeout");
      ++oldest_;
    }
    auto next = now + std::chrono::seconds(1);
    if (next_buyer_ < n)
      next = std::min(next, due_of(next_buyer_));
    if (!holds_.empty())
      next = std::min(next, conns_[holds_.front()].due + hold);
    if (oldest_ < next_buyer_)
      next = std::min(next, conns_[oldest_].due + timeout);
    return next;
  }

  void loop() {
    std::vector<epoll_event> events(1024);
    auto n = static_cast<std::size_t>(plan_.buyers);
    for (;;) {
      auto now = steady::now();
      auto next = housekeeping(now);
      if (next_buyer_ == n && finished_ == n && holds_.empty())
        return;
      auto wait_ms = std::chrono::duration_cast<std::chrono::milliseconds>(next - now).count() + 1;
      int got = ::epoll_wait(epoll_, events.data(), static_cast<int>(events.size()),
                             static_cast<int>(std::max<long long>(0, wait_ms)));
      for (int k = 0; k < got; ++k)
        on_event(static_cast<std::size_t>(events[k].data.u64), events[k].events);
    }
  }

  std::vector<std::string> finish() {
    for (auto& c : conns_)
      close_fd(c);
    figures_.buyers = static_cast<std::uint64_t>(plan_.buyers);
    out_.crowd = figures_;
    out_.latency = latency_;
    out_.requests = latency_.count() + figures_.unanswered;
    out_.elapsed_s = std::chrono::duration<double>(last_answer_ - start_).count();
    out_.timeline = timeline_of(samples_);
    return out_.add_outcomes(std::move(tally_));
  }

  const scenario& plan_;
  const target target_;
  run_result& out_;
  const std::string nonce_;
  std::vector<connection> conns_;
  int epoll_ = -1;
  steady::time_point start_, last_answer_;
  std::size_t next_buyer_ = 0, oldest_ = 0, finished_ = 0;
  std::deque<std::size_t> holds_; ///< holding buyers in answer order (so in closing order)
  crowd_figures figures_;
  outcome_tally tally_;
  live_counters live_;
  std::mutex latency_mutex_; ///< the progress thread reads latency_
  latency_histogram latency_;
  std::vector<latency_sample> samples_;
};

} // namespace

std::vector<std::string> run_crowd(const scenario& plan, run_result& out) {
  auto t = resolve(plan.url);
  if (auto problem = std::get_if<std::string>(&t)) {
    out.setup_error = *problem;
    return {};
  }
  raise_fd_limit();
  crowd c(plan, std::get<target>(t), out);
  return c.run();
}

} // namespace flashsale::load
