#include "persistence/data_dir.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

namespace flashsale {

std::variant<std::unique_ptr<data_dir>, std::string> data_dir::open(const std::string& path) {
  std::error_code ec;
  std::filesystem::create_directories(path, ec);
  if (ec)
    return "cannot create data dir '" + path + "': " + ec.message();
  auto lock_path = path + "/LOCK";
  int fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0)
    return "cannot open '" + lock_path + "': " + std::strerror(errno);
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    int err = errno;
    ::close(fd);
    if (err == EWOULDBLOCK)
      return "data dir '" + path + "' is locked by another flashsale process";
    return "cannot lock '" + lock_path + "': " + std::strerror(err);
  }
  return std::unique_ptr<data_dir>(new data_dir(path, fd));
}

data_dir::~data_dir() {
  ::close(lock_fd_); // releases the flock
}

} // namespace flashsale
