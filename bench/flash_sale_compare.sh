#!/usr/bin/env bash
# A flash sale against the real node and against its ceiling, a trivial cpp-httplib server
# with the same tuning (bench/trivial_http_server.cpp), both driven by `flashsale load` on
# this machine in one run; prints throughput and latency with node/trivial ratios.
# Closed loop at 64 and 256 connections, then an open loop at half the node's peak rate
# (latency from the scheduled send time). The trivial server accepts every order, so its
# verdict fails by design: only its throughput and latency are used.
# Builds nothing: expects build/ (or BUILD_DIR) with `flashsale` and `trivial_http_server`.
# Servers are stopped by their PIDs. Usage: bench/flash_sale_compare.sh [seconds per run, 5]
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
SECONDS_PER_RUN=${1:-5}
STOCK=${STOCK:-1000}
BUYERS=${BUYERS:-1000000}
FLASHSALE=$BUILD_DIR/cli/flashsale
TOKEN=bench-admin-token-$$
. bench/servers.sh # WORK, PIDS, cleanup on exit, wait_port

# One number from the one-line JSON report. Keys are sorted, so the first "latency_ms"
# object is the orders' (the payments' comes later, under "payments").
num() { # file key [object]
  local text; text=$(cat "$1")
  if [ -n "${3:-}" ]; then text=$(grep -oE "\"$3\":\{[^}]*\}" <<<"$text" | head -1); fi
  grep -oE "\"$2\":[-0-9.eE+]+" <<<"$text" | head -1 | cut -d: -f2
}
verdict() { grep -qE '"pass":true\}\}$' "$1" && echo pass || echo FAIL; }

# run_load name url extra-args... -> $WORK/name.json (progress lines in $WORK/name.log)
run_load() {
  local name=$1 url=$2; shift 2
  echo "+ flashsale load --url $url $*" >&2
  "$FLASHSALE" load --url "$url" --json "$@" > "$WORK/$name.json" 2> "$WORK/$name.log" || true
  if ! grep -q '"throughput_rps"' "$WORK/$name.json"; then
    echo "run $name produced no report: $(cat "$WORK/$name.log")" >&2; exit 1
  fi
}

start_servers
TURL=http://127.0.0.1:$TPORT
NURL=http://127.0.0.1:$NPORT
export FLASHSALE_ADMIN_TOKEN=$TOKEN

COMMON=(--buyers "$BUYERS" --duration "$SECONDS_PER_RUN" --seed 1)
for c in 64 256; do
  # The trivial server has no products: no --stock, so the load reads it (404) and goes on.
  run_load "trivial-c$c" "$TURL" --product bench "${COMMON[@]}" --concurrency "$c"
  run_load "node-c$c" "$NURL" --product "sale-c$c" --stock "$STOCK" "${COMMON[@]}" \
    --concurrency "$c"
done
PEAK=$(awk -v a="$(num "$WORK/node-c64.json" throughput_rps)" \
           -v b="$(num "$WORK/node-c256.json" throughput_rps)" 'BEGIN { print (a > b ? a : b) }')
RATE=$(awk -v p="$PEAK" 'BEGIN { printf "%d", p / 2 }')
run_load trivial-open "$TURL" --product bench "${COMMON[@]}" --concurrency 64 --rate "$RATE"
run_load node-open "$NURL" --product sale-open --stock "$STOCK" "${COMMON[@]}" \
  --concurrency 64 --rate "$RATE"

echo
echo "flashsale load, ${SECONDS_PER_RUN}s per run, POST /orders, stock $STOCK per node run," \
     "store.sync=full, $(nproc) cores shared by servers and load generator"
printf '%-22s %10s %10s %6s %8s %8s %8s %8s %8s %8s %7s %8s\n' run trivial/s node/s ratio \
  t_p50 n_p50 t_p99 n_p99 t_p99.9 n_p99.9 p99x node_ok
row() { # label name
  local t=$WORK/trivial-$2.json n=$WORK/node-$2.json
  awk -v label="$1" -v tr="$(num "$t" throughput_rps)" -v nr="$(num "$n" throughput_rps)" \
      -v t50="$(num "$t" p50 latency_ms)" -v n50="$(num "$n" p50 latency_ms)" \
      -v t99="$(num "$t" p99 latency_ms)" -v n99="$(num "$n" p99 latency_ms)" \
      -v t999="$(num "$t" p99_9 latency_ms)" -v n999="$(num "$n" p99_9 latency_ms)" \
      -v ok="$(verdict "$n")" 'BEGIN {
    printf "%-22s %10.0f %10.0f %6.2f %8.2f %8.2f %8.2f %8.2f %8.2f %8.2f %7.1f %8s\n",
      label, tr, nr, nr / tr, t50, n50, t99, n99, t999, n999, (t99 > 0 ? n99 / t99 : 0), ok }'
}
row "closed, 64 conns" c64
row "closed, 256 conns" c256
row "open ${RATE}/s, 64 conns" open
echo
echo "latencies in ms; ratio = node/trivial throughput; p99x = node p99 / trivial p99;"
echo "open loop: latency from the scheduled send time; node_ok = the node run's verdict"
for f in node-c64 node-c256 node-open; do
  printf '%s: accepted %s, sold_out %s, shed %s, errors %s\n' "$f" \
    "$(num "$WORK/$f.json" accepted)" "$(num "$WORK/$f.json" sold_out)" \
    "$(num "$WORK/$f.json" shed)" "$(num "$WORK/$f.json" errors)"
done
