# Shared by the bench scripts (sourced, not run): a scratch dir, the two servers every
# comparison runs (the trivial httplib ceiling and a real node), started in the background and
# stopped by their PIDs on exit (never by name). Needs BUILD_DIR and TOKEN set.
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

# Starts the trivial server and a node with a durable store; sets TPORT and NPORT. The node
# runs bare (http.front=none) unless FRONT=embedded: these comparisons are of bare httplib
# against bare httplib (bench/crowd_compare.sh measures the front). NODE_ARGS adds flags to
# the node's command line (e.g. "--set actors.threads=1").
start_servers() {
  "$BUILD_DIR/bench/trivial_http_server" > "$WORK/trivial.log" 2>&1 &
  PIDS+=($!)
  TPORT=$(wait_port "$WORK/trivial.log" 'listening on [0-9]+')
  FLASHSALE_ADMIN_TOKEN=$TOKEN "$BUILD_DIR/cli/flashsale" serve --set http.port=0 \
    --set data_dir="$WORK/data" --set nats.url=off --set store.sync=full \
    --set http.front="${FRONT:-none}" ${NODE_ARGS:-} > "$WORK/node.log" 2>&1 &
  PIDS+=($!)
  NPORT=$(wait_port "$WORK/node.log" 'listening on http://[0-9.]+:[0-9]+')
}
