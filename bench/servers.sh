# Shared by the bench scripts (sourced, not run): a scratch dir, servers started in the
# background and stopped by their PIDs on exit (never by name), and waiting for a server's
# "listening ... PORT" line.
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
