#!/usr/bin/env bash
# POST /orders throughput and latency of the real node against a trivial cpp-httplib server
# with the same tuning, on this machine, in one run. Builds nothing: expects build/ (or
# BUILD_DIR) with `flashsale` and `trivial_http_server`. Servers are stopped by their PIDs.
# Usage: bench/http_bench.sh [duration, default 10s]
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
DURATION=${1:-10s}
LUA=bench/orders.lua
TOKEN=bench-admin-token-$$
. bench/servers.sh # WORK, PIDS, cleanup on exit, wait_port

# wrk --latency output -> "req/s p50 p99" (latencies in ms)
summarise() {
  awk '
    function ms(v) { if (v ~ /us$/) return v/1000; if (v ~ /ms$/) return v+0; if (v ~ /s$/) return v*1000; return v }
    /Requests\/sec/ { rps = $2 }
    /^ +50%/ { p50 = ms($2) }
    /^ +99%/ { p99 = ms($2) }
    /Non-2xx/ { non2xx = $NF }
    END { printf "%.0f %.2f %.2f %s\n", rps, p50, p99, (non2xx == "" ? 0 : non2xx) }'
}

run_wrk() { # port connections
  wrk -t2 -c"$2" -d"$DURATION" --latency -s "$LUA" "http://127.0.0.1:$1/orders"
}

start_servers
curl -sf -X PUT "http://127.0.0.1:$NPORT/products/bench" -H "Authorization: Bearer $TOKEN" \
  -H 'Content-Type: application/json' -d '{"name":"bench","stock":1000000000}' > /dev/null

echo "wrk -t2 -c64 -d$DURATION, POST /orders, unique user per request, store.sync=full"
read -r T_RPS T_P50 T_P99 T_BAD < <(run_wrk "$TPORT" 64 | tee "$WORK/trivial.wrk" | summarise)
read -r N_RPS N_P50 N_P99 N_BAD < <(run_wrk "$NPORT" 64 | tee "$WORK/node.wrk" | summarise)
# Closed-loop "half load": wrk has no rate control (-R is wrk2 only, not installed), so the
# lighter run uses fewer connections; it shows latency off the saturation point.
read -r H_RPS H_P50 H_P99 H_BAD < <(run_wrk "$NPORT" 8 | summarise)

printf '\n%-28s %10s %9s %9s %8s\n' server orders/s p50_ms p99_ms non2xx
printf '%-28s %10s %9s %9s %8s\n' "trivial httplib (64 conns)" "$T_RPS" "$T_P50" "$T_P99" "$T_BAD"
printf '%-28s %10s %9s %9s %8s\n' "flashsale node (64 conns)" "$N_RPS" "$N_P50" "$N_P99" "$N_BAD"
printf '%-28s %10s %9s %9s %8s\n' "flashsale node (8 conns)" "$H_RPS" "$H_P50" "$H_P99" "$H_BAD"
awk -v n="$N_RPS" -v t="$T_RPS" 'BEGIN { printf "\nratio node/trivial: %.2f (target >= 0.6)\n", n / t }'
