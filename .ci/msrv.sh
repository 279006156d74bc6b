#!/usr/bin/env bash
# Checks the published crates against the declared MSRV (`rust-version` in
# Cargo.toml) with a real Rust of that version: Debian's rustc-web/cargo-web
# 1.85, installed next to rustup's toolchain as /usr/bin/rustc and
# /usr/bin/cargo. Installs them when they are missing.
set -euo pipefail
cd "$(dirname "$0")/.."

msrv="$(sed -n 's/^rust-version = "\(.*\)"/\1/p' Cargo.toml)"
pkg_version="1.85.0+dfsg3-1~deb12u3"
if [ "$msrv" != "1.85" ]; then
  echo "rust-version is $msrv but this script installs Rust 1.85: update both" >&2
  exit 1
fi

if ! /usr/bin/rustc --version 2>/dev/null | grep -q "^rustc $msrv"; then
  echo "== installing Rust $msrv (rustc-web, cargo-web $pkg_version)"
  bash .ci/apt-install.sh \
    "rustc-web=$pkg_version" "cargo-web=$pkg_version" \
    "libstd-rust-web-dev=$pkg_version" "libstd-rust-web-1.85=$pkg_version" >/dev/null
fi
/usr/bin/rustc --version

# The crates a host depends on, with every feature combination of the
# facade; a separate target directory, so no artefact is shared between
# two compilers.
export RUSTC=/usr/bin/rustc
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target}/msrv"
# A check generates no Rust code; the optimisation level would only slow
# the C that build scripts compile (SQLite, ring), so it is off here.
/usr/bin/cargo check --locked --config 'profile.dev.package."*".opt-level=0' -p sharelink-core -p sharelink-sqlite -p sharelink-sled -p sharelink-postgres -p sharelink-http -p sharelink --features sharelink-http/pages
echo "MSRV $msrv: the published crates build"
