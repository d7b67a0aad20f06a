#!/usr/bin/env bash
# shellcheck disable=SC2154 # PORT_<name> and PID_<name> are set by start_node (printf -v)
# The headline in the cluster (issue 23 item 4): a sale of STOCK (1,000) units of one hot product
# to a crowd through three cluster nodes for SECONDS (60), every buyer on a new connection (wrk
# with `Connection: close`, one POST /orders, then close), with the hot product's owner
# SIGKILLed KILL_AT (20) s in; and, in the same run, the same crowd on one single node (cluster
# off) for the ratio, as bench/cluster_crowd.sh does.
#
# The crowd: LOADS (3) wrk processes of CONNECTIONS/LOADS connections each (-t1), load k sent to
# node k's edge (its HAProxy); the single node's run sends all three to its one edge. When the
# owner dies, its load's wrk is stopped (SIGINT: it reports) and a new one takes its place on
# the next surviving node's edge for the rest of the run: the buyers a client would send to the
# next address once the dead one refuses (DNS round robin); nothing else is retried. The buyers
# in flight on the dead node's edge at the kill lose their connection: wrk counts them as
# socket errors (read), and the script prints them apart.
#
# bench/headline.lua records every answer: counts by status and second, 503s without
# Retry-After (errors), and the order id of every 201. Afterwards the script checks, on a
# surviving node once every partition is served again: the product's view (stock, available,
# reserved, sold; nothing is paid in this run, so the units sold in the sale are the reserved
# ones: reserved + sold must be exactly STOCK), and every 201's order id read back with
# GET /orders/<id> (lost = a 201 whose order cannot be read, or is not reserved/paid).
# It prints buyers/s for each setup, the ratio, p50/p99/max (wrk's latency: request sent to
# answer read, merged over the wrk processes), answers by status, socket errors, sold, lost,
# what happened around the kill (answers per second, when every partition was served again),
# and every process's CPU per buyer (from /proc/PID/stat) with what a machine per node would
# answer from it.
#
# Every process is started here on free loopback ports and stopped by its PID on exit (trap in
# bench/servers.sh), failures included. Needs wrk, curl, python3 and a nats-server >= 2.12
# (`make deps`, or CLUSTER_NATS_SERVER). Builds nothing: expects build/ (or BUILD_DIR).
#
# Usage: bench/cluster_headline.sh [SECONDS, 60] [KILL_AT, 20]
#   env: CONNECTIONS (63), LOADS (3), STOCK (1000), PARTITIONS (12), TIMEOUT (wrk's, 10 s),
#        SINGLE=0 (skip the single node's run), KILL=0 (no SIGKILL), KEEP=DIR (copy the
#        scratch dir there at the end: logs, wrk reports, timelines, order ids)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
SECONDS_RUN=${1:-${SECONDS_RUN:-60}}
KILL_AT=${2:-${KILL_AT:-20}}
CONNECTIONS=${CONNECTIONS:-63}
LOADS=${LOADS:-3}
STOCK=${STOCK:-1000}
PARTITIONS=${PARTITIONS:-12}
TIMEOUT=${TIMEOUT:-10}
SINGLE=${SINGLE:-1}
KILL=${KILL:-1}
PRODUCT=hot
TOKEN=bench-token-$$
[ "$KILL_AT" -lt "$SECONDS_RUN" ] || { echo "KILL_AT must be below SECONDS" >&2; exit 2; }
# shellcheck source=bench/servers.sh
source bench/servers.sh # WORK, PIDS, cleanup on exit (by PID), start_node, start_nats_cluster...
command -v wrk > /dev/null || { echo "wrk is not installed: make deps" >&2; exit 1; }
if [ -n "${KEEP:-}" ]; then
  trap 'mkdir -p "$KEEP" && cp -r "$WORK"/. "$KEEP"/ 2>/dev/null; cleanup' EXIT
fi
export FLASHSALE_ADMIN_TOKEN=$TOKEN
HZ=$(getconf CLK_TCK)

haproxy_of() { cat "$WORK/data-$1/haproxy.pid"; }
# ticks PID... -> TICKS: their utime+stime in clock ticks, read without forking (bash builtins)
ticks() {
  local pid f
  TICKS=0
  for pid in "$@"; do
    read -r -a f < "/proc/$pid/stat" && TICKS=$((TICKS + f[13] + f[14]))
  done
}

# define PORT: the hot product, STOCK units, holds long enough to outlast the run (no unit
# comes back during it). A cluster partition may be out of its window for a moment: retried.
define() {
  for _ in $(seq 1 200); do
    curl -sf -X PUT "http://127.0.0.1:$1/products/$PRODUCT" -H "Authorization: Bearer $TOKEN" \
      -H 'Content-Type: application/json' \
      -d '{"name":"hot","stock":'"$STOCK"',"hold_seconds":3600}' > /dev/null && return 0
    sleep 0.1
  done
  echo "could not define $PRODUCT on port $1" >&2; return 1
}

# owner_of PORT -> the node id owning the hot product's partition (GET /cluster)
owner_of() {
  python3 - "$PARTITIONS" "$PRODUCT" "$(curl -sf "http://127.0.0.1:$1/cluster")" <<'EOF'
import json, sys
partitions, product, view = int(sys.argv[1]), sys.argv[2], json.loads(sys.argv[3])
h = 0xcbf29ce484222325
for b in product.encode():
    h = ((h ^ b) * 0x100000001b3) & 0xffffffffffffffff
p = h % partitions
print(next(x["owner"] for x in view["partitions"] if x["partition"] == p) or "")
EOF
}

# load NAME PORT SECONDS -> starts one wrk in the background, sets LOAD_PID
load() {
  env PRODUCT="$PRODUCT" OUT="$WORK/$1" TAG="$1" wrk -t1 -c$((CONNECTIONS / LOADS)) -d"$3s" \
    --timeout "${TIMEOUT}s" -H 'Connection: close' -s bench/headline.lua \
    "http://127.0.0.1:$2/orders" > "$WORK/$1.txt" 2>&1 &
  LOAD_PID=$!
  PIDS+=("$LOAD_PID")
}

# served_by PORT... -> how many partitions the nodes on PORTS serve between them (their /health)
served_by() {
  local served=0 port body list
  for port in "$@"; do
    body=$(curl -sf -m 1 "http://127.0.0.1:$port/health") || continue
    if [[ $body =~ \"partitions\":\[([0-9,]*)\] ]]; then
      list=${BASH_REMATCH[1]//[0-9]/}
      [ -n "${BASH_REMATCH[1]}" ] && served=$((served + ${#list} + 1))
    fi
  done
  echo "$served"
}

# wait_loads PID... : waits for the wrk processes, reading their CPU every 0.2 s while they run
# (bash reaps a background child at once: its /proc is gone when it ends); sets LOAD_TICKS to
# the sum of the last readings.
wait_loads() {
  declare -A last=()
  local pid alive=1
  while [ "$alive" = 1 ]; do
    alive=0
    for pid in "$@"; do
      if [ -e "/proc/$pid/stat" ] && ticks "$pid" 2> /dev/null; then
        last[$pid]=$TICKS; alive=1
      fi
    done
    sleep 0.2
  done
  LOAD_TICKS=0
  for pid in "$@"; do
    LOAD_TICKS=$((LOAD_TICKS + ${last[$pid]:-0})); wait "$pid" || true
  done
}

# the machine's busy time, every process (user, nice, system, irq, softirq; not the VM's steal)
machine_ticks() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 }' /proc/stat; }

LOAD_AVG=$(cut -d' ' -f1-3 /proc/loadavg)
echo "+ starting the single node, three nats-servers, three cluster nodes" >&2
[ "$SINGLE" = 1 ] && start_node single
start_nats_cluster c
NODES=(n1 n2 n3)
for n in "${NODES[@]}"; do
  start_node "$n" --set nats.url="$CLUSTER_URLS" --set cluster.enabled=true \
    --set cluster.node_id="$n" --set cluster.partitions="$PARTITIONS"
done
wait_served "$PORT_n1" "$PORT_n2" "$PORT_n3"

# ---- the single node
if [ "$SINGLE" = 1 ]; then
  define "$PORT_single"
  echo "+ single node: $LOADS x wrk -c$((CONNECTIONS / LOADS)), ${SECONDS_RUN} s" >&2
  before_single=$(cpu_ticks "$PID_single" "$(haproxy_of single)")
  before_single_edge=$(cpu_ticks "$(haproxy_of single)")
  before_machine=$(machine_ticks)
  wrks=()
  for ((k = 0; k < LOADS; k++)); do
    load "single-$k" "$PORT_single" "$SECONDS_RUN"; wrks+=("$LOAD_PID")
  done
  wait_loads "${wrks[@]}"
  wrk_ticks=$LOAD_TICKS
  {
    echo "single=$(($(cpu_ticks "$PID_single" "$(haproxy_of single)") - before_single))"
    echo "single.edge=$(($(cpu_ticks "$(haproxy_of single)") - before_single_edge))"
    echo "wrk=$wrk_ticks"
    echo "machine=$(($(machine_ticks) - before_machine))"
  } > "$WORK/single.cpu"
  curl -sf "http://127.0.0.1:$PORT_single/products/$PRODUCT" > "$WORK/single.product"
  # the single node is done: stopped so that it takes no CPU from the cluster's run
  stop_pids "$PID_single"
fi

# ---- three cluster nodes
define "$PORT_n1"
OWNER=$(owner_of "$PORT_n1")
[ -n "$OWNER" ] || { echo "the hot product's partition has no owner" >&2; exit 1; }
echo "+ three nodes: the hot product's owner is $OWNER; SIGKILL at ${KILL_AT} s" >&2
declare -A before before_edge
for n in "${NODES[@]}"; do
  pid_var="PID_$n"; before[$n]=$(cpu_ticks "${!pid_var}" "$(haproxy_of "$n")")
  before_edge[$n]=$(cpu_ticks "$(haproxy_of "$n")")
done
before_nats=$(cpu_ticks "${CLUSTER_PIDS[@]}")
before_machine=$(machine_ticks)
# The timing from here to the kill and the move of its loads forks nothing but what it starts:
# on a loaded machine a python3 or even an awk can take seconds to start.
OWNER_PID_VAR="PID_$OWNER"; OWNER_PID=${!OWNER_PID_VAR}; OWNER_HAPROXY=$(haproxy_of "$OWNER")
T0=${EPOCHREALTIME/./}
wrks=(); declare -A wrk_of
for ((k = 0; k < LOADS; k++)); do
  n=${NODES[$((k % 3))]}; port_var="PORT_$n"
  load "three-$k" "${!port_var}" "$SECONDS_RUN"; wrks+=("$LOAD_PID"); wrk_of[$k]=$LOAD_PID
done

declare -A after after_edge
killed_wrk_ticks=0
if [ "$KILL" = 1 ]; then
  left=$((KILL_AT * 1000000 - (${EPOCHREALTIME/./} - T0)))
  [ "$left" -gt 0 ] && sleep "$((left / 1000000)).$(printf '%06d' $((left % 1000000)))"
  ticks "$OWNER_HAPROXY"; after_edge[$OWNER]=$TICKS
  ticks "$OWNER_PID" "$OWNER_HAPROXY"; after[$OWNER]=$TICKS
  kill -KILL "$OWNER_PID"
  T_KILL=${EPOCHREALTIME/./}
  # Its loads stop at once (they report) and move to the next surviving node.
  moving=()
  for ((k = 0; k < LOADS; k++)); do
    [ "${NODES[$((k % 3))]}" = "$OWNER" ] || continue
    ticks "${wrk_of[$k]}"; killed_wrk_ticks=$((killed_wrk_ticks + TICKS))
    kill -INT "${wrk_of[$k]}"
    moving+=("$k")
  done
  SURVIVORS=(); for n in "${NODES[@]}"; do [ "$n" = "$OWNER" ] || SURVIVORS+=("$n"); done
  # Every process's CPU at the kill, to split the run in its two phases (three nodes, two).
  at_kill_nodes=${after[$OWNER]}
  for n in "${SURVIVORS[@]}"; do
    pid_var="PID_$n"; ticks "${!pid_var}" "$(< "$WORK/data-$n/haproxy.pid")"
    at_kill_nodes=$((at_kill_nodes + TICKS))
  done
  ticks "${CLUSTER_PIDS[@]}"; at_kill_nats=$TICKS
  at_kill_wrk=0 # the killed loads' last readings are in killed_wrk_ticks
  for pid in "${wrks[@]}"; do
    for k in "${moving[@]}"; do [ "$pid" = "${wrk_of[$k]}" ] && continue 2; done
    ticks "$pid"; at_kill_wrk=$((at_kill_wrk + TICKS))
  done
  read -r -a c < /proc/stat; at_kill_machine=$((c[1] + c[2] + c[3] + c[6] + c[7]))
  s=0
  for k in "${moving[@]}"; do
    wait "${wrk_of[$k]}" || true
    for i in "${!wrks[@]}"; do [ "${wrks[$i]}" = "${wrk_of[$k]}" ] && unset "wrks[$i]"; done
    to=${SURVIVORS[$((s % 2))]}; s=$((s + 1)); port_var="PORT_$to"
    rest=$(((SECONDS_RUN * 1000000 - (${EPOCHREALTIME/./} - T0) + 500000) / 1000000))
    [ "$rest" -ge 1 ] || rest=1
    load "three-$k-moved" "${!port_var}" "$rest"; wrks+=("$LOAD_PID")
    echo "$k $to" >> "$WORK/moved"
  done
  T_MOVED=${EPOCHREALTIME/./}
  echo "+ killed $OWNER (pid $OWNER_PID) at $(((T_KILL - T0) / 1000)) ms; its load moved to" \
       "the survivors $(((T_MOVED - T_KILL) / 1000)) ms later" >&2
  # When is every partition served again (the survivors' /health)?
  SURVIVOR_PORTS=(); for n in "${SURVIVORS[@]}"; do v="PORT_$n"; SURVIVOR_PORTS+=("${!v}"); done
  T_SERVED=""
  for _ in $(seq 1 150); do
    if [ "$(served_by "${SURVIVOR_PORTS[@]}")" -eq "$PARTITIONS" ]; then
      T_SERVED=${EPOCHREALTIME/./}; break
    fi
    sleep 0.2
  done
else
  SURVIVORS=("${NODES[@]}"); OWNER=""
  SURVIVOR_PORTS=("$PORT_n1" "$PORT_n2" "$PORT_n3")
fi
wait_loads "${wrks[@]}"
wrk_ticks=$((killed_wrk_ticks + LOAD_TICKS))
for n in "${SURVIVORS[@]}"; do
  pid_var="PID_$n"; after[$n]=$(cpu_ticks "${!pid_var}" "$(haproxy_of "$n")")
  after_edge[$n]=$(cpu_ticks "$(haproxy_of "$n")")
done
: > "$WORK/three.cpu"
for n in "${NODES[@]}"; do
  echo "$n=$((after[$n] - before[$n]))"
  echo "$n.edge=$((after_edge[$n] - before_edge[$n]))"
done >> "$WORK/three.cpu"
if [ "$KILL" = 1 ]; then
  sum_before=0; for n in "${NODES[@]}"; do sum_before=$((sum_before + before[$n])); done
  {
    echo "nodes=$((at_kill_nodes - sum_before))"
    echo "nats=$((at_kill_nats - before_nats))"
    echo "wrk=$((at_kill_wrk + killed_wrk_ticks))"
    echo "machine=$((at_kill_machine - before_machine))"
  } > "$WORK/three-before-kill.cpu"
fi
{
  echo "nats=$(($(cpu_ticks "${CLUSTER_PIDS[@]}") - before_nats))"
  echo "wrk=$wrk_ticks"
  echo "machine=$(($(machine_ticks) - before_machine))"
} >> "$WORK/three.cpu"

# ---- the checks, on a survivor once every partition is served
wait_served "${SURVIVOR_PORTS[@]}"
curl -sf "http://127.0.0.1:${SURVIVOR_PORTS[0]}/products/$PRODUCT" > "$WORK/three.product"
cat "$WORK"/three-*.ids > "$WORK/three.ids" 2> /dev/null || : > "$WORK/three.ids"
python3 - "$WORK/three.ids" "${SURVIVOR_PORTS[@]}" > "$WORK/three.lost" <<'EOF'
import http.client, json, sys
ids = [l.strip() for l in open(sys.argv[1]) if l.strip()]
ports = sys.argv[2:]
conns = [http.client.HTTPConnection("127.0.0.1", int(p), timeout=10) for p in ports]
lost = []
for i, oid in enumerate(ids):
    status, state = 0, ""
    for attempt in range(20):  # a 503 (partition opening) is retried, as a client would
        c = conns[(i + attempt) % len(conns)]
        try:
            c.request("GET", "/orders/" + oid)
            r = c.getresponse(); body = r.read(); status = r.status
        except Exception:
            conns[(i + attempt) % len(conns)] = c = http.client.HTTPConnection(c.host, c.port, timeout=10)
            status = 0; continue
        if status == 200:
            state = json.loads(body).get("status", "")
            break
        if status != 503:
            break
    if status != 200 or state not in ("reserved", "paid"):
        lost.append("%s %d %s" % (oid, status, state))
print("read %d lost %d unique %d" % (len(ids), len(lost), len(set(ids))))
for l in lost[:20]:
    print("  " + l)
EOF

# ---- the figures
echo
echo "$(nproc) cores shared by every process here (load average before: $LOAD_AVG);" \
  "$LOADS x wrk -t1 -c$((CONNECTIONS / LOADS)) --timeout ${TIMEOUT}s, ${SECONDS_RUN} s a run," \
  "Connection: close; one product of $STOCK units, holds of 1 h (nothing paid)"
python3 - "$WORK" "$HZ" "$SINGLE" "$KILL" "$OWNER" "$((T0 / 1000000)).$(printf '%06d' $((T0 % 1000000)))" \
  "${T_KILL:-0}" "${T_SERVED:-0}" \
  "$STOCK" "$SECONDS_RUN" <<'EOF'
import glob, json, os, re, sys
work, hz = sys.argv[1], int(sys.argv[2])
single, kill, owner = sys.argv[3] == "1", sys.argv[4] == "1", sys.argv[5]
t0, t_kill, t_served = float(sys.argv[6]), int(sys.argv[7]) / 1e6, int(sys.argv[8]) / 1e6
stock, seconds = int(sys.argv[9]), int(sys.argv[10])

def summary(path):
    s = {"q": [], "tail": []}
    for line in open(path):
        f = line.split()
        if f[0] == "q":
            s["q"].append((float(f[1]), int(f[2])))
        elif f[0] == "tail":
            s["tail"].append((int(f[1]), f[2], int(f[3])))
        else:
            s[f[0]] = int(f[1])
    return s

def run(prefix):
    """Every wrk process of a run: statuses (from the timelines), socket errors, latency."""
    procs = sorted(p[:-len(".summary")] for p in glob.glob("%s/%s-*.summary" % (work, prefix)))
    statuses, per_second, r = {}, {}, {"requests": 0, "connect": 0, "read": 0, "write": 0,
                                         "timeout": 0, "sent": 0, "procs": {}}
    quantiles = []
    for p in procs:
        s = summary(p + ".summary")
        lines = [tuple(l.split()) for t in glob.glob(p + "-[0-9]*.timeline") for l in open(t)]
        lines += [(str(a), b, str(c)) for a, b, c in s["tail"]]
        n_proc = 0
        for sec, st, n in lines:
            statuses[st] = statuses.get(st, 0) + int(n)
            per_second.setdefault(int(sec), {}).setdefault(st, 0)
            per_second[int(sec)][st] += int(n)
            n_proc += int(n)
        for k in ("requests", "connect", "read", "write", "timeout", "sent"):
            r[k] += s.get(k, 0)
        r["procs"][os.path.basename(p)] = (s.get("requests", 0), n_proc, s.get("read", 0),
                                           s.get("connect", 0) + s.get("write", 0),
                                           s.get("timeout", 0), s.get("sent", 0) - n_proc)
        if s["q"]:
            quantiles.append((s.get("requests", 0), s["q"]))
    r["statuses"], r["per_second"] = statuses, per_second
    r["answered"] = sum(statuses.values())
    # merged quantiles: the smallest latency x with sum_k n_k F_k(x) >= p N
    total = sum(n for n, _ in quantiles)
    def pct(p):
        xs = sorted(set(x for _, q in quantiles for _, x in q))
        for x in xs:
            c = sum(n * max([pp for pp, xx in q if xx <= x] or [0]) / 100 for n, q in quantiles)
            if c >= p / 100 * total - 1e-9:
                return x
        return xs[-1] if xs else 0
    r["p50"], r["p99"], r["p99.9"] = pct(50), pct(99), pct(99.9)
    r["max"] = max((q[-1][1] for _, q in quantiles), default=0)
    return r

ticks_us = lambda ticks, n: ticks / hz * 1e6 / max(n, 1)
def cpu(name):
    return dict((l.split("=")[0], int(l.split("=")[1])) for l in open("%s/%s.cpu" % (work, name)))

def row(label, r):
    st = r["statuses"]
    no_ra = sum(n for s, n in st.items() if s.endswith(":no-retry-after"))
    ra = sum(n for s, n in st.items() if s.startswith("503:")) - no_ra
    other = sum(n for s, n in st.items() if s not in ("201", "409") and not s.startswith("503:"))
    errors = r["connect"] + r["read"] + r["write"] + r["timeout"]
    print("%-12s %9d %9.0f %7.1f %8.1f %8.1f %6d %9d %6d %6d %6d %8d %7d" % (
        label, r["answered"], r["answered"] / seconds, r["p50"] / 1000, r["p99"] / 1000,
        r["max"] / 1000, st.get("201", 0), st.get("409", 0), ra, no_ra, other,
        r["sent"] - r["answered"], errors))
    return errors

print("%-12s %9s %9s %7s %8s %8s %6s %9s %6s %6s %6s %8s %7s" % ("run", "buyers", "buyers/s",
      "p50 ms", "p99 ms", "max ms", "201", "409", "503+RA", "503-RA", "other", "no answer",
      "sockerr"))
s = run("single") if single else None
t = run("three")
if s:
    row("single node", s)
row("three nodes", t)
for label, r in (("single node", s), ("three nodes", t)):
    if r:
        rest = sorted((k, n) for k, n in r["statuses"].items() if k not in ("201", "409"))
        if rest:
            print("  %s, answers other than 201 and 409 by status:code: %s" % (
                label, ", ".join("%s %d" % kn for kn in rest)))
if s:
    print("ratio three nodes / single node: %.2f (buyers answered in the same %d s)" % (
        t["answered"] / max(s["answered"], 1), seconds))
print("buyers = answers counted by status; no answer = requests sent and never answered (in"
      " flight when their node died, or when wrk stopped at the end of its run); sockerr = wrk's"
      " socket errors (read, connect/write: a refused connect sends no request, timeout)")
for label, r in (("single node", s), ("three nodes", t)):
    if not r:
        continue
    print("%s, per wrk process:" % label)
    for name, (req, n, rd, cn, to, lost) in sorted(r["procs"].items()):
        print("  %-14s answered %8d (wrk: %8d), no answer %3d, read errors %3d,"
              " connect/write errors %3d, timeouts %d" % (name, n, req, lost, rd, cn, to))

def product(name):
    p = json.load(open("%s/%s.product" % (work, name)))
    return "stock %d, available %d, reserved %d, sold %d: reserved + sold = %d (%s)" % (
        p["stock"], p["available"], p["reserved"], p["sold"], p["reserved"] + p["sold"],
        "exactly the stock" if p["reserved"] + p["sold"] == stock and p["available"] == 0
        else "NOT the stock")
if s:
    print("single node, the product: %s; 201s answered: %d" % (product("single"), s["statuses"].get("201", 0)))
print("three nodes, the product (read on a survivor): %s; 201s answered: %d" % (
    product("three"), t["statuses"].get("201", 0)))
print("acknowledged lost (201s whose order a survivor cannot read as reserved/paid): " +
      open(work + "/three.lost").read().strip())

if kill:
    print("SIGKILL of the owner %s at %.2f s; every partition served again by the survivors"
          " %s" % (owner, t_kill - t0, ("%.2f s after the kill" % (t_served - t_kill))
                   if t_served else "not within 30 s"))
    k = int(t_kill)
    print("answers per second around the kill (all loads; second 0 holds the kill):")
    for sec in range(k - 3, k + 6):
        st = t["per_second"].get(sec, {})
        print("  %+3d s: %s" % (sec - k, ", ".join("%s: %d" % (a, b) for a, b in sorted(st.items()))
                              or "nothing"))
if kill:
    # whole seconds only, away from the run's edges and the kill's second
    def rate(a, b):
        secs = [sec for sec in range(int(t0) + a, int(t0) + b)]
        return sum(sum(t["per_second"].get(sec, {}).values()) for sec in secs) / max(len(secs), 1)
    k0 = int(t_kill - t0)
    print("answers per second, three nodes up (seconds 1-%d): %.0f; two nodes (seconds %d-%d): %.0f"
          % (k0 - 1, rate(1, k0), k0 + 1, seconds - 2, rate(k0 + 1, seconds - 1)))
    # CPU in the two phases: ours (nodes with their edges, nats-servers, wrk) and the rest of
    # the machine's busy time (other sessions: this machine is shared)
    b, e = cpu("three-before-kill"), cpu("three")
    e_nodes = sum(e[n] for n in ("n1", "n2", "n3"))
    n_before = sum(sum(st.values()) for sec, st in t["per_second"].items() if sec < int(t_kill))
    n_after = t["answered"] - n_before
    for label, nodes_, nats_, wrk_, machine_, n, secs in (
            ("three nodes", b["nodes"], b["nats"], b["wrk"], b["machine"], n_before, t_kill - t0),
            ("two nodes", e_nodes - b["nodes"], e["nats"] - b["nats"], e["wrk"] - b["wrk"],
             e["machine"] - b["machine"], n_after, seconds - (t_kill - t0))):
        ours = nodes_ + nats_ + wrk_
        print("  %-11s %.1f s: %7d buyers; CPU per buyer: nodes %.0f µs, nats-servers %.0f, wrk %.0f;"
              " of the machine's busy time, ours %.0f%%, other processes' %.0f%% (%.2f cores)" % (
              label, secs, n, ticks_us(nodes_, n), ticks_us(nats_, n), ticks_us(wrk_, n),
              100 * ours / max(machine_, 1), 100 * (machine_ - ours) / max(machine_, 1),
              (machine_ - ours) / hz / max(secs, 1e-9)))
first_201 = [sec for sec, st in t["per_second"].items() if "201" in st]
if first_201:
    print("201s answered between second %d and %d of the run" % (min(first_201) - int(t0),
                                                                 max(first_201) - int(t0)))

# CPU: per buyer answered, per process group, and what a machine per node would give
ct = cpu("three")
nodes = [n for n in ("n1", "n2", "n3")]
moved = {}
if os.path.exists(work + "/moved"):
    for l in open(work + "/moved"):
        k, n = l.split(); moved[int(k)] = n
answered_by = {n: 0 for n in nodes}
for name, (req, n, rd, cn, to, lost) in t["procs"].items():
    m = re.match(r"three-(\d+)(-moved)?$", name)
    k = int(m.group(1))
    answered_by[moved[k] if m.group(2) else nodes[k % 3]] += n
us = lambda ticks, n: ticks / hz * 1e6 / max(n, 1)
cores = os.cpu_count()
print()
print("CPU (utime+stime from /proc, per buyer answered; a node's figure is the node process and"
      " its HAProxy edge, the edge's share apart; %d s a run):" % seconds)
if s:
    cs = cpu("single")
    print("  single node: %.1f s of CPU, %.0f µs per buyer (edge %.0f); wrk %.0f µs per buyer;"
          " every process on the machine: %.1f s of its %d" % (
          cs["single"] / hz, us(cs["single"], s["answered"]), us(cs["single.edge"], s["answered"]),
          us(cs["wrk"], s["answered"]), cs["machine"] / hz, cores * seconds))
for n in nodes:
    print("  %s%s: %.1f s of CPU for the %d buyers it answered: %.0f µs per buyer (edge %.0f)" % (
        n, " (killed)" if n == owner and kill else "", ct[n] / hz, answered_by[n],
        us(ct[n], answered_by[n]), us(ct[n + ".edge"], answered_by[n])))
node_ticks = sum(ct[n] for n in nodes)
edge_ticks = sum(ct[n + ".edge"] for n in nodes)
c3, e3 = us(node_ticks, t["answered"]), us(edge_ticks, t["answered"])
print("  three nodes: %.0f µs per buyer (edges %.0f); nats-servers %.0f µs per buyer (%.1f s);"
      " wrk %.0f µs per buyer; every process on the machine: %.1f s of its %d" % (
      c3, e3, us(ct["nats"], t["answered"]), ct["nats"] / hz, us(ct["wrk"], t["answered"]),
      ct["machine"] / hz, cores * seconds))
# A machine per node: the node's CPU per buyer on its own cores, the edge (HAProxy, nbthread 1)
# on one of them; the load generator and the nats-servers elsewhere.
def per_machine(total, edge):
    return min(cores * 1e6 / total, 1e6 / edge if edge else float("inf"))
m3 = per_machine(c3, e3)
print("a machine per node (%d cores, wrk and the nats-servers elsewhere), bound by CPU: a node"
      " ~%.0f buyers/s (the lower of %d cores / %.0f µs and one core for its single-threaded"
      " edge / %.0f µs), three ~%.0f/s = %.1fM buyers a minute" % (
      cores, m3, cores, c3, e3, 3 * m3, 3 * m3 * 60 / 1e6) +
      ("; the single node ~%.0f/s" % per_machine(us(cs["single"], s["answered"]),
                                                 us(cs["single.edge"], s["answered"])) if s else ""))
EOF
