#!/usr/bin/env bash
# Builds the container image from image/Containerfile without a Docker daemon or a registry, as
# root, after `npm run build`:
#   bash scripts/build-image.sh        → dist/image/nativeip-<version>-<arch>.oci.tar
#   bash scripts/build-image.sh --arch amd64|arm64   the same for that architecture (default this
#                                      machine's); arm64 is for Graviton nodes
#   bash scripts/build-image.sh --all  both, and the multi-arch index of the two:
#                                      dist/image/nativeip-<version>-multiarch.oci.tar
# The index is an OCI image index (`buildah manifest push --all`): pushed to a registry
# (`skopeo copy --all oci-archive:<index> docker://...`), each node pulls its own architecture's.
# Another architecture's image needs no emulation to build (the Containerfile has no RUN step):
# its Node.js is the npm registry's node-linux-<arch> (scripts/install-node.sh <arch>), its addons
# that architecture's builds (scripts/arch-modules.sh), its shim dist/bin/<arch>/nativeip-cni
# (npm run build with the cross compiler) and its base that architecture's Debian packages
# (image/assemble-base.sh, ARCH=); qemu-user only checks them.
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

host_arch=$(dpkg --print-architecture)
arches=()
while [ $# -gt 0 ]; do
  case "$1" in
    --arch) [ $# -ge 2 ] || { echo "build-image: --arch needs amd64 or arm64" >&2; exit 2; }; arches=("$2"); shift 2 ;;
    --arch=*) arches=("${1#--arch=}"); shift ;;
    --all) arches=(amd64 arm64); shift ;;
    *) echo "usage: $0 [--arch amd64|arm64 | --all]" >&2; exit 2 ;;
  esac
done
[ ${#arches[@]} -gt 0 ] || arches=("$host_arch")
for arch in "${arches[@]}"; do
  case "$arch" in amd64 | arm64) ;; *) echo "build-image: unsupported architecture $arch (amd64 or arm64)" >&2; exit 2 ;; esac
done

if [ "$(id -u)" -ne 0 ]; then echo "build-image: run as root (buildah's storage and the base's chroot check need it)" >&2; exit 1; fi
# shim_of ARCH: the static CNI shim built for it.
shim_of() { if [ "$1" = "$host_arch" ]; then echo dist/bin/nativeip-cni; else echo "dist/bin/$1/nativeip-cni"; fi; }
if [ ! -f dist/js/nativeip-ipamd.mjs ] || [ ! -f dist/js/nativeip.mjs ] || [ ! -x dist/bin/nativeip-cni ]; then
  echo "build-image: dist/ is incomplete; run npm run build first" >&2
  exit 1
fi
for arch in "${arches[@]}"; do
  [ -x "$(shim_of "$arch")" ] || { echo "build-image: $(shim_of "$arch") is missing; run scripts/setup.sh (the cross compiler), then npm run build" >&2; exit 1; }
done
host_node_bin=$(bash scripts/install-node.sh)
PATH="$host_node_bin:$PATH"
export PATH
need_apt=()
# No runtime (runc) needed: the Containerfile has no RUN step.
command -v buildah >/dev/null || need_apt+=(buildah)
command -v strip >/dev/null || need_apt+=(binutils)
for arch in "${arches[@]}"; do
  [ "$arch" = "$host_arch" ] && continue
  [ "$arch" = arm64 ] && { command -v aarch64-linux-gnu-strip >/dev/null || need_apt+=(binutils-aarch64-linux-gnu); }
  [ "$arch" = amd64 ] && { command -v x86_64-linux-gnu-strip >/dev/null || need_apt+=(binutils-x86-64-linux-gnu); }
  command -v "qemu-$([ "$arch" = arm64 ] && echo aarch64 || echo x86_64)-static" >/dev/null || need_apt+=(qemu-user-static)
done
if [ ${#need_apt[@]} -gt 0 ]; then
  compgen -G '/var/lib/apt/lists/*_Packages*' >/dev/null || apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

version=$(node -p 'require("./package.json").version')
description=$(node -p 'require("./package.json").description')
licenses=$(node -p 'require("./package.json").license')
name=localhost/nativeip:$version
epoch=$(git log -1 --format=%ct 2>/dev/null || echo 0)
revision=$(git rev-parse HEAD 2>/dev/null || echo unknown)
# What is built is the work tree: say so when it differs from the commit in what goes in.
if [ "$revision" != unknown ] && ! git diff --quiet HEAD -- src image scripts/build.mjs package.json package-lock.json 2>/dev/null; then
  revision="$revision-modified"
fi
created=$(date -u -d "@$epoch" +%Y-%m-%dT%H:%M:%SZ)

work=${NATIVEIP_IMAGE_WORK:-$root/.tmp/image}
debs=${NATIVEIP_CACHE:-/var/cache/nativeip}/debs
mkdir -p "$work/storage" "$work/run"
cat >"$work/storage.conf" <<EOF
[storage]
driver = "${NATIVEIP_STORAGE_DRIVER:-overlay}"
graphroot = "$work/storage"
runroot = "$work/run"
EOF
export CONTAINERS_STORAGE_CONF=$work/storage.conf

# One pass per architecture (the body is not indented, to keep it as it was for one).
all_start=$start
for arch in "${arches[@]}"; do
out=dist/image/nativeip-$version-$arch.oci.tar
# This machine's architecture keeps the paths it always had; another's has its own beside them.
if [ "$arch" = "$host_arch" ]; then
  context=$work/context suffix='' strip=strip apt_lists=/var/lib/apt/lists
else
  context=$work/context-$arch suffix=-$arch strip=$([ "$arch" = arm64 ] && echo aarch64 || echo x86_64)-linux-gnu-strip
  apt_lists=$(dirname "$debs")/apt-$arch/lists
fi
mkdir -p "$context"
node_bin=$host_node_bin
[ "$arch" = "$host_arch" ] || node_bin=$(bash scripts/install-node.sh "$arch")

# The node_modules the bundles need, read from the bundles; the addons built for the architecture.
bash scripts/arch-modules.sh "$arch" "$context/modules.new" >"$work/modules$suffix.json"
rm -rf "$context/modules"
mv "$context/modules.new" "$context/modules"

# The base, reassembled only when what it is made of changes: the script, the package lists apt
# knows, node and the addons it must serve.
mapfile -t addons < <(find "$context/modules" -name '*.node' -type f | LC_ALL=C sort)
base_key=$( {
  sha256sum image/assemble-base.sh "$node_bin/node" "${addons[@]}" | awk '{ print $1 }'
  stat -c '%n %Y %s' "$apt_lists"/*_Packages* 2>/dev/null || true
} | sha256sum)
if [ ! -d "$context/base" ] || [ "$(cat "$work/base$suffix.key" 2>/dev/null)" != "$base_key" ]; then
  rm -f "$work/base$suffix.key"
  ARCH=$arch bash image/assemble-base.sh "$context/base" "$debs" "$node_bin/node" "${addons[@]}"
  echo "$base_key" >"$work/base$suffix.key"
fi

rm -rf "$context/node" "$context/app"
mkdir -p "$context/node/bin" "$context/node/share/doc/node" "$context/app/bin"
# Without its symbol table and debug sections: 127 → 109 MB (the dynamic symbols the addons link
# against stay).
"$strip" -o "$context/node/bin/node" "$node_bin/node"
cp "$node_bin/../LICENSE" "$context/node/share/doc/node/LICENSE"
for cmd in nativeip-ipamd nativeip; do ln -s "/opt/nativeip/bin/$cmd" "$context/node/bin/$cmd"; done
cp "$(shim_of "$arch")" dist/bin/nativeip-ipamd dist/bin/nativeip "$context/app/bin/"
# Source maps stay out: Node reads them only with --enable-source-maps, and they are 2/3 of dist/js.
cp -r dist/js "$context/app/js"
find "$context/app/js" -name '*.map' -delete
# The same content gives the same layers: one time for every file.
find "$context/node" "$context/modules" "$context/app" "$context/base" -exec touch -h -d "@$epoch" {} +

# Tagged per architecture too, so that building the other one keeps this one (for the index).
buildah bud --quiet --layers --timestamp "$epoch" --format oci --platform "linux/$arch" \
  -f image/Containerfile -t "$name" -t "$name-$arch" \
  --build-arg VERSION="$version" --build-arg REVISION="$revision" --build-arg CREATED="$created" \
  --build-arg DESCRIPTION="$description" --build-arg LICENSES="$licenses" \
  "$context" >"$work/image-id$suffix"
mkdir -p dist/image
rm -f "$out.tmp"
buildah push --quiet "$name-$arch" "oci-archive:$out.tmp:$name"
mv "$out.tmp" "$out"
# Keep the storage to the image just built and the layers it may reuse next time.
buildah rmi --prune >/dev/null 2>&1 || true

size=$(du -b "$out" | awk '{ print $1 }')
unpacked=$(du -sb "$context" | awk '{ print $1 }')
skipped=$(node -p 'JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).skipped.map((s) => s.name).join(", ")' "$work/modules$suffix.json")
[ -z "$skipped" ] || echo "build-image: left out, optional and not installed (the bundles guard their require): $skipped"
awk -v out="$out" -v name="$name" -v size="$size" -v unpacked="$unpacked" -v start="$start" -v now="$(date +%s.%N)" \
  'BEGIN { printf "build-image: %s (%s): %.1f MiB archive, %.1f MiB unpacked, in %.1f s\n", out, name, size / 1048576, unpacked / 1048576, now - start }'
start=$(date +%s.%N)
done

# Both architectures: the multi-arch index (OCI image index) of the two, with their images.
if [ ${#arches[@]} -eq 2 ]; then
  index=dist/image/nativeip-$version-multiarch.oci.tar
  list=localhost/nativeip-index:$version
  buildah manifest rm "$list" >/dev/null 2>&1 || true
  buildah manifest create "$list" >/dev/null
  for arch in "${arches[@]}"; do
    buildah manifest add --os linux --arch "$arch" "$list" "containers-storage:$name-$arch" >/dev/null
  done
  rm -f "$index.tmp"
  buildah manifest push --quiet --all --format oci "$list" "oci-archive:$index.tmp:$name"
  mv "$index.tmp" "$index"
  awk -v out="$index" -v name="$name" -v arches="${arches[*]}" -v size="$(du -b "$index" | awk '{ print $1 }')" -v start="$all_start" -v now="$(date +%s.%N)" \
    'BEGIN { printf "build-image: %s (%s, index of %s): %.1f MiB archive, all in %.1f s\n", out, name, arches, size / 1048576, now - start }'
fi
