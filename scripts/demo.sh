#!/usr/bin/env bash
# Quick start, first command: installs what it needs, builds, and runs `nativeip demo` (as root).
set -euo pipefail
cd "$(dirname "$0")/.."
# Node.js 24 LTS (scripts/install-node.sh) comes first on PATH for setup, the build and the tests.
PATH="$(bash scripts/install-node.sh):$PATH"
export PATH
bash scripts/setup.sh
npm run --silent build
exec dist/bin/nativeip demo "$@"
