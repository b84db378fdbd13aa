#!/usr/bin/env bash
# The node_modules the bundles load at run time (image/runtime-modules.mjs), for a given
# architecture, after `npm run build`:
#   bash scripts/arch-modules.sh amd64|arm64 OUT   → OUT laid out like node_modules; prints
#                                                    runtime-modules.mjs's JSON line
# node_modules holds this machine's native addons only. For another architecture, each addon's
# build is swapped for that architecture's: a prebuilds/linux-<arch> directory the package ships
# (netlink: node-gyp-build's convention), or the npm registry's platform package of the same
# version (koffi's @koromix/koffi-linux-<arch>, a package whose `cpu` is this machine's), fetched
# with `npm pack` into $NATIVEIP_CACHE/npm (default /var/cache/nativeip/npm). An addon with no
# build for the architecture is an error.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ $# -ne 2 ]; then echo "usage: $0 amd64|arm64 OUT" >&2; exit 2; fi
case "$1" in
  amd64 | x64) target=x64 ;;
  arm64 | aarch64) target=arm64 ;;
  *) echo "arch-modules: unsupported architecture $1 (amd64 or arm64)" >&2; exit 2 ;;
esac
out=$2
host=$(node -p process.arch)
node image/runtime-modules.mjs --dist dist/js --root . --out "$out"
[ "$target" != "$host" ] || exit 0

# Prebuilt addons inside packages.
while IFS= read -r prebuilds; do
  rel=${prebuilds#"$out"/}
  [ -d "$prebuilds/linux-$host" ] || continue
  if [ ! -d "node_modules/$rel/linux-$target" ]; then
    echo "arch-modules: node_modules/$rel has no linux-$target build" >&2
    exit 1
  fi
  rm -rf "${prebuilds:?}/linux-$host"
  cp -r "node_modules/$rel/linux-$target" "$prebuilds/linux-$target"
done < <(find "$out" -type d -name prebuilds)

# Platform packages: the same name with the other architecture, from the registry.
cache=${NATIVEIP_CACHE:-/var/cache/nativeip}/npm
while IFS= read -r manifest; do
  dir=$(dirname "$manifest")
  fields=$(node -p 'const m = require(require("node:path").resolve(process.argv[1])); [m.name, m.version, (m.cpu ?? []).join(",")].join(" ")' "$manifest")
  read -r name version cpu <<<"$fields"
  [ "$cpu" = "$host" ] || continue
  case "$name" in *"-$host") ;; *) echo "arch-modules: $name is built for $host only, and its $target counterpart is unknown" >&2; exit 1 ;; esac
  other=${name%"-$host"}-$target
  cached="$cache/${other//\//+}-$version"
  if [ ! -f "$cached/package.json" ]; then
    mkdir -p "$cache"
    tmp=$(mktemp -d "$cache/.pack-XXXXXX")
    (cd "$tmp" && npm pack --silent "$other@$version" >/dev/null && tar -xzf ./*.tgz)
    rm -rf "$cached"
    mv "$tmp/package" "$cached"
    rm -rf "$tmp"
  fi
  rm -rf "$dir"
  cp -r "$cached" "$(dirname "$dir")/$(basename "$other")"
  # As runtime-modules.mjs leaves them out of every package.
  find "$(dirname "$dir")/$(basename "$other")" -type f \( -iname '*.md' -o -iname '*.markdown' -o -name '*.d.ts' -o -name '*.d.mts' -o -name '*.d.cts' -o -name '*.map' \) -delete
done < <(find "$out" -name package.json -path "*-linux-$host/package.json")
