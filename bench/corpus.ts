/**
 * The warm pool on the trace corpus (issue 11): every trace of one half of the corpus
 * (src/sim/corpus: nine families of pod churn, random parameters and machine types) replayed under
 * the nativeip default and under `WARM_ENI_TARGET=1`, judged per trace against the targets (no more
 * pods waiting, at most half the idle address-hours, at most half the mutating calls) and against
 * the clairvoyant lower bound. Prints one line per trace and a table per family; with the report
 * half and the whole corpus, writes the `corpus` section of BENCHMARKS.md.
 *
 *   node scripts/run-ts.mjs bench/corpus.ts                       the report half (108 traces)
 *   node scripts/run-ts.mjs bench/corpus.ts --half tune           the tuning half, never written
 *   options: --count N (corpus size, default 216)  --seed S  --only FAMILY  --workers N  --no-write
 *            --env K=V (repeatable: the policy judged, instead of the default)
 */
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { corpusEntry, DEFAULT_CORPUS_SEED, DEFAULT_CORPUS_SIZE, halfOf, type CorpusHalf } from '../src/sim/corpus/corpus.js';
import { CHURN_FAMILIES } from '../src/sim/corpus/families.js';
import { CALLS_TARGET, IDLE_TARGET, summarise, type FamilySummary, type TargetSummary, type TraceJudgement } from '../src/sim/corpus/judge.js';
import { corpusMachines } from '../src/sim/corpus/machines.js';
import { replayEntry } from '../src/sim/corpus/replay.js';
import type { Policy } from '../src/sim/simulate.js';
import { machineLine, writeSection } from './lib/report.js';

interface Job {
  readonly cloud: string;
  readonly seed: number;
  readonly indexes: readonly number[];
  readonly policy: Policy;
}

const CLOUD = 'aws';

if (!isMainThread) {
  // Pods retry thousands of times on the biggest traces; their stack traces are pure cost.
  Error.stackTraceLimit = 0;
  const job = workerData as Job;
  const machines = await corpusMachines(job.cloud);
  for (const index of job.indexes) {
    const entry = corpusEntry(index, { seed: job.seed, machines: machines.machines });
    const started = performance.now();
    const judgement = await replayEntry(entry, job.policy, job.cloud, machines);
    parentPort!.postMessage({ index, machine: entry.machine.machineType, seconds: (performance.now() - started) / 1000, judgement });
  }
} else {
  await main();
}

function flag(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i < 0 ? undefined : process.argv[i + 1];
}

/** A whole-number flag, or its default; anything else stops the run naming the flag. */
function wholeNumber(name: string, fallback: number): number {
  const raw = flag(name);
  if (raw === undefined) return fallback;
  if (!/^\d+$/.test(raw)) throw new Error(`${name} must be a whole number, not ${JSON.stringify(raw)}`);
  return Number(raw);
}

function flags(name: string): string[] {
  return process.argv.flatMap((arg, i) => (arg === name && process.argv[i + 1] !== undefined ? [process.argv[i + 1]!] : []));
}

async function main(): Promise<void> {
  const half = (flag('--half') ?? 'report') as CorpusHalf | 'all';
  if (!['tune', 'report', 'all'].includes(half)) throw new Error(`--half must be tune, report or all, not ${half}`);
  const count = wholeNumber('--count', DEFAULT_CORPUS_SIZE);
  const seed = wholeNumber('--seed', DEFAULT_CORPUS_SEED);
  const only = flag('--only');
  const env = Object.fromEntries(flags('--env').map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
  const policy: Policy = { name: Object.keys(env).length === 0 ? 'nativeip default (adaptive)' : Object.entries(env).map(([k, v]) => `${k}=${v}`).join(', '), env };
  const indexes = Array.from({ length: count }, (_, i) => i).filter(
    (i) => (half === 'all' || halfOf(i) === half) && (only === undefined || CHURN_FAMILIES[i % CHURN_FAMILIES.length]!.name === only),
  );
  const workers = Math.max(1, Math.min(Number(flag('--workers') ?? availableParallelism()), indexes.length));
  const started = performance.now();
  console.log(`corpus: ${indexes.length} traces (${half} half of ${count}, seed ${seed}) on ${workers} workers; policy ${policy.name} against WARM_ENI_TARGET=1`);

  const judgements = new Map<number, TraceJudgement>();
  await Promise.all(
    Array.from({ length: workers }, (_, w) => {
      const mine = indexes.filter((_, k) => k % workers === w);
      return new Promise<void>((resolve, reject) => {
        const worker = new Worker(fileURLToPath(import.meta.url), { workerData: { cloud: CLOUD, seed, indexes: mine, policy } satisfies Job });
        worker.on('message', (m: { index: number; machine: string; seconds: number; judgement: TraceJudgement }) => {
          judgements.set(m.index, m.judgement);
          console.log(`${String(judgements.size).padStart(3)}/${indexes.length} ${traceLine(m.judgement, m.machine)}  (${m.seconds.toFixed(1)} s)`);
        });
        worker.on('error', reject);
        worker.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`worker ${w} exited ${code}`))));
      });
    }),
  );
  const all = indexes.map((i) => judgements.get(i)!);
  const summaries = [...CHURN_FAMILIES.map((f) => f.name), 'all'].flatMap((family) => {
    const of = family === 'all' ? all : all.filter((j) => j.family === family);
    return of.length === 0 ? [] : [summarise(family, of)];
  });
  const table = familyTable(summaries);
  console.log(`\n${table}\n\n${((performance.now() - started) / 1000).toFixed(0)} s`);
  if (half === 'report' && count === DEFAULT_CORPUS_SIZE && only === undefined && Object.keys(env).length === 0 && !process.argv.includes('--no-write')) {
    writeSection('corpus', report(table, summaries, all, count, seed));
  }
}

function traceLine(j: TraceJudgement, machine: string): string {
  const mark = (met: boolean, impossible = false) => (met ? '✓' : impossible ? '–' : '✗');
  return (
    `${j.trace.padEnd(22)} ${machine.padEnd(10)} waited ${j.policy.podsWaited}/${j.baseline.podsWaited} ${mark(j.meets.waits)}  ` +
    `idle ${j.policy.idleAddressHours.toFixed(0)}/${j.baseline.idleAddressHours.toFixed(0)} h (bound ${j.bound.idleAddressHours.toFixed(0)}) ${mark(j.meets.idle, j.impossible.idle)}  ` +
    `calls ${j.policy.mutatingCalls}/${j.baseline.mutatingCalls} (bound ${j.bound.mutatingCalls}) ${mark(j.meets.calls, j.impossible.calls)}`
  );
}

function share(t: TargetSummary): string {
  return t.possible === 0 ? '–' : `${t.met}/${t.possible} (${Math.round((100 * t.met) / t.possible)} %)`;
}

function times(r: number): string {
  return Number.isFinite(r) ? `${r.toFixed(2)}×` : '∞';
}

function familyTable(summaries: readonly FamilySummary[]): string {
  return [
    '| family | traces | no more waits than ENI mode | idle ≤ ½ ENI mode (impossible) | calls ≤ ½ ENI mode (impossible) | all possible targets | worst extra waits | worst idle ÷ ENI mode | worst calls ÷ ENI mode | worst idle ÷ bound | worst calls ÷ bound |',
    '|---|---|---|---|---|---|---|---|---|---|---|',
    ...summaries.map(
      (s) =>
        `| ${s.family} | ${s.traces} | ${share(s.waits)} | ${share(s.idle)} (${s.idle.impossible}) | ${share(s.calls)} (${s.calls.impossible}) | ${s.allPossibleMet}/${s.traces} | ${s.worst.extraWaits} | ${times(s.worst.idle)} | ${times(s.worst.calls)} | ${times(s.worstOverBound.idle)} | ${times(s.worstOverBound.calls)} |`,
    ),
  ].join('\n');
}

function report(table: string, summaries: readonly FamilySummary[], all: readonly TraceJudgement[], count: number, seed: number): string {
  const families = CHURN_FAMILIES.map((f) => `- **${f.name}**: ${f.summary}.`);
  const total = summaries.find((s) => s.family === 'all');
  return [
    '## The warm pool on the trace corpus (simulated)',
    '',
    `${machineLine()}. \`bench/corpus.ts\` replays the report half of the corpus (${all.length} of ${count} traces, seed ${seed}; \`src/sim/corpus\`; the other half is the tuning half, never shown here) under the nativeip default and under \`WARM_ENI_TARGET=1\`, with every node's real pool engine and real \`Ec2Provider\` on the emulated EC2 in-process (as \`bench/churn.ts\`, with the account's request buckets on). Targets per trace, against \`WARM_ENI_TARGET=1\`: no more pods waiting, at most ${IDLE_TARGET * 100} % of its idle address-hours, at most ${CALLS_TARGET * 100} % of its mutating calls (calls from the nodes' start). "Impossible": the clairvoyant lower bound (\`src/sim/corpus/lower-bound.ts\`: knows every arrival, never makes a pod wait; idle = cooling addresses + extra interfaces' primaries, calls = one fill of the primary interface + 3 per further ENI) already misses the target, so no policy can meet it; shares are of the traces where it is possible. Worst ratios are over every trace of the family, possible or not.`,
    '',
    'Families (parameters drawn per trace; machine types t3.medium to m5.4xlarge, 2–8 nodes):',
    '',
    ...families,
    '',
    table,
    '',
    total === undefined ? '' : `Over the ${total.traces} traces: ${total.allPossibleMet} meet every target that is possible on them.`,
  ].join('\n');
}
