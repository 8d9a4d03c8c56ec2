# syntax=docker/dockerfile:1
#
# marketplace-entitlement-sidecar image: the bundled JS (an entry file and its chunks) on a distroless Node 24 (LTS) base.
#
#   docker buildx build --platform linux/amd64,linux/arm64 \
#     --build-arg REVISION="$(git rev-parse HEAD)" -t REGISTRY/entitlement-sidecar:0.1.0 .
#
# Why distroless: the sidecar needs Node and nothing else. No shell, no package manager, no npm: the
# health check is `entitlement-sidecar check` (exec form), so nothing here ever needs /bin/sh, and a
# compromised process finds no tools. Its `nonroot` user is uid/gid 65532, the uid the chart and the
# task definition run as. distroless publishes per-major tags only (nodejs24-debian12); pin the digest
# in your release pipeline (`--build-arg RUNTIME_IMAGE=gcr.io/distroless/nodejs24-debian12:nonroot@sha256:...`,
# or let Renovate/Dependabot maintain it) so a rebuild cannot silently change the Node patch release.
ARG NODE_VERSION=24.21.0
ARG RUNTIME_IMAGE=gcr.io/distroless/nodejs24-debian12:nonroot

# ---------------------------------------------------------------------------------------------------
# Build stage: runs on the build machine's own platform. The JS bundle is the same for every target
# architecture, so only the last stage is per-architecture and arm64 builds need no emulation here.
FROM --platform=$BUILDPLATFORM docker.io/library/node:${NODE_VERSION}-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
# --ignore-scripts: nothing from the registry runs at build time (esbuild's binary comes from its
# optional platform package, no install script needed).
RUN --mount=type=cache,target=/root/.npm,sharing=locked \
    npm ci --ignore-scripts --no-audit --no-fund --loglevel=warn
COPY tsconfig.json ./
COPY scripts/bundle.mjs scripts/compile-cache.mjs scripts/
COPY src/ src/
RUN rm -rf dist/bundle \
 && node scripts/bundle.mjs \
 && node dist/bundle/entitlement-sidecar.mjs version \
 && mkdir -p /out/app /out/entitlement \
 && cp -R dist/bundle/. /out/app/ \
 && find /out/app -type d -exec chmod 0555 {} + \
 && find /out/app -type f -exec chmod 0444 {} +

# ---------------------------------------------------------------------------------------------------
# Compile-cache stage: the runtime image itself, per target architecture, as the runtime user. Node's
# compile cache (V8's compiled code for every module, so no start parses and compiles them again) is valid only for the same Node
# build, architecture, flags, uid and file paths: it is made here, where and as it is used. Exec form
# only: the runtime image has no shell. (Cross-architecture builds run this stage under emulation.)
FROM --platform=$TARGETPLATFORM ${RUNTIME_IMAGE} AS compile-cache
COPY --from=build /out/app/ /app/
COPY --from=build /src/scripts/compile-cache.mjs /opt/compile-cache.mjs
USER 65532:65532
ENV NODE_COMPILE_CACHE=/tmp/compile-cache
RUN ["/nodejs/bin/node", "/app/entitlement-sidecar.mjs", "version"]
RUN ["/nodejs/bin/node", "/opt/compile-cache.mjs", "/app", "/tmp/compile-cache"]

# ---------------------------------------------------------------------------------------------------
# Runtime stage, per target architecture. (--platform=$TARGETPLATFORM is BuildKit's default anyway;
# spelled out because buildah <= 1.28 otherwise resolves this base for the build stage's platform.)
FROM --platform=$TARGETPLATFORM ${RUNTIME_IMAGE}
ARG VERSION=0.1.0
ARG REVISION=unknown
ARG RUNTIME_IMAGE
LABEL org.opencontainers.image.title="marketplace-entitlement-sidecar" \
      org.opencontainers.image.description="AWS Marketplace entitlement sidecar: RegisterUsage, a verified PS256 entitlement file, /healthz, /metrics" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.base.name="${RUNTIME_IMAGE}"

# Code owned by root and read-only for everyone (modes set in the build stage): the runtime user
# cannot change what it runs.
COPY --from=build --chown=0:0 /out/app/ /app/
# The compile cache, read-only and owned by root like the code (modes set by compile-cache.mjs).
COPY --from=compile-cache --chown=0:0 /tmp/compile-cache/ /app/compile-cache/
# The entitlement volume's mount point, owned by the runtime user. Kubernetes mounts an emptyDir here.
# On ECS, a task volume whose containerPath matches a VOLUME directive starts as a copy of this
# directory, ownership included, so uid 65532 can write to it (a plain bind mount would be root-owned).
COPY --from=build --chown=65532:65532 /out/entitlement/ /var/run/marketplace/
VOLUME ["/var/run/marketplace"]

ENV ENTITLEMENT_FILE=/var/run/marketplace/entitlement.json \
    ENTITLEMENT_LISTEN=0.0.0.0:9797 \
    NODE_COMPILE_CACHE=/app/compile-cache
EXPOSE 9797
USER 65532:65532
WORKDIR /app
ENTRYPOINT ["/nodejs/bin/node", "/app/entitlement-sidecar.mjs"]
CMD ["run"]
# Healthy = a verified entitlement exists (GET /healthz answers 200). `check` reads ENTITLEMENT_LISTEN.
# Kubernetes ignores this (the chart has its own probes); ECS uses the task definition's healthCheck.
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
  CMD ["/nodejs/bin/node", "/app/entitlement-sidecar.mjs", "check"]
# The sidecar handles SIGTERM and exits 0 within 2 s.
STOPSIGNAL SIGTERM
