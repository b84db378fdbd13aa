#!/usr/bin/env bash
# Quick start, first command: installs what it needs, builds, and runs `nativeip demo` (as root).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
npm run --silent build
exec dist/bin/nativeip demo "$@"
