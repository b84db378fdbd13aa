import type { ImdsInterfaceView } from './ec2-model.js';

interface Entry {
  readonly at: number;
  readonly interfaces: readonly ImdsInterfaceView[];
  readonly key: string;
}

/**
 * Remembers each instance's network view over time so IMDS can serve the state as of
 * `now - propagationMs`: real IMDS lags EC2 by about a second after attach/assign/unassign.
 * Entries older than the newest one still visible at `now - propagationMs` are dropped.
 */
export class ImdsHistory {
  private readonly propagationMs: number;
  private readonly entries = new Map<string, Entry[]>();

  constructor(propagationMs: number) {
    this.propagationMs = propagationMs;
  }

  /**
   * Records the view at `at` if it differs from the last one recorded; `at` never decreases.
   * The first view of an instance is its view at launch, visible at once whatever the delay.
   */
  record(instanceId: string, at: number, interfaces: readonly ImdsInterfaceView[]): void {
    const key = JSON.stringify(interfaces);
    const list = this.entries.get(instanceId);
    if (list === undefined) {
      this.entries.set(instanceId, [{ at: Number.NEGATIVE_INFINITY, interfaces, key }]);
      return;
    }
    if (list[list.length - 1]?.key === key) return;
    list.push({ at, interfaces, key });
    this.prune(list, at - this.propagationMs);
  }

  forget(instanceId: string): void {
    this.entries.delete(instanceId);
  }

  /** The view IMDS shows at clock time `now`, or undefined for an unknown instance. */
  viewAt(instanceId: string, now: number): readonly ImdsInterfaceView[] | undefined {
    const list = this.entries.get(instanceId);
    if (list === undefined) return undefined;
    const cutoff = now - this.propagationMs;
    let visible = list[0];
    for (const entry of list) {
      if (entry.at <= cutoff) visible = entry;
      else break;
    }
    return visible?.interfaces;
  }

  private prune(list: Entry[], cutoff: number): void {
    let keepFrom = 0;
    for (let i = 0; i < list.length; i++) {
      if (list[i]!.at <= cutoff) keepFrom = i;
    }
    if (keepFrom > 0) list.splice(0, keepFrom);
  }
}
