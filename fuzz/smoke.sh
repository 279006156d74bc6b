#!/usr/bin/env bash
# Runs every fuzz target for a bounded time (FUZZ_SECONDS, default 20) and
# fails on any crash. Uses cargo-fuzz on the stable toolchain with
# RUSTC_BOOTSTRAP=1, always (one way, consistently).
#
#   fuzz/smoke.sh                      # all targets, 20 s each
#   FUZZ_SECONDS=3600 fuzz/smoke.sh token_verify    # a long campaign on one target
set -euo pipefail
cd "$(dirname "$0")"

SECS="${FUZZ_SECONDS:-20}"
export RUSTC_BOOTSTRAP=1

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "== installing cargo-fuzz"
    cargo install cargo-fuzz --locked
fi

# CI builds from a clean fuzz target directory, so that a binary built one
# way is never reused another way.
if [ "${CI:-}" = "true" ]; then
    rm -rf target
fi

targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    mapfile -t targets < <(cargo fuzz list)
fi

echo "== building ${#targets[@]} fuzz targets"
cargo fuzz build

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
for t in "${targets[@]}"; do
    mkdir -p "$work/$t" "corpus/$t"
    echo "== fuzz $t for ${SECS}s"
    # New inputs go to the scratch directory; the committed seeds are read only.
    status=0
    cargo fuzz run "$t" "$work/$t" "corpus/$t" -- -max_total_time="$SECS" -print_final_stats=1 \
        >"$work/$t.log" 2>&1 || status=$?
    grep -E '(DONE|stat::number_of_executed_units)' "$work/$t.log" || true
    if [ "$status" -ne 0 ]; then
        tail -40 "$work/$t.log"
        echo "fuzz target $t failed (exit $status); the crashing input is under fuzz/artifacts/$t"
        exit "$status"
    fi
done
echo "fuzz smoke: ${#targets[@]} targets ran ${SECS}s each without a crash"
