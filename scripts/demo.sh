#!/usr/bin/env bash
# Quick start, first command: installs what it needs, builds, and runs `nativeip demo` (as root).
#   sudo bash scripts/demo.sh                 the AWS demo: emulated EC2, two nodes, real packets
#   sudo bash scripts/demo.sh --cloud azure   the same on an emulated Azure VNet
#   sudo bash scripts/demo.sh --kubernetes    nativeip as a DaemonSet on a real local cluster
set -euo pipefail
cd "$(dirname "$0")/.."
# Node.js 24 LTS (scripts/install-node.sh) comes first on PATH for setup, the build and the tests.
PATH="$(bash scripts/install-node.sh):$PATH"
export PATH
bash scripts/setup.sh
npm run --silent build
if [ "${1:-}" = "--kubernetes" ]; then
  exec node scripts/run-ts.mjs scripts/kube-demo.ts
fi
exec dist/bin/nativeip demo "$@"
