#!/usr/bin/env bash
# Network faults, proven at length (issue 22): N seeded chaos runs (tests/chaos; each a fresh
# network of namespaces, three nats-servers, three nodes, a workload, the seed's faults and
# the checker's verdict), then the figures docs/SCALING.md reports: runs, faults, orders
# checked, unknown outcomes resolved, violations, the longest unavailability per fault kind.
#   sudo bench/chaos.sh [N] [FIRST_SEED]     (default 100 runs from seed 1000; ~30 s a run)
# Root: namespaces need it. A failed run's seed replays with
#   CHAOS_SEED=<seed> build/tests/chaos/chaos_test --gtest_filter=ChaosSeed.FromEnvironment
# Runs' histories, logs and process outputs are kept under $CHAOS_ARTIFACTS when it is set.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
RUNS=${1:-100}
FIRST=${2:-1000}
cmake --build "$BUILD_DIR" -j2 --target flashsale chaos_test > /dev/null
REPORT=$(mktemp /tmp/chaos-report.XXXXXX.jsonl)
# The runs use a copy of the binaries (the nats-server too): a rebuild meanwhile (a commit
# relinks flashsale) must not replace them under a run.
COPY=$(mktemp -d /tmp/chaos-bin.XXXXXX)
trap 'rm -rf "$COPY"' EXIT
cp "$BUILD_DIR/cli/flashsale" "$BUILD_DIR/tests/chaos/chaos_test" \
  "${CHAOS_NATS_SERVER:-$BUILD_DIR/deps/nats/root/usr/sbin/nats-server}" "$COPY/"
LOG=${CHAOS_LOG:-/tmp/chaos-$FIRST-$RUNS.log}
echo "chaos: $RUNS runs from seed $FIRST; progress in $LOG, figures in $REPORT"
status=0
CHAOS_RUNS=$RUNS CHAOS_FIRST_SEED=$FIRST CHAOS_REPORT=$REPORT CHAOS_FLASHSALE=$COPY/flashsale \
  CHAOS_NATS_SERVER=$COPY/nats-server "$COPY/chaos_test" --gtest_filter=ChaosLong.Runs \
  > "$LOG" 2>&1 || status=$?
python3 bench/chaos_figures.py "$REPORT"
exit $status
