// The node's data directory: created on first use and locked exclusively (flock on
// <data_dir>/LOCK, as LevelDB does) for as long as this object lives, so two nodes never
// write one store. The lock dies with the process, also on SIGKILL.
#pragma once

#include <memory>
#include <string>
#include <variant>

namespace flashsale {

class data_dir {
public:
  /// Creates `path` if needed and takes the lock. On failure: a message naming the path and
  /// the reason (e.g. "data dir 'data' is locked by another flashsale process").
  static std::variant<std::unique_ptr<data_dir>, std::string> open(const std::string& path);

  ~data_dir();
  data_dir(const data_dir&) = delete;
  data_dir& operator=(const data_dir&) = delete;

  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

private:
  data_dir(std::string path, int lock_fd) : path_(std::move(path)), lock_fd_(lock_fd) {}

  std::string path_;
  int lock_fd_;
};

} // namespace flashsale
