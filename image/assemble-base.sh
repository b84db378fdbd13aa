#!/usr/bin/env bash
# Assembles the image's base root file system from this machine's Debian packages (the apt
# sources it is configured with), without a registry and without running any package's scripts:
#   bash image/assemble-base.sh ROOTFS DEB_CACHE [EXTRA_ELF...]
# Why FROM scratch and not a Debian base image or debootstrap: no registry can be reached here,
# and a debootstrap minbase (measured here: 37 s, 175 MB, before nft and ip are even added) runs
# every maintainer script in a chroot to install what the daemon never uses. What it needs is
# glibc, the libraries that `ld.so --list` shows for node, the addons (EXTRA_ELF), nft and ip; a
# shell for the launchers (dash: Debian's busybox shell runs its own applets before PATH, so `ip`
# in a script would be busybox's, not iproute2's); the usual tools for debugging
# (busybox-static); CA certificates and a few /etc files. That is ~12 MB (5 MB compressed), made
# from .deb files in seconds, the same on any fresh Debian 12 machine (the package versions are
# recorded in /var/lib/dpkg/status.d, as distroless images do, so scanners see them).
# Needs root only to verify nft and ip under chroot; skip that with VERIFY=0.
# ARCH=arm64 (or amd64) assembles another architecture's base on this one (amd64 or arm64): its
# packages from the same apt sources, with package lists of their own (under DEB_CACHE/../apt-ARCH,
# so the machine's apt state is untouched); its ELF files are examined, and nft and ip verified,
# under qemu-user (qemu-user-static; scripts/setup.sh installs it), with no chroot.
set -euo pipefail
if [ $# -lt 2 ]; then echo "usage: $0 ROOTFS DEB_CACHE [EXTRA_ELF...]" >&2; exit 2; fi
rootfs=$1 debs=$2
shift 2
extra_elfs=("$@")

host_arch=$(dpkg --print-architecture)
arch=${ARCH:-$host_arch}
case "$host_arch" in amd64 | arm64) ;; *) echo "assemble-base: only amd64 and arm64 machines are supported (this is $host_arch)" >&2; exit 1 ;; esac
case "$arch" in
  amd64) triplet=x86_64-linux-gnu ldso_name=ld-linux-x86-64.so.2 ldso_link=/usr/lib64 qemu=qemu-x86_64-static ;;
  arm64) triplet=aarch64-linux-gnu ldso_name=ld-linux-aarch64.so.1 ldso_link=/usr/lib qemu=qemu-aarch64-static ;;
  *) echo "assemble-base: only amd64 and arm64 images are supported (not $arch)" >&2; exit 1 ;;
esac
# run PROGRAM ARGS...: runs one of the image's programs, under qemu-user when it is foreign.
run=()
apt_opts=()
if [ "$arch" != "$host_arch" ]; then
  command -v "$qemu" >/dev/null || { echo "assemble-base: $qemu is needed for an $arch base; run scripts/setup.sh" >&2; exit 1; }
  run=("$qemu")
  apt_state=$(dirname "$debs")/apt-$arch
  mkdir -p "$apt_state/lists/partial" "$apt_state/cache/archives/partial"
  apt_opts=(-o "APT::Architecture=$arch" -o "Dir::State::Lists=$apt_state/lists" -o "Dir::Cache=$apt_state/cache"
    -o Dir::State::status=/dev/null -o "Dir::Cache::pkgcache=" -o "Dir::Cache::srcpkgcache=")
fi

# The packages the image takes files from; their library dependencies are added below.
roots=(libc6 libgcc-s1 libstdc++6 nftables iproute2 dash busybox-static ca-certificates netbase)

# Library closure of the roots over Depends (first alternative), library packages only (lib*,
# zlib1g, the one named otherwise, and gcc-N-base, which holds libgcc's and libstdc++'s
# copyright): a binary's shared libraries are always among its package's Depends
# (dpkg-shlibdeps), and what else packages depend on (debconf, perl) is for their maintainer
# scripts, which never run here. A library missing from it fails below. One apt call (each
# costs ~1.3 s here): the whole recursive graph, walked in awk.
# A fresh machine has no package lists yet.
compgen -G '/var/lib/apt/lists/*_Packages*' >/dev/null || apt-get update -qq
if [ ${#apt_opts[@]} -gt 0 ] && ! compgen -G "$apt_state/lists/*_Packages*" >/dev/null; then apt-get "${apt_opts[@]}" update -qq; fi
mapfile -t packages < <(
  apt-cache "${apt_opts[@]}" depends --recurse --no-recommends --no-suggests --no-conflicts --no-breaks --no-replaces --no-enhances "${roots[@]}" |
    awk -v roots="${roots[*]}" '
      /^[^ |]/ { cur = $1; alt = 0; next }
      $1 ~ /^\|?(Pre)?Depends:$/ && $2 !~ /^</ && !alt && $2 ~ /^(lib|zlib1g$|gcc-[0-9]+-base$)/ { edges[cur] = edges[cur] " " $2 }
      { alt = ($1 ~ /^\|/) }
      END {
        n = split(roots, queue, " ")
        for (i = 1; i <= n; i++) seen[queue[i]] = 1
        for (i = 1; i <= n; i++) {
          m = split(edges[queue[i]], deps, " ")
          for (j = 1; j <= m; j++) if (!(deps[j] in seen)) { seen[deps[j]] = 1; queue[++n] = deps[j] }
        }
        for (p in seen) print p
      }'
)

# Download what the cache lacks or holds damaged (apt names each file
# <name>_<version>_<arch>.deb, so a new candidate version is a new file).
mkdir -p "$debs"
mapfile -t uris < <(apt-get "${apt_opts[@]}" download --print-uris "${packages[@]}" 2>/dev/null)
[ ${#uris[@]} -eq ${#packages[@]} ] || { echo "assemble-base: apt knows ${#uris[@]} of the ${#packages[@]} packages ${packages[*]}" >&2; exit 1; }
missing=()
files=()
for line in "${uris[@]}"; do
  # 'URL' FILE SIZE SHA256:HASH
  read -r _ file _ hash <<<"$line"
  files+=("$file")
  if [ ! -s "$debs/$file" ] || [ "$(sha256sum <"$debs/$file")" != "${hash#SHA256:}  -" ]; then missing+=("${file%%_*}"); fi
done
if [ ${#missing[@]} -gt 0 ]; then
  (cd "$debs" && apt-get "${apt_opts[@]}" download -q=2 -o APT::Sandbox::User=root "${missing[@]}")
fi

staging=$(mktemp -d "${TMPDIR:-/tmp}/nativeip-base.XXXXXX")
trap 'rm -rf "$staging"' EXIT
for file in "${files[@]}"; do
  dpkg-deb -x "$debs/$file" "$staging/${file%%_*}"
done

rm -rf "$rootfs"
mkdir -p "$rootfs"/usr/{bin,sbin,lib/$triplet,lib64,local/bin} "$rootfs"/{etc,opt,root,run,tmp,var/log,var/lib/dpkg/status.d,usr/share/doc}
# Debian 12's merged /usr.
for d in bin sbin lib lib64; do ln -s "usr/$d" "$rootfs/$d"; done
ln -s ../run "$rootfs/var/run"
chmod 0700 "$rootfs/root"
chmod 1777 "$rootfs/tmp"

declare -A used=()
# take PACKAGE PATH: copies the package's file at PATH (following links) into the image.
take() {
  local pkg=$1 path=$2
  mkdir -p "$(dirname "$rootfs$path")"
  cp -L --preserve=mode "$staging/$pkg$path" "$rootfs$path"
  used[$pkg]=1
}

take nftables /usr/sbin/nft
take iproute2 /bin/ip
take dash /bin/dash
ln -s dash "$rootfs/usr/bin/sh"
take busybox-static /bin/busybox
take libc6 "/lib/$triplet/$ldso_name"
# Where the programs' PT_INTERP points: /lib64/ld-linux-x86-64.so.2, /lib/ld-linux-aarch64.so.1.
[ -e "$rootfs$ldso_link/$ldso_name" ] || ln -s "$([ "$ldso_link" = /usr/lib ] || echo ../lib/)$triplet/$ldso_name" "$rootfs$ldso_link/$ldso_name"
cp -r "$staging/iproute2/etc/iproute2" "$rootfs/etc/iproute2"
cp "$staging/netbase/etc/protocols" "$staging/netbase/etc/services" "$rootfs/etc/"
used[netbase]=1

# Shared libraries, resolved by the packages' own loader among the packages' own libraries: a
# library found anywhere else (the build machine's) means a package is missing from the closure.
libpath=$(printf '%s\n' "$staging"/*/lib/"$triplet" "$staging"/*/usr/lib/"$triplet" | paste -sd:)
ldso="$staging/libc6/lib/$triplet/$ldso_name"
for elf in "$rootfs/usr/sbin/nft" "$rootfs/usr/bin/ip" "$rootfs/usr/bin/dash" "${extra_elfs[@]}"; do
  status=0
  list=$("${run[@]}" "$ldso" --library-path "$libpath" --list "$elf" 2>&1) || status=$?
  # An addon's build for musl (koffi ships one beside glibc's): its loader never picks it here.
  if grep -q 'libc\.musl' <<<"$list"; then continue; fi
  if [ "$status" -ne 0 ]; then echo "assemble-base: $elf: $list" >&2; exit 1; fi
  while read -r soname arrow resolved _; do
    [ "$arrow" = "=>" ] || continue
    case "$resolved" in
      "$staging"/*) ;;
      *) echo "assemble-base: $elf needs $soname, which no package of the closure provides (resolved: $resolved)" >&2; exit 1 ;;
    esac
    rel=${resolved#"$staging"/}
    pkg=${rel%%/*}
    [ -e "$rootfs${rel#"$pkg"}" ] || take "$pkg" "${rel#"$pkg"}"
  done <<<"$list"
done

# busybox's applets, except where a real program of the same name is in the image (ip, sh).
while read -r applet; do
  name=${applet##*/}
  if [ -e "$rootfs/usr/bin/$name" ] || [ -e "$rootfs/usr/sbin/$name" ]; then continue; fi
  case "$applet" in
    sbin/* | usr/sbin/*) ln -s ../bin/busybox "$rootfs/usr/sbin/$name" ;;
    *) ln -s busybox "$rootfs/usr/bin/$name" ;;
  esac
done < <("${run[@]}" "$rootfs/usr/bin/busybox" --list-full)

# CA certificates: what update-ca-certificates would write with every Mozilla certificate
# enabled (Debian's default), in a fixed order. Node uses its own bundled store unless told
# otherwise (NODE_EXTRA_CA_CERTS, --use-openssl-ca); this one is for the tools and operators.
mkdir -p "$rootfs/etc/ssl/certs"
find "$staging/ca-certificates/usr/share/ca-certificates" -name '*.crt' -print0 | LC_ALL=C sort -z |
  xargs -0 awk 1 >"$rootfs/etc/ssl/certs/ca-certificates.crt"
used[ca-certificates]=1

cat >"$rootfs/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
EOF
cat >"$rootfs/etc/group" <<'EOF'
root:x:0:
nogroup:x:65534:
EOF
cat >"$rootfs/etc/nsswitch.conf" <<'EOF'
passwd:         files
group:          files
shadow:         files
hosts:          files dns
networks:       files
protocols:      files
services:       files
ethers:         files
rpc:            files
EOF
# shellcheck disable=SC1091
. /etc/os-release
cat >"$rootfs/usr/lib/os-release" <<EOF
PRETTY_NAME="nativeip base (files of Debian $VERSION_ID packages)"
NAME="nativeip base"
ID=debian
VERSION_ID="$VERSION_ID"
VERSION_CODENAME=$VERSION_CODENAME
HOME_URL="https://www.debian.org/"
EOF
ln -s ../usr/lib/os-release "$rootfs/etc/os-release"

# Each package that contributed a file: its control fields (as distroless does) and copyright.
for file in "${files[@]}"; do
  pkg=${file%%_*}
  [ -n "${used[$pkg]:-}" ] || continue
  dpkg-deb -f "$debs/$file" >"$rootfs/var/lib/dpkg/status.d/$pkg"
  mkdir -p "$rootfs/usr/share/doc/$pkg"
  # Some packages' doc directory is a link to another package's (libgcc-s1 → gcc-12-base).
  doc=$(basename "$(readlink "$staging/$pkg/usr/share/doc/$pkg" || echo "$pkg")")
  copyright=$(ls "$staging"/*/usr/share/doc/"$doc"/copyright | head -1)
  cp -L "$copyright" "$rootfs/usr/share/doc/$pkg/copyright"
done

if [ "${VERIFY:-1}" = 1 ] && [ ${#run[@]} -gt 0 ]; then
  # A foreign architecture's: the programs under qemu-user with the image as their root for
  # libraries; which sh and ip PATH finds, from the links (a chroot would need binfmt_misc).
  # qemu-user has no NETLINK_NETFILTER sockets, which nft opens first thing: reaching that means
  # it loaded with its libraries.
  nft_out=$("${run[@]}" -L "$rootfs" "$rootfs/usr/sbin/nft" --version 2>&1) || grep -q 'Unable to initialize Netlink socket' <<<"$nft_out" ||
    { echo "assemble-base: nft under $qemu: $nft_out" >&2; exit 1; }
  "${run[@]}" -L "$rootfs" "$rootfs/usr/bin/ip" -V >/dev/null 2>&1
  found=$(for cmd in ip sh; do
    for d in /usr/local/sbin /usr/local/bin /usr/sbin /usr/bin /sbin /bin; do
      if [ -e "$rootfs$d/$cmd" ]; then (cd "$rootfs$d" && readlink -f "$cmd"); break; fi
    done
  done)
  [ "$found" = "$(printf '%s\n%s' "$rootfs/usr/bin/ip" "$rootfs/usr/bin/dash")" ] ||
    { echo "assemble-base: sh is not dash or ip is not iproute2's" >&2; exit 1; }
elif [ "${VERIFY:-1}" = 1 ]; then
  # Without /proc, ip -V warns that it cannot see libbpf's version; it still runs.
  chroot "$rootfs" /usr/sbin/nft --version >/dev/null
  chroot "$rootfs" /usr/bin/ip -V >/dev/null 2>&1
  found=$(env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin chroot "$rootfs" /bin/sh -c 'readlink -f "$(command -v ip)"; readlink -f /bin/sh')
  [ "$found" = "$(printf '/usr/bin/ip\n/usr/bin/dash')" ] ||
    { echo "assemble-base: sh is not dash or ip is not iproute2's" >&2; exit 1; }
fi
