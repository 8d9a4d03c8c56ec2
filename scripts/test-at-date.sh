#!/usr/bin/env bash
# Runs the unit, integration and process tests with every process's clock shifted to start at a given
# instant: the first hours of a month, the turn of a year, 29 February, the last seconds of an hour.
# The suite must pass at any date and time; this is how that is checked rather than assumed.
#
#   scripts/test-at-date.sh 2028-02-29T23:59:30Z [vitest arguments...]
#
# How: as root, in a private mount namespace whose /etc is a copy holding ld.so.preload (Debian's
# libfaketime) and faketimerc with one relative offset, so the test runner, every child process (the
# sidecar, the AWS CLI, boto3) and the signer all move together. The deploy project is left out: the
# containers podman starts do not see the namespace's /etc, so their clocks are not shifted.
set -euo pipefail
cd "$(dirname "$0")/.."
target="${1:?usage: $0 <instant, e.g. 2028-02-29T23:59:30Z> [vitest arguments...]}"
shift
lib="$(ls /usr/lib/*/faketime/libfaketimeMT.so.1 2>/dev/null | head -n1)"
if [ -z "$lib" ]; then
  echo "libfaketime is not installed (Debian package faketime)" >&2
  exit 2
fi
offset=$(( $(date -u -d "$target" +%s) - $(date -u +%s) ))
etc="$(mktemp -d)"
chmod 755 "$etc" # /etc must stay readable to the non-root uids some tests run as
trap 'rm -rf "$etc"' EXIT
cp -a /etc/. "$etc/"
echo "$lib" >"$etc/ld.so.preload"
printf '%+ds\n' "$offset" >"$etc/faketimerc"
npm run build --silent
# libfaketime shares state through a semaphore its first process creates, mode 0600: a root setpriv
# would make one a process it drops to uid 65532 cannot open. setpriv itself needs no fake clock.
export FAKETIME_SKIP_CMDS=setpriv
echo "running the tests from $target (clock offset ${offset}s)"
unshare -m --propagation private bash -c 'mount --bind "$0" /etc && date -u && exec "$@"' "$etc" \
  npx vitest run --project unit --project integration --project process "$@"
