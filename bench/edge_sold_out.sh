#!/usr/bin/env bash
# Turned away at the edge (issue 23 item 2): buyers a second on a sold-out product, every buyer
# on a new connection (wrk with `Connection: close`: connect, one POST /orders, close), in one
# run on this machine, the load generator on the same cores, against the edge's own limit:
#   nginx   nginx `return 409` with the same body (no backend at all: the ceiling);
#   edge    the node on its defaults (HAProxy front, store.sync=full, NATS off): HAProxy
#           answers from its sold-out map (node/edge_sold_out.hpp);
#   node    the same node and buyers, with a body the edge's rules leave to the node
#           ("request_id": null): the node's HTTP worker answers, as before the map.
# ROUNDS interleaved rounds (this shared machine moves by 2x between minutes); each prints
# buyers a second, wrk's socket errors and non-409 answers, and the ratios to nginx.
# Builds nothing: expects build/ (or BUILD_DIR). Needs wrk and nginx (`make deps`).
# Usage: bench/edge_sold_out.sh [seconds per run, 10]
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
SECONDS_PER_RUN=${1:-10}
ROUNDS=${ROUNDS:-3}
CONNECTIONS=${CONNECTIONS:-64}
TOKEN=bench-admin-token-$$
. bench/servers.sh # WORK, PIDS, cleanup on exit, wait_port, start_node, free_port
for tool in wrk nginx; do
  command -v "$tool" > /dev/null || [ -x "/usr/sbin/$tool" ] ||
    { echo "$tool is not installed: make deps (apt-get install wrk nginx-light)" >&2; exit 1; }
done
NGINX=$(command -v nginx || echo /usr/sbin/nginx)

# nginx answering every POST /orders with the node's sold_out body, on its defaults for this
# machine (a worker per core), no access log (HAProxy logs only abnormal sessions either).
BODY='{"error":{"code":"sold_out","message":"product '"'"'gone'"'"' has only 0 units available"}}'
NGINX_PORT=$(free_port)
mkdir -p "$WORK/nginx"
cat > "$WORK/nginx/nginx.conf" <<EOF
worker_processes auto;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/error.log;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $WORK/nginx/body;
  proxy_temp_path $WORK/nginx/proxy;
  fastcgi_temp_path $WORK/nginx/fastcgi;
  uwsgi_temp_path $WORK/nginx/uwsgi;
  scgi_temp_path $WORK/nginx/scgi;
  server {
    listen 127.0.0.1:$NGINX_PORT backlog=4096;
    location = /orders { default_type application/json; return 409 '${BODY//\'/\\\'}'; }
  }
}
EOF
"$NGINX" -c "$WORK/nginx/nginx.conf" -g 'daemon off;' > "$WORK/nginx/out.log" 2>&1 &
PIDS+=($!)
NGINX_PID=$!

start_node edge
export FLASHSALE_ADMIN_TOKEN=$TOKEN
NODE=http://127.0.0.1:$PORT_edge
curl -sf -X PUT "$NODE/products/gone" -H "Authorization: Bearer $TOKEN" \
  -H 'Content-Type: application/json' -d '{"name":"gone","stock":1}' > /dev/null
curl -sf -X POST "$NODE/orders" -H 'Content-Type: application/json' \
  -d '{"user_id":"first","product_id":"gone","quantity":1}' > /dev/null
edge_answered() {
  curl -sf "$NODE/metrics" | awk '/^flashsale_edge_orders_total\{outcome="sold_out"\}/ { print $2 }'
}
for _ in $(seq 1 100); do # until HAProxy's map holds the product (milliseconds)
  curl -s -o /dev/null -X POST "$NODE/orders" -H 'Content-Type: application/json' \
    -d '{"user_id":"probe","product_id":"gone","quantity":1}'
  [ "$(edge_answered)" != 0 ] && break
  sleep 0.05
done
[ "$(edge_answered)" != 0 ] || { echo "the edge never answered for the sold-out product" >&2; exit 1; }
answer_of() { curl -s -X POST -d x -w ' %{http_code}' "$1/orders" || true; }
for _ in $(seq 1 100); do
  [ "$(answer_of "http://127.0.0.1:$NGINX_PORT")" = "$BODY 409" ] && break
  sleep 0.05
done
[ "$(answer_of "http://127.0.0.1:$NGINX_PORT")" = "$BODY 409" ] ||
  { echo "nginx does not answer as the node does: $(cat "$WORK"/nginx/*.log)" >&2; exit 1; }

# The servers' processes, for their CPU: nginx's master and workers (its children), the node
# and its HAProxy (by the PID file: the supervisor's child).
server_pids() {
  case $1 in
    nginx) echo "$NGINX_PID" $(cat /proc/"$NGINX_PID"/task/*/children) ;;
    *) echo "$PID_edge" "$(cat "$WORK/data-edge/haproxy.pid")" ;;
  esac
}
# run NAME URL [BODY=node] -> $WORK/NAME.txt (wrk's report), $WORK/NAME.cpu (servers' ticks)
run() {
  local name=$1 url=$2 pids before
  echo "+ wrk -t2 -c$CONNECTIONS -d${SECONDS_PER_RUN}s -H 'Connection: close' ($name)" >&2
  pids=$(server_pids "${name%-*}")
  # shellcheck disable=SC2086
  before=$(cpu_ticks $pids)
  env PRODUCT=gone ${3:+BODY=$3} wrk -t2 -c"$CONNECTIONS" -d"${SECONDS_PER_RUN}s" \
    -H 'Connection: close' -s bench/orders.lua "$url/orders" > "$WORK/$name.txt" 2>&1
  # shellcheck disable=SC2086
  echo $(($(cpu_ticks $pids) - before)) > "$WORK/$name.cpu"
}
rps() { awk '/Requests\/sec/ { printf "%.0f", $2 }' "$WORK/$1.txt"; }
requests() { awk '/requests in/ { print $1 }' "$WORK/$1.txt"; }
TICK_US=$((1000000 / $(getconf CLK_TCK)))
cpu_per_buyer() { # microseconds of the servers' CPU per buyer answered
  awk -v t="$(cat "$WORK/$1.cpu")" -v n="$(requests "$1")" -v us="$TICK_US" \
    'BEGIN { printf "%.0f", t * us / n }'
}
errors() { # socket errors + answers other than 409 (wrk counts 409 as "Non-2xx or 3xx")
  local f=$WORK/$1.txt total non2xx errs
  total=$(awk '/requests in/ { print $1 }' "$f")
  non2xx=$(awk '/Non-2xx or 3xx responses/ { print $5 }' "$f")
  errs=$(grep -oE '(connect|read|write|timeout) [0-9]+' "$f" | awk '{ s += $2 } END { print s + 0 }')
  echo "$errs / $((total - ${non2xx:-0}))"
}

LOAD=$(cut -d' ' -f1-3 /proc/loadavg)
before=$(edge_answered)
for round in $(seq 1 "$ROUNDS"); do
  run "nginx-$round" "http://127.0.0.1:$NGINX_PORT"
  run "edge-$round" "$NODE"
  run "node-$round" "$NODE" node
done
after=$(edge_answered)
declare -A total=([nginx]=0 [edge]=0 [node]=0)
for round in $(seq 1 "$ROUNDS"); do
  for k in nginx edge node; do total[$k]=$((total[$k] + $(requests "$k-$round"))); done
done
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

echo
echo "$(nproc) cores shared by nginx, HAProxy, the node and wrk (load average before:" \
     "$LOAD); wrk -t2 -c$CONNECTIONS, ${SECONDS_PER_RUN} s per run, Connection: close"
echo "buyers a second (servers' CPU per buyer, µs)"
printf '%-6s %15s %15s %15s %10s %10s %22s\n' round nginx edge node edge/nginx node/nginx \
  'errors/non-409 (e; n)'
for round in $(seq 1 "$ROUNDS"); do
  n=$(rps "nginx-$round"); e=$(rps "edge-$round"); o=$(rps "node-$round")
  printf '%-6s %15s %15s %15s %10s %10s %22s\n' "$round" \
    "$n ($(cpu_per_buyer "nginx-$round"))" "$e ($(cpu_per_buyer "edge-$round"))" \
    "$o ($(cpu_per_buyer "node-$round"))" "$(ratio "$e" "$n")" "$(ratio "$o" "$n")" \
    "$(errors "edge-$round"); $(errors "node-$round")"
done
printf '%-6s %15s %15s %15s %10s %10s\n' all "${total[nginx]}" "${total[edge]}" "${total[node]}" \
  "$(ratio "${total[edge]}" "${total[nginx]}")" "$(ratio "${total[node]}" "${total[nginx]}")"
echo "buyers the edge answered (its HAProxy counter, via /metrics): $((after - before))" \
     "of ${total[edge]} edge-run requests wrk completed"
