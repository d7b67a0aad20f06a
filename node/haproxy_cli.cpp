#include "node/haproxy_cli.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <sstream>
#include <vector>

namespace flashsale {

namespace {

/// Waits for `events` on `fd` until `deadline`; false on timeout or error.
bool wait_for(int fd, short events, std::chrono::steady_clock::time_point deadline) {
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0)
      return false;
    pollfd p{fd, events, 0};
    int n = ::poll(&p, 1, static_cast<int>(left.count()));
    if (n > 0)
      return true;
    if (n < 0 && errno != EINTR)
      return false;
  }
}

std::vector<std::string> split_csv_line(const std::string& line) {
  std::vector<std::string> out;
  std::string cell;
  std::istringstream in(line);
  while (std::getline(in, cell, ','))
    out.push_back(cell);
  return out;
}

} // namespace

std::optional<std::string> haproxy_command(const std::string& socket_path, const std::string& line,
                                           std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  sockaddr_un addr{};
  if (socket_path.size() >= sizeof addr.sun_path)
    return std::nullopt;
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0)
    return std::nullopt;
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, socket_path.data(), socket_path.size());
  // A Unix socket connects at once or fails (EAGAIN: HAProxy's accept queue is full).
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return std::nullopt;
  }
  auto request = line + "\n";
  std::size_t sent = 0;
  while (sent < request.size()) {
    auto n = ::send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<std::size_t>(n);
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EINTR) && wait_for(fd, POLLOUT, deadline))
      continue;
    ::close(fd);
    return std::nullopt;
  }
  std::string answer;
  char buffer[16384];
  for (;;) {
    auto n = ::recv(fd, buffer, sizeof buffer, 0);
    if (n > 0) {
      answer.append(buffer, static_cast<std::size_t>(n));
      continue;
    }
    if (n == 0)
      break; // HAProxy closes once the line's commands are answered
    if ((errno == EAGAIN || errno == EINTR) && wait_for(fd, POLLIN, deadline))
      continue;
    ::close(fd);
    return std::nullopt;
  }
  ::close(fd);
  return answer;
}

std::string haproxy_cli_argument(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == ' ' || c == ';' || c == '\\')
      out += '\\';
    out += c;
  }
  return out;
}

std::optional<std::int64_t> haproxy_stat_field(const std::string& csv, const std::string& field) {
  std::istringstream lines(csv);
  std::string header, row;
  if (!std::getline(lines, header) || header.rfind("# ", 0) != 0)
    return std::nullopt;
  while (std::getline(lines, row) && row.empty()) {
  }
  auto names = split_csv_line(header.substr(2));
  auto values = split_csv_line(row);
  for (std::size_t i = 0; i < names.size() && i < values.size(); ++i) {
    if (names[i] != field)
      continue;
    try {
      return std::stoll(values[i]);
    } catch (const std::exception&) {
      return std::nullopt;
    }
  }
  return std::nullopt;
}

} // namespace flashsale
