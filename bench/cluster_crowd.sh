#!/usr/bin/env bash
# A flash crowd on a sold-out product through three cluster nodes against one single node, in
# one run on this machine (issue 23 item 1): every buyer on a new connection (wrk with
# `Connection: close`), LOADS wrk processes of CONNECTIONS/LOADS connections each, spread over
# the three nodes' edges (load k to node k mod 3; the product's owner is node 1) or all on the
# single node's. Two bodies each:
#   edge   the keyless single-product body: each node's HAProxy answers from its sold-out map,
#          which in cluster mode holds every owner's sold-out products;
#   node   the same with "request_id": null, which the edge leaves to the node: the single node
#          answers from its views, a cluster node from the availability every owner publishes
#          (cluster/availability_board), the owner's own from its partition.
# Prints buyers a second, the ratio three nodes / single, and the owner's share of the nodes'
# CPU (node + its HAProxy; the nats-servers apart). ROUNDS interleaved rounds (this shared
# machine moves by 2x between minutes). Every process is started here on free loopback ports
# and stopped by its PID. Needs wrk and a nats-server >= 2.12 (`make deps`).
# Usage: bench/cluster_crowd.sh [seconds per run, 10]
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
SECONDS_PER_RUN=${1:-10}
ROUNDS=${ROUNDS:-2}
CONNECTIONS=${CONNECTIONS:-63}
LOADS=3
PARTITIONS=12
TOKEN=bench-token-$$
# shellcheck source=bench/servers.sh
source bench/servers.sh
command -v wrk > /dev/null || { echo "wrk is not installed: make deps" >&2; exit 1; }
export FLASHSALE_ADMIN_TOKEN=$TOKEN

# sell_out PORT PRODUCT: defines it with one unit and buys it, then waits until the edge of
# every port in EDGES answers its buyers (its map holds the product).
sell_out() {
  local port=$1 product=$2 e
  for _ in $(seq 1 100); do # a cluster partition may still be out of its window: retry
    curl -sf -X PUT "http://127.0.0.1:$port/products/$product" -H "Authorization: Bearer $TOKEN" \
      -H 'Content-Type: application/json' -d '{"name":"gone","stock":1}' > /dev/null && break
    sleep 0.1
  done
  curl -sf -X POST "http://127.0.0.1:$port/orders" -H 'Content-Type: application/json' \
    -d '{"user_id":"first","product_id":"'"$product"'","quantity":1}' > /dev/null
  for e in $EDGES; do
    for _ in $(seq 1 100); do
      [ "$(edge_answered "$e")" != 0 ] && break
      curl -s -o /dev/null -X POST "http://127.0.0.1:$e/orders" -H 'Content-Type: application/json' \
        -d '{"user_id":"probe","product_id":"'"$product"'","quantity":1}'
      sleep 0.05
    done
    [ "$(edge_answered "$e")" != 0 ] || { echo "the edge on $e never turned a buyer away" >&2; exit 1; }
  done
}
edge_answered() {
  curl -sf "http://127.0.0.1:$1/metrics" |
    awk '/^flashsale_edge_orders_total\{outcome="sold_out"\}/ { print $2 }'
}
owned_by_node1() { # a product id whose partition node n1 serves (its /health)
  python3 - "$PARTITIONS" "$(curl -sf "http://127.0.0.1:$PORT_n1/health")" <<'EOF'
import json, sys
partitions, served = int(sys.argv[1]), set(json.loads(sys.argv[2])["cluster"]["partitions"])
def partition(s):
    h = 0xcbf29ce484222325
    for b in s.encode():
        h = ((h ^ b) * 0x100000001b3) & 0xffffffffffffffff
    return h % partitions
print(next("gone-%d" % i for i in range(10000) if partition("gone-%d" % i) in served))
EOF
}
haproxy_of() { cat "$WORK/data-$1/haproxy.pid"; }

# The single node (NATS off, as in bench/edge_sold_out.sh) and three cluster nodes with their
# embedded edges (http.front's default), all up for the whole run.
start_node single
start_nats_cluster c
for n in n1 n2 n3; do
  start_node "$n" --set nats.url="$CLUSTER_URLS" --set cluster.enabled=true \
    --set cluster.node_id="$n" --set cluster.partitions=$PARTITIONS
done
wait_served "$PORT_n1" "$PORT_n2" "$PORT_n3"
EDGES=$PORT_single sell_out "$PORT_single" gone
PRODUCT_CLUSTER=$(owned_by_node1)
EDGES="$PORT_n1 $PORT_n2 $PORT_n3" sell_out "$PORT_n2" "$PRODUCT_CLUSTER"

# crowd NAME PRODUCT BODY PORT... -> $WORK/NAME-k.txt (wrk's reports), $WORK/NAME.cpu (ticks
# per node: "node=ticks" lines, node + HAProxy), $WORK/NAME.nats (the nats-servers' ticks)
crowd() {
  local name=$1 product=$2 body=$3; shift 3
  local ports=("$@") nodes=() k n before=() loaders=() nats_before
  [ "${#ports[@]}" -eq 1 ] && nodes=(single) || nodes=(n1 n2 n3)
  for n in "${nodes[@]}"; do
    local pid_var="PID_$n"
    before+=("$(cpu_ticks "${!pid_var}" "$(haproxy_of "$n")")")
  done
  nats_before=$(cpu_ticks "${CLUSTER_PIDS[@]}")
  for ((k = 0; k < LOADS; k++)); do
    env PRODUCT="$product" ${body:+BODY=$body} wrk -t1 -c$((CONNECTIONS / LOADS)) \
      -d"${SECONDS_PER_RUN}s" -H 'Connection: close' -s bench/orders.lua \
      "http://127.0.0.1:${ports[$((k % ${#ports[@]}))]}/orders" > "$WORK/$name-$k.txt" 2>&1 &
    loaders+=($!)
  done
  for pid in "${loaders[@]}"; do wait "$pid"; done
  : > "$WORK/$name.cpu"
  for k in "${!nodes[@]}"; do
    n=${nodes[$k]}
    local pid_var="PID_$n"
    echo "$n=$(($(cpu_ticks "${!pid_var}" "$(haproxy_of "$n")") - before[k]))" >> "$WORK/$name.cpu"
  done
  echo $(($(cpu_ticks "${CLUSTER_PIDS[@]}") - nats_before)) > "$WORK/$name.nats"
}

LOAD=$(cut -d' ' -f1-3 /proc/loadavg)
for round in $(seq 1 "$ROUNDS"); do
  for body in edge node; do
    b=""; [ "$body" = node ] && b=node
    echo "+ round $round, $body: single node" >&2
    crowd "single-$body-$round" gone "$b" "$PORT_single"
    echo "+ round $round, $body: three nodes" >&2
    crowd "three-$body-$round" "$PRODUCT_CLUSTER" "$b" "$PORT_n1" "$PORT_n2" "$PORT_n3"
  done
done

echo
echo "$(nproc) cores shared by everything (load average before: $LOAD); $LOADS x wrk -t1" \
     "-c$((CONNECTIONS / LOADS)), ${SECONDS_PER_RUN} s per run, Connection: close;" \
     "the product's owner is n1"
python3 - "$WORK" "$ROUNDS" "$(getconf CLK_TCK)" <<'EOF'
import glob, re, sys
work, rounds, hz = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
def wrk(name):
    rps = total = bad = errs = 0
    for f in sorted(glob.glob("%s/%s-[0-9].txt" % (work, name))):
        t = open(f).read()
        rps += float(re.search(r"Requests/sec:\s+([\d.]+)", t).group(1))
        n = int(re.search(r"(\d+) requests in", t).group(1))
        total += n
        non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", t)
        bad += n - (int(non2xx.group(1)) if non2xx else 0)
        errs += sum(int(x) for x in re.findall(r"(?:connect|read|write|timeout) (\d+)", t))
    return rps, total, bad, errs
def cpu(name):
    return dict((l.split("=")[0], int(l.split("=")[1])) for l in open("%s/%s.cpu" % (work, name)))
print("%-5s %-5s %10s %10s %7s %12s %14s %14s %16s" % ("round", "body", "single/s", "three/s",
      "ratio", "owner share", "µs/buyer 1|3", "nats µs/buyer", "errors/non-409"))
sums = {}
for body in ("edge", "node"):
    for r in range(1, rounds + 1):
        s, t = wrk("single-%s-%d" % (body, r)), wrk("three-%s-%d" % (body, r))
        cs, ct = cpu("single-%s-%d" % (body, r)), cpu("three-%s-%d" % (body, r))
        nats = int(open("%s/three-%s-%d.nats" % (work, body, r)).read())
        us = lambda ticks, n: ticks / hz * 1e6 / max(n, 1)
        share = ct["n1"] / max(sum(ct.values()), 1)
        print("%-5d %-5s %10.0f %10.0f %7.2f %12.2f %8.0f|%-5.0f %14.0f %16s" % (
            r, body, s[0], t[0], t[0] / s[0], share, us(sum(cs.values()), s[1]),
            us(sum(ct.values()), t[1]), us(nats, t[1]), "%d/%d; %d/%d" % (s[3], s[2], t[3], t[2])))
        a = sums.setdefault(body, [0, 0])
        a[0] += s[1]; a[1] += t[1]
for body, (s, t) in sums.items():
    print("all   %-5s %10d %10d %7.2f  (buyers answered over the rounds)" % (body, s, t, t / s))
EOF
