#!/usr/bin/env bash
# Runs the official PDS Python SDK (alibabacloud-pds20220301, pinned in
# requirements.txt) through the whole share-link flow against a freshly
# started sharelink-server on a free loopback port. Called by .ci/run.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../../../.." && pwd)"
cd "$root"

venv="${SDK_VENV:-$root/target/pds-sdk-venv}"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
"$venv/bin/pip" install --quiet --disable-pip-version-check -r "$here/requirements.txt"

# SHARELINK_SERVER_BIN: a server already built (CI builds the workspace once).
server="${SHARELINK_SERVER_BIN:-}"
if [ -z "$server" ]; then
  cargo build --locked -p sharelink-server
  server="$root/target/debug/sharelink-server"
fi

data="$(mktemp -d)"
port="$("$venv/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
"$server" --listen "127.0.0.1:$port" --data-dir "$data" >"$data/server.out" 2>"$data/server.err" &
pid=$!
cleanup() {
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  rm -rf "$data"
}
trap cleanup EXIT

for _ in $(seq 1 100); do
  if [ -f "$data/bob.token" ] && "$venv/bin/python" -c "import socket; socket.create_connection(('127.0.0.1',$port),1)" 2>/dev/null; then
    break
  fi
  sleep 0.1
done

if ! "$venv/bin/python" "$here/pds_sdk_flow.py" "127.0.0.1:$port" "$data"; then
  echo "--- server stderr (last 40 lines)"; tail -n 40 "$data/server.err"
  exit 1
fi
