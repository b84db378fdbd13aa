#!/usr/bin/env bash
# Builds the real Prometheus the tests use (test/support/prometheus.ts), once per machine, into
# ${NATIVEIP_CACHE:-/var/cache/nativeip}/prometheus-v3.16.0/bin:
#   prometheus (the server) and promtool  v3.16.0, Go module github.com/prometheus/prometheus v0.316.0
#       (`go install pkg@version` from the Go module proxy: the module has no replace directives)
# Build time on the 2-core machine from an empty Go build cache (GOCACHE=$(mktemp -d)): 190-250 s
# (226 s typical; the spread is other work on the machine) with the module cache warm, 247 s with
# the module cache empty too (~170 MB of modules from the proxy, 1.1 GB unpacked). Binaries: 52 MB
# (prometheus) and 54 MB (promtool). With every optional service discovery (no remove_all_sd) the
# build took 560 s, module downloads included, and the binaries were 105 MB and 88 MB.
#
# Build tags: remove_all_sd leaves out the cloud service discoveries (AWS, Azure, GCE, Kubernetes,
# Consul...; static_configs, file_sd and http_sd stay), which halves the build and the binaries;
# add enable_kubernetes_sd (or another enable_<name>_sd) to PROMETHEUS_TAGS to have one back. Not
# builtinassets: the web UI's assets (and the generated embed.go declaring EmbedFS) are not in the
# module, so with that tag web/ui fails to compile. Without it the server reads its UI from
# ./web/ui/static and finds none: the UI pages answer with an error, while the HTTP API
# (/api/v1/query...), /metrics, /-/ready and /-/healthy work.
#
# Idempotent: binaries already there with the right version and tags are kept; they are built
# under a temporary name and renamed, and concurrent runs wait for each other (flock). Prints one
# line per thing built, with its wall time, and the bin directory last.
# PROMETHEUS_VERSION must agree with the one in test/support/prometheus.ts (a test checks it).
set -euo pipefail
PROMETHEUS_VERSION=v3.16.0
PROMETHEUS_TAGS=remove_all_sd
# Prometheus 3.x is tagged v0.3MM.P as a Go module: v3.16.0 is v0.316.0, v3.5.0 is v0.305.0.
IFS=. read -r major minor patch <<<"${PROMETHEUS_VERSION#v}"
module_version=$(printf 'v0.%d%02d.%d' "$major" "$minor" "$patch")
# shellcheck source=scripts/lib/go-build.sh
. "$(dirname "$0")/lib/go-build.sh"
go_build_init install-prometheus "prometheus-$PROMETHEUS_VERSION"
go_build_need_go "Prometheus $PROMETHEUS_VERSION"
go_build_lock

# current NAME: the binary exists and its --version names the wanted version and build tags.
current() {
  local out
  [ -x "$bin/$1" ] || return 1
  out=$("$bin/$1" --version 2>&1) || return 1
  [[ $out == *"$1, version ${PROMETHEUS_VERSION#v} "* && $out =~ tags:\ +$PROMETHEUS_TAGS($'\n'|$) ]]
}

if ! current prometheus || ! current promtool; then
  t=$(now)
  go_build_install -tags "$PROMETHEUS_TAGS" \
    -ldflags "-s -w -X github.com/prometheus/common/version.Version=${PROMETHEUS_VERSION#v}" \
    "github.com/prometheus/prometheus/cmd/prometheus@$module_version" \
    "github.com/prometheus/prometheus/cmd/promtool@$module_version"
  go_build_report "prometheus, promtool $PROMETHEUS_VERSION" "$t"
fi
echo "$bin"
