/** Growing the node's share of the VPC: secondary addresses, /28 prefixes, and new ENIs created and attached. */
import { CloudError, type CloudInterface, type CreateInterfaceOptions } from '../../core/types.js';
import { nowOf } from './ec2-provider-options.js';
import type { EniRecord } from './ec2-records.js';
import { rememberEni, type Ec2Session } from './ec2-session.js';
import { deleteCreatedEni } from './ec2-shrink.js';
import { messageOf } from './error-mapping.js';
import { toCloudInterface } from './snapshot.js';
import { interfaceDescription, interfaceTags } from './tags.js';

/** Throws InvalidRequest with `message` unless `count` is a whole number, 0 or more. */
export function checkCount(count: number, message: string): void {
  if (!Number.isInteger(count) || count < 0) throw new CloudError('InvalidRequest', message);
}

export async function assignSecondaryIps(session: Ec2Session, interfaceId: string, count: number): Promise<string[]> {
  const known = session.knownEnis.get(interfaceId);
  const assigned = await session.ec2().assignAddresses(interfaceId, count, known?.subnetId);
  const fresh = assigned.filter((ip) => ip !== known?.primaryIp);
  if (fresh.length !== count) {
    // moto answers with every address on the ENI, not only the new ones.
    session.log.warn({ interfaceId, requested: count, answered: fresh }, 'AssignPrivateIpAddresses answer has an unexpected number of addresses');
  }
  session.log.info({ interfaceId, addresses: fresh }, 'assigned secondary addresses');
  return fresh;
}

export async function assignEniPrefixes(session: Ec2Session, interfaceId: string, count: number): Promise<string[]> {
  const known = session.knownEnis.get(interfaceId);
  const prefixes = await session.ec2().assignPrefixes(interfaceId, count, known?.subnetId);
  if (prefixes.length !== count) {
    session.log.warn({ interfaceId, requested: count, answered: prefixes }, 'AssignPrivateIpAddresses answer has an unexpected number of prefixes');
  }
  session.log.info({ interfaceId, prefixes }, 'delegated prefixes');
  return prefixes;
}

/**
 * Creates a tagged ENI in the primary subnet and attaches it, or attaches the one an earlier
 * throttled attach left (see UnfinishedEniWork). An attach or DeleteOnTermination that EC2
 * throttles is kept for the next create; any other failure deletes the new ENI again. A kept ENI
 * may carry other counts than these options ask for: the pool takes the interface returned.
 */
export async function createAttachedEni(session: Ec2Session, options: CreateInterfaceOptions): Promise<CloudInterface> {
  const { facts } = session;
  const { deviceIndex } = options;
  if (!Number.isInteger(deviceIndex) || deviceIndex < 1) {
    throw new CloudError('InvalidRequest', `device index ${deviceIndex} is not a secondary interface slot (1 or more)`);
  }
  // Only the configured cap is checked here; the instance type's own limit is EC2's to enforce.
  if (facts.limits.maxInterfaces < facts.typeLimits.maxInterfaces && deviceIndex >= facts.limits.maxInterfaces) {
    throw new CloudError(
      'InterfaceLimit',
      `instance ${facts.identity.instanceId} may use ${facts.limits.maxInterfaces} interfaces (maxEnis); device index ${deviceIndex} is beyond it`,
    );
  }
  await settleDeleteOnTermination(session);
  const kept = session.unfinished.unattached;
  session.unfinished.unattached = undefined;
  if (kept !== undefined) {
    try {
      return await attachEni(session, kept, deviceIndex, { kept: true });
    } catch (error) {
      // Gone meanwhile (leaked-ENI GC, someone else): create a new one below.
      if (!(error instanceof CloudError && error.code === 'NotFound')) throw error;
      session.knownEnis.delete(kept.id);
    }
  }
  return attachEni(session, await createEni(session, options), deviceIndex, { kept: false });
}

async function createEni(session: Ec2Session, options: CreateInterfaceOptions): Promise<EniRecord> {
  const { facts } = session;
  const instanceId = facts.identity.instanceId;
  const eni = await session.ec2().createEni({
    instanceId,
    subnetId: facts.primarySubnetId,
    securityGroupIds: facts.securityGroupIds,
    secondaryCount: Math.max(0, options.secondaryCount),
    prefixCount: options.prefixCount,
    description: interfaceDescription(instanceId),
    tags: interfaceTags({ instanceId, createdAt: nowOf(session.options), clusterName: session.options.clusterName }),
  });
  rememberEni(session.knownEnis, eni);
  return eni;
}

async function attachEni(session: Ec2Session, eni: EniRecord, deviceIndex: number, origin: { readonly kept: boolean }): Promise<CloudInterface> {
  const { facts, log } = session;
  const ec2 = session.ec2();
  let attachmentId: string | undefined;
  try {
    attachmentId = await ec2.attachEni(eni.id, facts.identity.instanceId, deviceIndex);
    await ec2.setDeleteOnTermination(eni.id, attachmentId);
  } catch (error) {
    if (isThrottled(error) && attachmentId === undefined) {
      session.unfinished.unattached = eni;
      log.warn({ interfaceId: eni.id, deviceIndex, err: messageOf(error) }, 'attaching a new ENI was throttled; keeping it for the next create');
      throw error;
    }
    if (isThrottled(error) && attachmentId !== undefined) {
      session.unfinished.deleteOnTermination.set(eni.id, attachmentId);
      log.warn({ interfaceId: eni.id, err: messageOf(error) }, 'setting DeleteOnTermination was throttled; the ENI is attached, and the flag is set before the next create or at the next leaked-ENI sweep');
      return attached(session, eni, deviceIndex);
    }
    if (origin.kept && attachmentId === undefined) return keptAttachFailed(session, eni, error);
    log.warn({ interfaceId: eni.id, deviceIndex, err: messageOf(error) }, 'attaching a new ENI failed; deleting it');
    await deleteCreatedEni(session, eni.id, attachmentId).catch((cleanupError: unknown) => {
      log.error({ interfaceId: eni.id, err: messageOf(cleanupError) }, 'could not delete ENI after a failed attach; it is leaked');
    });
    throw error;
  }
  return attached(session, eni, deviceIndex);
}

function attached(session: Ec2Session, eni: EniRecord, deviceIndex: number): CloudInterface {
  session.log.info({ interfaceId: eni.id, deviceIndex, addresses: eni.secondaryIps }, 'created and attached ENI');
  return { ...toCloudInterface(eni, deviceIndex, session.facts.primarySubnetCidr), managed: true };
}

/**
 * The attach of a kept ENI failed, not throttled. The throttled attach that left it may have
 * landed after all (a first attempt whose answer was lost, a throttled retry): then the ENI is
 * this node's, perhaps already in the pool through a reconcile, and is returned as attached
 * rather than detached and deleted. Gone: NotFound goes up (the caller creates a new one).
 * Still detached: deleted, as a new ENI would be. Unknown (describe failed): kept for next time.
 */
async function keptAttachFailed(session: Ec2Session, eni: EniRecord, error: unknown): Promise<CloudInterface> {
  const { facts, log } = session;
  if (error instanceof CloudError && error.code === 'NotFound') throw error;
  let now: EniRecord | undefined;
  try {
    now = await session.ec2().describeEni(eni.id);
  } catch {
    session.unfinished.unattached = eni;
    throw error;
  }
  const attachment = now?.attachment;
  if (now !== undefined && attachment !== undefined && attachment.instanceId === facts.identity.instanceId && (attachment.status === 'attached' || attachment.status === 'attaching')) {
    log.warn({ interfaceId: eni.id, deviceIndex: attachment.deviceIndex, err: messageOf(error) }, 'the throttled attach of a kept ENI had landed; using it where it is attached');
    session.unfinished.deleteOnTermination.set(eni.id, attachment.attachmentId);
    await settleDeleteOnTermination(session);
    return attached(session, now, attachment.deviceIndex);
  }
  if (now !== undefined && attachment === undefined) {
    log.warn({ interfaceId: eni.id, err: messageOf(error) }, 'attaching a kept ENI failed; deleting it');
    await deleteCreatedEni(session, eni.id, undefined).catch((cleanupError: unknown) => {
      log.error({ interfaceId: eni.id, err: messageOf(cleanupError) }, 'could not delete a kept ENI after a failed attach; it is leaked');
    });
  }
  throw error;
}

/**
 * Sets DeleteOnTermination where an earlier try was throttled. Runs before each create and at
 * each leaked-ENI sweep (Ec2Provider.collectLeakedInterfaces). Throttled or transient: next time.
 */
export async function settleDeleteOnTermination(session: Ec2Session): Promise<void> {
  for (const [interfaceId, attachmentId] of session.unfinished.deleteOnTermination) {
    try {
      await session.ec2().setDeleteOnTermination(interfaceId, attachmentId);
      session.unfinished.deleteOnTermination.delete(interfaceId);
    } catch (error) {
      if (error instanceof CloudError && error.retryable) return;
      // Detached or deleted meanwhile: nothing left to set.
      session.unfinished.deleteOnTermination.delete(interfaceId);
      session.log.warn({ interfaceId, err: messageOf(error) }, 'setting DeleteOnTermination failed; giving up on it');
    }
  }
}

function isThrottled(error: unknown): boolean {
  return error instanceof CloudError && error.code === 'Throttled';
}
