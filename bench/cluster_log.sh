#!/usr/bin/env bash
# The replicated path's cost (issue 15), in one run: fenced appends to partition logs on a
# three-server JetStream cluster (R3, what cluster mode acknowledges after) against one
# server (R1), with W writers on W partitions. Prints appends/s, p50/p99 and CPU per append
# (the bench process plus every nats-server), and the R3/R1 ratios.
#   bench/cluster_log.sh [SECONDS] [WRITERS...]      (default: 5 s; 1 4 16 writers)
# Servers are started here on free loopback ports and stopped by their PIDs.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
SECONDS_PER_RUN=${1:-5}
shift || true
WRITERS=("${@:-1 4 16}")
# shellcheck disable=SC2206
WRITERS=(${WRITERS[*]})
cmake --build "$BUILD_DIR" -j2 --target cluster_log_bench > /dev/null

TOKEN=unused # servers.sh: WORK, PIDS and the cleanup that stops them by PID on exit
# shellcheck source=bench/servers.sh
source bench/servers.sh
NATS=$(cluster_nats_server)
start_nats_cluster bench
SINGLE_PORT=$(free_port)
"$NATS" -js -a 127.0.0.1 -p "$SINGLE_PORT" -sd "$WORK/single" > "$WORK/single.log" 2>&1 &
PIDS+=($!); SINGLE_PIDS=($!)
HZ=$(getconf CLK_TCK)

run() { # replicas urls writers pids... -> prints the bench line plus servers' CPU per append
  local replicas=$1 urls=$2 writers=$3; shift 3
  local before after line appends client
  before=$(cpu_ticks "$@")
  line=$("$BUILD_DIR/bench/cluster_log_bench" --nats "$urls" --replicas "$replicas" \
    --writers "$writers" --seconds "$SECONDS_PER_RUN")
  after=$(cpu_ticks "$@")
  appends=$(grep -oE 'appends=[0-9]+' <<<"$line" | cut -d= -f2)
  client=$(grep -oE 'client_cpu_us_per_append=[0-9.]+' <<<"$line" | cut -d= -f2)
  awk -v l="$line" -v d=$((after - before)) -v hz="$HZ" -v n="$appends" -v c="$client" \
    'BEGIN { s = d / hz * 1e6 / n; printf "%s servers_cpu_us_per_append=%.1f total_cpu_us_per_append=%.1f\n", l, s, s + c }'
}

echo "# fenced partition-log appends, ${SECONDS_PER_RUN} s per run, $(nproc) cores shared by servers and client"
for w in "${WRITERS[@]}"; do
  r1=$(run 1 "nats://127.0.0.1:$SINGLE_PORT" "$w" "${SINGLE_PIDS[@]}")
  r3=$(run 3 "$CLUSTER_URLS" "$w" "${CLUSTER_PIDS[@]}")
  echo "$r1"
  echo "$r3"
  awk -v a="$r1" -v b="$r3" 'function f(s, k,   m) { match(s, k "=[0-9.]+"); return substr(s, RSTART + length(k) + 1, RLENGTH - length(k) - 1) }
    BEGIN { printf "writers=%s  R3/R1: throughput %.2f  p99 %.2f  cpu per append %.2f\n",
            f(a, "writers"), f(b, "appends_per_s") / f(a, "appends_per_s"),
            f(b, "p99_ms") / f(a, "p99_ms"), f(b, "total_cpu_us_per_append") / f(a, "total_cpu_us_per_append") }'
done
