#!/usr/bin/env bash
# Cluster mode with 1, 2 and 3 nodes against one single node, in one run (issues 15, 21): the same
# offered load each time (LOADS `flashsale load` processes, closed loop, CONCURRENCY
# connections each, one product each, the products in different partitions, unlimited
# stock), load k sent to node k mod N whatever the owner, so with several nodes most requests
# are forwarded by request/reply to their owner. Prints per setup orders/s, the worst of the
# loads' p99, CPU per order of the nodes plus the nats-servers (the load generators share the
# cores but are not counted) and, for the cluster, the Raft entries its partition logs
# committed per accepted order (bench/raft_entries.py); then the ratios against the single
# node with its embedded nats-server (its outbox publishing every event), the like-for-like
# baseline (issue 21's target: cluster CPU per order <= 2x it), and with NATS off.
#   bench/cluster_nodes.sh [SECONDS]      (default 8 s per setup)
# Every process is started here, on free loopback ports, and stopped by its PID. The single
# node's durability is its fsync'd SQLite store; cluster mode's 2xx waits for the partition's
# R3 log (one atomic batch per group commit), so the ratio is the price of replication.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
SECONDS_PER_RUN=${1:-8}
LOADS=${LOADS:-3}
CONCURRENCY=${CONCURRENCY:-8}
PARTITIONS=12
cmake --build "$BUILD_DIR" -j2 --target flashsale > /dev/null
TOKEN=bench-token-$$
# shellcheck source=bench/servers.sh
source bench/servers.sh
HZ=$(getconf CLK_TCK)

# LOADS product ids in LOADS different partitions (the nodes' FNV-1a rule).
mapfile -t PRODUCTS < <(python3 - "$LOADS" "$PARTITIONS" <<'EOF'
import sys
loads, partitions = int(sys.argv[1]), int(sys.argv[2])
def partition(s):
    h = 0xcbf29ce484222325
    for b in s.encode():
        h = ((h ^ b) * 0x100000001b3) & 0xffffffffffffffff
    return h % partitions
seen, i = set(), 0
while len(seen) < min(loads, partitions):
    p = partition("bench-%d" % i)
    if p not in seen:
        seen.add(p)
        print("bench-%d" % i)
    i += 1
EOF
)

# sale NAME PORTS -- NODE_PIDS -- SERVER_PIDS: runs the loads against the ports, prints one
# result line (CPU of the nodes and of the nats-servers apart, then in all).
sale() {
  local name=$1; shift
  local ports=() nodes=() servers=() k
  while [ "$1" != "--" ]; do ports+=("$1"); shift; done
  shift
  while [ $# -gt 0 ] && [ "$1" != "--" ]; do nodes+=("$1"); shift; done
  [ $# -gt 0 ] && shift
  servers=("$@")
  local nodes_before servers_before=0 nodes_after servers_after=0 raft_before=0 raft_after=0
  [ -n "${RAFT_MONITORS:-}" ] && raft_before=$(bench/raft_entries.py "$RAFT_MONITORS" FLASHSALE_P)
  nodes_before=$(cpu_ticks "${nodes[@]}")
  [ ${#servers[@]} -gt 0 ] && servers_before=$(cpu_ticks "${servers[@]}")
  local loaders=()
  for ((k = 0; k < LOADS; k++)); do
    "$BUILD_DIR/cli/flashsale" load --url "http://127.0.0.1:${ports[$((k % ${#ports[@]}))]}" \
      --product "${PRODUCTS[$k]}" --stock 1000000000 --admin-token "$TOKEN" \
      --buyers 100000000 --seed "$((k + 1))" --concurrency "$CONCURRENCY" \
      --duration "$SECONDS_PER_RUN" --json > "$WORK/$name-load$k.json" 2> "$WORK/$name-load$k.log" &
    loaders+=($!)
  done
  for pid in "${loaders[@]}"; do wait "$pid" || true; done
  nodes_after=$(cpu_ticks "${nodes[@]}")
  [ ${#servers[@]} -gt 0 ] && servers_after=$(cpu_ticks "${servers[@]}")
  [ -n "${RAFT_MONITORS:-}" ] && raft_after=$(bench/raft_entries.py "$RAFT_MONITORS" FLASHSALE_P)
  python3 - "$name" "$((nodes_after - nodes_before))" "$((servers_after - servers_before))" \
    "$HZ" "$((raft_after - raft_before))" "$WORK/$name"-load*.json <<'EOF'
import json, sys
name, node_ticks, server_ticks, hz = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
raft = int(sys.argv[5])
reports = [json.load(open(f)) for f in sys.argv[6:]]
accepted = sum(r["outcomes"]["accepted"] for r in reports)
other = sum(r["requests"] - r["outcomes"]["accepted"] for r in reports)
elapsed = max(r["elapsed_s"] for r in reports)
p99 = max(r["latency_ms"]["p99"] for r in reports)
us = lambda ticks: ticks / hz * 1e6 / max(accepted, 1)
print("%s orders_per_s=%.0f p99_ms=%.2f node_cpu_us=%.0f nats_cpu_us=%.0f cpu_us_per_order=%.0f"
      " raft_entries_per_order=%.3f not_accepted=%d" % (
          name, accepted / elapsed, p99, us(node_ticks), us(server_ticks),
          us(node_ticks + server_ticks), raft / max(accepted, 1), other))
EOF
}

# A cluster node NAME on CLUSTER_URLS; sets PORT_<NAME>, PID_<NAME>.
cluster_node() {
  start_node "$1" --set http.front=none --set nats.url="$CLUSTER_URLS" \
    --set cluster.enabled=true --set cluster.node_id="$1" --set cluster.partitions=$PARTITIONS
}

echo "# $LOADS loads x $CONCURRENCY connections, ${SECONDS_PER_RUN} s each, $(nproc) cores shared by everything"
# The single node with its embedded nats-server (a child of the node: counted as a server).
start_node single --set http.front=none --set nats.url=embedded
embedded=()
for _ in $(seq 1 100); do
  mapfile -t embedded < <(ps -o pid= --ppid "$PID_single" | tr -d ' ')
  [ ${#embedded[@]} -gt 0 ] && break
  sleep 0.1
done
RESULTS=("$(sale single "$PORT_single" -- "$PID_single" -- "${embedded[@]}")")
echo "${RESULTS[0]}"
stop_pids "$PID_single"
start_node single_off --set http.front=none
line=$(sale single_nats_off "$PORT_single_off" -- "$PID_single_off")
echo "$line"
RESULTS+=("$line")
stop_pids "$PID_single_off"

for n in 1 2 3; do
  start_nats_cluster "c$n"
  ports=() node_pids=()
  for ((i = 1; i <= n; i++)); do
    cluster_node "n$i"
    port_var="PORT_n$i"; pid_var="PID_n$i"
    ports+=("${!port_var}"); node_pids+=("${!pid_var}")
  done
  wait_served "${ports[@]}"
  line=$(RAFT_MONITORS=$CLUSTER_MONITORS sale "nodes=$n" "${ports[@]}" -- "${node_pids[@]}" \
    -- "${CLUSTER_PIDS[@]}")
  echo "$line"
  RESULTS+=("$line")
  stop_pids "${node_pids[@]}"
  stop_pids "${CLUSTER_PIDS[@]}"
done

python3 - "${RESULTS[@]}" <<'EOF'
import sys
rows = [dict(kv.split("=") for kv in line.split()[1:]) | {"name": line.split()[0]} for line in sys.argv[1:]]
base = rows[0]
for r in rows[1:]:
    print("%s / single (embedded NATS): orders/s %.2f  p99 %.2f  cpu per order %.2f" % (
        r["name"], float(r["orders_per_s"]) / float(base["orders_per_s"]),
        float(r["p99_ms"]) / float(base["p99_ms"]),
        float(r["cpu_us_per_order"]) / float(base["cpu_us_per_order"])))
one = rows[2]
for r in rows[3:]:
    print("%s / nodes=1: orders/s %.2f" % (r["name"], float(r["orders_per_s"]) / float(one["orders_per_s"])))
EOF
