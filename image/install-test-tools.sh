#!/usr/bin/env bash
# Installs what test/integration/image.test.ts runs the image with, when missing: podman (with
# runc: Debian's crun fails here) and containerd's ctr (the runtime a node runs the DaemonSet
# with). Debian packages, as root. Idempotent.
set -euo pipefail
need_apt=()
command -v podman >/dev/null || need_apt+=(podman)
command -v runc >/dev/null || need_apt+=(runc)
{ command -v containerd >/dev/null && command -v ctr >/dev/null; } || need_apt+=(containerd)
[ ${#need_apt[@]} -gt 0 ] || exit 0
if [ "$(id -u)" -ne 0 ]; then echo "install-test-tools: need root to apt-get install ${need_apt[*]}" >&2; exit 1; fi
compgen -G '/var/lib/apt/lists/*_Packages*' >/dev/null || apt-get update -qq
# runc named explicitly so that it, not crun, satisfies podman's "crun | runc".
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need_apt[@]}" runc >/dev/null
