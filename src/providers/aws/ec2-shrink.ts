/**
 * Shrinking the node's share of the VPC: secondary addresses and prefixes given back, and
 * nativeip's ENIs detached and deleted. Each step tolerates what is already gone.
 */
import { CloudError } from '../../core/types.js';
import type { Ec2Api } from './ec2-api.js';
import type { EniRecord } from './ec2-records.js';
import type { Ec2Session } from './ec2-session.js';
import { isNotAssignedError } from './error-mapping.js';
import { isManaged } from './tags.js';

export async function unassignSecondaryIps(session: Ec2Session, interfaceId: string, addresses: readonly string[]): Promise<void> {
  const ec2 = session.ec2();
  const unassign = (items: readonly string[]): Promise<void> => ec2.unassignAddresses(interfaceId, items);
  if ((await unassignStillHeld(ec2, interfaceId, addresses, unassign, (eni) => eni.secondaryIps)) === 'interface-gone') {
    session.log.warn({ interfaceId, addresses }, 'interface gone; its addresses are released with it');
    return;
  }
  session.log.info({ interfaceId, addresses }, 'released secondary addresses');
}

export async function unassignEniPrefixes(session: Ec2Session, interfaceId: string, prefixes: readonly string[]): Promise<void> {
  const ec2 = session.ec2();
  const unassign = (items: readonly string[]): Promise<void> => ec2.unassignPrefixes(interfaceId, items);
  if ((await unassignStillHeld(ec2, interfaceId, prefixes, unassign, (eni) => eni.prefixes)) === 'interface-gone') return;
  session.log.info({ interfaceId, prefixes }, 'released prefixes');
}

/**
 * Unassigns `items` from the ENI. EC2 rejects the whole call when any of them is already gone;
 * then the ones the ENI still holds are unassigned.
 */
async function unassignStillHeld(
  ec2: Ec2Api,
  interfaceId: string,
  items: readonly string[],
  unassign: (items: readonly string[]) => Promise<void>,
  held: (eni: EniRecord) => readonly string[],
): Promise<'unassigned' | 'interface-gone'> {
  try {
    await unassign(items);
  } catch (error) {
    if (!(error instanceof CloudError)) throw error;
    if (error.code === 'NotFound') return 'interface-gone';
    // No answer: the unassign may have landed; one describe tells (nothing of `items` left on the ENI).
    if (error.code === 'Transient') {
      let eni: EniRecord | undefined;
      try {
        eni = await ec2.describeEni(interfaceId);
      } catch {
        throw error;
      }
      if (eni === undefined) return 'interface-gone';
      if (items.some((item) => held(eni).includes(item))) throw error;
      return 'unassigned';
    }
    if (!isNotAssignedError(error)) throw error;
    const eni = await ec2.describeEni(interfaceId);
    const remaining = eni === undefined ? [] : items.filter((item) => held(eni).includes(item));
    if (remaining.length > 0) await unassign(remaining);
  }
  return 'unassigned';
}

/** Detaches and deletes a secondary ENI nativeip created; refuses the primary and untagged ones. */
export async function deleteManagedEni(session: Ec2Session, interfaceId: string): Promise<void> {
  const eni = await session.ec2().describeEni(interfaceId);
  if (eni === undefined) return;
  if (eni.attachment?.deviceIndex === 0) {
    throw new CloudError('InvalidRequest', `refusing to delete ${interfaceId}: it is the primary interface`);
  }
  if (!isManaged(eni.tags)) {
    throw new CloudError('InvalidRequest', `refusing to delete ${interfaceId}: it is not tagged nativeip.io/managed=true`);
  }
  const attachment = eni.attachment;
  const attachmentId = attachment !== undefined && attachment.status !== 'detached' ? attachment.attachmentId : undefined;
  await detachAndDelete(session, interfaceId, attachmentId);
  session.knownEnis.delete(interfaceId);
  session.unfinished.deleteOnTermination.delete(interfaceId);
  await session.unfinished.journal?.drop(session.unfinished.journal.byInterface(interfaceId)?.clientToken);
  session.log.info({ interfaceId }, 'deleted ENI');
}

/** Removes an ENI whose attach failed; an attach with an unknown outcome may still have landed. */
export async function deleteCreatedEni(session: Ec2Session, interfaceId: string, attachmentId: string | undefined): Promise<void> {
  let attachment = attachmentId;
  if (attachment === undefined) {
    const eni = await session.ec2().describeEni(interfaceId);
    if (eni === undefined) return;
    if (eni.attachment !== undefined && eni.attachment.status !== 'detached') attachment = eni.attachment.attachmentId;
  }
  await detachAndDelete(session, interfaceId, attachment);
  session.knownEnis.delete(interfaceId);
}

/**
 * Detach (when attached) and delete. Either call may go unanswered (a lost reply, a timeout) after
 * EC2 applied it: then one describe tells whether it landed (detach: the attachment is gone or
 * going; delete: the ENI is gone), and the work goes on instead of failing for the pool to retry.
 */
async function detachAndDelete(session: Ec2Session, interfaceId: string, attachmentId: string | undefined): Promise<void> {
  const ec2 = session.ec2();
  if (attachmentId !== undefined) {
    try {
      await ec2.detachEni(interfaceId, attachmentId);
    } catch (error) {
      if (!(error instanceof CloudError && error.code === 'NotFound')) {
        if (!(await landedDespite(session, interfaceId, error, (eni) => eni === undefined || eni.attachment?.attachmentId !== attachmentId || eni.attachment.status !== 'attached'))) throw error;
      }
    }
    if (!(await waitAvailable(session, interfaceId))) return;
  }
  try {
    await ec2.deleteEni(interfaceId);
  } catch (error) {
    if (!(error instanceof CloudError && error.code === 'NotFound')) {
      if (!(await landedDespite(session, interfaceId, error, (eni) => eni === undefined))) throw error;
    }
  }
}

/**
 * Whether a call that got no answer (Transient) had landed after all, as `landed` judges from the
 * ENI EC2 now shows (undefined: gone). False for any other failure, or when the describe fails too.
 */
async function landedDespite(session: Ec2Session, interfaceId: string, error: unknown, landed: (eni: EniRecord | undefined) => boolean): Promise<boolean> {
  if (!(error instanceof CloudError && error.code === 'Transient')) return false;
  let now: EniRecord | undefined;
  try {
    now = await session.ec2().describeEni(interfaceId);
  } catch {
    return false;
  }
  if (!landed(now)) return false;
  session.log.warn({ interfaceId, err: error.message }, 'the call had landed although its answer was lost; going on');
  return true;
}

/** Polls until the ENI is `available`; false when it disappeared meanwhile. */
async function waitAvailable(session: Ec2Session, interfaceId: string): Promise<boolean> {
  const wait = session.options.detachWait ?? {};
  const attempts = Math.max(1, wait.attempts ?? 10);
  const maxDelay = wait.maxDelayMs ?? 4000;
  let delay = wait.initialDelayMs ?? 500;
  let status = 'unknown';
  for (let attempt = 0; attempt < attempts; attempt += 1) {
    const eni = await session.ec2().describeEni(interfaceId);
    if (eni === undefined) return false;
    status = eni.status;
    if (status === 'available') return true;
    await session.sleep(delay);
    delay = Math.min(delay * 2, maxDelay);
  }
  throw new CloudError('Transient', `interface ${interfaceId} still ${status} after ${attempts} checks; not deleted`);
}
