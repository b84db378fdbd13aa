/**
 * Cluster scale-up on one AWS account: N new nodes (default 1,000) start at once and each
 * receives 30 pods; every node's daemon shares the account's EC2 request buckets (the emulator's
 * published figures). Reports, per warm-pool policy, the time until every pod has an address and
 * the throttled calls. Simulated time, in-process (see bench/churn.ts).
 *   node scripts/run-ts.mjs bench/cluster-scale.ts [--nodes 1000] [--pods 30] [--no-write]
 *   --describe-every-reconcile: every policy's nodes describe themselves from EC2 on every
 *   reconcile (the behaviour before IMDS observation); never written to BENCHMARKS.md.
 *   Without it, the table ends with one such row for the nativeip default, for comparison.
 */
import { machineLine, writeSection } from './lib/report.js';
import { POLICIES } from './churn/policies.js';
import { simulate } from './churn/simulate.js';
import { scaleUpTrace } from './churn/traces.js';

function flag(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  return i < 0 ? fallback : Number(process.argv[i + 1]);
}

const nodes = flag('--nodes', 1000);
const podsPerNode = flag('--pods', 30);
const instanceType = 'm5.xlarge';
const trace = scaleUpTrace({ nodes, podsPerNode });
// Pods retry thousands of times while EC2 throttles; error stack traces are pure cost here.
Error.stackTraceLimit = 0;
const observeNodes = !process.argv.includes('--describe-every-reconcile');
const rows: string[] = [];
const describes: number[] = [];
const runs = POLICIES.map((policy) => ({ policy, label: policy.name, observe: observeNodes }));
if (observeNodes) runs.push({ policy: POLICIES[0]!, label: `${POLICIES[0]!.name}, describing on every reconcile (before IMDS)`, observe: false });
for (const { policy, label, observe } of runs) {
  const started = performance.now();
  const r = await simulate(trace, policy, { instanceType, throttling: true, warmupMs: 0, drainMs: 3_600_000, observeNodes: observe });
  const firstPodMs = trace.events[0]!.t * 1000;
  const allAddressed = r.podsUnserved === 0 ? `${((r.lastAddressAtMs - firstPodMs) / 1000).toFixed(0)} s` : `not all: ${r.podsUnserved} pods unserved`;
  const line = `| ${label} | ${allAddressed} | ${r.podsWaited} | ${(r.waitP50Ms / 1000).toFixed(1)} s / ${(r.waitP99Ms / 1000).toFixed(1)} s | ${r.mutatingCalls} | ${r.callsByAction['DescribeNetworkInterfaces'] ?? 0} | ${r.metadataReads} | ${r.throttledCalls} | ${r.podsUnserved} |`;
  rows.push(line);
  if (policy === POLICIES[0]) describes.push(r.callsByAction['DescribeNetworkInterfaces'] ?? 0);
  console.log(`${line}  (${((performance.now() - started) / 1000).toFixed(0)} s to simulate)`);
}
const table = [
  '| policy | until every pod has an address | pods that waited | wait p50 / p99 | mutating EC2 calls | DescribeNetworkInterfaces | IMDS reads (not EC2) | throttled responses (retried) | pods never addressed |',
  '|---|---|---|---|---|---|---|---|---|',
  ...rows,
].join('\n');
console.log(`\n${table}`);
const [describesNow, describesBefore] = describes;
const comparison =
  describesNow === undefined || describesBefore === undefined
    ? ''
    : ` The last row is the nativeip default again with every reconcile describing the node from EC2, as before IMDS observation: ${describesBefore.toLocaleString('en-US')} DescribeNetworkInterfaces calls against ${describesNow.toLocaleString('en-US')}; most of those left are the ${nodes.toLocaleString('en-US')} start-up describes and their throttled retries, and one describe per node every 15 minutes. The bottleneck of the scale-up is the mutating bucket (5/s for the whole account), which IMDS cannot relieve; what relieves it is spending fewer of its tokens: an ENI whose attach was throttled is kept and attached by the next grow instead of deleted and created again (before that change the adaptive default needed 1,378 s here, with 3,300 ENI deletions), and no node releases addresses for 30 minutes after it was throttled.`;
if (!process.argv.includes('--no-write') && observeNodes) {
  writeSection(
    'cluster-scale',
    [
      '## Cluster scale-up (simulated)',
      '',
      `${machineLine()}. \`bench/cluster-scale.ts\`: ${trace.description}; ${instanceType}; every daemon shares one account's EC2 token buckets (describes 100 + 20/s, attach/detach 50 + 5/s, assign/unassign/create/delete/modify 100 + 5/s), and each runs the provider's client-side limiter (90% of each bucket, so no node alone exceeds it). A throttled request is retried as the SDK's standard mode does (3 attempts, full jitter from 1 s), then by the pool with equal-jitter exponential backoff (1 s doubling to 60 s), and by kubelet every 2 s; "pods never addressed" counts pods still without an address an hour after the last arrival (throttling after retries were exhausted). Each reconcile (every 60 s) reads the node from IMDS and describes it from EC2 only on a mismatch or every 15 minutes; the simulated hour runs from the first pod to an hour after the last. Call columns count every attempt, throttled ones included.${comparison}`,
      '',
      table,
    ].join('\n'),
  );
}
