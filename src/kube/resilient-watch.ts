/**
 * A list-then-watch of one kind of object with a field selector that survives the API server
 * going away: after any break it lists afresh (so nothing deleted meanwhile is missed) and
 * watches again, backing off from 1 s to 30 s; and it relists every resync period anyway, the
 * safety net every informer keeps. It reports the objects that appeared, changed and vanished
 * against its own copy, whichever way it learned of them.
 */
import { ListWatch, Watch, type KubeConfig, type KubernetesListObject, type KubernetesObject } from '@kubernetes/client-node';
import type { Logger } from 'pino';

export interface ResilientWatchOptions<T extends KubernetesObject> {
  readonly kubeConfig: KubeConfig;
  /** The API path of the collection, e.g. `/api/v1/pods`. */
  readonly path: string;
  readonly fieldSelector: string;
  /** Also narrow by labels (e.g. `pool=web`); the list must apply the same selector. */
  readonly labelSelector?: string;
  readonly list: () => Promise<KubernetesListObject<T>>;
  readonly logger: Logger;
  /** Relist this often even without a break. */
  readonly resyncMs: number;
  readonly onUpsert: (object: T) => void;
  readonly onDelete: (object: T) => void;
  /** Called when the copy became current (listed) or stale (a break). */
  readonly onSyncChange: (synced: boolean) => void;
}

const MIN_RETRY_MS = 1_000;
const MAX_RETRY_MS = 30_000;
/** The API server ends each watch after 5–10 minutes (client-go's reflector asks the same); ListWatch then resumes from its resourceVersion. */
const WATCH_SECONDS = { min: 300, max: 600 };
/**
 * With bookmarks a quiet watch still hears from the server about once a minute; without data for
 * this long the connection is taken as dead (client-node's default, 30 s, would reconnect every
 * quiet watch twice a minute).
 */
const WATCH_INACTIVITY_MS = 150_000;

/**
 * client-node's Watch, asking for bookmarks and a server-side timeout, and never throwing: a
 * failure before the stream starts (credentials, connection) goes to `done`, so ListWatch reports
 * it as an ERROR instead of leaving a rejected promise nobody handles (its own reconnects drop
 * the promise).
 */
class ResilientWatchClient extends Watch {
  constructor(config: KubeConfig) {
    super(config);
    // Why: the inactivity timeout is a private field with no setter (client-node 2.0).
    Reflect.set(this, 'requestTimeoutMs', WATCH_INACTIVITY_MS);
  }

  override async watch(
    path: string,
    queryParams: Record<string, string | number | boolean | undefined>,
    callback: (phase: string, apiObj: unknown, watchObj?: unknown) => void,
    done: (err: unknown) => void,
  ): Promise<AbortController> {
    const timeoutSeconds = WATCH_SECONDS.min + Math.floor(Math.random() * (WATCH_SECONDS.max - WATCH_SECONDS.min));
    try {
      return await super.watch(path, { ...queryParams, allowWatchBookmarks: true, timeoutSeconds }, callback, done);
    } catch (error) {
      done(error);
      return new AbortController();
    }
  }
}

export class ResilientWatch<T extends KubernetesObject> {
  readonly #options: ResilientWatchOptions<T>;
  readonly #objects = new Map<string, T>();
  #informer: ListWatch<T> | undefined;
  #timer: NodeJS.Timeout | undefined;
  #retryMs = MIN_RETRY_MS;
  #synced = false;
  #closed = false;
  #generation = 0;
  /** The last generation whose informer broke: its start() may still resolve, without a usable copy. */
  #brokenGeneration = -1;

  constructor(options: ResilientWatchOptions<T>) {
    this.#options = options;
  }

  get synced(): boolean {
    return this.#synced;
  }

  objects(): IterableIterator<T> {
    return this.#objects.values();
  }

  start(): void {
    if (this.#closed || this.#informer !== undefined) return;
    void this.#connect();
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    await this.#drop();
  }

  async #connect(): Promise<void> {
    const generation = ++this.#generation;
    const { kubeConfig, path, fieldSelector, labelSelector, list } = this.#options;
    const informer = new ListWatch<T>(path, new ResilientWatchClient(kubeConfig), list, false, labelSelector, fieldSelector);
    this.#informer = informer;
    informer.on('add', (o) => this.#upsert(generation, o));
    informer.on('update', (o) => this.#upsert(generation, o));
    informer.on('delete', (o) => this.#delete(generation, o));
    informer.on('error', (error) => this.#broke(generation, error));
    try {
      await informer.start();
    } catch (error) {
      this.#broke(generation, error);
      return;
    }
    if (generation !== this.#generation || this.#closed || generation === this.#brokenGeneration) return;
    // The fresh list is the truth: whatever the copy holds that it lacks was deleted meanwhile.
    const listed = new Set(informer.list().map((o) => keyOf(o)));
    for (const [key, object] of [...this.#objects]) {
      if (!listed.has(key)) {
        this.#objects.delete(key);
        this.#options.onDelete(object);
      }
    }
    this.#retryMs = MIN_RETRY_MS;
    this.#setSynced(true);
    this.#schedule(this.#options.resyncMs);
  }

  #upsert(generation: number, object: T): void {
    if (generation !== this.#generation) return;
    // A pod recreated under the same name (a StatefulSet's) replaces the old one's entry.
    const name = nameOf(object);
    for (const [key, known] of this.#objects) {
      if (key !== keyOf(object) && nameOf(known) === name) {
        this.#objects.delete(key);
        this.#options.onDelete(known);
      }
    }
    this.#objects.set(keyOf(object), object);
    this.#options.onUpsert(object);
  }

  #delete(generation: number, object: T): void {
    if (generation !== this.#generation) return;
    if (this.#objects.delete(keyOf(object))) this.#options.onDelete(object);
  }

  #broke(generation: number, error: unknown): void {
    if (generation !== this.#generation || this.#closed) return;
    // Stopping an informer rejects its request with an abort: ours, not a break.
    if (error instanceof Error && error.name === 'AbortError') return;
    this.#brokenGeneration = generation;
    this.#setSynced(false);
    this.#options.logger.warn({ path: this.#options.path, err: error, retryInMs: this.#retryMs }, 'Kubernetes watch broke; listing again later');
    const wait = this.#retryMs;
    this.#retryMs = Math.min(MAX_RETRY_MS, this.#retryMs * 2);
    this.#schedule(wait);
  }

  #schedule(ms: number): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.#drop().then(() => {
        if (!this.#closed) void this.#connect();
      });
    }, ms);
    this.#timer.unref();
  }

  async #drop(): Promise<void> {
    const informer = this.#informer;
    this.#informer = undefined;
    this.#generation += 1;
    await informer?.stop().catch(() => undefined);
  }

  #setSynced(synced: boolean): void {
    if (synced === this.#synced) return;
    this.#synced = synced;
    this.#options.onSyncChange(synced);
  }
}

function nameOf(object: KubernetesObject): string {
  return `${object.metadata?.namespace ?? ''}/${object.metadata?.name ?? ''}`;
}

function keyOf(object: KubernetesObject): string {
  return object.metadata?.uid ?? `${object.metadata?.namespace ?? ''}/${object.metadata?.name ?? ''}`;
}
