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
# shellcheck source=scripts/lib/go-build.sh
. "$(dirname "$0")/lib/go-build.sh"
go_build_init install-helm "helm-$HELM_VERSION"
go_build_need_go "Helm $HELM_VERSION"
go_build_lock

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
  # The version is stamped as Helm's own Makefile does (without it `helm version` says only the
  # major.minor of the source), and so is the Kubernetes version.
  ldflags="-s -w -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION -X helm.sh/helm/v3/internal/version.gitTreeState=clean"
  for pkg in helm.sh/helm/v3/pkg/chartutil helm.sh/helm/v3/pkg/lint/rules; do
    ldflags+=" -X $pkg.k8sVersionMajor=1 -X $pkg.k8sVersionMinor=$KUBE_MINOR"
  done
  go_build_install -ldflags "$ldflags" "helm.sh/helm/v3/cmd/helm@$HELM_VERSION"
  go_build_report "helm $HELM_VERSION" "$t"
fi
echo "$bin"
