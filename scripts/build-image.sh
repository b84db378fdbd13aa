#!/usr/bin/env bash
# Builds the container image from image/Containerfile without a Docker daemon or a registry, as
# root, after `npm run build`:
#   bash scripts/build-image.sh        → dist/image/nativeip-<version>-<arch>.oci.tar
# An OCI archive of the image tagged localhost/nativeip:<version> (package.json's version), which
# `podman load -i` and `ctr -n k8s.io images import` accept. buildah (Debian's; installed here if
# missing) builds it in storage of its own under $NATIVEIP_IMAGE_WORK (default .tmp/image), so
# nothing machine-wide is touched; downloaded Debian packages are cached in
# $NATIVEIP_CACHE/debs (default /var/cache/nativeip, beside Node.js). File times and the image's
# creation time are the last commit's, so the same tree and packages give the same image.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
start=$(date +%s.%N)

if [ "$(id -u)" -ne 0 ]; then echo "build-image: run as root (buildah's storage and the base's chroot check need it)" >&2; exit 1; fi
if [ ! -f dist/js/nativeip-ipamd.mjs ] || [ ! -f dist/js/nativeip.mjs ] || [ ! -x dist/bin/nativeip-cni ]; then
  echo "build-image: dist/ is incomplete; run npm run build first" >&2
  exit 1
fi
node_bin=$(bash scripts/install-node.sh)
PATH="$node_bin:$PATH"
export PATH
need_apt=()
# No runtime (runc) needed: the Containerfile has no RUN step.
command -v buildah >/dev/null || need_apt+=(buildah)
command -v strip >/dev/null || need_apt+=(binutils)
if [ ${#need_apt[@]} -gt 0 ]; then
  compgen -G '/var/lib/apt/lists/*_Packages*' >/dev/null || apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

version=$(node -p 'require("./package.json").version')
description=$(node -p 'require("./package.json").description')
licenses=$(node -p 'require("./package.json").license')
arch=$(dpkg --print-architecture)
name=localhost/nativeip:$version
out=dist/image/nativeip-$version-$arch.oci.tar
epoch=$(git log -1 --format=%ct 2>/dev/null || echo 0)
revision=$(git rev-parse HEAD 2>/dev/null || echo unknown)
# What is built is the work tree: say so when it differs from the commit in what goes in.
if [ "$revision" != unknown ] && ! git diff --quiet HEAD -- src image scripts/build.mjs package.json package-lock.json 2>/dev/null; then
  revision="$revision-modified"
fi
created=$(date -u -d "@$epoch" +%Y-%m-%dT%H:%M:%SZ)

work=${NATIVEIP_IMAGE_WORK:-$root/.tmp/image}
debs=${NATIVEIP_CACHE:-/var/cache/nativeip}/debs
context=$work/context
mkdir -p "$work/storage" "$work/run" "$context"
cat >"$work/storage.conf" <<EOF
[storage]
driver = "${NATIVEIP_STORAGE_DRIVER:-overlay}"
graphroot = "$work/storage"
runroot = "$work/run"
EOF
export CONTAINERS_STORAGE_CONF=$work/storage.conf

# The node_modules the bundles need, read from the bundles.
node image/runtime-modules.mjs --dist dist/js --root . --out "$context/modules.new" >"$work/modules.json"
rm -rf "$context/modules"
mv "$context/modules.new" "$context/modules"

# The base, reassembled only when what it is made of changes: the script, the package lists apt
# knows, node and the addons it must serve.
mapfile -t addons < <(find "$context/modules" -name '*.node' -type f | LC_ALL=C sort)
base_key=$( {
  sha256sum image/assemble-base.sh "$node_bin/node" "${addons[@]}" | awk '{ print $1 }'
  stat -c '%n %Y %s' /var/lib/apt/lists/*_Packages* 2>/dev/null || true
} | sha256sum)
if [ ! -d "$context/base" ] || [ "$(cat "$work/base.key" 2>/dev/null)" != "$base_key" ]; then
  rm -f "$work/base.key"
  bash image/assemble-base.sh "$context/base" "$debs" "$node_bin/node" "${addons[@]}"
  echo "$base_key" >"$work/base.key"
fi

rm -rf "$context/node" "$context/app"
mkdir -p "$context/node/bin" "$context/node/share/doc/node" "$context/app/bin"
# Without its symbol table and debug sections: 127 → 109 MB (the dynamic symbols the addons link
# against stay).
strip -o "$context/node/bin/node" "$node_bin/node"
cp "$node_bin/../LICENSE" "$context/node/share/doc/node/LICENSE"
for cmd in nativeip-ipamd nativeip; do ln -s "/opt/nativeip/bin/$cmd" "$context/node/bin/$cmd"; done
cp dist/bin/nativeip-cni dist/bin/nativeip-ipamd dist/bin/nativeip "$context/app/bin/"
# Source maps stay out: Node reads them only with --enable-source-maps, and they are 2/3 of dist/js.
cp -r dist/js "$context/app/js"
find "$context/app/js" -name '*.map' -delete
# The same content gives the same layers: one time for every file.
find "$context/node" "$context/modules" "$context/app" "$context/base" -exec touch -h -d "@$epoch" {} +

buildah bud --quiet --layers --timestamp "$epoch" --format oci --platform "linux/$arch" \
  -f image/Containerfile -t "$name" \
  --build-arg VERSION="$version" --build-arg REVISION="$revision" --build-arg CREATED="$created" \
  --build-arg DESCRIPTION="$description" --build-arg LICENSES="$licenses" \
  "$context" >"$work/image-id"
mkdir -p dist/image
rm -f "$out.tmp"
buildah push --quiet "$name" "oci-archive:$out.tmp:$name"
mv "$out.tmp" "$out"
# Keep the storage to the image just built and the layers it may reuse next time.
buildah rmi --prune >/dev/null 2>&1 || true

size=$(du -b "$out" | awk '{ print $1 }')
unpacked=$(du -sb "$context" | awk '{ print $1 }')
skipped=$(node -p 'JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).skipped.map((s) => s.name).join(", ")' "$work/modules.json")
[ -z "$skipped" ] || echo "build-image: left out, optional and not installed (the bundles guard their require): $skipped"
awk -v out="$out" -v name="$name" -v size="$size" -v unpacked="$unpacked" -v start="$start" -v now="$(date +%s.%N)" \
  'BEGIN { printf "build-image: %s (%s): %.1f MiB archive, %.1f MiB unpacked, in %.1f s\n", out, name, size / 1048576, unpacked / 1048576, now - start }'
