#!/usr/bin/env bash
# The reservation path as issue 14 measures it: unique users, unlimited stock (every order a
# full reservation), 64 connections, store.sync=full, embedded NATS (every event published),
# http.front=none so both sides are bare httplib; the node against the trivial httplib
# server in one run. Then an open loop at half the node's peak (latency from each order's
# scheduled send time, so a stall shows up as latency, not as fewer samples).
# Targets: node/trivial >= 0.45; open-loop p99 <= 10 ms. Builds nothing.
# Usage: bench/order_path.sh [seconds per run, 5]
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
SECONDS_PER_RUN=${1:-5}
NATS=${NATS:-embedded}
TOKEN=bench-admin-token-$$
. bench/servers.sh # WORK, PIDS, cleanup on exit, start_trivial / start_node

start_trivial
start_node path --set http.front=none --set nats.url="$NATS"
NURL=http://127.0.0.1:$PORT_path
curl -sf -X PUT "$NURL/products/bench" -H "Authorization: Bearer $TOKEN" \
  -H 'Content-Type: application/json' -d '{"name":"bench","stock":1000000000}' > /dev/null

wrk_run() { # url -> "req/s p50_ms p99_ms"
  wrk -t2 -c64 -d"${SECONDS_PER_RUN}s" --latency -s bench/orders.lua "$1/orders" | awk '
    function ms(v) { if (v ~ /us$/) return v/1000; if (v ~ /ms$/) return v+0; if (v ~ /s$/) return v*1000; return v }
    /Requests\/sec/ { rps = $2 } /^ +50%/ { p50 = ms($2) } /^ +99%/ { p99 = ms($2) }
    END { printf "%.0f %.2f %.2f\n", rps, p50, p99 }'
}
read -r T_RPS T_P50 T_P99 < <(wrk_run "http://127.0.0.1:$TPORT")
read -r N_RPS N_P50 N_P99 < <(wrk_run "$NURL")
RATE=$(awk -v n="$N_RPS" 'BEGIN { printf "%d", n / 2 }')
FLASHSALE_ADMIN_TOKEN=$TOKEN "$BUILD_DIR/cli/flashsale" load --url "$NURL" --product bench \
  --buyers 100000000 --duration "$SECONDS_PER_RUN" --concurrency 64 --rate "$RATE" \
  --no-idempotency-keys --seed 3 --json > "$WORK/open.json" 2> "$WORK/open.log" || true
open_p() { grep -oE '"latency_ms":\{[^}]*\}' "$WORK/open.json" | head -1 | grep -oE "\"$1\":[0-9.]+" | cut -d: -f2; }

echo "wrk -t2 -c64 -d${SECONDS_PER_RUN}s, unique users, unlimited stock, store.sync=full," \
     "nats.url=$NATS, both bare httplib, $(nproc) cores shared with the load generator"
printf '%-34s %10s %9s %9s\n' server orders/s p50_ms p99_ms
printf '%-34s %10s %9s %9s\n' "trivial httplib (64 conns)" "$T_RPS" "$T_P50" "$T_P99"
printf '%-34s %10s %9s %9s\n' "flashsale node (64 conns)" "$N_RPS" "$N_P50" "$N_P99"
awk -v n="$N_RPS" -v t="$T_RPS" 'BEGIN { printf "ratio node/trivial: %.2f (target >= 0.45)\n", n / t }'
echo "open loop at $RATE orders/s (half the node's peak), 64 connections:" \
     "p50 $(open_p p50) ms, p99 $(open_p p99) ms (target <= 10), p99.9 $(open_p p99_9) ms"
