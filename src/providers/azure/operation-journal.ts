/**
 * The provider's durable memory of NIC writes in flight, saved in the daemon's checkpoint
 * (`providerState`). A daemon killed between a PUT and its completion finds the operation here on
 * restart and finishes it (polls the same long-running operation) instead of writing again.
 * Pure: encode and decode only.
 */

/** One write in flight on one NIC (or one Uniform scale-set instance). */
export interface PendingOperation {
  /** ARM id of the resource written: the NIC, or the scale-set instance for Uniform. */
  readonly target: string;
  /** ARM id of the NIC whose configurations change (the target itself for the NIC path). */
  readonly nicId: string;
  readonly kind: 'add' | 'remove';
  /** The configurations added or removed. */
  readonly names: readonly string[];
  /**
   * The SDK poller's serialized state, once ARM accepted the PUT. Absent: the PUT may or may not
   * have reached ARM (killed while it was on its way).
   */
  readonly poller?: string;
  /** Epoch ms. */
  readonly startedAtMs: number;
}

export const JOURNAL_VERSION = 1;

export interface AzureResumeState {
  readonly version: typeof JOURNAL_VERSION;
  readonly operations: readonly PendingOperation[];
}

export function encodeJournal(operations: readonly PendingOperation[]): AzureResumeState | undefined {
  return operations.length === 0 ? undefined : { version: JOURNAL_VERSION, operations: [...operations] };
}

/** Decodes saved state; throws an Error saying what is wrong. `undefined` decodes to no operations. */
export function decodeJournal(value: unknown): PendingOperation[] {
  if (value === undefined || value === null) return [];
  if (!isRecord(value)) throw new Error('Azure provider state: expected an object');
  if (value['version'] !== JOURNAL_VERSION) {
    throw new Error(`Azure provider state: version ${JSON.stringify(value['version'])} is not supported (expected ${JOURNAL_VERSION})`);
  }
  const operations = value['operations'];
  if (!Array.isArray(operations)) throw new Error('Azure provider state: operations: expected an array');
  return operations.map((op: unknown, i): PendingOperation => {
    const where = `Azure provider state: operations[${i}]`;
    if (!isRecord(op)) throw new Error(`${where}: expected an object`);
    const { target, nicId, kind, names, poller, startedAtMs } = op;
    if (typeof target !== 'string' || target === '') throw new Error(`${where}.target: expected a resource id`);
    if (typeof nicId !== 'string' || nicId === '') throw new Error(`${where}.nicId: expected a resource id`);
    if (kind !== 'add' && kind !== 'remove') throw new Error(`${where}.kind: expected add or remove`);
    if (!Array.isArray(names) || !names.every((n): n is string => typeof n === 'string')) {
      throw new Error(`${where}.names: expected an array of strings`);
    }
    if (poller !== undefined && typeof poller !== 'string') throw new Error(`${where}.poller: expected a string`);
    if (typeof startedAtMs !== 'number') throw new Error(`${where}.startedAtMs: expected a number`);
    return { target, nicId, kind, names, ...(poller === undefined ? {} : { poller }), startedAtMs };
  });
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
