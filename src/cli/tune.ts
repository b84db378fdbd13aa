/**
 * `nativeip tune`: what should my WARM_* be? Replays a recorded trace (`nativeip trace record`)
 * against the adaptive default, the AWS VPC CNI's default and a grid of knob values on the
 * emulated cloud in-process (src/sim/tune.ts), prints the trade-off table and the recommended
 * variables, and writes a chart of each policy's pool over time (an SVG, src/sim/pool-chart.ts).
 * Argument parsing and the table are pure; run() does the I/O.
 */
import { readFile, writeFile } from 'node:fs/promises';
import type { CloudPlugin } from '../core/cloud-plugin.js';
import { parseFlags, type FlagSpec } from '../core/cli-flags.js';
import { CLOUD_PLUGINS } from '../ipamd/clouds.js';
import { renderPoolChart, type PoolChartInput } from '../sim/pool-chart.js';
import { simulatedClouds } from '../sim/sim-cloud.js';
import { traceFromJsonl, type Trace } from '../sim/traces.js';
import type { TuneOutcome, TunedPolicy } from '../sim/tune.js';

export const TUNE_USAGE = `usage: nativeip tune --trace FILE --instance-type TYPE [--cloud NAME] [--chart FILE.svg] [--json]
  --trace FILE          a JSONL trace (nativeip trace record, or the format in src/sim/traces.ts)
  --instance-type TYPE  the nodes' machine type (instance type, VM size)
  --cloud NAME          the cloud to replay on (default: the first that can be simulated)
  --chart FILE.svg      where the chart goes (default: the trace's name with .svg)
  --json                the table as JSON on stdout
`;

export class TuneUsageError extends Error {}

export interface TuneRequest {
  readonly trace: string;
  readonly machineType: string;
  readonly cloud: string;
  readonly chart: string;
  readonly json: boolean;
}

const FLAGS: FlagSpec = {
  values: ['--trace', '--instance-type', '--cloud', '--chart'],
  switches: ['--json'],
  aliases: { '--machine-type': '--instance-type' },
};

/** Parses the arguments after `tune`. Pure; throws TuneUsageError naming the problem. */
export function parseTuneArgs(argv: readonly string[], clouds: readonly string[]): TuneRequest {
  const flags = parseFlags(argv, FLAGS, (problem) => new TuneUsageError(problem.message));
  const trace = flags.one('--trace');
  const machineType = flags.one('--instance-type');
  const cloud = flags.one('--cloud') ?? clouds[0];
  const chart = flags.one('--chart');
  if (trace === undefined) throw new TuneUsageError('give --trace FILE');
  if (machineType === undefined) throw new TuneUsageError('give --instance-type TYPE');
  if (cloud === undefined || !clouds.includes(cloud)) throw new TuneUsageError(`--cloud must be one of ${clouds.join(', ')}, not ${JSON.stringify(cloud ?? '')}`);
  return { trace, machineType, cloud, chart: chart ?? `${trace.replace(/\.jsonl?$/, '')}.svg`, json: flags.has('--json') };
}

const seconds = (ms: number): string => (ms === 0 ? '–' : `${(ms / 1000).toFixed(1)} s`);

/** The trade-off table, the reference and the recommendation marked. Pure. */
export function renderTuneTable(outcome: TuneOutcome): string {
  const mark = (p: TunedPolicy) => (p === outcome.recommended ? ' ← recommended' : p === outcome.reference ? ' (reference)' : '');
  const rows = outcome.policies.map((p) => {
    const r = p.result;
    return `| ${p.policy.name}${mark(p)} | ${r.podsWaited} | ${seconds(r.waitP50Ms)} / ${seconds(r.waitP99Ms)} | ${r.idleAddressHours.toFixed(1)} | ${r.mutatingCalls} | ${r.throttledCalls} |`;
  });
  return ['| policy | pods waited | wait p50 / p99 | idle address-hours | mutating calls | throttled calls |', '|---|---|---|---|---|---|', ...rows].join('\n');
}

/** The variables to set for the recommended policy. Pure. */
export function renderRecommendation(outcome: TuneOutcome): string {
  const env = Object.entries(outcome.recommended.policy.env);
  const why = `fewest idle address-hours of the policies with no more pods waiting than ${outcome.reference.policy.name}`;
  if (env.length === 0) return `Recommended: the adaptive default (set no warm-pool variable): ${why}.`;
  return `Recommended (${why}):\n${env.map(([k, v]) => `  ${k}=${v}`).join('\n')}`;
}

/** The chart's input: each policy's pool, summed over the nodes. Pure. */
export function chartInput(title: string, outcome: TuneOutcome): PoolChartInput {
  return {
    title,
    policies: outcome.policies.map((p) => ({
      name: p.policy.name,
      summary: `${p.result.podsWaited} pods waited · ${p.result.idleAddressHours.toFixed(1)} idle address-hours · ${p.result.mutatingCalls} mutating calls`,
      samples: p.timeline.map((s) => ({ atMs: s.atMs, pods: s.pods, assigned: s.assigned, free: s.free, cooling: s.cooling, interfaces: s.interfaces })),
      calls: p.timeline.map((s) => ({ atMs: s.atMs, mutating: s.mutatingCalls })),
    })),
  };
}

/** A progress bar on a terminal, a line per step otherwise. */
function progress(done: number, total: number, name: string): void {
  const width = 30;
  const filled = Math.round((done / total) * width);
  if (process.stderr.isTTY) {
    process.stderr.write(`\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total} ${name.slice(0, 50).padEnd(50)}`);
    if (done === total) process.stderr.write('\n');
  } else {
    process.stderr.write(`tune: ${done}/${total} replayed: ${name}\n`);
  }
}

export async function runTune(argv: readonly string[]): Promise<void> {
  const clouds = simulatedClouds();
  const request = parseTuneArgs(argv, clouds);
  const cloud: CloudPlugin = CLOUD_PLUGINS.find((p) => p.name === request.cloud)!;
  let text: string;
  try {
    text = await readFile(request.trace, 'utf8');
  } catch (error) {
    throw new TuneUsageError(`--trace ${request.trace}: cannot read it: ${(error as Error).message}`);
  }
  let trace: Trace;
  try {
    trace = traceFromJsonl(request.trace, text);
  } catch (error) {
    throw new TuneUsageError(`--trace ${request.trace}: ${(error as Error).message}`);
  }
  if (trace.events.length === 0) throw new TuneUsageError(`--trace ${request.trace}: no events`);
  const { tune } = await import('../sim/tune.js');
  // Pods retry many times while a pool grows; their stack traces are pure cost here.
  Error.stackTraceLimit = 0;
  const nodes = new Set(trace.events.map((e) => e.node)).size;
  process.stderr.write(`tune: ${trace.events.length} events on ${nodes} node(s), ${(trace.durationSec / 3600).toFixed(1)} h, ${request.machineType} on ${cloud.title}\n`);
  let replayed = 0;
  let outcome: TuneOutcome;
  try {
    outcome = await tune(trace, { cloud, machineType: request.machineType, onProgress: (done, total, name) => ((replayed = done), progress(done, total, name)) });
  } catch (error) {
    // Before any replay finished the cause is the request (a machine type the cloud does not have).
    if (replayed === 0) throw new TuneUsageError(`cannot replay on ${request.machineType} in ${cloud.title}: ${(error as Error).message}`);
    throw error;
  }
  const chart = renderPoolChart(chartInput(`${request.trace}: ${request.machineType}, ${nodes} node(s)`, outcome));
  await writeFile(request.chart, chart);
  if (request.json) {
    const policies = outcome.policies.map((p) => ({ policy: p.policy.name, env: p.policy.env, ...pick(p) }));
    process.stdout.write(`${JSON.stringify({ policies, reference: outcome.reference.policy.name, recommended: outcome.recommended.policy.env, chart: request.chart }, null, 2)}\n`);
  } else {
    process.stdout.write(`${renderTuneTable(outcome)}\n\n${renderRecommendation(outcome)}\nChart: ${request.chart}\n`);
  }
}

function pick(p: TunedPolicy) {
  const r = p.result;
  return { podsWaited: r.podsWaited, waitP50Ms: r.waitP50Ms, waitP99Ms: r.waitP99Ms, idleAddressHours: r.idleAddressHours, mutatingCalls: r.mutatingCalls, throttledCalls: r.throttledCalls };
}
