#!/usr/bin/env bash
# The flash crowd as it really comes (issue 13), node against the trivial httplib server
# behind the same front, in one run on this machine, the load generator on the same cores:
#   1. BUYERS buyers, each on a connection of their own, arriving within 1 s, 100 units,
#      staying connected (idle) HOLD s after their answer: every buyer's wait, connect to answer;
#   2. the same beside IDLE silent sockets (slowloris);
#   3. 64 busy keep-alive connections, stock 1000 (mostly sold out): throughput;
#   4. unique users, unlimited stock (every order a reservation), with wrk: bare node against
#      bare trivial server, and both behind the front.
# The node runs on its defaults (the HAProxy front, embedded NATS; NATS=off to leave it out)
# with store.sync=full; "the
# same front" is the node's own generated HAProxy configuration (bench/edge_front_runner)
# with the node's backend connection limit. The trivial server has no products, so its load
# runs fail their verdict by design: only their timings are used.
# Builds nothing: expects build/ (or BUILD_DIR). Usage: bench/crowd_compare.sh [seconds, 5]
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
SECONDS_PER_RUN=${1:-5}
BUYERS=${BUYERS:-10000}
IDLE=${IDLE:-1000}
HOLD=${HOLD:-5}
NATS=${NATS:-embedded} # the node's default; NATS=off measures the node without publishing
FLASHSALE=$BUILD_DIR/cli/flashsale
TOKEN=bench-admin-token-$$
. bench/servers.sh # WORK, PIDS, cleanup on exit, start_trivial / start_node / start_edge

num() { # file key [object]
  local text; text=$(cat "$1")
  if [ -n "${3:-}" ]; then text=$(grep -oE "\"$3\":\{[^}]*\}" <<<"$text" | head -1); fi
  grep -oE "\"$2\":[-0-9.eE+]+" <<<"$text" | head -1 | cut -d: -f2
}
run_load() { # name url args...
  local name=$1 url=$2; shift 2
  echo "+ flashsale load --url $url $*" >&2
  "$FLASHSALE" load --url "$url" --json "$@" > "$WORK/$name.json" 2> "$WORK/$name.log" || true
  grep -q '"throughput_rps"' "$WORK/$name.json" ||
    { echo "run $name produced no report: $(cat "$WORK/$name.log")" >&2; exit 1; }
}
wrk_rps() { # url -> requests/s of wrk, 64 connections, unique users, unlimited stock
  wrk -t2 -c64 -d"${SECONDS_PER_RUN}s" -s bench/orders.lua "$1/orders" |
    awk '/Requests\/sec/ { printf "%.0f", $2 }'
}

start_trivial
start_node front --set nats.url="$NATS"
start_node bare --set http.front=none
THREADS=$(grep -oE 'maxconn [0-9]+ pool-max-conn' "$WORK/data-front/haproxy.cfg" | cut -d' ' -f2)
start_edge tfront "$TPORT" "$THREADS"
TURL=http://127.0.0.1:$TPORT
TFURL=http://127.0.0.1:$PORT_tfront
NFURL=http://127.0.0.1:$PORT_front
NBURL=http://127.0.0.1:$PORT_bare
export FLASHSALE_ADMIN_TOKEN=$TOKEN

CROWD=(--crowd --buyers "$BUYERS" --arrival-window 1 --hold "$HOLD" --seed 1)
# A warm-up crowd each (not reported): the first crowd a fresh process meets is slower.
run_load warm-t "$TFURL" --product bench --crowd --buyers 2000 --seed 9
run_load warm-n "$NFURL" --product warm --stock 100 --crowd --buyers 2000 --seed 9
# Two rounds, interleaved: one crowd's p99 moves by 2x between runs on this shared machine.
for round in 1 2; do
  run_load "crowd-t$round" "$TFURL" --product bench "${CROWD[@]}"
  run_load "crowd-n$round" "$NFURL" --product "crowd-a$round" --stock 100 "${CROWD[@]}"
  run_load "idle-t$round" "$TFURL" --product bench "${CROWD[@]}" --idle-sockets "$IDLE"
  run_load "idle-n$round" "$NFURL" --product "crowd-b$round" --stock 100 "${CROWD[@]}" \
    --idle-sockets "$IDLE"
done

BUSY=(--buyers 1000000 --duration "$SECONDS_PER_RUN" --concurrency 64 --seed 1)
run_load busy-tb "$TURL" --product bench "${BUSY[@]}"
run_load busy-tf "$TFURL" --product bench "${BUSY[@]}"
run_load busy-nf "$NFURL" --product sale-busy --stock 1000 "${BUSY[@]}"

for url in "$NFURL" "$NBURL"; do
  curl -sf -X PUT "$url/products/bench" -H "Authorization: Bearer $TOKEN" \
    -H 'Content-Type: application/json' -d '{"name":"bench","stock":1000000000}' > /dev/null
done
echo "+ wrk -t2 -c64 -d${SECONDS_PER_RUN}s (unique users, unlimited stock) x4" >&2
U_TB=$(wrk_rps "$TURL"); U_NB=$(wrk_rps "$NBURL"); U_TF=$(wrk_rps "$TFURL"); U_NF=$(wrk_rps "$NFURL")

echo
echo "$(nproc) cores shared by HAProxy, the servers and the load generator; node: defaults" \
     "(front, nats.url=$NATS), store.sync=full, $THREADS backend connections"
echo
echo "1-2. crowd: $BUYERS buyers, own connections, within 1 s, idle ${HOLD} s after; waits in ms"
printf '%-40s %9s %9s %9s %7s %10s %9s\n' run p50 p99 max '>1s' unanswered accepted
crowd_row() { # label name
  local f=$WORK/$2.json
  printf '%-40s %9.1f %9.1f %9.1f %7s %10s %9s\n' "$1" "$(num "$f" p50 latency_ms)" \
    "$(num "$f" p99 latency_ms)" "$(num "$f" max latency_ms)" "$(num "$f" over_1s crowd)" \
    "$(num "$f" unanswered crowd)" "$(num "$f" accepted outcomes)"
}
for round in 1 2; do
  crowd_row "round $round: trivial behind the front" "crowd-t$round"
  crowd_row "round $round: node behind the front" "crowd-n$round"
  crowd_row "round $round: trivial, + $IDLE idle sockets" "idle-t$round"
  crowd_row "round $round: node, + $IDLE idle sockets" "idle-n$round"
done
for round in 1 2; do
  awk -v round="$round" -v t="$(num "$WORK/crowd-t$round.json" p99 latency_ms)" \
      -v n="$(num "$WORK/crowd-n$round.json" p99 latency_ms)" \
      -v i="$(num "$WORK/idle-n$round.json" p99 latency_ms)" 'BEGIN {
    printf "round %s: p99 node / trivial behind the same front %.2f (target <= 2), node with" \
           " idle sockets / without %.2f (target <= 2)\n", round, n / t, i / n }'
done
echo
echo "3. 64 busy connections, stock 1000 (mostly sold out), ${SECONDS_PER_RUN} s; flashsale load"
printf '%-40s %10s %9s %9s\n' run req/s p50_ms p99_ms
busy_row() {
  local f=$WORK/$2.json
  printf '%-40s %10.0f %9.2f %9.2f\n' "$1" "$(num "$f" throughput_rps)" \
    "$(num "$f" p50 latency_ms)" "$(num "$f" p99 latency_ms)"
}
busy_row "trivial httplib, bare" busy-tb
busy_row "trivial httplib behind the front" busy-tf
busy_row "flashsale node behind the front" busy-nf
awk -v tb="$(num "$WORK/busy-tb.json" throughput_rps)" -v tf="$(num "$WORK/busy-tf.json" throughput_rps)" \
    -v nf="$(num "$WORK/busy-nf.json" throughput_rps)" 'BEGIN {
  printf "node / trivial behind the same front: %.2f (target >= 0.85); node / bare trivial: %.2f\n",
    nf / tf, nf / tb }'
printf 'node run: accepted %s, sold_out %s, errors %s\n' "$(num "$WORK/busy-nf.json" accepted)" \
  "$(num "$WORK/busy-nf.json" sold_out)" "$(num "$WORK/busy-nf.json" errors)"
echo
echo "4. unique users, unlimited stock (every order a reservation), wrk 64 connections, req/s"
printf '%-40s %10s\n' "trivial httplib, bare" "$U_TB"
printf '%-40s %10s\n' "flashsale node, bare (http.front=none)" "$U_NB"
printf '%-40s %10s\n' "trivial httplib behind the front" "$U_TF"
printf '%-40s %10s\n' "flashsale node behind the front" "$U_NF"
awk -v tb="$U_TB" -v nb="$U_NB" -v tf="$U_TF" -v nf="$U_NF" 'BEGIN {
  printf "bare node / bare trivial: %.2f; node / trivial behind the front: %.2f\n", nb / tb, nf / tf }'
echo
passed=$(cat "$WORK"/crowd-n?.json "$WORK"/idle-n?.json | grep -c '"pass":true}}$' || true)
echo "verdicts of the node's crowd runs (exactly the stock accepted, every buyer answered):" \
     "$passed of 4 passed"
