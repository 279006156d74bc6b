#!/usr/bin/env bash
# Does what a new user does with the README: runs its main command (the
# reference server, from a scratch directory so ./sharelink-data is fresh),
# then runs the README's curl walk-through verbatim (only the port changes),
# and checks that a shared file was downloaded and the cancelled share's
# token is refused.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

main_command="$(sed -n 's/^\(cargo run -p sharelink-server\) .*/\1/p' README.md | head -n1)"
if [ "$main_command" != "cargo run -p sharelink-server" ]; then
  echo "README no longer states 'cargo run -p sharelink-server' as its main command" >&2
  exit 1
fi
walkthrough="$(sed -n '/<!-- walkthrough:start -->/,/<!-- walkthrough:end -->/p' README.md | sed '/^<!--/d;/^```/d')"
if [ -z "$walkthrough" ]; then
  echo "README has no walk-through block" >&2
  exit 1
fi

work="$(mktemp -d)"
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
# SHARELINK_SERVER_BIN: the server CI already built with the whole
# workspace (the same code; `cargo run -p` alone would resolve features for
# one package and rebuild much of the tree). Without it, the README's command.
if [ -n "${SHARELINK_SERVER_BIN:-}" ]; then
  run_server=("$SHARELINK_SERVER_BIN")
else
  cargo build --locked -q -p sharelink-server
  run_server=(cargo run --manifest-path "$root/Cargo.toml" --locked -q -p sharelink-server --)
fi
# `cargo run` starts the server as its child: run both in a session of their
# own, so that cleanup stops exactly that process group (no pattern matching
# on other processes' command lines).
(cd "$work" && exec setsid "${run_server[@]}" --listen "127.0.0.1:$port") \
  >"$work/server.out" 2>"$work/server.err" &
pid=$!
cleanup() {
  kill -TERM -- "-$pid" 2>/dev/null || kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
for _ in $(seq 1 300); do
  grep -q "listening on" "$work/server.out" 2>/dev/null && break
  sleep 0.1
done
grep -q "First start" "$work/server.out"

cd "$work"
printf '%s\n' "$walkthrough" | sed "s/127.0.0.1:8080/127.0.0.1:$port/g" >walkthrough.sh
bash -euo pipefail walkthrough.sh | tee walkthrough.out
grep -q "Hello from sharelink!" welcome.txt
tail -n 1 walkthrough.out | grep -q '"code":"ShareLinkTokenInvalid"'
echo "README walk-through: downloaded welcome.txt; the cancelled share's token is refused"
