// Any node takes any request (issue 15): a command for a partition served elsewhere goes to
// its owner by NATS request/reply on `flashsale.cmd.<p>`. The owner subscribes to the subjects
// of the partitions it serves, in queue group "owners" (so a brief overlap during a hand-over
// delivers each request once), and answers on a pool of worker threads, so a slow command
// does not hold up the others of its partition. Bodies are opaque bytes here (JSON, by the
// node's own codec).
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "cluster/nats_link.hpp"

namespace flashsale::cluster {

class command_bus {
public:
  using handler = std::function<std::string(const std::string& request)>;

  /// Serves and asks on `<subject_prefix>.<p>`: a second bus on another prefix has its own
  /// workers, so requests it carries never wait behind (or for) this one's.
  static std::unique_ptr<command_bus> start(std::shared_ptr<nats_link> link, int workers,
                                            std::string subject_prefix = "flashsale.cmd");
  ~command_bus(); ///< unsubscribes, then waits for the answers in progress

  /// Answers requests for `partition` with `h` (replacing an earlier handler).
  void serve(int partition, handler h);
  void stop_serving(int partition);

  /// The owner's answer, or nullopt when nobody serves the partition or it did not answer in
  /// `timeout` (the caller tells its client to retry).
  std::optional<std::string> request(int partition, const std::string& body,
                                     std::chrono::milliseconds timeout);

  struct impl;

private:
  explicit command_bus(std::unique_ptr<impl> self);
  std::unique_ptr<impl> self_;
};

} // namespace flashsale::cluster
