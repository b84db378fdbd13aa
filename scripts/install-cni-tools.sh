#!/usr/bin/env bash
# Installs cnitool v1.3.0 and the reference CNI plugins v1.9.1 into $CNI_TOOLS_DIR (default
# .tmp/cni-bin) with `go install` from the Go module proxy. Idempotent: skips what is present.
set -euo pipefail
dir="${CNI_TOOLS_DIR:-$(cd "$(dirname "$0")/.." && pwd)/.tmp/cni-bin}"
mkdir -p "$dir"
export GOBIN="$dir" GOFLAGS="${GOFLAGS:-} -mod=mod"
want() { [ -x "$dir/$1" ] || return 0; return 1; }
if want cnitool; then go install github.com/containernetworking/cni/cnitool@v1.3.0; fi
for p in main/ptp main/loopback main/bridge ipam/host-local meta/portmap meta/bandwidth; do
  name="${p##*/}"
  if want "$name"; then go install "github.com/containernetworking/plugins/plugins/$p@v1.9.1"; fi
done
echo "$dir"
