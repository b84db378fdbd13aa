#!/usr/bin/env bash
# Installs the Node.js the project builds, tests and ships with (24 LTS) from the npm registry's
# `node-linux-<arch>` package into a cache shared by every clone on the machine, and prints the
# directory holding its `node`. Idempotent: a cached copy whose version matches is reused.
#   PATH="$(bash scripts/install-node.sh):$PATH"
#   bash scripts/install-node.sh arm64   → the same version for another architecture (x64 or
#                                          arm64; Debian's amd64 and uname's aarch64 and x86_64
#                                          too), for the image; a foreign one is run under
#                                          qemu-user (scripts/setup.sh installs it) to check it
set -euo pipefail
cd "$(dirname "$0")/.."
version=$(node -p 'require("./package.json").nativeip.node')
machine=$(uname -m)
case "${1:-$machine}" in
  x86_64 | x64 | amd64) arch=x64 ;;
  aarch64 | arm64) arch=arm64 ;;
  *) echo "install-node: no node-linux package for ${1:-$machine}" >&2; exit 1 ;;
esac
run=()
case "$machine:$arch" in
  x86_64:x64 | aarch64:arm64) ;;
  *)
    # Its glibc and libstdc++ from Debian's cross toolchain (libc6-dev-arm64-cross and the like).
    triplet=$([ "$arch" = arm64 ] && echo aarch64 || echo x86_64)-linux-gnu
    qemu=qemu-${triplet%%-*}
    if command -v "$qemu-static" >/dev/null; then run=(env QEMU_LD_PREFIX="${QEMU_LD_PREFIX:-/usr/$triplet}" "$qemu-static")
    elif command -v "$qemu" >/dev/null; then run=(env QEMU_LD_PREFIX="${QEMU_LD_PREFIX:-/usr/$triplet}" "$qemu")
    else echo "install-node: $qemu-static is needed to check node-linux-$arch here; run scripts/setup.sh" >&2; exit 1
    fi
    ;;
esac
cache=${NATIVEIP_CACHE:-/var/cache/nativeip}
dir="$cache/node-v$version-linux-$arch"
if [ ! -x "$dir/bin/node" ] || [ "$("${run[@]}" "$dir/bin/node" -p process.versions.node 2>/dev/null)" != "$version" ]; then
  mkdir -p "$cache"
  tmp=$(mktemp -d "$cache/.node-XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && npm pack --silent "node-linux-$arch@$version" >/dev/null)
  tar -xzf "$tmp"/node-linux-"$arch"-"$version".tgz -C "$tmp"
  "${run[@]}" "$tmp/package/bin/node" -e 0
  rm -rf "$dir"
  mv "$tmp/package" "$dir"
fi
echo "$dir/bin"
