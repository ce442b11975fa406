# The fnops CLI image: the ArgoCD Config Management Plugin sidecar (`fnops argocd generate`), and a
# CI image for `fnops render --check` and `fnops validate`.
#
# The build context holds the released binary in `dist/linux-<arch>/fnops` (the release
# workflow unpacks the wheels there; scripts/build-images does the same), so the image never
# compiles Rust:
#   podman build -t ghcr.io/fnops/fnops:0.1.0 <context>
ARG BASE_IMAGE=debian:bookworm-slim
FROM ${BASE_IMAGE}
ARG TARGETARCH=amd64

SHELL ["/bin/sh", "-eu", "-c"]

# git: `fnops validate --changed-since` and `fnops diff` read the repository.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends git ca-certificates \
 && rm -rf /var/lib/apt/lists/*

COPY dist/linux-${TARGETARCH}/fnops /usr/local/bin/fnops

# argocd-cmp-server runs as UID 999 (the `argocd` user of the repo-server) and reads its plugin
# configuration from /home/argocd/cmp-server/config/plugin.yaml: it is baked in here, from the
# binary itself, so image and plugin never disagree. The root filesystem can be read-only:
# ArgoCD mounts /var/run/argocd, the plugins directory and a /tmp emptyDir.
RUN useradd --uid 999 --user-group --home-dir /home/argocd --create-home --shell /usr/sbin/nologin argocd \
 && mkdir -p /home/argocd/cmp-server/config \
 && fnops argocd plugin --config > /home/argocd/cmp-server/config/plugin.yaml \
 && chown -R 999:999 /home/argocd \
 && fnops --version

ENV HOME=/home/argocd TMPDIR=/tmp
USER 999:999
WORKDIR /home/argocd
ENTRYPOINT ["/usr/local/bin/fnops"]
CMD ["--help"]
