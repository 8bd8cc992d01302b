#!/usr/bin/env bash
# Builds the images the integration tests run, locally (no registry is
# reachable): berth-test/busybox:1, FROM scratch with Debian's static busybox,
# so it has sh, sleep, nc, httpd, wget, kill, timeout, grep, ...
#
# Idempotent: the image carries the label dev.berth.test-image-digest, a sha256
# over the Dockerfile, the root filesystem listing and the busybox binary; when
# an image with the same digest exists, nothing is built.
#
# No RUN step (the applet symlinks are made in the build context), so a build
# creates no container; the legacy builder is used because the engine is 20.10
# and the docker CLI may lack the buildx plugin.
set -euo pipefail

IMAGE="${BERTH_TEST_IMAGE:-berth-test/busybox:1}"
log() { printf '[build-test-images] %s\n' "$*" >&2; }

if ! command -v docker >/dev/null 2>&1; then
  log "no docker client found"; exit 1
fi

BUSYBOX=/bin/busybox
if [ ! -x "$BUSYBOX" ] || ! "$BUSYBOX" --list >/dev/null 2>&1; then
  log "installing Debian's busybox-static"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq --no-install-recommends busybox-static >&2
fi
# Must be a static binary: the image has no libc.
if command -v ldd >/dev/null 2>&1 && ldd "$BUSYBOX" 2>&1 | grep -q '=>'; then
  log "$BUSYBOX is dynamically linked; install busybox-static (it replaces busybox)"; exit 1
fi

ctx=$(mktemp -d)
trap 'rm -rf "$ctx"' EXIT
root="$ctx/rootfs"
mkdir -p "$root/bin" "$root/etc" "$root/tmp" "$root/root" "$root/home" "$root/var/www"
chmod 1777 "$root/tmp"
cp "$BUSYBOX" "$root/bin/busybox"
for applet in $("$BUSYBOX" --list); do
  [ "$applet" = busybox ] || ln -s busybox "$root/bin/$applet"
done
cat >"$root/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/sh
nobody:x:65534:65534:nobody:/home:/bin/false
EOF
cat >"$root/etc/group" <<'EOF'
root:x:0:
nogroup:x:65534:
EOF
echo 'berth test image' >"$root/var/www/index.html"

# PID 1 is a shell that exits 0 on SIGTERM (PID 1 ignores signals it has no
# handler for, so a bare `sleep infinity` would always wait out the grace period).
cat >"$ctx/Dockerfile" <<'EOF'
FROM scratch
COPY rootfs/ /
ENV PATH=/bin
CMD ["/bin/sh", "-c", "trap 'exit 0' TERM INT; while :; do sleep 3600 & wait $!; done"]
EOF

digest=$( { cat "$ctx/Dockerfile"; (cd "$root" && find . -printf '%p %y %m %l\n' | LC_ALL=C sort); cat "$BUSYBOX"; } | sha256sum | cut -d' ' -f1)
existing=$(docker image inspect --format '{{ index .Config.Labels "dev.berth.test-image-digest" }}' "$IMAGE" 2>/dev/null || true)
if [ "$existing" = "$digest" ]; then
  log "$IMAGE is up to date (digest ${digest:0:12})"
  exit 0
fi

# Not under berth.dev/: image labels are inherited by containers, and that prefix is berth's record.
echo "LABEL dev.berth.test-image-digest=$digest" >>"$ctx/Dockerfile"
previous=$(docker image inspect --format '{{.Id}}' "$IMAGE" 2>/dev/null || true)
log "building $IMAGE (digest ${digest:0:12})"
DOCKER_BUILDKIT=0 docker build --quiet --tag "$IMAGE" "$ctx" >&2
log "built $IMAGE"
# The previous build, now untagged, is ours to drop (unless a container still uses it).
if [ -n "$previous" ] && [ "$previous" != "$(docker image inspect --format '{{.Id}}' "$IMAGE")" ]; then
  if [ -z "$(docker image inspect --format '{{join .RepoTags ","}}' "$previous" 2>/dev/null)" ]; then
    docker image rm "$previous" >/dev/null 2>&1 || log "kept the previous build ${previous:7:12} (in use)"
  fi
fi
