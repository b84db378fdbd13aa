/**
 * Where scripts/install-kube.sh put the local Kubernetes: kube-apiserver, kube-controller-manager,
 * kube-scheduler, kubelet, kubectl (v1.35.4), etcd, containerd, containerd-shim-runc-v2, ctr and
 * pause, in ${NATIVEIP_CACHE:-/var/cache/nativeip}/kube-v1.35.4/bin.
 */
import { accessSync, constants } from 'node:fs';
import { join } from 'node:path';

export const KUBE_VERSION = 'v1.35.4';

export type KubeBinary =
  | 'kube-apiserver'
  | 'kube-controller-manager'
  | 'kube-scheduler'
  | 'kubelet'
  | 'kubectl'
  | 'etcd'
  | 'containerd'
  | 'containerd-shim-runc-v2'
  | 'ctr'
  | 'pause';

/** The directory holding the binaries (it may not exist yet). */
export function kubeBinDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(env['NATIVEIP_CACHE'] ?? '/var/cache/nativeip', `kube-${KUBE_VERSION}`, 'bin');
}

/**
 * The path of one binary in `binDir`. Throws, naming the script that builds it, when it is
 * missing: the tests that need it fail rather than skip.
 */
export function kubeBinary(name: KubeBinary, binDir = kubeBinDir()): string {
  const path = join(binDir, name);
  try {
    accessSync(path, constants.X_OK);
  } catch {
    throw new Error(`${path} is missing: run 'bash scripts/install-kube.sh' (scripts/setup.sh does) to build the local Kubernetes`);
  }
  return path;
}
