/** Growing the node's share of the VPC: secondary addresses, /28 prefixes, and new ENIs created and attached. */
import { CloudError, type CloudInterface, type CreateInterfaceOptions } from '../../core/types.js';
import { nowOf } from './ec2-provider-options.js';
import type { EniRecord } from './ec2-records.js';
import { rememberEni, type Ec2Session } from './ec2-session.js';
import { resolveUnfinished, settleDeleteOnTermination } from './ec2-resume.js';
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
 * throttled attach (or a crash) left (see UnfinishedEniWork). An attach or DeleteOnTermination
 * that EC2 throttles is kept for the next create; any other failure deletes the new ENI again. A
 * kept ENI may carry other counts than these options ask for: the pool takes the interface
 * returned. Each step is journalled before its call (eni-journal.ts), so a crash at any point is
 * finished or undone after the restart.
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
  await resolveUnfinished(session);
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
      await session.unfinished.journal?.drop(session.unfinished.journal.byInterface(kept.id)?.clientToken);
    }
  }
  return attachEni(session, await createEni(session, options), deviceIndex, { kept: false });
}

async function createEni(session: Ec2Session, options: CreateInterfaceOptions): Promise<EniRecord> {
  const { facts } = session;
  const { journal } = session.unfinished;
  const instanceId = facts.identity.instanceId;
  const createdAt = nowOf(session.options);
  // The intent is on disk before the create, so a restart can look for what it made.
  const op = await journal?.begin(options.deviceIndex, createdAt.getTime());
  let eni: EniRecord;
  try {
    eni = await session.ec2().createEni({
      instanceId,
      subnetId: facts.primarySubnetId,
      securityGroupIds: facts.securityGroupIds,
      secondaryCount: Math.max(0, options.secondaryCount),
      prefixCount: options.prefixCount,
      description: interfaceDescription(instanceId),
      tags: interfaceTags({ instanceId, createdAt, clusterName: session.options.clusterName, createToken: op?.clientToken }),
      clientToken: op?.clientToken,
    });
  } catch (error) {
    if (op !== undefined) {
      // An answer from EC2 means nothing was made; no answer (Transient) may hide an ENI made.
      if (error instanceof CloudError && error.code === 'Transient') journal?.markUnresolved(op.clientToken);
      else await journal?.drop(op.clientToken);
    }
    throw error;
  }
  rememberEni(session.knownEnis, eni);
  if (op !== undefined) await journal?.put({ ...op, interfaceId: eni.id });
  return eni;
}

async function attachEni(session: Ec2Session, eni: EniRecord, deviceIndex: number, origin: { readonly kept: boolean }): Promise<CloudInterface> {
  const { log } = session;
  const ec2 = session.ec2();
  const { journal } = session.unfinished;
  const op = journal?.byInterface(eni.id);
  let attachmentId: string | undefined;
  let at = deviceIndex;
  try {
    ({ attachmentId, deviceIndex: at } = await attachOrFindAttached(session, eni.id, deviceIndex));
    // On disk before the modify: a crash between the two leaves an ENI that would outlive the instance.
    if (op !== undefined) await journal?.put({ ...op, attachmentId });
    await ec2.setDeleteOnTermination(eni.id, attachmentId);
  } catch (error) {
    if (isThrottled(error) && attachmentId === undefined) {
      session.unfinished.unattached = eni;
      log.warn({ interfaceId: eni.id, deviceIndex, err: messageOf(error) }, 'attaching a new ENI was throttled; keeping it for the next create');
      throw error;
    }
    if (error instanceof CloudError && error.retryable && attachmentId !== undefined) {
      session.unfinished.deleteOnTermination.set(eni.id, attachmentId);
      log.warn({ interfaceId: eni.id, err: messageOf(error) }, 'setting DeleteOnTermination was throttled or failed; the ENI is attached, and the flag is set before the next create or at the next leaked-ENI sweep');
      return attached(session, eni, at);
    }
    if (origin.kept && attachmentId === undefined) return keptAttachFailed(session, eni, error);
    log.warn({ interfaceId: eni.id, deviceIndex, err: messageOf(error) }, 'attaching a new ENI failed; deleting it');
    await undoCreated(session, eni.id, attachmentId, op?.clientToken);
    throw error;
  }
  await journal?.drop(op?.clientToken);
  return attached(session, eni, at);
}

/**
 * AttachNetworkInterface, made safe to repeat. The attach is not idempotent in EC2 (it takes no
 * ClientToken): when an attempt's answer is lost, the SDK's retry (or ours) finds the ENI already
 * attached and EC2 answers `InvalidNetworkInterface.InUse`; a request with no answer at all
 * (connection reset, timeout) may have landed too. In both cases one describe tells: attached (or
 * attaching) to this instance means the attach landed, and its attachment id is read from there.
 * Anything else rethrows the attach's own error.
 */
async function attachOrFindAttached(session: Ec2Session, interfaceId: string, deviceIndex: number): Promise<{ attachmentId: string; deviceIndex: number }> {
  const ec2 = session.ec2();
  const instanceId = session.facts.identity.instanceId;
  try {
    return { attachmentId: await ec2.attachEni(interfaceId, instanceId, deviceIndex), deviceIndex };
  } catch (error) {
    if (!(error instanceof CloudError && (error.code === 'Transient' || isInUse(error)))) throw error;
    const now = await ec2.describeEni(interfaceId).catch(() => undefined);
    const attachment = now?.attachment;
    if (attachment === undefined || attachment.instanceId !== instanceId || !(attachment.status === 'attached' || attachment.status === 'attaching')) throw error;
    session.log.warn(
      { interfaceId, deviceIndex: attachment.deviceIndex, err: messageOf(error) },
      'the attach had landed although its answer was lost; using the attachment EC2 shows',
    );
    return { attachmentId: attachment.attachmentId, deviceIndex: attachment.deviceIndex };
  }
}

/** EC2's answer to an attach of an ENI that is attached already. */
function isInUse(error: CloudError): boolean {
  return error.cloudCode === 'InvalidNetworkInterface.InUse';
}

/** Deletes an ENI whose attach failed; when that fails too, the journal keeps it to be checked again. */
async function undoCreated(session: Ec2Session, interfaceId: string, attachmentId: string | undefined, clientToken: string | undefined): Promise<void> {
  const { journal } = session.unfinished;
  try {
    await deleteCreatedEni(session, interfaceId, attachmentId);
  } catch (cleanupError) {
    session.log.error({ interfaceId, err: messageOf(cleanupError) }, 'could not delete ENI after a failed attach; checking it again before the next create');
    if (clientToken !== undefined) journal?.markUnresolved(clientToken);
    return;
  }
  await journal?.drop(clientToken);
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
    await undoCreated(session, eni.id, undefined, session.unfinished.journal?.byInterface(eni.id)?.clientToken);
  } else {
    // Gone, or someone else's now: nothing of ours to finish.
    await session.unfinished.journal?.drop(session.unfinished.journal.byInterface(eni.id)?.clientToken);
  }
  throw error;
}

function isThrottled(error: unknown): boolean {
  return error instanceof CloudError && error.code === 'Throttled';
}
