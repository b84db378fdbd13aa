#!/usr/bin/env bash
# Installs the Node.js the project builds, tests and ships with (24 LTS) from the npm registry's
# `node-linux-<arch>` package into a cache shared by every clone on the machine, and prints the
# directory holding its `node`. Idempotent: a cached copy whose version matches is reused.
#   PATH="$(bash scripts/install-node.sh):$PATH"
set -euo pipefail
cd "$(dirname "$0")/.."
version=$(node -p 'require("./package.json").nativeip.node')
case "$(uname -m)" in
  x86_64) arch=x64 ;;
  aarch64) arch=arm64 ;;
  *) echo "install-node: no node-linux package for $(uname -m)" >&2; exit 1 ;;
esac
cache=${NATIVEIP_CACHE:-/var/cache/nativeip}
dir="$cache/node-v$version-linux-$arch"
if [ ! -x "$dir/bin/node" ] || [ "$("$dir/bin/node" -p process.versions.node 2>/dev/null)" != "$version" ]; then
  mkdir -p "$cache"
  tmp=$(mktemp -d "$cache/.node-XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && npm pack --silent "node-linux-$arch@$version" >/dev/null)
  tar -xzf "$tmp"/node-linux-"$arch"-"$version".tgz -C "$tmp"
  "$tmp/package/bin/node" -e 0
  rm -rf "$dir"
  mv "$tmp/package" "$dir"
fi
echo "$dir/bin"
