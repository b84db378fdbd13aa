#!/usr/bin/env bash
# Builds the local Kubernetes the tests start on loopback (test/support/kube), once per machine,
# into ${NATIVEIP_CACHE:-/var/cache/nativeip}/kube-v1.35.4/bin:
#   kube-apiserver, kube-controller-manager, kube-scheduler, kubelet, kubectl  v1.35.4
#       from the wrapper module scripts/kube-tools/kubernetes (go.mod + go.sum committed)
#   etcd v3.6.16                       from the wrapper module scripts/kube-tools/etcd
#   containerd, containerd-shim-runc-v2, ctr  v2.2.9   (go install from the Go module proxy)
#   pause                              static, from scripts/kube-tools/pause/pause.c
# and installs runc and busybox-static from Debian when missing. Idempotent: a binary already
# there with the right version is kept; each is built under a temporary name and renamed, and
# concurrent runs wait for each other (flock). Builds run one at a time: a Kubernetes link
# peaks at ~1.8 GB and the machines have 2 cores. Prints one line per thing built, with its
# wall time, and the bin directory last.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
KUBE_VERSION=v1.35.4
ETCD_VERSION=3.6.16
CONTAINERD_VERSION=v2.2.9
# shellcheck source=scripts/lib/go-build.sh
. "$root/scripts/lib/go-build.sh"
go_build_init install-kube "kube-$KUBE_VERSION"
go_build_need_go "Kubernetes, etcd 3.6 and containerd"

need_apt=()
command -v runc >/dev/null || need_apt+=(runc)
[ -x /bin/busybox ] && dpkg -s busybox-static >/dev/null 2>&1 || need_apt+=(busybox-static)
command -v openssl >/dev/null || need_apt+=(openssl)
command -v iptables >/dev/null || need_apt+=(iptables)
command -v cc >/dev/null || need_apt+=(gcc)
[ -e /usr/lib/x86_64-linux-gnu/libc.a ] || [ -e /usr/lib/aarch64-linux-gnu/libc.a ] || need_apt+=(libc6-dev)
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then echo "install-kube: need root to apt-get install ${need_apt[*]}" >&2; exit 1; fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
  echo "install-kube: apt-get install ${need_apt[*]}"
fi

go_build_lock
started=$(now)
built=0
report() { # name, start ns
  go_build_report "$@"
  built=$((built + 1))
}
# has NAME COMMAND... : the binary exists and COMMAND's output names the wanted version.
has() {
  local name=$1 want=$2 out
  shift 2
  [ -x "$bin/$name" ] || return 1
  out=$("$@" 2>/dev/null) || return 1
  [[ $out == *"$want"* ]]
}

# The build needs no network when the module cache is warm and never edits go.mod/go.sum.
export GOFLAGS="-mod=readonly -trimpath -buildvcs=false"

kube_ldflags="-s -w -X k8s.io/component-base/version.gitVersion=$KUBE_VERSION -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=35"
for cmd in kube-apiserver kube-controller-manager kube-scheduler kubelet kubectl; do
  if [ "$cmd" = kubectl ]; then
    has kubectl "Client Version: $KUBE_VERSION" "$bin/kubectl" version --client && continue
  else
    has "$cmd" "Kubernetes $KUBE_VERSION" "$bin/$cmd" --version && continue
  fi
  t=$(now)
  (cd "$root/scripts/kube-tools/kubernetes" &&
    CGO_ENABLED=0 go build -ldflags "$kube_ldflags" -o "$tmp/$cmd" "k8s.io/kubernetes/cmd/$cmd")
  mv -f "$tmp/$cmd" "$bin/$cmd"
  report "$cmd $KUBE_VERSION" "$t"
done

if ! has etcd "etcd Version: $ETCD_VERSION" "$bin/etcd" --version; then
  t=$(now)
  (cd "$root/scripts/kube-tools/etcd" && CGO_ENABLED=0 go build -ldflags "-s -w" -o "$tmp/etcd" go.etcd.io/etcd/server/v3)
  mv -f "$tmp/etcd" "$bin/etcd"
  report "etcd $ETCD_VERSION" "$t"
fi

if ! has containerd "${CONTAINERD_VERSION#v}" "$bin/containerd" --version ||
  ! has ctr "${CONTAINERD_VERSION#v}" "$bin/ctr" --version ||
  ! [ -x "$bin/containerd-shim-runc-v2" ]; then
  t=$(now)
  # go_build_install sets GOFLAGS without the -mod above: it does not apply outside a module.
  go_build_install -tags "no_btrfs no_devmapper" \
    -ldflags "-s -w -X github.com/containerd/containerd/v2/version.Version=$CONTAINERD_VERSION" \
    "github.com/containerd/containerd/v2/cmd/containerd@$CONTAINERD_VERSION" \
    "github.com/containerd/containerd/v2/cmd/containerd-shim-runc-v2@$CONTAINERD_VERSION" \
    "github.com/containerd/containerd/v2/cmd/ctr@$CONTAINERD_VERSION"
  report "containerd, containerd-shim-runc-v2, ctr $CONTAINERD_VERSION" "$t"
fi

pause_src="$root/scripts/kube-tools/pause/pause.c"
pause_version=$(sed -n 's/^#define PAUSE_VERSION "\(.*\)"$/\1/p' "$pause_src")
if ! has pause "$pause_version" "$bin/pause" -v; then
  t=$(now)
  cc -static -O2 -Wall -Wextra -Werror -o "$tmp/pause" "$pause_src"
  mv -f "$tmp/pause" "$bin/pause"
  report "pause" "$t"
fi

if [ "$built" -gt 0 ]; then
  echo "install-kube: $built built in $(( ($(now) - started) / 1000000000 )) s"
fi
echo "$bin"
