// Reads every partition's log (stream FLASHSALE_P<p>) from the NATS cluster, as any
// JetStream client would: the stream's last sequence from its leader (STREAM.INFO), then
// every message up to it through an ordered consumer (the leader's copy, never a lagging
// replica's), parsed by tests/chaos/partition_log. When no consumer can be made (JetStream's
// meta leader electing after a server's restart) record by record from the stream's leader
// instead (CHAOS_READ_BY_GET=1 always does, to test it); tried again for up to 30 s. Run it
// inside the test's client host, with the nats.c library opened there (netns.hpp).
#pragma once

#include <string>
#include <vector>

#include "tests/chaos/partition_log.hpp"

namespace flashsale::testing::chaos {

/// Every partition's log; a log that could not be read whole says why in its `error`.
std::vector<partition_log> read_partition_logs(const std::string& nats_urls, int partitions);

} // namespace flashsale::testing::chaos
