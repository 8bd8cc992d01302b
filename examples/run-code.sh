#!/usr/bin/env bash
# Runs Python code in a warm sandbox of the python-runners pool
# (examples/code-runner.yaml): claim a member, exec the code with a timeout,
# release the claim (always, even on failure or Ctrl-C). Only the berth CLI
# is used, against the controller at $BERTH_SERVER (default http://127.0.0.1:7070).
#
#   examples/run-code.sh                      # a small default snippet
#   examples/run-code.sh 'print(2 ** 100)'
#   echo 'print("from stdin")' | examples/run-code.sh -
#   examples/run-code.sh -f hello.py         # copy a file in (berth cp) and run it
#   RUN_TIMEOUT=2s examples/run-code.sh 'while True: pass'   # exit 124
#
# The code's stdout and stderr pass through; a summary (claim, instance,
# timings) goes to stderr. The exit code is the code's own, 124 when it timed
# out and was killed, 125 when no sandbox could be had (or berth failed).
#
# Environment: RUN_POOL (python-runners), RUN_NAMESPACE (sandboxes),
# RUN_TIMEOUT (10s, for the code), RUN_TTL (60s, the lease), RUN_WAIT (10s, for
# a free member), BERTH (the berth command; default: `berth` when on the PATH,
# else this checkout's bin/berth.js).
set -uo pipefail

usage() { sed -n '2,/^$/{s/^# \{0,1\}//;p}' "$0" | sed '/^set /d'; }
case "${1:-}" in -h | --help) usage; exit 0 ;; esac
file=
if [ "${1:-}" = -f ]; then
  if [ $# -ne 2 ] || [ ! -f "$2" ]; then echo "usage: $0 -f FILE.py" >&2; exit 2; fi
  file=$2
  set -- x
fi
if [ $# -gt 1 ]; then
  echo "usage: $0 [CODE | - | -f FILE]" >&2; exit 2
fi

DEFAULT_CODE='import math, os, sys
primes = [n for n in range(2, 50) if all(n % d for d in range(2, math.isqrt(n) + 1))]
print(f"primes below 50: {primes}")
print(f"sum of their squares: {sum(p * p for p in primes)}")
print(f"Python {sys.version.split()[0]}, uid {os.getuid()}")'
code=${1:-$DEFAULT_CODE}

pool=${RUN_POOL:-python-runners}
ns=${RUN_NAMESPACE:-sandboxes}
timeout=${RUN_TIMEOUT:-10s}
ttl=${RUN_TTL:-60s}
wait_for=${RUN_WAIT:-10s}

if [ -n "${BERTH:-}" ]; then
  read -r -a berth <<<"$BERTH"
elif command -v berth >/dev/null 2>&1; then
  berth=(berth)
else
  berth=(node "$(cd "$(dirname "$0")/.." && pwd)/bin/berth.js")
fi

ms() { date +%s%3N; }
say() { printf 'run-code: %s\n' "$*" >&2; }

# The claim's name is chosen here, so it can be released even when `berth
# claim` fails half-way (say, not bound within --wait: the claim stays queued).
claim="$pool-$(head -c 4 /dev/urandom | od -An -tx1 | tr -d ' \n')"
claimed=no
release() {
  [ "$claimed" = yes ] || return 0
  local out
  if out=$("${berth[@]}" release "$claim" -n "$ns" 2>&1); then
    say "released $claim"
  else
    case "$out" in
      *"not found"* | *NotFound*) ;; # expired already, or never created
      *"cannot reach"*) say "could not reach the controller to release $claim; if it was created, its ttl ($ttl) ends it" ;;
      *) say "could not release $claim (its ttl of $ttl ends it): $out" ;;
    esac
  fi
}
# On a signal, stop the berth command in flight, then exit (which releases).
child=
stop() {
  [ -z "$child" ] || kill "$child" 2>/dev/null
  exit "$1"
}
trap release EXIT
trap 'stop 130' INT
trap 'stop 143' TERM

t0=$(ms)
claimed=yes # from here on the claim may exist
if ! answer=$("${berth[@]}" claim "$pool" -n "$ns" --name "$claim" --ttl "$ttl" --wait "$wait_for" -o json); then
  say "no sandbox from pool $ns/$pool (see above)"
  exit 125
fi
t1=$(ms)
# The bound claim names its pool member in .status.instance.
instance=$(printf '%s' "$answer" | node -e '
  let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => {
    const o = JSON.parse(s); process.stdout.write(String((o.status && o.status.instance) || ""));
  });')
if [ -z "$instance" ]; then
  say "claim $claim names no instance (not bound?): $answer"
  exit 125
fi
say "claim $claim bound to $instance in $((t1 - t0)) ms"

# In the background and waited for, so a signal is handled at once instead of
# after the command (bash runs traps between commands); fd 3 keeps this
# script's stdin, which a background command would otherwise not get.
exec 3<&0
if [ -n "$file" ]; then
  # /tmp is the sandbox's writable tmpfs; the file lands as the sandbox user.
  if ! "${berth[@]}" cp "$file" "$instance:/tmp/main.py" -n "$ns"; then
    say "could not copy $file into $instance"
    exit 125
  fi
  "${berth[@]}" exec "$instance" -n "$ns" --timeout "$timeout" -- python3 /tmp/main.py <&3 &
elif [ "$code" = - ]; then
  "${berth[@]}" exec "$instance" -n "$ns" --timeout "$timeout" -i -- python3 - <&3 &
else
  "${berth[@]}" exec "$instance" -n "$ns" --timeout "$timeout" -- python3 -c "$code" <&3 &
fi
child=$!
wait "$child"
rc=$?
child=
t2=$(ms)
say "exit $rc after $((t2 - t1)) ms in the sandbox ($((t2 - t0)) ms with the claim)"
exit "$rc"
