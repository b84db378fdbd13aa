/**
 * What a clairvoyant pool would need for a trace (issue 11): it knows every arrival, pays the same
 * cloud latencies and limits, and never makes a pod wait. Two bounds, each for its own measure,
 * since one pool cannot reach both (fewer calls means holding more addresses longer):
 *
 * - Idle address-hours: a released address must cool down before it is reused or released (the
 *   daemon's rule), so every pod's end leaves its address idle for the cooldown (or until the
 *   trace ends); and holding live + cooling addresses takes ceil(n / secondaries per interface)
 *   interfaces, each beyond the first holding an idle primary address. Everything else can be
 *   timed exactly (grows issued a round trip early, releases the moment cooldown ends), so the
 *   integral of those two terms over the trace is the least any pool can hold idle.
 * - Mutating calls: never releasing, the pool needs room for the most addresses ever live or
 *   cooling at once; that takes one call to fill the primary interface and, per further interface,
 *   the cloud's calls to add one (EC2: create with its addresses, attach, set DeleteOnTermination).
 *   No pool can do with fewer without making a pod wait.
 *
 * Per node, summed over the trace's nodes. Pure.
 */
import type { Trace } from '../traces.js';

export interface BoundLimits {
  /** Interfaces a node may attach, primary included. */
  readonly maxInterfaces: number;
  /** IPv4 addresses per interface, its primary included. */
  readonly ipv4PerInterface: number;
}

export interface BoundOptions {
  readonly limits: BoundLimits;
  readonly cooldownMs: number;
  /** Mutating calls to add an interface with its addresses (EC2: create, attach, DeleteOnTermination). */
  readonly callsPerInterface: number;
}

export interface LowerBound {
  readonly idleAddressHours: number;
  readonly mutatingCalls: number;
  /** Most addresses live or cooling on one node at once. */
  readonly peakAddresses: number;
  /** True when some node needs more addresses than its interfaces can hold: pods must wait whatever the pool does. */
  readonly overCapacity: boolean;
}

interface Change {
  readonly t: number;
  readonly live: number;
  readonly cooling: number;
}

export function lowerBound(trace: Trace, options: BoundOptions): LowerBound {
  const perInterface = Math.max(1, options.limits.ipv4PerInterface - 1);
  const room = perInterface * options.limits.maxInterfaces;
  const cooldownSec = options.cooldownMs / 1000;
  const byNode = new Map<string, Change[]>();
  const running = new Map<string, string>();
  for (const e of trace.events) {
    const changes = byNode.get(e.node) ?? [];
    byNode.set(e.node, changes);
    const key = `${e.node}\u0000${e.pod}`;
    if (e.op === 'add') {
      if (running.has(key)) continue;
      running.set(key, e.node);
      changes.push({ t: e.t, live: 1, cooling: 0 });
    } else if (running.delete(key)) {
      changes.push({ t: e.t, live: -1, cooling: 1 }, { t: e.t + cooldownSec, live: 0, cooling: -1 });
    }
  }
  let idleSec = 0;
  let calls = 0;
  let peakAddresses = 0;
  let overCapacity = false;
  for (const changes of byNode.values()) {
    changes.sort((a, b) => a.t - b.t);
    let live = 0;
    let cooling = 0;
    let last = 0;
    let nodePeak = 0;
    for (const change of changes) {
      const t = Math.min(change.t, trace.durationSec);
      idleSec += (t - last) * idleAt(live, cooling, perInterface);
      last = t;
      live += change.live;
      cooling += change.cooling;
      nodePeak = Math.max(nodePeak, live + cooling);
    }
    idleSec += Math.max(0, trace.durationSec - last) * idleAt(live, cooling, perInterface);
    peakAddresses = Math.max(peakAddresses, nodePeak);
    if (nodePeak > room) overCapacity = true;
    if (nodePeak > 0) {
      const interfaces = Math.min(options.limits.maxInterfaces, Math.ceil(nodePeak / perInterface));
      calls += 1 + (interfaces - 1) * options.callsPerInterface;
    }
  }
  return { idleAddressHours: idleSec / 3600, mutatingCalls: calls, peakAddresses, overCapacity };
}

/** Idle addresses at one moment: the cooling ones, and the primary of every interface beyond the first. */
function idleAt(live: number, cooling: number, perInterface: number): number {
  const interfaces = Math.ceil((live + cooling) / perInterface);
  return cooling + Math.max(0, interfaces - 1);
}
