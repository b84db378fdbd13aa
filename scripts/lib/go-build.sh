# shellcheck shell=bash
# What the scripts that build Go tools into the machine's cache share (install-helm.sh,
# install-prometheus.sh, install-kube.sh). Sourced, after `set -euo pipefail`:
#   go_build_init install-helm "helm-$HELM_VERSION"   # messages' name; $bin made in the cache
#   go_build_need_go "Helm $HELM_VERSION"             # Go 1.26 or later, else exit 1 saying why
#   go_build_lock                                     # one build at a time; $tmp, gone on exit
#   t=$(now); go_build_install FLAG... PKG@VERSION...; go_build_report "helm $HELM_VERSION" "$t"
# The cache is ${NATIVEIP_CACHE:-/var/cache/nativeip}, shared by every clone on the machine.

# go_build_init NAME DIR: NAME prefixes the messages; sets $cache and $bin ($cache/DIR/bin, made).
go_build_init() {
  go_build_name=$1
  go_build_dir=$2
  cache=${NATIVEIP_CACHE:-/var/cache/nativeip}
  bin="$cache/$go_build_dir/bin"
  mkdir -p "$bin"
}

# go_build_need_go WHAT: puts /usr/local/go/bin on PATH when go is not on it; exits 1 unless it is
# Go 1.26 or later.
go_build_need_go() {
  local version='' minor=''
  if ! command -v go >/dev/null && [ -x /usr/local/go/bin/go ]; then export PATH="$PATH:/usr/local/go/bin"; fi
  if command -v go >/dev/null; then
    version=$(go env GOVERSION 2>/dev/null) || version=''
    minor=$(sed -n 's/^go1\.\([0-9]*\).*/\1/p' <<<"$version")
  fi
  if [ "${minor:-0}" -lt 26 ]; then
    echo "$go_build_name: Go 1.26 or later is needed to build $1 (found: ${version:-none}); install it from go.dev" >&2
    exit 1
  fi
}

# go_build_lock: waits until no other run builds into $bin (whichever clone asks), then makes $tmp,
# a directory under $bin (the same file system, for the renames) removed on exit.
go_build_lock() {
  exec 9>"$cache/.$go_build_dir.lock"
  flock 9
  tmp=$(mktemp -d "$bin/.build-XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
}

now() { date +%s%N; }

# go_build_report WHAT START: the one line a build prints, with its wall time since START ($(now)).
go_build_report() {
  echo "$go_build_name: built $1 in $(( ($(now) - $2) / 1000000000 )) s"
}

# go_build_install ARG...: `go install ARG...` in module mode outside any go.mod (the versions and
# sums are the modules' own) with the Go found by go_build_need_go (no toolchain switch), then each
# binary built, named by the last element of a PKG@VERSION argument, renamed into $bin.
go_build_install() {
  local arg pkg
  mkdir -p "$tmp/gobin"
  GOTOOLCHAIN=local GOFLAGS="-trimpath -buildvcs=false" GOBIN="$tmp/gobin" CGO_ENABLED=0 go install "$@"
  for arg in "$@"; do
    [[ $arg == -* || $arg != *@* || $arg == *' '* ]] && continue
    pkg=${arg%@*}
    mv -f "$tmp/gobin/${pkg##*/}" "$bin/${pkg##*/}"
  done
}
