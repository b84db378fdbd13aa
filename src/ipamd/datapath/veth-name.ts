import { createHash } from 'node:crypto';

/** Kubernetes identity of a pod, as the CNI args carry it (K8S_POD_NAMESPACE, K8S_POD_NAME). */
export interface PodRef {
  readonly namespace: string;
  readonly name: string;
}

/** Linux IFNAMSIZ minus the terminating NUL. */
export const MAX_IFNAME_BYTES = 15;
export const DEFAULT_VETH_PREFIX = 'eni';
/** Hex digits of the hash the AWS VPC CNI keeps (`GeneratePodHostVethNameSuffix`). */
const HASH_HEX_CHARS = 11;

/**
 * Host-side veth name: `prefix` + the first 11 hex digits of sha1(`<namespace>.<name>`), capped
 * at 15 bytes. Same names as the AWS VPC CNI (`eni` + 11 hex = 14 bytes), which Calico and
 * operators' tooling derive independently from the pod identity. Without a pod identity the
 * container id is hashed instead. Deterministic: the same pod always gets the same name.
 */
export function hostVethName(prefix: string, pod: PodRef | string): string {
  if (!/^[A-Za-z0-9_.-]{1,11}$/.test(prefix)) {
    throw new RangeError(`veth prefix ${JSON.stringify(prefix)} must be 1 to 11 characters of [A-Za-z0-9_.-]`);
  }
  const key = typeof pod === 'string' ? pod : `${pod.namespace}.${pod.name}`;
  if (typeof pod === 'string' ? pod.length === 0 : pod.namespace.length === 0 || pod.name.length === 0) {
    throw new RangeError('cannot name a veth without a pod namespace and name or a container id');
  }
  const hex = createHash('sha1').update(key).digest('hex');
  return (prefix + hex.slice(0, HASH_HEX_CHARS)).slice(0, MAX_IFNAME_BYTES);
}
