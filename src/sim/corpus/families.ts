/**
 * Families of pod churn, each a generator with its parameters drawn at random, so the warm pool is
 * judged on traffic it was not tuned on (issue 11). Every family yields pod intents that
 * placement.ts turns into a trace a cluster could produce (node capacity, pending pods, drains).
 * Parameters are drawn relative to the node's capacity, so a small instance type and a large one
 * both see full and nearly idle nodes. Pure and deterministic: the same draw gives the same trace.
 */
import type { Trace } from '../traces.js';
import { placePods, type Cordon, type PodIntent } from './placement.js';

/** A machine type as the corpus sees it: its name and how many pods a node of it runs at most. */
export interface CorpusMachine {
  readonly machineType: string;
  readonly capacity: number;
}

export interface FamilyDraw {
  readonly random: () => number;
  readonly machine: CorpusMachine;
}

/** What a family draws: its pods' intents on so many nodes, for placement.ts to place. */
export interface FamilyDraft {
  readonly description: string;
  readonly intents: readonly PodIntent[];
  readonly nodes: number;
  readonly durationSec: number;
  readonly cordons?: readonly Cordon[];
}

export interface ChurnFamily {
  readonly name: string;
  readonly summary: string;
  draw(draw: FamilyDraw): FamilyDraft;
}

/** One trace of `family`, named `name`, its pods placed on machines of `draw.machine`. */
export function drawTrace(family: ChurnFamily, draw: FamilyDraw, name: string): Trace {
  const { description, intents, nodes, durationSec, cordons } = family.draw(draw);
  return placePods(name, description, intents, { nodes, capacity: draw.machine.capacity, durationSec, ...(cordons === undefined ? {} : { cordons }) });
}

const HOUR = 3600;
const MINUTE = 60;

const uniform = (random: () => number, low: number, high: number): number => low + random() * (high - low);
const integer = (random: () => number, low: number, high: number): number => Math.floor(uniform(random, low, high + 1));
/** Log-uniform: as likely to be 1–10 as 10–100. */
const logUniform = (random: () => number, low: number, high: number): number => Math.exp(uniform(random, Math.log(low), Math.log(high)));
const exponential = (random: () => number, mean: number): number => -Math.log(1 - random()) * mean;
/** Log-normal with the given median and spread (sigma of the log). */
const logNormal = (random: () => number, median: number, sigma: number): number => {
  const u = Math.max(1e-12, random());
  const z = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
  return median * Math.exp(sigma * z);
};

/** Poisson arrivals at `rate(t)` per second (thinning against its peak), from `from` to `to`. */
function poissonTimes(random: () => number, from: number, to: number, rate: (t: number) => number): number[] {
  let peak = 0;
  for (let t = from; t < to; t += 60) peak = Math.max(peak, rate(t));
  const times: number[] = [];
  if (peak <= 0) return times;
  for (let t = from + exponential(random, 1 / peak); t < to; t += exponential(random, 1 / peak)) {
    if (random() * peak <= rate(t)) times.push(t);
  }
  return times;
}

/** Steady churn: constant arrivals, exponential lifetimes, the node's share running from the start. */
const steady: ChurnFamily = {
  name: 'steady',
  summary: 'constant Poisson arrivals, exponential lifetimes (5 min – 4 h), 20–80 % of capacity in use',
  draw({ random, machine }) {
    const nodes = integer(random, 2, 8);
    const hours = uniform(random, 6, 12);
    const perNode = Math.max(1, Math.round(uniform(random, 0.2, 0.8) * machine.capacity));
    const lifetime = logUniform(random, 5 * MINUTE, 4 * HOUR);
    const intents: PodIntent[] = [];
    for (let i = 0; i < perNode * nodes; i += 1) intents.push({ t: random() * 10, lifetimeSec: exponential(random, lifetime), name: 'app' });
    for (const t of poissonTimes(random, 10, hours * HOUR, () => (perNode * nodes) / lifetime)) intents.push({ t, lifetimeSec: exponential(random, lifetime), name: 'app' });
    const description = `steady: ${nodes} nodes × ~${perNode} pods, mean lifetime ${(lifetime / MINUTE).toFixed(0)} min, ${hours.toFixed(1)} h`;
    return { description, intents, nodes, durationSec: hours * HOUR };
  },
};

/** Diurnal: a day curve of arrivals, several times busier at midday. */
const diurnal: ChurnFamily = {
  name: 'diurnal',
  summary: 'arrivals follow a day curve (peak 3–10× the night), lifetimes 10 min – 2 h, 24 h',
  draw({ random, machine }) {
    const nodes = integer(random, 2, 8);
    const peakFactor = uniform(random, 3, 10);
    const lifetime = logUniform(random, 10 * MINUTE, 2 * HOUR);
    const peakPerNode = Math.max(1, uniform(random, 0.3, 0.8) * machine.capacity);
    const phase = random() * 24;
    const rate = (t: number) => {
      const hour = (t / HOUR + phase) % 24;
      const day = Math.max(0, Math.sin((Math.PI * hour) / 24)) ** 2;
      return ((nodes * peakPerNode) / lifetime) * ((1 + (peakFactor - 1) * day) / peakFactor);
    };
    const intents = poissonTimes(random, 0, 24 * HOUR, rate).map((t): PodIntent => ({ t, lifetimeSec: exponential(random, lifetime), name: 'web' }));
    const description = `diurnal: ${nodes} nodes, up to ~${peakPerNode.toFixed(0)} pods per node at the peak (${peakFactor.toFixed(1)}× the night), mean lifetime ${(lifetime / MINUTE).toFixed(0)} min`;
    return { description, intents, nodes, durationSec: 24 * HOUR };
  },
};

/** Deployment bursts: a Deployment scaled up in slow-start batches, held, scaled to zero; repeated. */
const deploymentBursts: ChurnFamily = {
  name: 'deployment-burst',
  summary: 'Deployments of 0.3–1.5× the nodes\' capacity created in slow-start batches, held 10–60 min, repeated 2–6 times',
  draw({ random, machine }) {
    const nodes = integer(random, 2, 8);
    const replicas = Math.max(2, Math.round(uniform(random, 0.3, 1.5) * machine.capacity * nodes));
    const holdSec = uniform(random, 10, 60) * MINUTE;
    const cycles = integer(random, 2, 6);
    const gapSec = uniform(random, 20, 120) * MINUTE;
    const background = Math.round(uniform(random, 0, 0.2) * machine.capacity);
    const intents: PodIntent[] = [];
    for (let i = 0; i < background * nodes; i += 1) intents.push({ t: random() * 10, lifetimeSec: Infinity, name: 'base' });
    let start = uniform(random, 5, 15) * MINUTE;
    for (let cycle = 0; cycle < cycles; cycle += 1) {
      let created = 0;
      for (let batch = 1, at = start; created < replicas; batch *= 2, at += 0.3) {
        for (let i = 0; i < batch && created < replicas; i += 1, created += 1) {
          intents.push({ t: at + random() * 1.5, lifetimeSec: holdSec + random() * 30, node: created % nodes, name: `burst${cycle}` });
        }
      }
      start += holdSec + gapSec;
    }
    const durationSec = start + 10 * MINUTE;
    const description = `deployment bursts: ${cycles} × ${replicas} replicas on ${nodes} nodes, held ${(holdSec / MINUTE).toFixed(0)} min, ${(gapSec / MINUTE).toFixed(0)} min apart`;
    return { description, intents, nodes, durationSec };
  },
};

/**
 * Rolling updates: Deployments whose pods are replaced in steps of maxSurge new pods, each step's
 * old pods deleted once the new ones are ready (and maxUnavailable of them at once at the start).
 */
const rollingUpdates: ChurnFamily = {
  name: 'rolling-update',
  summary: '1–3 Deployments (20–90 % of capacity) updated every 20 min – 2 h with maxSurge 10–50 %, maxUnavailable 0–25 %',
  draw({ random, machine }) {
    const nodes = integer(random, 2, 8);
    const deployments = integer(random, 1, 3);
    const total = Math.max(deployments, Math.round(uniform(random, 0.2, 0.9) * machine.capacity * nodes));
    const hours = uniform(random, 6, 12);
    const intents: PodIntent[] = [];
    for (let d = 0; d < deployments; d += 1) {
      const replicas = Math.max(1, Math.round(total / deployments));
      const surge = Math.max(1, Math.round(replicas * uniform(random, 0.1, 0.5)));
      const unavailable = Math.floor(replicas * uniform(random, 0, 0.25));
      const readySec = uniform(random, 5, 40);
      const everySec = uniform(random, 20, 120) * MINUTE;
      // Each generation's pods, with their start times; their end is the next update's step.
      let generation = Array.from({ length: replicas }, () => random() * 20);
      for (let update = uniform(random, 10, 30) * MINUTE; ; update += everySec * uniform(random, 0.7, 1.3)) {
        const next: number[] = [];
        const ends: number[] = [];
        for (let i = 0; i < replicas; i += 1) {
          const step = Math.floor(i / surge);
          next.push(update + step * readySec + random());
          ends.push(i < unavailable ? update : update + (step + 1) * readySec + random());
        }
        const finished = update >= hours * HOUR;
        generation.forEach((started, i) => intents.push({ t: started, lifetimeSec: finished ? Infinity : Math.max(1, ends[i]! - started), node: (i + d) % nodes, name: `deploy${d}` }));
        if (finished) break;
        generation = next;
      }
    }
    const description = `rolling updates: ${deployments} Deployment(s), ${total} pods on ${nodes} nodes, ${hours.toFixed(1)} h`;
    return { description, intents, nodes, durationSec: hours * HOUR };
  },
};

/**
 * HPA: one Deployment's replicas follow a load curve; every 15 s the autoscaler scales out at once
 * (at most doubling) and scales in only to the highest recommendation of the last 5 minutes.
 */
const hpa: ChurnFamily = {
  name: 'hpa',
  summary: 'a Deployment scaled by an HPA (15 s sync, 5 min scale-in stabilisation) following a load with ramps and spikes, 2–8 h',
  draw({ random, machine }) {
    const nodes = integer(random, 2, 8);
    const hours = uniform(random, 2, 8);
    const maxReplicas = Math.max(2, Math.round(uniform(random, 0.4, 1.2) * machine.capacity * nodes));
    const minReplicas = Math.max(1, Math.round(maxReplicas * uniform(random, 0.05, 0.3)));
    const period = uniform(random, 30, 180) * MINUTE;
    const spikes = Array.from({ length: integer(random, 0, 6) }, () => ({ at: random() * hours * HOUR, width: uniform(random, 2, 20) * MINUTE, height: uniform(random, 0.3, 1) }));
    const load = (t: number) => {
      const wave = 0.5 - 0.5 * Math.cos((2 * Math.PI * t) / period);
      const spike = Math.max(0, ...spikes.map((s) => (Math.abs(t - s.at) < s.width / 2 ? s.height : 0)));
      return Math.min(1, 0.6 * wave + spike);
    };
    const liveStarts: number[] = [];
    const intents: PodIntent[] = [];
    const recommendations: Array<{ t: number; replicas: number }> = [];
    for (let t = 0; t < hours * HOUR; t += 15) {
      const desired = Math.max(minReplicas, Math.min(maxReplicas, Math.ceil(load(t) * maxReplicas)));
      recommendations.push({ t, replicas: desired });
      while (recommendations.length > 0 && recommendations[0]!.t < t - 5 * MINUTE) recommendations.shift();
      const stabilised = Math.max(...recommendations.map((r) => r.replicas));
      const target = desired > liveStarts.length ? Math.min(desired, Math.max(2 * liveStarts.length, liveStarts.length + 4)) : stabilised;
      while (liveStarts.length < target) liveStarts.push(t + random() * 3);
      while (liveStarts.length > target) {
        const started = liveStarts.pop()!;
        intents.push({ t: started, lifetimeSec: Math.max(1, t + random() * 3 - started), name: 'hpa' });
      }
    }
    for (const started of liveStarts) intents.push({ t: started, lifetimeSec: Infinity, name: 'hpa' });
    const description = `HPA: ${minReplicas}–${maxReplicas} replicas on ${nodes} nodes, load period ${(period / MINUTE).toFixed(0)} min, ${spikes.length} spikes, ${hours.toFixed(1)} h`;
    return { description, intents, nodes, durationSec: hours * HOUR };
  },
};

/** Batch waves: many short pods at once, sometimes more than the nodes can run, which then queue. */
const batchWaves: ChurnFamily = {
  name: 'batch-wave',
  summary: 'waves of 0.3–3× the nodes\' capacity in batch pods (median 2–20 min), every 20 min – 2 h; larger waves queue',
  draw({ random, machine }) {
    const nodes = integer(random, 2, 8);
    const hours = uniform(random, 4, 12);
    const median = uniform(random, 2, 20) * MINUTE;
    const intents: PodIntent[] = [];
    for (let t = uniform(random, 5, 20) * MINUTE; t < hours * HOUR; t += uniform(random, 20, 120) * MINUTE) {
      const size = Math.max(1, Math.round(uniform(random, 0.3, 3) * machine.capacity * nodes));
      for (let i = 0; i < size; i += 1) intents.push({ t: t + random() * 20, lifetimeSec: Math.max(5, logNormal(random, median, 0.5)), name: 'job' });
    }
    const description = `batch waves: ${nodes} nodes, pods of median ${(median / MINUTE).toFixed(0)} min, ${hours.toFixed(1)} h`;
    return { description, intents, nodes, durationSec: hours * HOUR };
  },
};

/** CI jobs: Poisson arrivals, busy by day and quiet by night, each job minutes long. */
const ciJobs: ChurnFamily = {
  name: 'ci-jobs',
  summary: 'Poisson CI jobs (median 3–15 min), day rate filling 20–70 % of capacity, night 5–30 % of the day rate, 24 h',
  draw({ random, machine }) {
    const nodes = integer(random, 2, 8);
    const median = uniform(random, 3, 15) * MINUTE;
    const mean = median * Math.exp(0.7 ** 2 / 2);
    const dayRate = (uniform(random, 0.2, 0.7) * machine.capacity * nodes) / mean;
    const night = uniform(random, 0.05, 0.3);
    const dayStart = uniform(random, 6, 10) * HOUR;
    const rate = (t: number) => {
      const clock = t % (24 * HOUR);
      return clock >= dayStart && clock < dayStart + 12 * HOUR ? dayRate : dayRate * night;
    };
    const intents = poissonTimes(random, 0, 24 * HOUR, rate).map((t): PodIntent => ({ t, lifetimeSec: Math.max(10, logNormal(random, median, 0.7)), name: 'ci' }));
    const description = `CI jobs: ${nodes} nodes, ${(dayRate * 60).toFixed(1)} jobs/min by day, ${(night * 100).toFixed(0)} % of that by night, median ${(median / MINUTE).toFixed(0)} min`;
    return { description, intents, nodes, durationSec: 24 * HOUR };
  },
};

/** Cron-like short jobs: every period a batch of pods that live less than the address cooldown. */
const shortJobs: ChurnFamily = {
  name: 'short-jobs',
  summary: 'every 30 s – 5 min a batch of pods living 3–25 s (shorter than the 30 s cooldown), beside 0–50 % long-running pods, 2–6 h',
  draw({ random, machine }) {
    const nodes = integer(random, 2, 8);
    const hours = uniform(random, 2, 6);
    const period = uniform(random, 30, 300);
    const batch = Math.max(1, Math.round(uniform(random, 0.05, 0.5) * machine.capacity * nodes));
    const lifetime = uniform(random, 3, 25);
    const base = Math.round(uniform(random, 0, 0.5) * machine.capacity);
    const intents: PodIntent[] = [];
    for (let i = 0; i < base * nodes; i += 1) intents.push({ t: random() * 10, lifetimeSec: Infinity, name: 'svc' });
    for (let t = uniform(random, 60, 300); t < hours * HOUR; t += period) {
      for (let i = 0; i < batch; i += 1) intents.push({ t: t + random() * 2, lifetimeSec: lifetime * uniform(random, 0.7, 1.3), name: 'cron' });
    }
    const description = `short jobs: ${batch} pods every ${period.toFixed(0)} s living ~${lifetime.toFixed(0)} s, ${base} long-running per node, ${nodes} nodes, ${hours.toFixed(1)} h`;
    return { description, intents, nodes, durationSec: hours * HOUR };
  },
};

/** Drain and refill: a node is cordoned, its pods evicted to the others, then it comes back and refills. */
const drainRefill: ChurnFamily = {
  name: 'drain-refill',
  summary: 'long-running pods (30–80 % of capacity) with light churn; 1–3 nodes drained one after another, back after 10–60 min, then refilled by a scale-up',
  draw({ random, machine }) {
    const nodes = integer(random, 3, 8);
    const hours = uniform(random, 4, 10);
    const perNode = Math.max(1, Math.round(uniform(random, 0.3, 0.8) * machine.capacity));
    const intents: PodIntent[] = [];
    for (let i = 0; i < perNode * nodes; i += 1) intents.push({ t: random() * 10, lifetimeSec: Infinity, node: i % nodes, name: 'svc' });
    const churnLifetime = uniform(random, 30, 180) * MINUTE;
    for (const t of poissonTimes(random, 10, hours * HOUR, () => (0.1 * perNode * nodes) / churnLifetime)) intents.push({ t, lifetimeSec: exponential(random, churnLifetime), name: 'app' });
    const cordons: Cordon[] = [];
    let at = uniform(random, 20, 60) * MINUTE;
    const drains = integer(random, 1, 3);
    for (let d = 0; d < drains && at < hours * HOUR; d += 1) {
      const node = integer(random, 0, nodes - 1);
      const back = at + uniform(random, 10, 60) * MINUTE;
      cordons.push({ node, fromSec: at, toSec: back });
      // The refill: a scale-up after the node is back lands mostly on it (the least loaded).
      const refill = Math.round(perNode * uniform(random, 0.5, 1));
      for (let i = 0; i < refill; i += 1) intents.push({ t: back + 30 + random() * 20, lifetimeSec: Infinity, name: 'refill' });
      at = back + uniform(random, 20, 90) * MINUTE;
    }
    const description = `drain/refill: ${nodes} nodes × ${perNode} pods, ${cordons.length} drain(s), ${hours.toFixed(1)} h`;
    return { description, intents, nodes, durationSec: hours * HOUR, cordons };
  },
};

export const CHURN_FAMILIES: readonly ChurnFamily[] = [steady, diurnal, deploymentBursts, rollingUpdates, hpa, batchWaves, ciJobs, shortJobs, drainRefill];
