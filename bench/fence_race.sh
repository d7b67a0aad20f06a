#!/usr/bin/env bash
# The fence race on each nats-server version (docs/NATS.md's figure): a three-server R3 cluster of
# Debian 12's nats-server (2.9.10), then one of the >= 2.12 server cluster mode needs (the build
# tree's, `make deps`); on each, two writers on two different servers publish at the same instant
# with the same expected sequence, N times per fence, and the forks (both stored) are counted.
# Not part of CI: a fork on 2.9.10 is a race, not a certainty.
#   bench/fence_race.sh [TRIALS]        (default 1000)
# Servers are started here on free loopback ports and stopped by their PIDs.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
TRIALS=${1:-1000}
cmake --build "$BUILD_DIR" -j2 --target fence_race_bench > /dev/null

TOKEN=unused # servers.sh: WORK, PIDS and the cleanup that stops them by PID on exit
# shellcheck source=bench/servers.sh
source bench/servers.sh
DEBIAN=$(command -v nats-server || echo /usr/sbin/nats-server)
NEWER=$(cluster_nats_server)

for name in debian newer; do
  nats=$DEBIAN
  [ "$name" = newer ] && nats=$NEWER
  NATS_SERVER=$nats start_nats_cluster "race-$name"
  IFS=, read -r a b _ <<<"$CLUSTER_URLS"
  # JetStream's meta leader is elected seconds after the servers start: retry until it answers.
  for _ in $(seq 60); do
    if out=$("$BUILD_DIR/bench/fence_race_bench" --a "$a" --b "$b" --trials "$TRIALS" 2>&1); then
      break
    fi
    sleep 0.5
  done
  echo "$out"
  stop_pids "${CLUSTER_PIDS[@]}"
done
