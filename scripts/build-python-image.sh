#!/usr/bin/env bash
# Builds berth-examples/python:3, the image of the code-runner example
# (examples/code-runner.yaml), locally: no image registry is reachable, only
# the Debian package mirror apt already uses here. The root filesystem is a minimal Debian bookworm
# made by debootstrap (--variant=minbase, plus python3-minimal), stripped of
# apt caches, docs, man pages and locales, and imported with `docker import`.
#
# Idempotent:
#   - the image carries the label dev.berth.example-recipe (a sha256 over the
#     recipe below); when an image with the same recipe exists, nothing is done.
#     (Not under berth.dev/: containers inherit image labels, and that prefix
#     is berth's record of ownership.)
#   - the stripped root filesystem is cached under $BERTH_IMAGE_CACHE
#     (default /var/cache/berth-images), so a rebuild (say, after
#     `docker image rm`) is an import of seconds, not a debootstrap.
# BERTH_REBUILD=1 rebuilds the image from the cached root filesystem;
# BERTH_REBUILD=2 also redoes the debootstrap.
#
# Needs root (debootstrap chroots) and a docker client that reaches the engine.
set -euo pipefail

IMAGE=berth-examples/python:3
SUITE=bookworm
# The mirror this machine's apt uses (BERTH_DEBIAN_MIRROR overrides it): see debian-mirror.sh.
MIRROR=$(bash "$(dirname "$0")/debian-mirror.sh")
PACKAGES=python3-minimal
CACHE=${BERTH_IMAGE_CACHE:-/var/cache/berth-images}
ROOTFS=$CACHE/python3-rootfs
LABEL_RECIPE=dev.berth.example-recipe
LABEL_IMAGE=dev.berth.example-image
ENV_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
# What the image is made of; any change here makes a new image.
RECIPE="v1 debootstrap --variant=minbase --include=$PACKAGES $SUITE; strip v1; CMD python3; PATH=$ENV_PATH"

start=$(date +%s)
log() { printf '[build-python-image %3ss] %s\n' "$(($(date +%s) - start))" "$*" >&2; }

if ! command -v docker >/dev/null 2>&1; then
  log "no docker client found (run scripts/ensure-docker.sh first)"; exit 1
fi
if [ "$(id -u)" != 0 ]; then
  log "must run as root (debootstrap needs to chroot)"; exit 1
fi

recipe_digest=$(printf '%s' "$RECIPE" | sha256sum | cut -d' ' -f1)
existing=$(docker image inspect --format "{{ index .Config.Labels \"$LABEL_RECIPE\" }}" "$IMAGE" 2>/dev/null || true)
if [ "$existing" = "$recipe_digest" ] && [ "${BERTH_REBUILD:-0}" = 0 ]; then
  log "$IMAGE is up to date ($(docker image inspect --format "{{ index .Config.Labels \"$LABEL_IMAGE\" }}" "$IMAGE"), recipe ${recipe_digest:0:12})"
  exit 0
fi

mkdir -p "$CACHE"
# One build at a time per cache (two setups running at once would debootstrap
# into the same directory).
exec 9>"$CACHE/.python3.lock"
flock 9

# --- the root filesystem (cached) ---
stamp=$ROOTFS/.berth-recipe
if [ "${BERTH_REBUILD:-0}" = 2 ] || [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$recipe_digest" ]; then
  if ! command -v debootstrap >/dev/null 2>&1; then
    log "installing Debian's debootstrap"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq --no-install-recommends debootstrap >&2
  fi
  staging=$ROOTFS.partial
  # A leftover from an interrupted run: debootstrap may have left /proc mounted.
  if [ -d "$staging" ]; then
    umount -R "$staging/proc" 2>/dev/null || true
    umount -R "$staging/sys" 2>/dev/null || true
    rm -rf --one-file-system "$staging"
  fi
  log "debootstrap --variant=minbase --include=$PACKAGES $SUITE from $MIRROR (a minute or two)"
  if ! debootstrap --variant=minbase --include="$PACKAGES" "$SUITE" "$staging" "$MIRROR" >"$CACHE/debootstrap.log" 2>&1; then
    log "debootstrap failed; the last lines of $CACHE/debootstrap.log:"
    tail -n 20 "$CACHE/debootstrap.log" >&2
    [ -f "$staging/debootstrap/debootstrap.log" ] && tail -n 20 "$staging/debootstrap/debootstrap.log" >&2
    exit 1
  fi
  log "debootstrap done ($(du -sh --one-file-system "$staging" | cut -f1)); stripping"
  chroot "$staging" apt-get clean >/dev/null 2>&1 || true
  rm -rf "$staging"/var/cache/apt/* "$staging"/var/lib/apt/lists/* \
    "$staging"/var/cache/debconf/*-old "$staging"/var/lib/dpkg/*-old \
    "$staging"/var/log/* "$staging"/tmp/* "$staging"/var/tmp/* \
    "$staging"/usr/share/doc/* "$staging"/usr/share/man/* "$staging"/usr/share/info/* \
    "$staging"/usr/share/lintian "$staging"/usr/share/linda \
    "$staging"/usr/share/common-licenses
  # Locales: keep the locale-independent bits only (the image runs as C.UTF-8).
  find "$staging/usr/share/locale" -mindepth 1 -maxdepth 1 ! -name locale.alias -exec rm -rf {} + 2>/dev/null || true
  # The engine mounts its own /dev, /proc and /sys; the image needs empty dirs.
  find "$staging/dev" -mindepth 1 -delete
  # Container-specific files the engine provides.
  rm -f "$staging/etc/hostname" "$staging/etc/resolv.conf" "$staging/etc/machine-id"
  : >"$staging/etc/machine-id"
  chmod 1777 "$staging/tmp" "$staging/var/tmp"
  printf '%s' "$recipe_digest" >"$staging/.berth-recipe"
  rm -rf --one-file-system "$ROOTFS"
  mv "$staging" "$ROOTFS"
  log "root filesystem cached at $ROOTFS ($(du -sh --one-file-system "$ROOTFS" | cut -f1))"
else
  log "using the cached root filesystem at $ROOTFS"
fi

python_version=$(awk '/^Package: /{p=$2} p=="python3-minimal" && /^Version: /{print $2; exit}' "$ROOTFS/var/lib/dpkg/status")
log "importing $IMAGE (python3-minimal $python_version)"
previous=$(docker image inspect --format '{{.Id}}' "$IMAGE" 2>/dev/null || true)
tar --numeric-owner --exclude=./.berth-recipe -C "$ROOTFS" -c . |
  docker import \
    --change 'CMD ["python3"]' \
    --change "ENV PATH=$ENV_PATH" \
    --change 'ENV LANG=C.UTF-8' \
    --change 'ENV PYTHONDONTWRITEBYTECODE=1' \
    --change "LABEL $LABEL_IMAGE=python3-$python_version" \
    --change "LABEL $LABEL_RECIPE=$recipe_digest" \
    --message "berth example image: Debian $SUITE minbase + $PACKAGES" \
    - "$IMAGE" >/dev/null
# The previous import, now untagged, is ours to drop (unless a container still uses it).
if [ -n "$previous" ] && [ "$previous" != "$(docker image inspect --format '{{.Id}}' "$IMAGE")" ]; then
  if [ -z "$(docker image inspect --format '{{join .RepoTags ","}}' "$previous" 2>/dev/null)" ]; then
    docker image rm "$previous" >/dev/null 2>&1 || log "kept the previous build ${previous:7:12} (in use)"
  fi
fi
log "built $IMAGE: $(docker image inspect --format '{{.Size}}' "$IMAGE" | awk '{ printf "%.1f MB", $1 / 1e6 }'), $(docker run --rm --network none "$IMAGE" python3 -V 2>&1)"
