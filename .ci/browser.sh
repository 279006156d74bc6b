#!/usr/bin/env bash
# Installs what the browser tests need: Debian's chromium and
# chromium-driver (when missing), and axe-core from the npm registry at the
# version pinned in crates/sharelink-server/tests/browser-tools (into
# target/browser-tools, where the tests look for it).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! [ -x /usr/bin/chromium ] || ! [ -x /usr/bin/chromedriver ]; then
  echo "== installing chromium and chromium-driver"
  bash .ci/apt-install.sh chromium chromium-driver
fi
/usr/bin/chromium --version 2>/dev/null | head -1
/usr/bin/chromedriver --version | head -1

tools=target/browser-tools
mkdir -p "$tools"
cp crates/sharelink-server/tests/browser-tools/package.json \
   crates/sharelink-server/tests/browser-tools/package-lock.json "$tools/"
want="$(node -p "require('./$tools/package-lock.json').packages['node_modules/axe-core'].version")"
have="$(node -p "try { require('./$tools/node_modules/axe-core/package.json').version } catch (e) { '' }")"
if [ "$want" != "$have" ] || ! [ -f "$tools/node_modules/axe-core/axe.min.js" ]; then
  (cd "$tools" && npm ci --no-audit --no-fund --loglevel=error)
fi
echo "axe-core $(node -p "require('./$tools/node_modules/axe-core/package.json').version")"
