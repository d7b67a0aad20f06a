# Shared by the bench scripts (sourced, not run): a scratch dir, the servers the comparisons
# run (the trivial httplib ceiling, real nodes, the node's HAProxy edge in front of the
# trivial server), started in the background and stopped by their PIDs on exit (never by
# name). Needs BUILD_DIR and TOKEN set.
WORK=$(mktemp -d)
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT

wait_port() { # log file, regex ending in the port -> prints the port
  for _ in $(seq 1 300); do
    if port=$(grep -oE "$2" "$1" | grep -oE '[0-9]+$' | head -1) && [ -n "$port" ]; then
      echo "$port"; return 0
    fi
    sleep 0.1
  done
  echo "server did not start: $(cat "$1")" >&2; return 1
}

# start_trivial -> sets TPORT
start_trivial() {
  "$BUILD_DIR/bench/trivial_http_server" > "$WORK/trivial.log" 2>&1 &
  PIDS+=($!)
  TPORT=$(wait_port "$WORK/trivial.log" 'listening on [0-9]+')
}

# start_node NAME [serve flags...] -> sets PORT_<NAME> and PID_<NAME>: a node with a durable
# store (store.sync=full) on a data dir of its own, NATS off unless the flags say otherwise.
start_node() {
  local name=$1; shift
  FLASHSALE_ADMIN_TOKEN=$TOKEN "$BUILD_DIR/cli/flashsale" serve --set http.port=0 \
    --set data_dir="$WORK/data-$name" --set nats.url=off --set store.sync=full "$@" \
    > "$WORK/node-$name.log" 2>&1 &
  PIDS+=($!)
  printf -v "PID_$name" '%s' "$!"
  printf -v "PORT_$name" '%s' "$(wait_port "$WORK/node-$name.log" \
    'listening on https?://[0-9.]+:[0-9]+')"
}

# start_edge NAME BACKEND_PORT CONNECTIONS -> sets PORT_<NAME>: the node's HAProxy edge (its
# own generated configuration) in front of a backend on 127.0.0.1.
start_edge() {
  mkdir -p "$WORK/edge-$1"
  "$BUILD_DIR/bench/edge_front_runner" "$2" "$3" "$WORK/edge-$1" > "$WORK/edge-$1.log" 2>&1 &
  PIDS+=($!)
  printf -v "PORT_$1" '%s' "$(wait_port "$WORK/edge-$1.log" 'listening on [0-9]+')"
}

# Starts the trivial server and a node; sets TPORT and NPORT. The node runs bare
# (http.front=none) unless FRONT=embedded: these comparisons are of bare httplib against bare
# httplib (bench/crowd_compare.sh measures the front). NODE_ARGS adds flags to the node's
# command line (e.g. "--set actors.threads=1").
start_servers() {
  start_trivial
  # shellcheck disable=SC2086
  start_node main --set http.front="${FRONT:-none}" ${NODE_ARGS:-}
  NPORT=$PORT_main
  PIDS_NODE=$PID_main
}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# cluster_nats_server -> the nats-server cluster mode needs (>= 2.12): $CLUSTER_NATS_SERVER, else
# the build tree's copy (`make deps`, packaging/fetch-nats-server.sh). Debian 12's 2.9.10 is refused
# by cluster mode's version check (docs/NATS.md).
cluster_nats_server() {
  local nats=${CLUSTER_NATS_SERVER:-${BUILD_DIR:-build}/deps/nats/root/usr/sbin/nats-server}
  if [ ! -x "$nats" ]; then
    echo "no nats-server >= 2.12 at $nats: run make deps (or set CLUSTER_NATS_SERVER)" >&2
    return 1
  fi
  echo "$nats"
}

# start_nats_cluster NAME -> sets CLUSTER_URLS (comma-separated), CLUSTER_MONITORS (their HTTP
# monitoring endpoints; bench/raft_entries.py reads them) and CLUSTER_PIDS: three nats-servers
# with JetStream in one cluster on free loopback ports, stores under $WORK/NAME.
# The servers are $(cluster_nats_server), or $NATS_SERVER when set (bench/fence_race.sh).
start_nats_cluster() {
  local name=$1 nats i j routes
  nats=${NATS_SERVER:-$(cluster_nats_server)}
  local c=() r=() m=()
  for i in 0 1 2; do c+=("$(free_port)"); r+=("$(free_port)"); m+=("$(free_port)"); done
  CLUSTER_PIDS=()
  CLUSTER_URLS=""
  CLUSTER_MONITORS=""
  for i in 0 1 2; do
    routes=""
    for j in 0 1 2; do [ "$j" = "$i" ] || routes+="${routes:+,}nats://127.0.0.1:${r[$j]}"; done
    "$nats" -js -a 127.0.0.1 -p "${c[$i]}" -m "${m[$i]}" -sd "$WORK/$name/n$i" -n "n$i" \
      --cluster_name "$name" --cluster "nats://127.0.0.1:${r[$i]}" --routes "$routes" \
      > "$WORK/$name-n$i.log" 2>&1 &
    PIDS+=($!); CLUSTER_PIDS+=($!)
    CLUSTER_URLS+="${CLUSTER_URLS:+,}nats://127.0.0.1:${c[$i]}"
    CLUSTER_MONITORS+="${CLUSTER_MONITORS:+,}http://127.0.0.1:${m[$i]}"
  done
}

# stop_pids PID... : SIGTERM, then wait for each (they stay in PIDS: killing a dead one is a no-op).
stop_pids() {
  for pid in "$@"; do kill "$pid" 2>/dev/null || true; done
  for pid in "$@"; do wait "$pid" 2>/dev/null || true; done
}

# cpu_ticks PID... -> their utime+stime in clock ticks, summed
cpu_ticks() {
  local t=0 pid
  for pid in "$@"; do t=$((t + $(awk '{print $14 + $15}' "/proc/$pid/stat"))); done
  echo "$t"
}

# wait_served PORT... : until the cluster nodes on PORTS serve all $PARTITIONS partitions between them.
wait_served() {
  for _ in $(seq 1 300); do
    local served=0 port
    for port in "$@"; do
      served=$((served + $(curl -sf "http://127.0.0.1:$port/health" |
        python3 -c 'import json,sys; print(len(json.load(sys.stdin).get("cluster",{}).get("partitions",[])))' \
        2>/dev/null || echo 0)))
    done
    [ "$served" -eq "$PARTITIONS" ] && return 0
    sleep 0.1
  done
  echo "the cluster never served all $PARTITIONS partitions" >&2; return 1
}
