/**
 * Finishing ENI work a crash (or an answer that never came) left unfinished, and setting a
 * DeleteOnTermination left unset. See eni-journal.ts for the steps recorded; this file looks the
 * operations up in EC2 and applies what resumeAction decides.
 */
import { CloudError } from '../../core/types.js';
import type { EniRecord } from './ec2-records.js';
import { rememberEni, type Ec2Session } from './ec2-session.js';
import { deleteCreatedEni } from './ec2-shrink.js';
import { deleteOnTerminationUnset, resumeAction, stepOf, type EniOperation } from './eni-journal.js';
import { messageOf } from './error-mapping.js';
import { CREATE_TOKEN_TAG_KEY } from './tags.js';

/**
 * Looks up every journalled operation whose outcome is unknown (restored from the checkpoint, or
 * a create that got no answer) and finishes or undoes it: a detached ENI is deleted when an
 * earlier run left it (restored) and kept for the next create when this run's create got no
 * answer, an attached one gets DeleteOnTermination (set by the settle that follows), one gone or
 * never made is forgotten. `attached`: the instance's ENIs when the caller has just described
 * them (describeNode), which spares a describe per ENI found among them.
 * Single flight; a failed lookup (throttled describe) leaves the rest for the next call.
 */
export function resolveUnfinished(session: Ec2Session, attached?: readonly EniRecord[]): Promise<void> {
  const journal = session.unfinished.journal;
  if (journal === undefined) return Promise.resolve();
  return journal.resolveOnce(async () => {
    for (const op of journal.unresolved()) await resolveOne(session, op, attached);
  });
}

async function resolveOne(session: Ec2Session, op: EniOperation, attached: readonly EniRecord[] | undefined): Promise<void> {
  const { facts, log, unfinished } = session;
  const journal = unfinished.journal!;
  const found = await lookUp(session, op, attached);
  const action = resumeAction(found, facts.identity.instanceId);
  const context = { clientToken: op.clientToken, step: stepOf(op), interfaceId: found?.id ?? op.interfaceId, action: action.kind };
  switch (action.kind) {
    case 'forget':
    case 'done':
      log.info(context, 'ENI work left unfinished: nothing left to do');
      await journal.drop(op.clientToken);
      return;
    case 'deleteOnTermination':
      log.warn(context, 'ENI work left unfinished: attached, setting DeleteOnTermination');
      unfinished.deleteOnTermination.set(action.interfaceId, action.attachmentId);
      journal.markResolved(op.clientToken);
      await journal.put({ ...op, interfaceId: action.interfaceId, attachmentId: action.attachmentId });
      return;
    case 'keep': {
      const { eni } = action;
      const kept = unfinished.unattached;
      // An earlier run's (a crash's) is undone: this run may never need another interface, and until
      // the sweep it would be an ENI of no node. Only one ENI is kept for the next create (this
      // run's create that got no answer); a second would wait in vain.
      const crashed = journal.wasRestored(op.clientToken);
      if (crashed || (kept !== undefined && kept.id !== eni.id)) {
        log.warn(context, crashed ? 'ENI work an earlier run left: created but not attached; deleting it' : 'ENI work left unfinished: created but not attached, and another is kept already; deleting it');
        await deleteCreatedEni(session, eni.id, undefined).catch((error: unknown) => {
          log.error({ interfaceId: eni.id, err: messageOf(error) }, 'could not delete an unattached ENI; the leaked-ENI sweep will');
        });
        await journal.drop(op.clientToken);
        return;
      }
      log.warn(context, 'ENI work left unfinished: created but not attached; keeping it for the next create');
      rememberEni(session.knownEnis, eni);
      unfinished.unattached = eni;
      journal.markResolved(op.clientToken);
      await journal.put({ clientToken: op.clientToken, deviceIndex: op.deviceIndex, startedAtMs: op.startedAtMs, interfaceId: eni.id });
      return;
    }
  }
}

/** The operation's ENI as EC2 shows it now; undefined when EC2 knows none. */
async function lookUp(session: Ec2Session, op: EniOperation, attached: readonly EniRecord[] | undefined): Promise<EniRecord | undefined> {
  const ec2 = session.ec2();
  if (op.interfaceId !== undefined) {
    return attached?.find((eni) => eni.id === op.interfaceId) ?? (await ec2.describeEni(op.interfaceId));
  }
  // The create may have landed without its answer reaching us: its ENI carries the token as a tag.
  // Not yet attached (the attach waits for the id to be on disk), so only detached ENIs are asked for.
  const byTag = attached?.find((eni) => eni.tags.get(CREATE_TOKEN_TAG_KEY) === op.clientToken);
  if (byTag !== undefined) return byTag;
  const [found] = await ec2.describeAvailableTagged(new Map([[CREATE_TOKEN_TAG_KEY, op.clientToken]]));
  return found;
}

/**
 * Adds every ENI of ours attached to the instance with DeleteOnTermination unset (whoever left
 * it so: a crash between attach and modify, a hand edit) to the flags to set. Uses a describe
 * already made (describeNode's), never one of its own.
 */
export function noteDeleteOnTerminationUnset(session: Ec2Session, enis: readonly EniRecord[]): void {
  for (const [interfaceId, attachmentId] of deleteOnTerminationUnset(enis, session.facts.identity.instanceId)) {
    if (!session.unfinished.deleteOnTermination.has(interfaceId)) {
      session.log.warn({ interfaceId }, 'ENI of ours attached without DeleteOnTermination; setting it');
    }
    session.unfinished.deleteOnTermination.set(interfaceId, attachmentId);
  }
}

/**
 * Sets DeleteOnTermination where it is still unset (a throttled or failed try, a crash, found
 * unset by a describe). Runs before each create, at describeNode and at each leaked-ENI sweep
 * (Ec2Provider.collectLeakedInterfaces). Throttled or transient: stops, the rest waits for next
 * time. Any other failure is logged and kept for next time, never given up: only an ENI or
 * attachment gone (NotFound) ends the attempts, since then nothing is left to set.
 */
export async function settleDeleteOnTermination(session: Ec2Session): Promise<void> {
  const { unfinished, log } = session;
  for (const [interfaceId, attachmentId] of unfinished.deleteOnTermination) {
    try {
      await session.ec2().setDeleteOnTermination(interfaceId, attachmentId);
      log.info({ interfaceId }, 'DeleteOnTermination set');
    } catch (error) {
      if (error instanceof CloudError && error.retryable) return;
      if (!(error instanceof CloudError && error.code === 'NotFound')) {
        log.error({ interfaceId, err: messageOf(error) }, 'setting DeleteOnTermination failed; trying again at the next sweep');
        continue;
      }
      // Detached or deleted meanwhile: nothing left to set.
      log.warn({ interfaceId, err: messageOf(error) }, 'ENI or attachment gone; DeleteOnTermination no longer needed');
    }
    unfinished.deleteOnTermination.delete(interfaceId);
    await unfinished.journal?.drop(unfinished.journal.byInterface(interfaceId)?.clientToken);
  }
}
