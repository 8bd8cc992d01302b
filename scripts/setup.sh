#!/usr/bin/env bash
# One-time setup for a newcomer's machine: a Docker engine that answers, the
# dependencies, the build, and the locally built images the examples use.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-docker.sh
npm ci --no-audit --no-fund
npm run build
bash scripts/build-test-images.sh
bash scripts/build-python-image.sh
