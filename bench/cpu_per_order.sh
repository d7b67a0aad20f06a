#!/usr/bin/env bash
# CPU per request, the figure that explains the throughput ratio on a shared machine: the
# trivial cpp-httplib server and the real node (store.sync=full, nats off) under the same wrk
# load (64 connections, unique users, unlimited stock), one after the other in one run.
# Reads utime+stime of each process and of each node thread from /proc before and after, and
# prints microseconds of CPU per request, in total and for the node's busiest threads (the
# store writer is "fs-writer", the snapshotter "fs-snapshotter", CAF's workers
# "caf.multiplexer", httplib's 64 workers "flashsale"). Servers are stopped by their PIDs.
# Usage: bench/cpu_per_order.sh [duration, default 6s]
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
DURATION=${1:-6s}
LUA=bench/orders.lua
TOKEN=bench-admin-token-$$
TICKS=$(getconf CLK_TCK)
. bench/servers.sh # WORK, PIDS, cleanup on exit, wait_port

ticks() { awk '{print $14 + $15}' "$1"; }
requests() { grep -oE '[0-9]+ requests in' "$1" | cut -d' ' -f1; }

start_servers
TPID=${PIDS[0]}
NPID=${PIDS[1]}
curl -sf -X PUT "http://127.0.0.1:$NPORT/products/bench" -H "Authorization: Bearer $TOKEN" \
  -H 'Content-Type: application/json' -d '{"name":"bench","stock":1000000000}' > /dev/null

before=$(ticks /proc/$TPID/stat)
wrk -t2 -c64 -d"$DURATION" -s "$LUA" "http://127.0.0.1:$TPORT/orders" > "$WORK/trivial.wrk"
T_TICKS=$(( $(ticks /proc/$TPID/stat) - before ))
T_REQ=$(requests "$WORK/trivial.wrk")

for t in /proc/$NPID/task/*; do echo "$(basename "$t") $(ticks "$t/stat")"; done > "$WORK/threads.before"
before=$(ticks /proc/$NPID/stat)
wrk -t2 -c64 -d"$DURATION" -s "$LUA" "http://127.0.0.1:$NPORT/orders" > "$WORK/node.wrk"
N_TICKS=$(( $(ticks /proc/$NPID/stat) - before ))
N_REQ=$(requests "$WORK/node.wrk")

us() { awk -v t="$1" -v n="$2" -v hz="$TICKS" 'BEGIN { printf "%.0f", t * 1e6 / hz / n }'; }
echo "wrk -t2 -c64 -d$DURATION, POST /orders, unique users, store.sync=full"
printf '%-34s %10s %14s\n' server requests cpu_us/request
printf '%-34s %10s %14s\n' "trivial httplib" "$T_REQ" "$(us "$T_TICKS" "$T_REQ")"
printf '%-34s %10s %14s\n' "flashsale node" "$N_REQ" "$(us "$N_TICKS" "$N_REQ")"
echo "node threads, cpu_us/order (grouped by thread name):"
for t in /proc/$NPID/task/*; do
  id=$(basename "$t")
  was=$(awk -v id="$id" '$1 == id { print $2 }' "$WORK/threads.before")
  echo "$(cat "$t/comm") $(( $(ticks "$t/stat") - ${was:-0} ))"
done | awk '{ s[$1] += $2; n[$1]++ } END { for (k in s) print s[k], k, n[k] }' | sort -rn |
  while read -r t name count; do
    printf '  %-20s %3d thread(s) %8s\n' "$name" "$count" "$(us "$t" "$N_REQ")"
  done
awk -v t="$T_TICKS" -v tn="$T_REQ" -v n="$N_TICKS" -v nn="$N_REQ" \
  'BEGIN { printf "node cpu per order / trivial cpu per request: %.1fx\n", (n / nn) / (t / tn) }'
