/**
 * How far the issue-11 targets are within reach of any fixed setting (issue 11): on a sample of the
 * report half of the corpus, every trace is replayed under the nativeip default and under every
 * setting `nativeip tune` tries on that trace (the AWS VPC CNI's default, `WARM_ENI_TARGET=2`,
 * `WARM_IP_TARGET` × `MINIMUM_IP_TARGET` drawn from the trace, prefix delegation), each judged
 * against `WARM_ENI_TARGET=1` as bench/corpus.ts judges the default. Picking the best setting per
 * trace after the fact is an oracle no node has: where even it meets no setting's worth of the
 * targets, the targets are out of reach of the knobs users have today, not only of our default.
 *
 *   node scripts/run-ts.mjs bench/corpus-hindsight.ts             every 4th trace of the report half
 *   options: --every N (sample every Nth trace of the half)  --workers N  --no-write
 */
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { cloudPlugin } from '../src/ipamd/clouds.js';
import { corpusEntry, DEFAULT_CORPUS_SEED, DEFAULT_CORPUS_SIZE, halfOf } from '../src/sim/corpus/corpus.js';
import { CHURN_FAMILIES } from '../src/sim/corpus/families.js';
import type { TraceJudgement } from '../src/sim/corpus/judge.js';
import { corpusMachines } from '../src/sim/corpus/machines.js';
import { replayPolicies } from '../src/sim/corpus/replay.js';
import { ADAPTIVE_POLICY, candidatePolicies } from '../src/sim/tune.js';
import { machineLine, writeSection } from './lib/report.js';

const CLOUD = 'aws';

interface Job {
  readonly indexes: readonly number[];
}

/** One trace: the default's judgement and every fixed setting's. */
interface TraceResult {
  readonly index: number;
  readonly machine: string;
  readonly seconds: number;
  readonly adaptive: TraceJudgement;
  readonly fixed: readonly { readonly policy: string; readonly judgement: TraceJudgement }[];
}

if (!isMainThread) {
  Error.stackTraceLimit = 0;
  const job = workerData as Job;
  const machines = await corpusMachines(CLOUD);
  const cloud = cloudPlugin(CLOUD);
  for (const index of job.indexes) {
    const entry = corpusEntry(index, { seed: DEFAULT_CORPUS_SEED, machines: machines.machines });
    const started = performance.now();
    // The baseline itself is no candidate: it meets no halving target by definition.
    const fixed = candidatePolicies(entry.trace, cloud).filter((p) => p.name !== ADAPTIVE_POLICY.name && p.env.WARM_ENI_TARGET !== '1');
    const [adaptive, ...judged] = await replayPolicies(entry, [ADAPTIVE_POLICY, ...fixed], CLOUD, machines);
    const result: TraceResult = {
      index,
      machine: entry.machine.machineType,
      seconds: (performance.now() - started) / 1000,
      adaptive: adaptive!,
      fixed: judged.map((judgement, i) => ({ policy: fixed[i]!.name, judgement })),
    };
    parentPort!.postMessage(result);
  }
} else {
  await main();
}

/** Every target the lower bound allows on the trace is met. */
function meetsAllPossible(j: TraceJudgement): boolean {
  return j.meets.waits && (j.meets.idle || j.impossible.idle) && (j.meets.calls || j.impossible.calls);
}

function flag(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i < 0 ? undefined : process.argv[i + 1];
}

async function main(): Promise<void> {
  const every = Number(flag('--every') ?? 4);
  if (!Number.isInteger(every) || every < 1) throw new Error(`--every must be a whole number of at least 1, not ${flag('--every')}`);
  const report = Array.from({ length: DEFAULT_CORPUS_SIZE }, (_, i) => i).filter((i) => halfOf(i) === 'report');
  const indexes = report.filter((_, k) => k % every === 0);
  const workers = Math.max(1, Math.min(Number(flag('--workers') ?? availableParallelism()), indexes.length));
  const started = performance.now();
  console.log(`corpus in hindsight: ${indexes.length} traces (every ${every}th of the report half, seed ${DEFAULT_CORPUS_SEED}) on ${workers} workers`);
  const results = new Map<number, TraceResult>();
  await Promise.all(
    Array.from({ length: workers }, (_, w) => {
      const mine = indexes.filter((_, k) => k % workers === w);
      return new Promise<void>((resolve, reject) => {
        const worker = new Worker(fileURLToPath(import.meta.url), { workerData: { indexes: mine } satisfies Job });
        worker.on('message', (r: TraceResult) => {
          results.set(r.index, r);
          console.log(`${String(results.size).padStart(3)}/${indexes.length} ${traceLine(r)}  (${r.seconds.toFixed(1)} s)`);
        });
        worker.on('error', reject);
        worker.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`worker ${w} exited ${code}`))));
      });
    }),
  );
  const all = indexes.map((i) => results.get(i)!);
  const table = familyTable(all);
  const missed = all.filter((r) => !meetsAllPossible(r.adaptive) && r.fixed.some((f) => meetsAllPossible(f.judgement)));
  console.log(`\n${table}\n\n${((performance.now() - started) / 1000).toFixed(0)} s`);
  if (!process.argv.includes('--no-write')) writeSection('corpus-hindsight', section(table, all, missed, every), { after: 'corpus' });
}

function traceLine(r: TraceResult): string {
  const winners = r.fixed.filter((f) => meetsAllPossible(f.judgement)).map((f) => f.policy);
  return `${r.adaptive.trace.padEnd(22)} ${r.machine.padEnd(10)} default ${meetsAllPossible(r.adaptive) ? 'meets' : 'misses'}; fixed settings meeting all possible targets: ${winners.length === 0 ? 'none' : winners.join(' | ')} (of ${r.fixed.length})`;
}

function familyTable(all: readonly TraceResult[]): string {
  const rows = [...CHURN_FAMILIES.map((f) => f.name), 'all'].flatMap((family) => {
    const of = family === 'all' ? all : all.filter((r) => r.adaptive.family === family);
    if (of.length === 0) return [];
    const byDefault = of.filter((r) => meetsAllPossible(r.adaptive)).length;
    const byFixed = of.filter((r) => r.fixed.some((f) => meetsAllPossible(f.judgement))).length;
    const byEither = of.filter((r) => meetsAllPossible(r.adaptive) || r.fixed.some((f) => meetsAllPossible(f.judgement))).length;
    return [`| ${family} | ${of.length} | ${byDefault} | ${byFixed} | ${of.length - byEither} |`];
  });
  return [
    '| family | traces | the nativeip default meets all possible targets | some fixed setting does (picked in hindsight, per trace) | neither |',
    '|---|---|---|---|---|',
    ...rows,
  ].join('\n');
}

function section(table: string, all: readonly TraceResult[], missed: readonly TraceResult[], every: number): string {
  const settings = Math.min(...all.map((r) => r.fixed.length));
  const most = Math.max(...all.map((r) => r.fixed.length));
  const neither = all.filter((r) => !meetsAllPossible(r.adaptive) && !r.fixed.some((f) => meetsAllPossible(f.judgement))).length;
  return [
    '## The targets in hindsight: every fixed setting on a sample of the corpus (simulated)',
    '',
    `${machineLine()}. \`bench/corpus-hindsight.ts\` replays every ${every}th trace of the report half (${all.length} traces) under the nativeip default and under each of the ${settings}–${most} settings \`nativeip tune\` tries on that trace (\`WARM_ENI_TARGET=2\`, \`WARM_IP_TARGET\` × \`MINIMUM_IP_TARGET\` drawn from the trace's own pods per node and arrival rate, prefix delegation), judged as in the table above against \`WARM_ENI_TARGET=1\`. A setting "meets" a trace when it meets every target the lower bound allows there. Picking the best fixed setting per trace after seeing the trace is an oracle no node has; it shows which targets the AWS VPC CNI's knobs can reach at all.`,
    '',
    table,
    '',
    `On ${neither} of the ${all.length} traces neither the default nor any fixed setting, even picked after the fact, meets every possible target.`,
    '',
    missed.length === 0
      ? 'No trace is met by a fixed setting and missed by the default.'
      : `Met by a fixed setting and missed by the default: ${missed.map((r) => `${r.adaptive.trace} (${r.machine}: ${r.fixed.filter((f) => meetsAllPossible(f.judgement)).map((f) => `\`${f.policy}\``).join(', ')})`).join('; ')}.`,
  ].join('\n');
}
