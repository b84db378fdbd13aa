#!/usr/bin/env bash
# The project's test command (README): installs what it needs, builds, type-checks, lints and runs
# every test suite (unit, integration, e2e). The e2e suites need root for network namespaces.
set -euo pipefail
cd "$(dirname "$0")/.."
# Node.js 24 LTS (scripts/install-node.sh) comes first on PATH for setup, the build and the tests.
PATH="$(bash scripts/install-node.sh):$PATH"
export PATH
bash scripts/setup.sh
npm run --silent build
npx tsc -p tsconfig.json --noEmit
npx eslint src test bench scripts
mkdir -p .tmp
status=0
npx vitest run --reporter=default --reporter=json --outputFile.json=.tmp/vitest.json "$@" || status=$?
# A plain closing line that any CI reads: "N passed, N failed, N skipped".
node -e '
  const r = JSON.parse(require("fs").readFileSync(".tmp/vitest.json", "utf8"));
  const skipped = r.numPendingTests + r.numTodoTests;
  console.log(`tests: ${r.numPassedTests} passed, ${r.numFailedTests} failed, ${skipped} skipped`);
' || true
exit "$status"
