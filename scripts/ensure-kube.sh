#!/usr/bin/env bash
# Makes sure a real Kubernetes answers for the integration tests: the kit in
# ../shared/kube (a kube-apiserver, controller-manager, scheduler and one
# kubelet node on this machine; see its README), started with --node and the
# test images imported into the node's containerd, so Pods run them with
# imagePullPolicy Never/IfNotPresent (nothing is pulled).
#
# Idempotent: the kit's up.sh leaves running pieces alone (0.8 s when all
# runs) and re-imports only what changed. Progress goes to stderr; stdout gets
# only the lines to eval:
#   export BERTH_TEST_KUBECONFIG=...   the kubeconfig the tests use
#   export BERTH_KUBE_STARTED=1        when this run started the cluster (so
#                                      .ci/run knows to stop it again)
# Where the kit is: $BERTH_KUBE_KIT, else ../shared/kube beside the checkout,
# else /work/shared/kube.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '[ensure-kube] %s\n' "$*" >&2; }

kit="${BERTH_KUBE_KIT:-}"
if [ -z "$kit" ]; then
  for candidate in "$PWD/../shared/kube" /work/shared/kube; do
    if [ -f "$candidate/up.sh" ]; then kit=$(cd "$candidate" && pwd); break; fi
  done
fi
if [ -z "$kit" ] || [ ! -f "$kit/up.sh" ]; then
  log "no Kubernetes kit found (set BERTH_KUBE_KIT to the directory holding up.sh)"; exit 1
fi

bash scripts/build-test-images.sh

state="${KUBE_LOCAL_DIR:-${TMPDIR:-/tmp}/kube-local}"
started=0
if [ -f "$state/kubeconfig" ] && [ -x "$state/bin/kubectl" ] \
  && timeout 10 "$state/bin/kubectl" --kubeconfig "$state/kubeconfig" get --raw /readyz >/dev/null 2>&1 \
  && timeout 10 "$state/bin/kubectl" --kubeconfig "$state/kubeconfig" get node 127.0.0.1 >/dev/null 2>&1; then
  log "a kube-local cluster with its node already answers; importing the test images only if they changed"
else
  started=1
fi
out=$(bash "$kit/up.sh" --node --image berth-test/busybox:1,berth-test/nosh:1)
kubeconfig=$(printf '%s\n' "$out" | sed -n 's/^export KUBECONFIG=//p' | tail -n 1)
if [ -z "$kubeconfig" ] || [ ! -f "$kubeconfig" ]; then
  log "up.sh printed no kubeconfig: $out"; exit 1
fi
printf 'export BERTH_TEST_KUBECONFIG=%q\n' "$kubeconfig"
[ "$started" = 1 ] && printf 'export BERTH_KUBE_STARTED=1\n'
printf 'export BERTH_KUBE_KIT=%q\n' "$kit"
log "cluster ready: $kubeconfig"
