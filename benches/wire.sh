#!/usr/bin/env bash
# The HTTP load report (benches/src/bin/wire_report.rs): installs wrk and
# nginx from Debian's packages when missing, builds the reference server and
# the baseline, and runs the report. Arguments go to the report:
#   bash benches/wire.sh                                   # quick (CI)
#   bash benches/wire.sh --full --svg benches/wire-concurrency.svg
# SHARELINK_BENCH_PROFILE=test runs on the test profile's build (CI shares
# it with the test suite); the figures that go in benches/README.md come
# from the default release build.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v wrk >/dev/null 2>&1 || missing+=(wrk)
[ -x /usr/sbin/nginx ] || [ -x /usr/bin/nginx ] || missing+=(nginx-light)
if [ ${#missing[@]} -gt 0 ]; then
  echo "== installing ${missing[*]}"
  bash .ci/apt-install.sh "${missing[@]}"
fi

profile="${SHARELINK_BENCH_PROFILE:-release}"
case "$profile" in
  release) dir=release ;;
  test | dev) dir=debug ;;
  *) dir="$profile" ;;
esac
if [ "$profile" = release ]; then
  cargo build --locked -q --release -p sharelink-server -p sharelink-benches \
    --bin sharelink-server --bin hello_axum --bin wire_report
else
  # The whole workspace, as CI builds it once: the same features, no rebuild.
  cargo build --locked -q --profile "$profile" --workspace --all-targets
fi
"target/$dir/wire_report" "$@"
