/**
 * `nativeip tune`'s engine: a recorded trace replayed against the adaptive default, the AWS VPC
 * CNI's default and a grid of knob values, each policy's pool followed over time, and one policy
 * recommended. The grid is drawn from the trace itself: MINIMUM_IP_TARGET candidates are the
 * pods a node runs at the median and at the 90th percentile of the trace, WARM_IP_TARGET candidates
 * powers of two up to the largest number of pods that arrived on one node within a minute.
 *
 * The recommendation: of the policies that make no more pods wait than the reference (the AWS VPC
 * CNI's default where the cloud accepts it, else the adaptive default), the one with the fewest
 * idle address-hours; a policy within 5 % of those idle hours wins if it makes fewer mutating calls.
 */
import type { CloudPlugin } from '../core/cloud-plugin.js';
import { loadDaemonConfig } from '../ipamd/config/config.js';
import { percentile } from './percentile.js';
import type { PoolChartSample } from './pool-chart.js';
import { simulate, type NodeSample, type Policy, type SimulationResult } from './simulate.js';
import type { Trace } from './traces.js';

export interface TuneOptions {
  readonly cloud: CloudPlugin;
  readonly machineType: string;
  /** Called after each policy's replay (for a progress bar). */
  readonly onProgress?: (done: number, total: number, policy: string) => void;
}

/** The pool of every node of the trace, summed, at one sample (the chart's sample, with the calls so far). */
export interface PoolSample extends PoolChartSample {
  /** Mutating cloud calls since the trace started. */
  readonly mutatingCalls: number;
}

export interface TunedPolicy {
  readonly policy: Policy;
  readonly result: SimulationResult;
  readonly timeline: readonly PoolSample[];
}

export interface TuneOutcome {
  readonly policies: readonly TunedPolicy[];
  /** The policy waits are judged against. */
  readonly reference: TunedPolicy;
  readonly recommended: TunedPolicy;
}

export const ADAPTIVE_POLICY: Policy = { name: 'nativeip default (adaptive)', env: {} };
export const VPC_CNI_DEFAULT_POLICY: Policy = { name: 'WARM_ENI_TARGET=1 (nativeip in ENI mode)', env: { WARM_ENI_TARGET: '1' } };

/** Pods running on each node after each event, over all nodes; and the most arrivals on one node in a minute. */
export function traceShape(trace: Trace): { readonly podsPerNode: readonly number[]; readonly peakArrivalsPerMinute: number } {
  const live = new Map<string, Set<string>>();
  const samples: number[] = [];
  const arrivals = new Map<string, number[]>();
  for (const e of trace.events) {
    const pods = live.get(e.node) ?? new Set<string>();
    live.set(e.node, pods);
    if (e.op === 'add') {
      pods.add(e.pod);
      const times = arrivals.get(e.node) ?? [];
      times.push(e.t);
      arrivals.set(e.node, times);
    } else pods.delete(e.pod);
    samples.push(pods.size);
  }
  let peak = 0;
  for (const times of arrivals.values()) {
    for (let i = 0, j = 0; j < times.length; j += 1) {
      while (times[j]! - times[i]! > 60) i += 1;
      peak = Math.max(peak, j - i + 1);
    }
  }
  return { podsPerNode: samples, peakArrivalsPerMinute: peak };
}

/** The candidate policies for a trace, those the cloud refuses left out. */
export function candidatePolicies(trace: Trace, cloud: CloudPlugin): Policy[] {
  const shape = traceShape(trace);
  const median = Math.round(percentile(shape.podsPerNode, 50));
  const p90 = Math.round(percentile(shape.podsPerNode, 90));
  const warm: number[] = [];
  for (let w = 1; w <= Math.max(2, shape.peakArrivalsPerMinute); w *= 2) warm.push(w);
  const minimums = [...new Set([0, median, p90].filter((m) => Number.isFinite(m)))];
  const grid: Policy[] = [];
  for (const m of minimums) {
    for (const w of warm) {
      const env: Record<string, string> = { WARM_IP_TARGET: String(w), ...(m > 0 ? { MINIMUM_IP_TARGET: String(m) } : {}) };
      grid.push({ name: Object.entries(env).map(([k, v]) => `${k}=${v}`).join(', '), env });
    }
  }
  const candidates = [ADAPTIVE_POLICY, VPC_CNI_DEFAULT_POLICY, { name: 'WARM_ENI_TARGET=2', env: { WARM_ENI_TARGET: '2' } }, ...grid, { name: 'ENABLE_PREFIX_DELEGATION, WARM_PREFIX_TARGET=1', env: { ENABLE_PREFIX_DELEGATION: 'true', WARM_PREFIX_TARGET: '1' } }];
  return candidates.filter((p) => accepted(p, cloud));
}

/** Whether the daemon would start with the policy's variables on this cloud. */
function accepted(policy: Policy, cloud: CloudPlugin): boolean {
  try {
    return cloud.poolSettingIssues(loadDaemonConfig({ ...policy.env })).length === 0;
  } catch {
    return false;
  }
}

/** The recommended policy (see the module comment). */
export function recommend(policies: readonly TunedPolicy[], reference: TunedPolicy): TunedPolicy {
  const eligible = policies.filter((p) => p.result.podsWaited <= reference.result.podsWaited);
  const leastIdle = Math.min(...eligible.map((p) => p.result.idleAddressHours));
  const close = eligible.filter((p) => p.result.idleAddressHours <= leastIdle * 1.05 + 1e-9);
  return close.reduce((best, p) => (p.result.mutatingCalls < best.result.mutatingCalls || (p.result.mutatingCalls === best.result.mutatingCalls && p.result.idleAddressHours < best.result.idleAddressHours) ? p : best));
}

/** Sums the nodes' samples of one replay into the pool's timeline, with the trace's running pods. */
export function timelineOf(trace: Trace, samples: readonly NodeSample[]): PoolSample[] {
  const byTime = new Map<number, { assigned: number; free: number; cooling: number; interfaces: number; calls: number }>();
  for (const s of samples) {
    const at = byTime.get(s.atMs) ?? { assigned: 0, free: 0, cooling: 0, interfaces: 0, calls: 0 };
    at.assigned += s.assigned;
    at.cooling += s.cooling;
    at.free += s.unassigned - s.cooling;
    at.interfaces += s.interfaces;
    at.calls = s.accountMutatingCalls;
    byTime.set(s.atMs, at);
  }
  const times = [...byTime.keys()].filter((t) => t >= 0).sort((a, b) => a - b);
  const out: PoolSample[] = [];
  let running = 0;
  let next = 0;
  for (const t of times) {
    while (next < trace.events.length && trace.events[next]!.t * 1000 <= t) running += trace.events[next++]!.op === 'add' ? 1 : -1;
    const at = byTime.get(t)!;
    out.push({ atMs: t, pods: running, assigned: at.assigned, free: at.free, cooling: at.cooling, interfaces: at.interfaces, mutatingCalls: at.calls });
  }
  return out;
}

export async function tune(trace: Trace, options: TuneOptions): Promise<TuneOutcome> {
  const candidates = candidatePolicies(trace, options.cloud);
  const tuned: TunedPolicy[] = [];
  for (const policy of candidates) {
    const samples: NodeSample[] = [];
    const result = await simulate(trace, policy, { cloud: options.cloud.name, instanceType: options.machineType, throttling: true, onSample: (s) => samples.push(s) });
    tuned.push({ policy, result, timeline: timelineOf(trace, samples) });
    options.onProgress?.(tuned.length, candidates.length, policy.name);
  }
  const reference = tuned.find((p) => p.policy === VPC_CNI_DEFAULT_POLICY) ?? tuned.find((p) => p.policy === ADAPTIVE_POLICY)!;
  return { policies: tuned, reference, recommended: recommend(tuned, reference) };
}
