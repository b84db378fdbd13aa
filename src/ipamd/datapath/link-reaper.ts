/**
 * Deletes host links off the main thread. The kernel deletes a veth inside the netlink request
 * (15–20 ms of RCU waits) and the `netlink` package sends from the calling thread, so deleting on
 * the daemon's thread stalls its event loop for that long per pod. A worker thread with its own
 * rtnetlink socket in the host namespace does the deletions instead, in batches
 * (LinkDeletionBatcher): a burst of DELs costs a few kernel waits, and the daemon keeps serving.
 */
import { randomInt } from 'node:crypto';
import { statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { LinkDeletionBatcher, type LinkDeletion } from './link-batcher.js';
import { LINK_REAPER_WORKER_SOURCE } from './link-reaper-worker-source.js';
import { withNetns } from './netns.js';

export class LinkReaperError extends Error {
  override readonly name = 'LinkReaperError';
}

/** Link groups above 2^20 and below 2^32: far from the small numbers people assign by hand. */
const GROUP_MIN = 0x100000;
const GROUP_MAX = 0xffffffff;

type WorkerMessage =
  | { readonly type: 'ready' }
  | { readonly type: 'failed'; readonly message: string }
  | { readonly type: 'done'; readonly id: number; readonly outcomes: readonly LinkDeletion[] };

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

function decodeOutcome(value: unknown): LinkDeletion | undefined {
  if (!isRecord(value)) return undefined;
  if (value['ok'] === true) return { ok: true };
  if (value['ok'] !== false || typeof value['message'] !== 'string') return undefined;
  const error: Error & { code?: string } = new Error(value['message']);
  if (typeof value['code'] === 'string') error.code = value['code'];
  return { ok: false, error };
}

/** Decodes what the worker posted; undefined for anything malformed. */
export function decodeWorkerMessage(value: unknown): WorkerMessage | undefined {
  if (!isRecord(value)) return undefined;
  switch (value['type']) {
    case 'ready':
      return { type: 'ready' };
    case 'failed':
      return typeof value['message'] === 'string' ? { type: 'failed', message: value['message'] } : undefined;
    case 'done': {
      const { id, outcomes } = value;
      if (typeof id !== 'number' || !Array.isArray(outcomes)) return undefined;
      const decoded = outcomes.map(decodeOutcome);
      if (decoded.some((o) => o === undefined)) return undefined;
      return { type: 'done', id, outcomes: decoded as LinkDeletion[] };
    }
    default:
      return undefined;
  }
}

interface Batch {
  readonly names: readonly string[];
  readonly resolve: (outcomes: ReadonlyMap<string, LinkDeletion>) => void;
  readonly reject: (error: Error) => void;
}

export class LinkReaper {
  readonly #worker: Worker;
  readonly #batcher: LinkDeletionBatcher;
  readonly #batches = new Map<number, Batch>();
  #nextId = 1;
  /** Set once the worker exited or failed: every later deletion is refused with it. */
  #gone: LinkReaperError | undefined;

  private constructor(worker: Worker) {
    this.#worker = worker;
    this.#batcher = new LinkDeletionBatcher((names) => this.#send(names));
    worker.on('message', (raw: unknown) => {
      const msg = decodeWorkerMessage(raw);
      if (msg?.type !== 'done') return;
      const batch = this.#batches.get(msg.id);
      if (!batch) return;
      this.#batches.delete(msg.id);
      batch.resolve(new Map(batch.names.map((name, i) => [name, msg.outcomes[i] ?? { ok: false, error: new LinkReaperError(`no outcome for ${name}`) }])));
    });
    worker.on('error', (error) => this.#fail(new LinkReaperError(`link deletion worker failed: ${error.message}`, { cause: error })));
    worker.on('exit', (code) => this.#fail(new LinkReaperError(`link deletion worker exited (code ${code})`)));
  }

  /**
   * Starts the worker thread inside `hostNetnsPath` (default: the calling thread's namespace) and
   * waits until its socket is open. Throws LinkReaperError (or NetnsError for the path) if not.
   */
  static async start(options: { readonly hostNetnsPath?: string } = {}): Promise<LinkReaper> {
    const { hostNetnsPath } = options;
    const netlinkPath = createRequire(import.meta.url).resolve('netlink');
    const create = (): Worker => {
      const netnsIno = statSync('/proc/thread-self/ns/net').ino;
      // setns is per thread and a new thread starts in its creator's namespace: creating the
      // worker while inside the host namespace puts its socket there.
      // The worker only relays deletions to netlink: a small heap keeps the daemon's footprint down.
      return new Worker(LINK_REAPER_WORKER_SOURCE, {
        eval: true,
        workerData: { netlinkPath, netnsIno },
        resourceLimits: { maxYoungGenerationSizeMb: 1, maxOldGenerationSizeMb: 16 },
      });
    };
    const worker = hostNetnsPath === undefined ? create() : withNetns(hostNetnsPath, create);
    await new Promise<void>((resolve, reject) => {
      const onMessage = (raw: unknown): void => {
        const msg = decodeWorkerMessage(raw);
        if (msg?.type === 'ready') done();
        else if (msg?.type === 'failed') done(new LinkReaperError(`link deletion worker: ${msg.message}`));
      };
      const onError = (error: Error): void => done(new LinkReaperError(`link deletion worker failed to start: ${error.message}`, { cause: error }));
      const onExit = (code: number): void => done(new LinkReaperError(`link deletion worker exited at start (code ${code})`));
      const done = (error?: LinkReaperError): void => {
        worker.off('message', onMessage).off('error', onError).off('exit', onExit);
        if (error === undefined) resolve();
        else {
          void worker.terminate();
          reject(error);
        }
      };
      worker.on('message', onMessage).on('error', onError).on('exit', onExit);
    });
    worker.unref();
    return new LinkReaper(worker);
  }

  /** False once the worker is gone; deletions are then refused. */
  get alive(): boolean {
    return this.#gone === undefined;
  }

  /**
   * Deletes the link with this name in the host namespace. Rejects with the kernel's error
   * (`Request rejected: ENODEV` when there is no such link) or a LinkReaperError.
   */
  deleteLink(name: string): Promise<void> {
    if (this.#gone) return Promise.reject(this.#gone);
    return this.#batcher.delete(name);
  }

  /** Lets the worker close its socket and exit; pending deletions are refused. */
  close(): void {
    if (this.#gone) return;
    this.#fail(new LinkReaperError('the link reaper is closed'));
    this.#worker.postMessage({ type: 'close' });
  }

  #send(names: readonly string[]): Promise<ReadonlyMap<string, LinkDeletion>> {
    if (this.#gone) return Promise.reject(this.#gone);
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#batches.set(id, { names, resolve, reject });
      this.#worker.postMessage({ type: 'delete', id, names, group: randomInt(GROUP_MIN, GROUP_MAX) });
    });
  }

  #fail(error: LinkReaperError): void {
    this.#gone ??= error;
    for (const batch of this.#batches.values()) batch.reject(this.#gone);
    this.#batches.clear();
  }
}
