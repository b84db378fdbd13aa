/**
 * Deletes leaked ENIs: lists nativeip's detached ENIs, asks EC2 which owners are gone, and deletes
 * what the rules in leaked-enis.ts allow. An ENI attached or deleted by someone else meanwhile is
 * skipped.
 */
import { CloudError } from '../../core/types.js';
import { nowOf } from './ec2-provider-options.js';
import type { Ec2Session } from './ec2-session.js';
import { messageOf } from './error-mapping.js';
import { DEFAULT_LEAK_GRACE_MS, leakCandidates, ownerGone } from './leaked-enis.js';
import { INSTANCE_ID_TAG_KEY, MANAGED_TAG_KEY, MANAGED_TAG_VALUE } from './tags.js';

/** Returns the ids deleted. */
export async function collectLeakedEnis(session: Ec2Session): Promise<string[]> {
  const { facts, options, log } = session;
  const ec2 = session.ec2();
  const tags = new Map([
    [MANAGED_TAG_KEY, MANAGED_TAG_VALUE],
    [INSTANCE_ID_TAG_KEY, '*'],
  ]);
  const enis = await ec2.describeAvailableTagged(tags);
  const candidates = leakCandidates(enis, {
    instanceId: facts.identity.instanceId,
    clusterName: options.clusterName,
    nowMs: nowOf(options).getTime(),
    graceMs: options.leakGraceMs ?? DEFAULT_LEAK_GRACE_MS,
  });
  const doomed = [...candidates.own];
  if (candidates.byOwner.size > 0) {
    const states = await ec2.instanceStates([...candidates.byOwner.keys()]);
    for (const [owner, ids] of candidates.byOwner) if (ownerGone(states.get(owner))) doomed.push(...ids);
  }
  const deleted: string[] = [];
  for (const interfaceId of doomed) {
    try {
      await ec2.deleteEni(interfaceId);
      deleted.push(interfaceId);
    } catch (error) {
      if (error instanceof CloudError && (error.code === 'NotFound' || error.cloudCode === 'InvalidNetworkInterface.InUse')) continue;
      log.warn({ interfaceId, err: messageOf(error) }, 'deleting a leaked ENI failed');
    }
  }
  if (deleted.length > 0) log.info({ deleted }, 'deleted leaked ENIs');
  return deleted;
}
