/**
 * Deletes leaked ENIs: lists the detached ENIs carrying an owner tag (nativeip's, and the AWS VPC
 * CNI's on clusters switched from it), asks EC2 which owners are gone, and deletes what the rules
 * in leaked-enis.ts allow. An ENI attached or deleted by someone else meanwhile is
 * skipped.
 */
import { CloudError } from '../../core/types.js';
import { nowOf } from './ec2-provider-options.js';
import type { EniRecord } from './ec2-records.js';
import type { Ec2Session } from './ec2-session.js';
import { messageOf } from './error-mapping.js';
import { DEFAULT_LEAK_GRACE_MS, leakCandidates, ownerGone } from './leaked-enis.js';
import { CLUSTER_NAME_TAG_KEY, CREATED_AT_TAG_KEY, CREATE_TOKEN_TAG_KEY, INSTANCE_ID_TAG_KEY, isManaged } from './tags.js';

/**
 * How long the ENI this node keeps after a throttled attach (UnfinishedEniWork.unattached) is
 * spared: the pool comes back within a minute while it still needs an ENI, and throttling can last
 * longer than the grace period; deleting it then would cost the delete and create it was kept to save.
 */
export const KEPT_ENI_MAX_AGE_MS = 30 * 60_000;

/** Returns the ids deleted. */
export async function collectLeakedEnis(session: Ec2Session): Promise<string[]> {
  const { facts, options, log } = session;
  const ec2 = session.ec2();
  // Every owner-tagged ENI of the account is a candidate; with a cluster name EC2 filters out other
  // clusters' (which whyKept refuses anyway), so the listing does not grow with their leaks.
  const tags = new Map([[INSTANCE_ID_TAG_KEY, '*']]);
  if (options.clusterName !== undefined) tags.set(CLUSTER_NAME_TAG_KEY, options.clusterName);
  const enis = await ec2.describeAvailableTagged(tags);
  const nowMs = nowOf(options).getTime();
  const candidates = leakCandidates(enis, {
    instanceId: facts.identity.instanceId,
    clusterName: options.clusterName,
    nowMs,
    graceMs: options.leakGraceMs ?? DEFAULT_LEAK_GRACE_MS,
  });
  // This node's own detached ENIs need no grace period when no create of this daemon is under way
  // for them: one daemon runs per node (its lock), and every create it makes is journalled (by its
  // token) before it is sent, so an own ENI the journal does not name is an orphan (a delete that
  // failed after its detach, a create undone, given up) that no attach will ever come for. Not so
  // for an ENI the AWS VPC CNI made: it waits out the grace period.
  const orphans = leakCandidates(enis, { instanceId: facts.identity.instanceId, clusterName: options.clusterName, nowMs, graceMs: 0 }).own.filter((id) => {
    const eni = enis.find((e) => e.id === id);
    return eni !== undefined && isManaged(eni.tags) && !inFlight(session, eni);
  });
  const doomed = [...new Set([...candidates.own, ...orphans])].filter((id) => !sparedAsKept(session, enis.find((eni) => eni.id === id), nowMs));
  if (candidates.byOwner.size > 0) {
    const states = await ec2.instanceStates([...candidates.byOwner.keys()]);
    for (const [owner, ids] of candidates.byOwner) if (ownerGone(states.get(owner))) doomed.push(...ids);
  }
  const deleted: string[] = [];
  for (const interfaceId of doomed) {
    try {
      await ec2.deleteEni(interfaceId);
      deleted.push(interfaceId);
      if (interfaceId === session.unfinished.unattached?.id) session.unfinished.unattached = undefined;
    } catch (error) {
      if (error instanceof CloudError && (error.code === 'NotFound' || error.cloudCode === 'InvalidNetworkInterface.InUse')) continue;
      log.warn({ interfaceId, err: messageOf(error) }, 'deleting a leaked ENI failed');
    }
  }
  const { journal } = session.unfinished;
  for (const interfaceId of deleted) await journal?.drop(journal.byInterface(interfaceId)?.clientToken);
  if (deleted.length > 0) log.info({ deleted }, 'deleted leaked ENIs');
  return deleted;
}

/** True when a create of this daemon's journal is under way for the ENI (by its id or its create token). */
function inFlight(session: Ec2Session, eni: EniRecord | undefined): boolean {
  if (eni === undefined) return true;
  const token = eni.tags.get(CREATE_TOKEN_TAG_KEY);
  return (session.unfinished.journal?.operations() ?? []).some((op) => op.interfaceId === eni.id || (token !== undefined && op.clientToken === token));
}

/** True for the ENI this node keeps after a throttled attach, created less than {@link KEPT_ENI_MAX_AGE_MS} ago. */
function sparedAsKept(session: Ec2Session, eni: EniRecord | undefined, nowMs: number): boolean {
  if (eni === undefined || eni.id !== session.unfinished.unattached?.id) return false;
  return nowMs - Date.parse(eni.tags.get(CREATED_AT_TAG_KEY) ?? '') < KEPT_ENI_MAX_AGE_MS;
}
