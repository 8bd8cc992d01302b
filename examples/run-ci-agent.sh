#!/usr/bin/env bash
# Runs a repository's tests in a CI-agent sandbox (examples/ci-agents.yaml):
# claim a member (waiting FIFO while MAX_CONCURRENT_AGENTS are busy), copy the
# repository in with `berth cp`, run its run-tests.sh inside (offline, as
# uid 65534), copy the report out, and release the claim (always).
#
#   examples/run-ci-agent.sh REPO_DIR REPORT_FILE
#
# Exit code: the tests' (0 pass, 1 fail), 124 when they timed out, 125 when no
# sandbox could be had. Environment: AGENT_POOL (ci-agents), AGENT_NAMESPACE
# (agents), AGENT_TIMEOUT (10m, for the tests), AGENT_TTL (15m, the lease),
# AGENT_QUEUE_WAIT (5m, the seed's queue timeout), BERTH (the berth command).
set -uo pipefail

if [ $# -ne 2 ] || [ ! -d "$1" ]; then
  echo "usage: $0 REPO_DIR REPORT_FILE" >&2; exit 2
fi
repo=$1
report=$2
pool=${AGENT_POOL:-ci-agents}
ns=${AGENT_NAMESPACE:-agents}
if [ -n "${BERTH:-}" ]; then
  read -r -a berth <<<"$BERTH"
elif command -v berth >/dev/null 2>&1; then
  berth=(berth)
else
  berth=(node "$(cd "$(dirname "$0")/.." && pwd)/bin/berth.js")
fi
say() { printf 'ci-agent: %s\n' "$*" >&2; }

claim="$pool-$(head -c 4 /dev/urandom | od -An -tx1 | tr -d ' \n')"
trap '"${berth[@]}" release "$claim" -n "$ns" >/dev/null 2>&1 && say "released $claim"' EXIT

answer=$("${berth[@]}" claim "$pool" -n "$ns" --name "$claim" --ttl "${AGENT_TTL:-15m}" --wait "${AGENT_QUEUE_WAIT:-5m}" -o json) || { say "no sandbox from $ns/$pool"; exit 125; }
instance=$(printf '%s' "$answer" | node -e 'let s="";process.stdin.on("data",(d)=>(s+=d)).on("end",()=>process.stdout.write(String(JSON.parse(s).status?.instance??"")))')
[ -n "$instance" ] || { say "claim $claim was not bound: $answer"; exit 125; }
say "claim $claim bound to $instance"

"${berth[@]}" cp "$repo" "$instance:/tmp/repo" -n "$ns" || exit 125
"${berth[@]}" exec "$instance" -n "$ns" --timeout "${AGENT_TIMEOUT:-10m}" -- sh -c 'cd /tmp/repo && sh run-tests.sh > /tmp/report.txt 2>&1'
rc=$?
"${berth[@]}" cp "$instance:/tmp/report.txt" "$report" -n "$ns" || exit 125
say "tests exited $rc; report in $report"
exit "$rc"
