/**
 * The provider's durable memory of ENIs half made: created but not attached, attached but not
 * marked DeleteOnTermination. Saved in the daemon's checkpoint (`providerState`) before each cloud
 * call it protects, so a daemon killed at any point finds the work on restart and finishes or
 * undoes it instead of leaving an ENI that outlives its instance or repeating the create.
 *
 * One operation goes through three recorded steps, each on disk before the call that follows it:
 * 1. `create`: a client token, before CreateNetworkInterface. The token is sent as its ClientToken
 *    (EC2 answers a repeated request with the same ENI) and as the ENI's CREATE_TOKEN_TAG_KEY tag,
 *    so a restart finds the ENI by tag whether or not the answer arrived.
 * 2. `attach`: the ENI id, before AttachNetworkInterface.
 * 3. `deleteOnTermination`: the attachment id, before ModifyNetworkInterfaceAttribute.
 * The operation is dropped once the flag is set, or once the ENI is found gone.
 *
 * This file is pure (codec and decisions) but for {@link EniJournal}, which holds the operations
 * and calls the injected save; it does no I/O of its own.
 */
import { randomUUID } from 'node:crypto';
import type { EniRecord } from './ec2-records.js';
import { isManaged, isOptedOut } from './tags.js';

/** One ENI on its way from create to attached with DeleteOnTermination. */
export interface EniOperation {
  /** Idempotency token of the create (EC2 ClientToken, at most 64 ASCII characters). */
  readonly clientToken: string;
  /** The device index it was created for. */
  readonly deviceIndex: number;
  /** Epoch ms. */
  readonly startedAtMs: number;
  /** Set once the create answered. */
  readonly interfaceId?: string;
  /** Set once the attach answered. */
  readonly attachmentId?: string;
}

export type EniStep = 'create' | 'attach' | 'deleteOnTermination';

/** The call the operation was about to make (or made without recording its answer). */
export function stepOf(op: EniOperation): EniStep {
  if (op.interfaceId === undefined) return 'create';
  return op.attachmentId === undefined ? 'attach' : 'deleteOnTermination';
}

export const ENI_JOURNAL_VERSION = 1;

export interface AwsResumeState {
  readonly version: typeof ENI_JOURNAL_VERSION;
  readonly enis: readonly EniOperation[];
}

export function encodeEniJournal(operations: readonly EniOperation[]): AwsResumeState | undefined {
  return operations.length === 0 ? undefined : { version: ENI_JOURNAL_VERSION, enis: [...operations] };
}

/** Decodes saved state; throws an Error saying what is wrong. `undefined` decodes to no operations. */
export function decodeEniJournal(value: unknown): EniOperation[] {
  if (value === undefined || value === null) return [];
  if (!isRecord(value)) throw new Error('AWS provider state: expected an object');
  if (value['version'] !== ENI_JOURNAL_VERSION) {
    throw new Error(`AWS provider state: version ${JSON.stringify(value['version'])} is not supported (expected ${ENI_JOURNAL_VERSION})`);
  }
  const enis = value['enis'];
  if (!Array.isArray(enis)) throw new Error('AWS provider state: enis: expected an array');
  return enis.map((op: unknown, i): EniOperation => {
    const where = `AWS provider state: enis[${i}]`;
    if (!isRecord(op)) throw new Error(`${where}: expected an object`);
    const { clientToken, deviceIndex, startedAtMs, interfaceId, attachmentId } = op;
    if (typeof clientToken !== 'string' || clientToken === '') throw new Error(`${where}.clientToken: expected a token`);
    if (typeof deviceIndex !== 'number' || !Number.isInteger(deviceIndex)) throw new Error(`${where}.deviceIndex: expected a whole number`);
    if (typeof startedAtMs !== 'number') throw new Error(`${where}.startedAtMs: expected a number`);
    if (interfaceId !== undefined && (typeof interfaceId !== 'string' || interfaceId === '')) throw new Error(`${where}.interfaceId: expected an ENI id`);
    if (attachmentId !== undefined && (typeof attachmentId !== 'string' || attachmentId === '')) throw new Error(`${where}.attachmentId: expected an attachment id`);
    if (attachmentId !== undefined && interfaceId === undefined) throw new Error(`${where}: attachmentId without interfaceId`);
    return {
      clientToken,
      deviceIndex,
      startedAtMs,
      ...(interfaceId === undefined ? {} : { interfaceId }),
      ...(attachmentId === undefined ? {} : { attachmentId }),
    };
  });
}

/**
 * What to do with an operation found unfinished, given what EC2 now shows of its ENI (undefined:
 * EC2 does not know it, or no ENI carries its token):
 * - `forget`: never created, deleted meanwhile, or someone else's now (attached to another
 *   instance): nothing of ours to finish. An ENI later left detached is the leaked-ENI sweep's.
 * - `keep`: created and detached: kept for the next create, which attaches it instead of creating
 *   one (UnfinishedEniWork.unattached); the leaked-ENI sweep deletes it if no create comes.
 * - `deleteOnTermination`: attached to this instance with the flag not (known to be) set: set it.
 * - `done`: attached to this instance with the flag set.
 */
export type ResumeAction =
  | { readonly kind: 'forget' }
  | { readonly kind: 'keep'; readonly eni: EniRecord }
  | { readonly kind: 'deleteOnTermination'; readonly interfaceId: string; readonly attachmentId: string }
  | { readonly kind: 'done' };

const GONE_ATTACHMENT_STATES: ReadonlySet<string> = new Set(['detaching', 'detached']);

export function resumeAction(found: EniRecord | undefined, instanceId: string): ResumeAction {
  if (found === undefined) return { kind: 'forget' };
  const attachment = found.attachment;
  if (attachment === undefined) return found.status === 'available' ? { kind: 'keep', eni: found } : { kind: 'forget' };
  if (GONE_ATTACHMENT_STATES.has(attachment.status) || attachment.instanceId !== instanceId) return { kind: 'forget' };
  if (attachment.deleteOnTermination === true) return { kind: 'done' };
  return { kind: 'deleteOnTermination', interfaceId: found.id, attachmentId: attachment.attachmentId };
}

/**
 * ENIs attached to the instance that nativeip created (tagged as ours, not opted out with
 * NO_MANAGE_TAG_KEY) whose DeleteOnTermination EC2 shows as false: ENI id → attachment id. Such
 * an ENI would outlive the instance. An attachment whose flag EC2 did not report is left alone.
 */
export function deleteOnTerminationUnset(enis: readonly EniRecord[], instanceId: string): Map<string, string> {
  const unset = new Map<string, string>();
  for (const eni of enis) {
    const attachment = eni.attachment;
    if (attachment === undefined || attachment.deleteOnTermination !== false) continue;
    if (attachment.instanceId !== instanceId || GONE_ATTACHMENT_STATES.has(attachment.status) || attachment.deviceIndex === 0) continue;
    if (!isManaged(eni.tags) || isOptedOut(eni.tags)) continue;
    unset.set(eni.id, attachment.attachmentId);
  }
  return unset;
}

/**
 * The operations in flight and the save that makes them durable. Each change awaits the save:
 * when it resolves, the change is on disk (the daemon's checkpoint write), and only then may the
 * cloud call it protects be made. Without a save registered (tests, the CLI) changes stay in memory.
 */
export class EniJournal {
  readonly #operations = new Map<string, EniOperation>();
  /** Tokens whose outcome EC2 has not told yet: restored from a checkpoint, or a create with no answer. */
  readonly #unresolved = new Set<string>();
  /** Tokens restored from a checkpoint: work an earlier run (a crash) left, not this run's. */
  readonly #restored = new Set<string>();
  #save: (() => Promise<void>) | undefined;
  #resolving: Promise<void> | undefined;

  onSave(save: () => Promise<void>): void {
    this.#save = save;
  }

  /** The operations, for the checkpoint. */
  encode(): AwsResumeState | undefined {
    return encodeEniJournal([...this.#operations.values()]);
  }

  /** Takes the operations of a checkpoint; each is checked against EC2 before anything else runs. No I/O. */
  restore(operations: readonly EniOperation[]): void {
    for (const op of operations) {
      this.#operations.set(op.clientToken, op);
      this.#unresolved.add(op.clientToken);
      this.#restored.add(op.clientToken);
    }
  }

  /** Forgets every operation restored from a checkpoint (another instance's); returns how many. No I/O. */
  dropRestored(): number {
    const count = this.#restored.size;
    for (const token of this.#restored) {
      this.#operations.delete(token);
      this.#unresolved.delete(token);
    }
    this.#restored.clear();
    return count;
  }

  /** True when the operation was restored from a checkpoint (an earlier run left it). */
  wasRestored(clientToken: string): boolean {
    return this.#restored.has(clientToken);
  }

  get size(): number {
    return this.#operations.size;
  }

  operations(): EniOperation[] {
    return [...this.#operations.values()];
  }

  unresolved(): EniOperation[] {
    return [...this.#unresolved].flatMap((token) => {
      const op = this.#operations.get(token);
      return op === undefined ? [] : [op];
    });
  }

  byInterface(interfaceId: string): EniOperation | undefined {
    for (const op of this.#operations.values()) if (op.interfaceId === interfaceId) return op;
    return undefined;
  }

  /** Records the intent to create an ENI, on disk before the create; returns its operation. */
  async begin(deviceIndex: number, nowMs: number): Promise<EniOperation> {
    const op: EniOperation = { clientToken: randomUUID(), deviceIndex, startedAtMs: nowMs };
    await this.put(op);
    return op;
  }

  /** Replaces (or adds) an operation and saves. */
  async put(op: EniOperation): Promise<void> {
    this.#operations.set(op.clientToken, op);
    await this.#save?.();
  }

  /** Marks an operation's outcome as unknown: it is looked up in EC2 before the next create or sweep. */
  markUnresolved(clientToken: string): void {
    if (this.#operations.has(clientToken)) this.#unresolved.add(clientToken);
  }

  markResolved(clientToken: string): void {
    this.#unresolved.delete(clientToken);
  }

  /** Drops an operation (finished, or nothing left to finish) and saves. */
  async drop(clientToken: string | undefined): Promise<void> {
    if (clientToken === undefined) return;
    this.#unresolved.delete(clientToken);
    this.#restored.delete(clientToken);
    if (this.#operations.delete(clientToken)) await this.#save?.();
  }

  /** Runs `resolve` unless a run is under way (then joins it); a failed run is retried by the next call. */
  resolveOnce(resolve: () => Promise<void>): Promise<void> {
    if (this.#unresolved.size === 0) return Promise.resolve();
    this.#resolving ??= resolve().finally(() => {
      this.#resolving = undefined;
    });
    return this.#resolving;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
