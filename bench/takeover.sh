#!/usr/bin/env bash
# The take-over of a partition holding EVENTS events (default 1,000,000) on a three-server R3
# cluster on this machine: bench/takeover_bench.cpp fills one partition through a real node and
# times a new owner opening it (claim, snapshot, tail, recovery). Every server is started here
# on free loopback ports and stopped by its PID.
#   [PAY=1] bench/takeover.sh [EVENTS] [SNAPSHOT_EVERY]     (PAY=1: every order paid: a sale's log)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
EVENTS=${1:-1000000}
SNAPSHOT_EVERY=${2:-50000}
cmake --build "$BUILD_DIR" -j2 --target takeover_bench > /dev/null
TOKEN=unused
# shellcheck source=bench/servers.sh
source bench/servers.sh
start_nats_cluster takeover
"$BUILD_DIR/bench/takeover_bench" --nats "$CLUSTER_URLS" --events "$EVENTS" \
  --snapshot-every "$SNAPSHOT_EVERY" --pay "${PAY:-0}"
