/**
 * Aggregates the Warning Events written about pods whose ADD was refused for lack of an address,
 * as kubelet's event recorder does for its own: one Event per pod and reason whose count rises on
 * each repeat (written at most once per {@link REPEAT_WRITE_MS}), and a budget of writes for the
 * whole node ({@link EVENT_BUDGET}) so a burst of refused pods writes a few Events a second, not
 * one per refusal. Pure: time is passed in; the caller writes what {@link PodWarnings.due} returns.
 */
import { TokenBucket } from '../../core/token-bucket.js';
import type { PodWarning } from './cluster-port.js';

/** A repeated refusal of the same pod raises its Event's count at most this often. */
export const REPEAT_WRITE_MS = 30_000;
/** Event writes of one node: a burst of 10, then one a second (kubelet's recorder allows 25 per object, then one per 5 min). */
export const EVENT_BUDGET = { capacity: 10, refillPerSecond: 1 } as const;
/** A pod not refused again for this long is forgotten (its Event stays in the API until it expires). */
const FORGET_MS = 60 * 60_000;

interface Entry {
  warning: PodWarning;
  /** The Event's name once written. */
  eventName?: string;
  /** The count the API holds. */
  written: number;
  writtenAtMs?: number;
  writing: boolean;
}

export class PodWarnings {
  readonly #entries = new Map<string, Entry>();
  /**
   * Writes in flight by the key {@link due} handed out: each names its own entry, so a write that
   * ends after its pod was forgotten cannot mark a new pod of the same name as written.
   */
  readonly #inFlight = new Map<string, Entry>();
  #writes = 0;
  readonly #budget: TokenBucket;

  constructor(clock: () => number) {
    this.#budget = TokenBucket.of(EVENT_BUDGET, clock);
  }

  /** Records one refusal. */
  refused(pod: { namespace: string; name: string; uid?: string }, reason: string, message: string, nowMs: number): void {
    const key = `${pod.namespace}/${pod.name}/${reason}`;
    const entry = this.#entries.get(key);
    const now = new Date(nowMs);
    if (entry === undefined) {
      this.#entries.set(key, { warning: { ...pod, reason, message, count: 1, firstTime: now, lastTime: now }, written: 0, writing: false });
      return;
    }
    entry.warning = { ...entry.warning, message, count: entry.warning.count + 1, lastTime: now };
  }

  /** The pod is gone: nothing more is written about it. */
  forget(pod: { namespace: string; name: string }): void {
    for (const key of this.#entries.keys()) if (key.startsWith(`${pod.namespace}/${pod.name}/`)) this.#entries.delete(key);
  }

  /** Warnings to write now (oldest first), each taking one write from the budget; marks them in flight. */
  due(nowMs: number): { key: string; warning: PodWarning; eventName: string | undefined }[] {
    const out: { key: string; warning: PodWarning; eventName: string | undefined }[] = [];
    const pending = [...this.#entries].filter(([, e]) => !e.writing && e.warning.count > e.written).sort(([, a], [, b]) => a.warning.lastTime.getTime() - b.warning.lastTime.getTime());
    for (const [key, entry] of pending) {
      if (entry.writtenAtMs !== undefined && nowMs - entry.writtenAtMs < REPEAT_WRITE_MS) continue;
      if (!this.#budget.take()) break;
      entry.writing = true;
      const writeKey = `${key}#${(this.#writes += 1)}`;
      this.#inFlight.set(writeKey, entry);
      out.push({ key: writeKey, warning: entry.warning, eventName: entry.eventName });
    }
    for (const [key, entry] of this.#entries) if (!entry.writing && nowMs - entry.warning.lastTime.getTime() > FORGET_MS) this.#entries.delete(key);
    return out;
  }

  /** A write ended (`key` as {@link due} gave it): `eventName` when it succeeded, undefined when it failed (retried later). */
  written(key: string, count: number, eventName: string | undefined, nowMs: number): void {
    const entry = this.#inFlight.get(key);
    this.#inFlight.delete(key);
    if (entry === undefined) return;
    entry.writing = false;
    // A failed write waits like a repeat (REPEAT_WRITE_MS) rather than retrying every tick.
    entry.writtenAtMs = nowMs;
    if (eventName === undefined) return;
    entry.eventName = eventName;
    entry.written = count;
  }

  /** When {@link due} may next return something; undefined when nothing waits. */
  nextDueMs(nowMs: number): number | undefined {
    let next: number | undefined;
    for (const entry of this.#entries.values()) {
      if (entry.writing || entry.warning.count <= entry.written) continue;
      const at = Math.max(nowMs + this.#budget.msUntilToken(), entry.writtenAtMs === undefined ? nowMs : entry.writtenAtMs + REPEAT_WRITE_MS);
      next = next === undefined ? at : Math.min(next, at);
    }
    return next;
  }
}
