#include "http/secrets.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>
#include <stdexcept>
#include <vector>

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

namespace flashsale {

namespace {

constexpr std::size_t secret_bytes = 32;

std::string sys_error(const std::string& what, const std::string& path) {
  return what + " " + path + ": " + std::strerror(errno);
}

/// nullopt and `content` set, or the problem.
std::optional<std::string> read_secret_file(int fd, const std::string& path, std::string& content) {
  struct stat st {};
  if (::fstat(fd, &st) != 0)
    return sys_error("cannot stat", path);
  // Like ssh with its keys: a secret others can read is not a secret any more; say so loudly
  // rather than use it.
  if ((st.st_mode & 077) != 0)
    return path + " is readable by group or others; run chmod 600 on it";
  content.clear();
  char buffer[256];
  for (;;) {
    auto n = ::read(fd, buffer, sizeof buffer);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      return sys_error("cannot read", path);
    }
    if (n == 0)
      break;
    content.append(buffer, static_cast<std::size_t>(n));
    if (content.size() > 4096)
      return path + " is too large to be a secret";
  }
  while (!content.empty()
         && (content.back() == '\n' || content.back() == '\r' || content.back() == ' '))
    content.pop_back();
  if (content.empty())
    return path + " is empty; delete it to generate a new secret";
  return std::nullopt;
}

/// Written to a temporary file, fsync'd, then renamed: a crash leaves the old state or the
/// whole new file, never a half-written secret.
std::optional<std::string> write_secret_file(const std::string& dir, const std::string& path,
                                             const std::string& value) {
  auto tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0)
    return sys_error("cannot create", tmp);
  auto text = value + "\n";
  bool ok = ::fchmod(fd, 0600) == 0 // the umask must not widen or narrow it
            && ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size())
            && ::fsync(fd) == 0;
  auto problem = ok ? std::string() : sys_error("cannot write", tmp);
  ::close(fd);
  if (!ok)
    return problem;
  if (::rename(tmp.c_str(), path.c_str()) != 0)
    return sys_error("cannot rename to", path);
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return std::nullopt;
}

} // namespace

std::string random_hex(std::size_t bytes) {
  std::vector<unsigned char> raw(bytes);
  if (RAND_bytes(raw.data(), static_cast<int>(raw.size())) != 1)
    throw std::runtime_error("RAND_bytes failed");
  static const char digits[] = "0123456789abcdef";
  std::string out;
  for (auto b : raw) {
    out += digits[b >> 4];
    out += digits[b & 15];
  }
  return out;
}

std::variant<secret, std::string> load_or_create_secret(const std::string& configured,
                                                        const std::string& data_dir,
                                                        const std::string& file_name) {
  if (!configured.empty())
    return secret{configured, {}, false};
  auto path = data_dir + "/" + file_name;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    std::string content;
    auto problem = read_secret_file(fd, path, content);
    ::close(fd);
    if (problem)
      return *problem;
    return secret{content, path, false};
  }
  if (errno != ENOENT)
    return sys_error("cannot open", path);
  ::mkdir(data_dir.c_str(), 0700); // normally the node made it already
  std::string value;
  try {
    value = random_hex(secret_bytes);
  } catch (const std::exception& e) {
    return std::string("cannot generate ") + path + ": " + e.what();
  }
  if (auto problem = write_secret_file(data_dir, path, value))
    return *problem;
  return secret{value, path, true};
}

bool constant_time_equals(std::string_view a, std::string_view b) {
  unsigned char da[SHA256_DIGEST_LENGTH], db[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(a.data()), a.size(), da);
  SHA256(reinterpret_cast<const unsigned char*>(b.data()), b.size(), db);
  return CRYPTO_memcmp(da, db, sizeof da) == 0;
}

bool bearer_matches(std::string_view authorization, std::string_view token) {
  constexpr std::string_view scheme = "bearer ";
  if (authorization.size() <= scheme.size() || token.empty())
    return false;
  for (std::size_t i = 0; i < scheme.size(); ++i) {
    char c = authorization[i];
    if (c >= 'A' && c <= 'Z')
      c = static_cast<char>(c - 'A' + 'a');
    if (c != scheme[i])
      return false;
  }
  auto presented = authorization.substr(scheme.size());
  while (!presented.empty() && presented.front() == ' ')
    presented.remove_prefix(1);
  return constant_time_equals(presented, token);
}

} // namespace flashsale
