#!/usr/bin/env bash
# Installs, in one go and without the Rust build, every tool the CI steps
# need: Debian's packages (Chromium and its driver, wrk and nginx for the
# wire report, Rust 1.85 for the MSRV check) in one apt transaction, then
# axe-core (browser.sh) and the PDS SDK's venv (under target/). .ci/run
# starts it in the background while clippy compiles, and waits for it
# before the first step that needs it. Each script still installs what it
# needs by itself when run alone.
set -euo pipefail
cd "$(dirname "$0")/.."

msrv_pkg="$(sed -n 's/^pkg_version="\(.*\)"/\1/p' .ci/msrv.sh)"
want=()
[ -x /usr/bin/chromium ] || want+=(chromium)
[ -x /usr/bin/chromedriver ] || want+=(chromium-driver)
command -v wrk >/dev/null 2>&1 || want+=(wrk)
[ -x /usr/sbin/nginx ] || [ -x /usr/bin/nginx ] || want+=(nginx-light)
if ! /usr/bin/rustc --version 2>/dev/null | grep -q '^rustc 1\.85'; then
  want+=("rustc-web=$msrv_pkg" "cargo-web=$msrv_pkg" "libstd-rust-web-dev=$msrv_pkg" "libstd-rust-web-1.85=$msrv_pkg")
fi
if [ ${#want[@]} -gt 0 ]; then
  echo "== apt: ${want[*]}"
  bash .ci/apt-install.sh "${want[@]}"
fi

bash .ci/browser.sh

venv=target/pds-sdk-venv
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check \
  -r crates/sharelink-server/tests/sdk/requirements.txt
echo "== tools installed"
