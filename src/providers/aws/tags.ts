/**
 * Tags put on ENIs nativeip creates. The `node.k8s.amazonaws.com/*` and
 * `cluster.k8s.amazonaws.com/name` keys are the ones the AWS VPC CNI uses, so operators' existing
 * leak-finding tooling recognises our ENIs; `nativeip.io/managed` is what marks them as ours.
 */
export const MANAGED_TAG_KEY = 'nativeip.io/managed';
export const MANAGED_TAG_VALUE = 'true';
export const INSTANCE_ID_TAG_KEY = 'node.k8s.amazonaws.com/instance_id';
export const CREATED_AT_TAG_KEY = 'node.k8s.amazonaws.com/createdAt';
export const CLUSTER_NAME_TAG_KEY = 'cluster.k8s.amazonaws.com/name';
/**
 * The client token of the create that made the ENI (eni-journal.ts): a daemon restarted before
 * it learnt the ENI's id finds the ENI by this tag, on EC2 and on emulators without ClientToken.
 */
export const CREATE_TOKEN_TAG_KEY = 'nativeip.io/create-token';
/** The AWS VPC CNI's opt-out tag: an ENI carrying it with `true` is never touched. */
export const NO_MANAGE_TAG_KEY = 'node.k8s.amazonaws.com/no_manage';

export interface Tag {
  readonly key: string;
  readonly value: string;
}

/** The tags for a new ENI, in a stable order. */
export function interfaceTags(options: {
  instanceId: string;
  createdAt: Date;
  clusterName?: string | undefined;
  createToken?: string | undefined;
}): Tag[] {
  const tags: Tag[] = [
    { key: INSTANCE_ID_TAG_KEY, value: options.instanceId },
    { key: CREATED_AT_TAG_KEY, value: options.createdAt.toISOString() },
  ];
  if (options.clusterName !== undefined && options.clusterName !== '') {
    tags.push({ key: CLUSTER_NAME_TAG_KEY, value: options.clusterName });
  }
  tags.push({ key: MANAGED_TAG_KEY, value: MANAGED_TAG_VALUE });
  if (options.createToken !== undefined) tags.push({ key: CREATE_TOKEN_TAG_KEY, value: options.createToken });
  return tags;
}

/** True when the tag set marks the interface as created by nativeip. */
export function isManaged(tags: ReadonlyMap<string, string>): boolean {
  return tags.get(MANAGED_TAG_KEY) === MANAGED_TAG_VALUE;
}

/** True when the tag set opts the interface out of any management (NO_MANAGE_TAG_KEY=true). */
export function isOptedOut(tags: ReadonlyMap<string, string>): boolean {
  return tags.get(NO_MANAGE_TAG_KEY)?.toLowerCase() === 'true';
}

/**
 * True when the tag set marks an interface the AWS VPC CNI (aws-node) made for `instanceId`: its
 * owner tag and not nativeip's. On a node switched from aws-node, such an ENI still attached is
 * adopted: the pool uses its addresses (aws-node's pods keep theirs: the kernel's routes to them
 * are held), but nativeip never detaches or deletes it while attached (aws-node set
 * DeleteOnTermination, so it goes with the instance). Opted-out interfaces are never adopted.
 */
export function isAdoptableFromVpcCni(tags: ReadonlyMap<string, string>, instanceId: string): boolean {
  return !isManaged(tags) && !isOptedOut(tags) && tags.get(INSTANCE_ID_TAG_KEY) === instanceId;
}

export function interfaceDescription(instanceId: string): string {
  return `nativeip ENI for ${instanceId}`;
}
