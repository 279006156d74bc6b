#!/usr/bin/env bash
# Runs every fuzz target for a bounded time (FUZZ_SECONDS, default 20) and
# fails on any crash. Uses cargo-fuzz on the stable toolchain with
# RUSTC_BOOTSTRAP=1, always (one way, consistently).
#
#   fuzz/smoke.sh                      # all targets, 20 s each, two at a time (FUZZ_JOBS)
#   FUZZ_SECONDS=3600 fuzz/smoke.sh token_verify    # a long campaign on one target
#   FUZZ_STEP=build fuzz/smoke.sh      # only install cargo-fuzz and build (CI, early)
#   FUZZ_STEP=run fuzz/smoke.sh        # only run what that built
set -euo pipefail
cd "$(dirname "$0")"

SECS="${FUZZ_SECONDS:-20}"
STEP="${FUZZ_STEP:-all}"
export RUSTC_BOOTSTRAP=1

case "$STEP" in
  all | build | run) ;;
  *) echo "FUZZ_STEP must be all, build or run, not $STEP" >&2; exit 2 ;;
esac

if [ "$STEP" != run ]; then
    if ! cargo fuzz --version >/dev/null 2>&1; then
        echo "== installing cargo-fuzz"
        # A debug build: cargo-fuzz only drives cargo and libFuzzer, so its
        # own speed does not matter, and it compiles in about half the time.
        cargo install cargo-fuzz --locked --debug
    fi
    # CI builds from a clean fuzz target directory, so that a binary built
    # one way is never reused another way.
    if [ "${CI:-}" = "true" ]; then
        rm -rf target
    fi
    echo "== building the fuzz targets"
    cargo fuzz build
    if [ "$STEP" = build ]; then
        exit 0
    fi
fi

targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    mapfile -t targets < <(cargo fuzz list)
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# Two targets at a time (one per core); each is single-threaded.
JOBS="${FUZZ_JOBS:-2}"
fuzz_one() {
    local t="$1" status=0
    mkdir -p "$work/$t" "corpus/$t"
    cargo fuzz run "$t" "$work/$t" "corpus/$t" -- -max_total_time="$SECS" -print_final_stats=1 \
        >"$work/$t.log" 2>&1 || status=$?
    echo "== fuzz $t for ${SECS}s: $(grep -E 'stat::number_of_executed_units' "$work/$t.log" | tr -s ' ' || true)"
    if [ "$status" -ne 0 ]; then
        tail -40 "$work/$t.log"
        echo "fuzz target $t failed (exit $status); the crashing input is under fuzz/artifacts/$t"
    fi
    return "$status"
}
failed=0
running=0
for t in "${targets[@]}"; do
    if [ "$running" -ge "$JOBS" ]; then
        wait -n || failed=1
        running=$((running - 1))
    fi
    fuzz_one "$t" &
    running=$((running + 1))
done
while [ "$running" -gt 0 ]; do
    wait -n || failed=1
    running=$((running - 1))
done
if [ "$failed" -ne 0 ]; then
    exit 1
fi
echo "fuzz smoke: ${#targets[@]} targets ran ${SECS}s each without a crash"
