/**
 * Which detached ENIs are leaked and ours to delete. Pure: the provider lists the candidates and
 * asks EC2 which owner instances still exist.
 *
 * An ENI leaks when nativeip (or the AWS VPC CNI, on a node switched from it) created it and a
 * crash (or a failed cleanup) left it detached. It is deleted only when all hold: status
 * `available`; tagged with an owner (`node.k8s.amazonaws.com/instance_id`, which both put on
 * their ENIs; nativeip's also carry `nativeip.io/managed=true`); its cluster tag equals CLUSTER_NAME
 * (for the AWS VPC CNI's, CLUSTER_NAME set; for nativeip's, or both
 * are absent); not tagged `node.k8s.amazonaws.com/no_manage=true`; its `createdAt` tag is older
 * than the grace period (an ENI just created may not be attached yet); and its owner is this node
 * or an instance that no longer exists (unknown to EC2, or terminated).
 */
import type { EniRecord } from './ec2-records.js';
import { CLUSTER_NAME_TAG_KEY, CREATED_AT_TAG_KEY, INSTANCE_ID_TAG_KEY, NO_MANAGE_TAG_KEY, isManaged, isOptedOut } from './tags.js';
/** An ENI younger than this may still be on its way to being attached. */
export const DEFAULT_LEAK_GRACE_MS = 5 * 60_000;

export interface LeakScope {
  readonly instanceId: string;
  readonly clusterName: string | undefined;
  readonly nowMs: number;
  readonly graceMs: number;
}

export interface LeakCandidates {
  /** Leaked ENIs of this node: delete. */
  readonly own: readonly string[];
  /** Leaked-looking ENIs of other instances, by owner: delete those whose owner is gone. */
  readonly byOwner: ReadonlyMap<string, readonly string[]>;
}

/** Why an ENI is not a candidate, or undefined when it is one. */
export function whyKept(eni: EniRecord, scope: LeakScope): string | undefined {
  if (eni.status !== 'available' || eni.attachment !== undefined) return `status ${eni.status}`;
  if (isOptedOut(eni.tags)) return `tagged ${NO_MANAGE_TAG_KEY}=true`;
  const owner = eni.tags.get(INSTANCE_ID_TAG_KEY);
  if (owner === undefined || owner === '') return `not tagged ${INSTANCE_ID_TAG_KEY} (neither nativeip’s nor the AWS VPC CNI’s)`;
  if (eni.tags.get(CLUSTER_NAME_TAG_KEY) !== scope.clusterName) return 'another cluster’s';
  // An ENI of the AWS VPC CNI without CLUSTER_NAME: which cluster's it is cannot be told (aws-node
  // tags its cluster when its own CLUSTER_NAME is set), so it may be another cluster's in the region.
  if (!isManaged(eni.tags) && scope.clusterName === undefined) return 'the AWS VPC CNI’s, and CLUSTER_NAME is unset: which cluster’s it is cannot be told';
  const created = Date.parse(eni.tags.get(CREATED_AT_TAG_KEY) ?? '');
  if (Number.isNaN(created)) return `no readable ${CREATED_AT_TAG_KEY} tag`;
  if (scope.nowMs - created < scope.graceMs) return 'younger than the grace period';
  return undefined;
}

export function leakCandidates(enis: readonly EniRecord[], scope: LeakScope): LeakCandidates {
  const own: string[] = [];
  const byOwner = new Map<string, string[]>();
  for (const eni of enis) {
    if (whyKept(eni, scope) !== undefined) continue;
    const owner = eni.tags.get(INSTANCE_ID_TAG_KEY) ?? '';
    if (owner === scope.instanceId) own.push(eni.id);
    else byOwner.set(owner, [...(byOwner.get(owner) ?? []), eni.id]);
  }
  return { own, byOwner };
}

/** True when an instance in this state (undefined: EC2 does not know it) will never use its ENIs again. */
export function ownerGone(state: string | undefined): boolean {
  return state === undefined || state === 'terminated';
}
