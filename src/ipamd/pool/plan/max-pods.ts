/**
 * Max pods per node, as the EKS max-pods calculator (awslabs/amazon-eks-ami,
 * max-pods-calculator.sh) computes it. Pure.
 *
 * - Secondary-address mode: interfaces × (IPv4 per interface − 1) + 2. The −1 is each
 *   interface's own primary address; the +2 are host-network pods (the node's CNI daemon and
 *   kube-proxy) that need no address. This is the value of the EKS AMI's eni-max-pods.txt.
 * - Prefix mode: interfaces × (IPv4 per interface − 1) × 16 + 2, then capped as the calculator
 *   does: 250 when the instance type has more than 30 vCPUs, else 110 (Kubernetes' guidance).
 *   Unknown vCPUs: 110.
 */
import { ADDRESSES_PER_PREFIX } from './prefix-cidr.js';

/** Pods beside the ones that need an address: the CNI daemon and kube-proxy run on the host network. */
export const HOST_NETWORK_PODS = 2;
export const MAX_PODS_CEILING_LOW_CPU = 110;
export const MAX_PODS_CEILING_HIGH_CPU = 250;
/** The calculator uses the high ceiling above this many vCPUs. */
export const HIGH_CPU_THRESHOLD = 30;

export interface MaxPodsInput {
  /** Interfaces the instance type may attach, primary included. */
  readonly maxInterfaces: number;
  /** IPv4 slots per interface, its primary address included. */
  readonly ipv4PerInterface: number;
  readonly vcpus?: number | undefined;
  readonly prefixDelegation: boolean;
  /** MAX_ENI: fewer interfaces than the instance type allows. */
  readonly maxEni?: number | undefined;
  /** Prefix mode without the 110 / 250 ceiling (the calculator's `--show-max-allowed`). */
  readonly uncapped?: boolean;
}

export interface MaxPods {
  readonly maxPods: number;
  /** Before the ceiling; equals maxPods in secondary-address mode. */
  readonly addressable: number;
  /** The ceiling applied, when it lowered the value. */
  readonly ceiling: number | undefined;
  /** Interfaces counted. */
  readonly interfaces: number;
}

export function computeMaxPods(input: MaxPodsInput): MaxPods {
  const interfaces = Math.max(0, Math.min(input.maxInterfaces, input.maxEni ?? Number.POSITIVE_INFINITY));
  const slots = Math.max(0, input.ipv4PerInterface - 1);
  const perSlot = input.prefixDelegation ? ADDRESSES_PER_PREFIX : 1;
  const addressable = interfaces * slots * perSlot + HOST_NETWORK_PODS;
  if (!input.prefixDelegation || input.uncapped === true) {
    return { maxPods: addressable, addressable, ceiling: undefined, interfaces };
  }
  const ceiling = maxPodsCeiling(input.vcpus);
  return addressable > ceiling
    ? { maxPods: ceiling, addressable, ceiling, interfaces }
    : { maxPods: addressable, addressable, ceiling: undefined, interfaces };
}

/** The calculator's ceiling for an instance type with `vcpus` vCPUs. */
export function maxPodsCeiling(vcpus: number | undefined): number {
  return vcpus !== undefined && vcpus > HIGH_CPU_THRESHOLD ? MAX_PODS_CEILING_HIGH_CPU : MAX_PODS_CEILING_LOW_CPU;
}
