#!/usr/bin/env bash
# Builds the images the integration tests run, locally (no registry is
# reachable), FROM scratch with Debian's static busybox:
#   berth-test/busybox:1  busybox with every applet linked in /bin (sh, sleep,
#                         nc, httpd, wget, kill, timeout, grep, tr, ps, ...)
#   berth-test/nosh:1     only /busybox, no shell on the PATH: for what must
#                         work when an image has no sh (exec timeout kill)
#   berth-test/nocmd:1    /busybox and no CMD or ENTRYPOINT: the engine refuses
#                         to create a container from it without a command
#
# Idempotent: each image carries the label dev.berth.test-image-digest, a
# sha256 over its Dockerfile, its root filesystem listing and the busybox
# binary; when an image with the same digest exists, nothing is built. (Not
# under berth.dev/: containers inherit image labels, and that prefix is
# berth's record of ownership.)
#
# No RUN step (the applet symlinks are made in the build context), so a build
# creates no container; the legacy builder is used because the engine is 20.10
# and the docker CLI may lack the buildx plugin.
set -euo pipefail

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
# Must be a static binary: the images have no libc.
if command -v ldd >/dev/null 2>&1 && ldd "$BUSYBOX" 2>&1 | grep -q '=>'; then
  log "$BUSYBOX is dynamically linked; install busybox-static (it replaces busybox)"; exit 1
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# build IMAGE CONTEXT: CONTEXT holds a Dockerfile and rootfs/.
build() {
  local image=$1 ctx=$2 digest existing previous
  digest=$( { cat "$ctx/Dockerfile"; (cd "$ctx/rootfs" && find . -printf '%p %y %m %l\n' | LC_ALL=C sort); cat "$BUSYBOX"; } | sha256sum | cut -d' ' -f1)
  existing=$(docker image inspect --format '{{ index .Config.Labels "dev.berth.test-image-digest" }}' "$image" 2>/dev/null || true)
  if [ "$existing" = "$digest" ]; then
    log "$image is up to date (digest ${digest:0:12})"
    return 0
  fi
  echo "LABEL dev.berth.test-image-digest=$digest" >>"$ctx/Dockerfile"
  previous=$(docker image inspect --format '{{.Id}}' "$image" 2>/dev/null || true)
  log "building $image (digest ${digest:0:12})"
  DOCKER_BUILDKIT=0 docker build --quiet --tag "$image" "$ctx" >&2
  log "built $image"
  # The previous build, now untagged, is ours to drop (unless a container still uses it).
  if [ -n "$previous" ] && [ "$previous" != "$(docker image inspect --format '{{.Id}}' "$image")" ]; then
    if [ -z "$(docker image inspect --format '{{join .RepoTags ","}}' "$previous" 2>/dev/null)" ]; then
      docker image rm "$previous" >/dev/null 2>&1 || log "kept the previous build ${previous:7:12} (in use)"
    fi
  fi
}

# --- berth-test/busybox:1 ---
ctx="$work/busybox"
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
build berth-test/busybox:1 "$ctx"

# --- berth-test/nosh:1 ---
ctx="$work/nosh"
mkdir -p "$ctx/rootfs/tmp"
chmod 1777 "$ctx/rootfs/tmp"
cp "$BUSYBOX" "$ctx/rootfs/busybox"
cat >"$ctx/Dockerfile" <<'EOF'
FROM scratch
COPY rootfs/ /
ENV PATH=/nowhere
CMD ["/busybox", "sleep", "3600"]
EOF
build berth-test/nosh:1 "$ctx"

# --- berth-test/nocmd:1 ---
ctx="$work/nocmd"
mkdir -p "$ctx/rootfs"
cp "$BUSYBOX" "$ctx/rootfs/busybox"
cat >"$ctx/Dockerfile" <<'EOF'
FROM scratch
COPY rootfs/ /
EOF
build berth-test/nocmd:1 "$ctx"
