#!/usr/bin/env bash
# Makes sure a Docker engine answers. Idempotent: an engine that already answers
# is left exactly as it is (never stopped, never reconfigured). When none does,
# installs Debian's docker.io if dockerd is missing and starts dockerd in the
# background, recording its PID so that only that daemon is ever restarted.
set -euo pipefail

STATE_DIR="${BERTH_DOCKERD_STATE:-/var/lib/berth-ci}"
PID_FILE="$STATE_DIR/dockerd.pid"
LOG_FILE="$STATE_DIR/dockerd.log"
WAIT_SECONDS="${BERTH_DOCKERD_WAIT:-90}"

log() { printf '[ensure-docker] %s\n' "$*" >&2; }

engine_answers() { timeout 10 docker info >/dev/null 2>&1; }

if [ "${1:-}" = "--restart-ours" ]; then
  # Used when the engine wedged (moby/moby#46661): restart only the dockerd we started.
  if [ -f "$PID_FILE" ] && kill -0 "$(cat "$PID_FILE")" 2>/dev/null; then
    pid=$(cat "$PID_FILE")
    log "stopping the dockerd this script started (pid $pid)"
    kill "$pid"
    for _ in $(seq 1 30); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
    rm -f "$PID_FILE"
  else
    log "no dockerd started by this script is running; nothing to restart"
  fi
fi

if engine_answers; then
  log "a Docker engine already answers; leaving it as it is"
  exit 0
fi

if ! command -v dockerd >/dev/null 2>&1; then
  log "installing Debian's docker.io"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  # The client may already exist outside dpkg (/usr/local/bin/docker); keep it, it speaks to 20.10.
  apt-get install -y -qq --no-install-recommends docker.io iptables >&2
fi
if ! command -v docker >/dev/null 2>&1; then
  log "no docker client found after install" ; exit 1
fi

mkdir -p "$STATE_DIR"
if [ -f "$PID_FILE" ] && kill -0 "$(cat "$PID_FILE")" 2>/dev/null; then
  log "our dockerd (pid $(cat "$PID_FILE")) is starting; waiting for it"
else
  if [ -S /var/run/docker.sock ] && ! pgrep -x dockerd >/dev/null 2>&1; then
    rm -f /var/run/docker.sock   # a stale socket from a previous machine life
  fi
  if pgrep -x dockerd >/dev/null 2>&1; then
    log "a dockerd runs that this script did not start; waiting for it instead of starting another"
  else
    log "starting dockerd in the background (log: $LOG_FILE)"
    nohup dockerd --host=unix:///var/run/docker.sock >"$LOG_FILE" 2>&1 &
    echo $! >"$PID_FILE"
  fi
fi

for i in $(seq 1 "$WAIT_SECONDS"); do
  if engine_answers; then
    log "engine answers after ${i}s: $(docker version --format '{{.Server.Version}}' 2>/dev/null)"
    exit 0
  fi
  sleep 1
done
log "the engine did not answer within ${WAIT_SECONDS}s; last lines of $LOG_FILE:"
tail -n 30 "$LOG_FILE" >&2 || true
exit 1
