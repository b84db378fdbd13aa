/**
 * The daemon's durable state: every allocation and every cooling-down address. Versioned JSON
 * with a checksum (checkpoint-checksum.ts), written atomically (temp file, fsync, rename, fsync
 * of the directory) before a reply leaves. Missing file: a fresh node. Unknown version or a
 * corrupt file: a hard error naming the file.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, writeFileSync } from 'node:fs';
import { readFile, rename } from 'node:fs/promises';
import { dirname } from 'node:path';
import { isIpv4 } from '../../core/ipv4.js';
import { signCheckpoint, verifyChecksum } from './checkpoint-checksum.js';

export const CHECKPOINT_VERSION = 1;

export interface CheckpointAllocation {
  readonly networkName: string;
  readonly containerId: string;
  readonly ifName: string;
  readonly address: string;
  readonly interfaceId: string;
  readonly netns: string;
  readonly hostVeth: string;
  /** Route table of the address's interface for the `from` rule; absent for the primary. */
  readonly routeTable?: number;
  readonly podNamespace?: string;
  readonly podName?: string;
  /** Epoch ms. */
  readonly assignedAtMs: number;
}

export interface CheckpointData {
  readonly version: number;
  /** The instance the state belongs to; state from another instance is not restored. */
  readonly instanceId: string;
  readonly allocations: readonly CheckpointAllocation[];
  readonly cooldowns: readonly { readonly address: string; readonly untilMs: number }[];
  /**
   * The cloud provider's own state of operations in flight (CloudProvider.resumeState), opaque
   * here; absent when it has none. Handed back to the provider on restart.
   */
  readonly providerState?: unknown;
}

export interface Checkpoint {
  /** Reads the saved state; undefined on a fresh node. Throws CheckpointError when unreadable. */
  load(): Promise<CheckpointData | undefined>;
  /**
   * Saves `data` durably. Concurrent calls are coalesced: each resolves once a write that began
   * after the call has reached the disk, so the caller may reply afterwards.
   */
  save(data: () => CheckpointData): Promise<void>;
  /** Moves a damaged checkpoint aside (kept for a post-mortem) so a fresh one can be written; returns where it went. */
  setAside?(): Promise<string>;
}

export class CheckpointError extends Error {
  override readonly name = 'CheckpointError';
  /**
   * True when the file is there but damaged (truncated, not JSON, invalid contents): its records
   * can be rebuilt from the kernel and the cluster. False for what must not be overwritten
   * (a version this daemon does not read) or could not be read at all.
   */
  readonly damaged: boolean;

  constructor(message: string, options: { damaged?: boolean; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.damaged = options.damaged ?? false;
  }
}

interface QueuedWrite {
  snapshot: () => CheckpointData;
  readonly promise: Promise<void>;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

export class FileCheckpoint implements Checkpoint {
  readonly #path: string;
  #writing = false;
  #directoryMade = false;
  #queued: QueuedWrite | undefined;

  constructor(path: string) {
    this.#path = path;
  }

  async load(): Promise<CheckpointData | undefined> {
    let text: string;
    try {
      text = await readFile(this.#path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new CheckpointError(`cannot read checkpoint ${this.#path}: ${(error as Error).message}`, { cause: error });
    }
    return decodeCheckpoint(text, this.#path);
  }

  async setAside(): Promise<string> {
    const aside = `${this.#path}.damaged-${new Date().toISOString().replace(/[:.]/g, '-')}`;
    await rename(this.#path, aside);
    return aside;
  }

  save(snapshot: () => CheckpointData): Promise<void> {
    // Group commit: callers arriving while a write is on its way share the next write, which
    // takes its snapshot only when it starts and so carries every one of their changes.
    if (this.#queued !== undefined) {
      this.#queued.snapshot = snapshot;
      return this.#queued.promise;
    }
    let resolve!: () => void;
    let reject!: (error: unknown) => void;
    const promise = new Promise<void>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    this.#queued = { snapshot, promise, resolve, reject };
    if (!this.#writing) {
      this.#writing = true;
      // Every save made in this turn of the event loop shares the one write.
      setImmediate(() => this.#drain());
    }
    return promise;
  }

  #drain(): void {
    const job = this.#queued;
    if (job === undefined) {
      this.#writing = false;
      return;
    }
    this.#queued = undefined;
    this.#writing = true;
    let data: CheckpointData;
    try {
      data = job.snapshot();
    } catch (error) {
      job.reject(error);
      this.#drain();
      return;
    }
    try {
      this.#write(data);
      job.resolve();
    } catch (error) {
      job.reject(error);
    }
    this.#drain();
  }

  /**
   * Synchronous on purpose: a write of a few kilobytes and two fsyncs take well under a
   * millisecond on local disks and tens of microseconds on tmpfs (/run), less than the nine
   * thread-pool round trips of the asynchronous calls, each waiting for a turn of a busy loop.
   */
  #write(data: CheckpointData): void {
    const directory = dirname(this.#path);
    const temp = `${this.#path}.tmp`;
    if (!this.#directoryMade) {
      mkdirSync(directory, { recursive: true, mode: 0o700 });
      this.#directoryMade = true;
    }
    const file = openSync(temp, 'w', 0o600);
    try {
      writeFileSync(file, `${signCheckpoint({ ...data })}\n`);
      fsyncSync(file);
    } finally {
      closeSync(file);
    }
    renameSync(temp, this.#path);
    const dir = openSync(directory, 'r');
    try {
      fsyncSync(dir);
    } finally {
      closeSync(dir);
    }
  }
}

/** Decodes and validates checkpoint text. Pure. */
export function decodeCheckpoint(text: string, source: string): CheckpointData {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new CheckpointError(`checkpoint ${source} is not valid JSON: ${(error as Error).message}`, { damaged: true });
  }
  const fail = (what: string): never => {
    throw new CheckpointError(`checkpoint ${source} is invalid: ${what}`, { damaged: true });
  };
  if (!isRecord(value)) return fail('expected an object');
  const version = value['version'];
  // Only a newer daemon's file is refused and left in place (a downgrade must not destroy it);
  // a version that is missing or not one at all is damage, rebuilt from the other records.
  if (typeof version !== 'number' || !Number.isInteger(version) || version < CHECKPOINT_VERSION) {
    return fail(`version ${JSON.stringify(version)} is not a checkpoint version`);
  }
  if (version !== CHECKPOINT_VERSION) {
    throw new CheckpointError(`checkpoint ${source} is invalid: version ${JSON.stringify(value['version'])} is not supported (this daemon reads version ${CHECKPOINT_VERSION})`);
  }
  // A file without one was written before checksums: its fields are still validated below.
  if (verifyChecksum(value) === 'mismatch') return fail('its checksum does not match its contents (changed on disk)');
  const instanceId = value['instanceId'];
  if (typeof instanceId !== 'string') return fail('instanceId: expected a string');
  const allocations = value['allocations'];
  const cooldowns = value['cooldowns'];
  if (!Array.isArray(allocations)) return fail('allocations: expected an array');
  if (!Array.isArray(cooldowns)) return fail('cooldowns: expected an array');
  const providerState: unknown = value['providerState'];
  return {
    version: CHECKPOINT_VERSION,
    instanceId,
    allocations: allocations.map((a: unknown, i) => decodeAllocation(a, `allocations[${i}]`, fail)),
    cooldowns: cooldowns.map((c: unknown, i) => {
      if (!isRecord(c) || typeof c['address'] !== 'string' || !isIpv4(c['address']) || typeof c['untilMs'] !== 'number') {
        return fail(`cooldowns[${i}]: expected {address, untilMs}`);
      }
      return { address: c['address'], untilMs: c['untilMs'] };
    }),
    ...(providerState === undefined || providerState === null ? {} : { providerState }),
  };
}

function decodeAllocation(value: unknown, where: string, fail: (what: string) => never): CheckpointAllocation {
  if (!isRecord(value)) return fail(`${where}: expected an object`);
  const text = (field: string): string => {
    const v = value[field];
    return typeof v === 'string' ? v : fail(`${where}.${field}: expected a string`);
  };
  const optional = (field: string): string | undefined => {
    const v = value[field];
    return v === undefined || typeof v === 'string' ? v : fail(`${where}.${field}: expected a string`);
  };
  const assignedAtMs = value['assignedAtMs'];
  if (typeof assignedAtMs !== 'number') return fail(`${where}.assignedAtMs: expected a number`);
  const routeTable = value['routeTable'];
  if (routeTable !== undefined && (typeof routeTable !== 'number' || !Number.isInteger(routeTable))) return fail(`${where}.routeTable: expected an integer`);
  const podNamespace = optional('podNamespace');
  const podName = optional('podName');
  // Fields the daemon acts on are checked, not only typed: a record with a wrong address, path
  // or link name would make it tear down or route the wrong thing (bit rot, a hand edit).
  const address = text('address');
  if (!isIpv4(address)) return fail(`${where}.address: ${JSON.stringify(address)} is not an IPv4 address`);
  const netns = text('netns');
  if (!netns.startsWith('/')) return fail(`${where}.netns: ${JSON.stringify(netns)} is not an absolute path`);
  const hostVeth = text('hostVeth');
  if (!/^[A-Za-z0-9_.-]{1,15}$/.test(hostVeth)) return fail(`${where}.hostVeth: ${JSON.stringify(hostVeth)} is not a link name`);
  const nonEmpty = (field: string): string => {
    const v = text(field);
    return v === '' ? fail(`${where}.${field}: empty`) : v;
  };
  return {
    networkName: nonEmpty('networkName'),
    containerId: nonEmpty('containerId'),
    ifName: nonEmpty('ifName'),
    address,
    interfaceId: nonEmpty('interfaceId'),
    netns,
    hostVeth,
    ...(routeTable === undefined ? {} : { routeTable }),
    ...(podNamespace === undefined ? {} : { podNamespace }),
    ...(podName === undefined ? {} : { podName }),
    assignedAtMs,
  };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
