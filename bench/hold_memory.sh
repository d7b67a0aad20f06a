#!/usr/bin/env bash
# Memory per open hold (issue 14): a node takes HOLDS reservations that all stay open
# (unlimited stock, a long hold), then its resident set is read from /proc and divided by the
# holds it gained. Everything a hold costs is in it: the product's hold entry, the expiry
# book, the snapshotter's shadow world, allocator overhead. Target: <= 2 KiB per open hold
# (1M open holds in 2 GiB). Builds nothing. Usage: bench/hold_memory.sh [holds, 250000]
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
HOLDS=${1:-250000}
TOKEN=bench-admin-token-$$
. bench/servers.sh # WORK, PIDS, cleanup on exit, start_node

rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }

start_node mem --set http.front=none --set orders.hold_seconds=604800
NURL=http://127.0.0.1:$PORT_mem
curl -sf -X PUT "$NURL/products/hold" -H "Authorization: Bearer $TOKEN" \
  -H 'Content-Type: application/json' -d '{"name":"hold","stock":1000000000}' > /dev/null
# A first small batch warms the allocator's arenas and the store's caches up.
FLASHSALE_ADMIN_TOKEN=$TOKEN "$BUILD_DIR/cli/flashsale" load --url "$NURL" --product hold \
  --buyers 5000 --concurrency 64 --no-idempotency-keys --seed 1 --json > "$WORK/warm.json" 2>/dev/null || true
before=$(rss_kib "$PID_mem")
started=$(date +%s.%N)
FLASHSALE_ADMIN_TOKEN=$TOKEN "$BUILD_DIR/cli/flashsale" load --url "$NURL" --product hold \
  --buyers "$HOLDS" --concurrency 64 --no-idempotency-keys --seed 2 --json > "$WORK/load.json" 2>/dev/null || true
accepted=$(grep -oE '"accepted":[0-9]+' "$WORK/load.json" | head -1 | cut -d: -f2)
# The snapshotter folds the log at the lowest priority: let it catch up and take its
# snapshots, so its shadow world is counted whole.
sleep 5
after=$(rss_kib "$PID_mem")
echo "open holds added: $accepted (in $(awk -v s="$started" -v e="$(date +%s.%N)" 'BEGIN { printf "%.0f", e - s }') s)"
echo "node RSS: before $before KiB, after $after KiB"
awk -v b="$before" -v a="$after" -v n="$accepted" 'BEGIN {
  per = (a - b) * 1024 / n
  printf "RSS per open hold: %.0f bytes (target <= 2048); 1M holds would take %.2f GiB\n",
    per, per * 1e6 / 1024 / 1024 / 1024 }'
