#!/usr/bin/env bash
# Builds the real Helm the chart's tests render charts/nativeip with (test/unit/helm-chart.test.ts,
# test/kube/helm-chart.test.ts), once per machine, into
# ${NATIVEIP_CACHE:-/var/cache/nativeip}/helm-v3.22.0/bin:
#   helm  v3.22.0, Go module helm.sh/helm/v3 (`go install pkg@version` from the Go module proxy:
#       the module has no replace directives; its go.mod asks for Go 1.26.0)
# v3.22.0 is the newest v3 release on the proxy on 2026-12-03 (Helm 4 is another module,
# helm.sh/helm/v4, not used here).
# Build time on the 2-core machine from an empty Go build cache (GOCACHE=$(mktemp -d)), 2026-12-03:
# 109 s with the module cache empty of Helm's modules (64 fetched from the proxy, the k8s.io ones
# at v0.37.0 too), 118 s with the module cache warm (the spread is other work on the machine);
# this script's own first run, with the machine's build cache, 178 s on a busier machine.
# Binary: 62 MB (-s -w).
#
# Idempotent: a binary already there with the right version is kept; it is built under a temporary
# name and renamed, and concurrent runs wait for each other (flock). Prints one line when it builds,
# with its wall time, and the bin directory last.
# HELM_VERSION must agree with the one in test/unit/helm-chart.test.ts and
# test/kube/helm-chart.test.ts (the unit test checks it).
set -euo pipefail
HELM_VERSION=v3.22.0
# The Kubernetes version Helm assumes without a cluster (`helm template`, `helm lint`): its
# Makefile stamps the minor of its k8s.io modules (client-go v0.37.0 in v3.22.0's go.mod);
# without it Helm says v1.20.0 and refuses the chart (kubeVersion >=1.32.0-0).
KUBE_MINOR=37
cache=${NATIVEIP_CACHE:-/var/cache/nativeip}
bin="$cache/helm-$HELM_VERSION/bin"
mkdir -p "$bin"

if ! command -v go >/dev/null && [ -x /usr/local/go/bin/go ]; then export PATH="$PATH:/usr/local/go/bin"; fi
go_minor=$(go env GOVERSION 2>/dev/null | sed -n 's/^go1\.\([0-9]*\).*/\1/p')
if ! command -v go >/dev/null || [ "${go_minor:-0}" -lt 26 ]; then
  echo "install-helm: Go 1.26 or later is needed to build Helm $HELM_VERSION (found: $(go env GOVERSION 2>/dev/null || echo none)); install it from go.dev" >&2
  exit 1
fi

# One build at a time on the machine, whichever clone asks.
exec 9>"$cache/.helm-$HELM_VERSION.lock"
flock 9

tmp=$(mktemp -d "$bin/.build-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
now() { date +%s%N; }
# current: the binary exists, says it is the wanted version and assumes Kubernetes 1.$KUBE_MINOR.
current() {
  [ -x "$bin/helm" ] || return 1
  [ "$("$bin/helm" version --template '{{.Version}}' 2>/dev/null)" = "$HELM_VERSION" ] || return 1
  mkdir -p "$tmp/probe/templates"
  printf 'apiVersion: v2\nname: probe\nversion: 0.0.0\n' >"$tmp/probe/Chart.yaml"
  printf '# {{ .Capabilities.KubeVersion.Version }}\n' >"$tmp/probe/templates/version.yaml"
  [[ $("$bin/helm" template "$tmp/probe" 2>/dev/null) == *"# v1.$KUBE_MINOR.0"* ]]
}

if ! current; then
  t=$(now)
  mkdir -p "$tmp/gobin"
  # Module mode outside any go.mod: the versions and sums are the module's own; the Go found
  # above builds it (no toolchain switch). The version is stamped as Helm's own Makefile does
  # (without it `helm version` says only the major.minor of the source), and so is the
  # Kubernetes version.
  ldflags="-s -w -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION -X helm.sh/helm/v3/internal/version.gitTreeState=clean"
  for pkg in helm.sh/helm/v3/pkg/chartutil helm.sh/helm/v3/pkg/lint/rules; do
    ldflags+=" -X $pkg.k8sVersionMajor=1 -X $pkg.k8sVersionMinor=$KUBE_MINOR"
  done
  GOTOOLCHAIN=local GOFLAGS="-trimpath -buildvcs=false" GOBIN="$tmp/gobin" CGO_ENABLED=0 go install -ldflags "$ldflags" \
    "helm.sh/helm/v3/cmd/helm@$HELM_VERSION"
  mv -f "$tmp/gobin/helm" "$bin/helm"
  echo "install-helm: built helm $HELM_VERSION in $(( ($(now) - t) / 1000000000 )) s"
fi
echo "$bin"
