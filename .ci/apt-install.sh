#!/usr/bin/env bash
# Installs Debian packages (arguments: package names, optionally =version),
# quietly and non-interactively, with sudo when not root. Every script that
# needs a Debian package calls this one.
set -euo pipefail
[ $# -gt 0 ] || exit 0
sudo_=""
if [ "$(id -u)" != 0 ]; then sudo_="sudo"; fi
$sudo_ apt-get update -qq
$sudo_ env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
