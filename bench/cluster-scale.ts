/**
 * Cluster scale-up on one AWS account: N new nodes (default 1,000) start at once and each
 * receives 30 pods; every node's daemon (its pool engine and its real Ec2Provider) shares the
 * account's EC2 request buckets (the emulator's published figures). Reports, per warm-pool policy,
 * the time until every pod has an address and the throttled calls. Simulated time, in-process
 * (see bench/churn.ts).
 *   node scripts/run-ts.mjs bench/cluster-scale.ts [--nodes 1000] [--pods 30] [--no-write]
 *   --describe-every-reconcile: every policy's nodes describe themselves from EC2 on every
 *   reconcile (the behaviour before IMDS observation); never written to BENCHMARKS.md.
 *   Without it, the table ends with one such row for the nativeip default, for comparison.
 */
import { machineLine, writeSection } from './lib/report.js';
import { POLICIES } from '../src/sim/policies.js';
import { simulate } from '../src/sim/simulate.js';
import { scaleUpTrace } from '../src/sim/traces.js';

function flag(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  return i < 0 ? fallback : Number(process.argv[i + 1]);
}

/** What moved when the simulator stopped running its own copy of the AWS provider (issue 10). */
const MOVED_SINCE_THE_COPY = [
  'Until 2026-12-03 the simulator ran its own copy of the provider (`bench/churn/sim-ec2.ts`), which gave 898 s (adaptive default), 1,135 s (`WARM_ENI_TARGET=1`), 1,528 s (IP targets), 542 s (prefixes) and 901 s (describing on every reconcile) here. What moved, and why:',
  '',
  '- **Slower where ENIs are created** (adaptive 898 → 962 s, ENI mode 1,135 → 1,232 s, IP targets 1,528 → 1,585 s, describing on every reconcile 901 → 1,017 s; ModifyNetworkInterfaceAttribute attempts 3,627 → 8,782 for the adaptive default): the copy never set DeleteOnTermination again once EC2 had throttled its ModifyNetworkInterfaceAttribute past the SDK\'s retries, and left it unset on 723 of the adaptive default\'s 2,000 ENIs (1,042 of ENI mode\'s 3,000, 814 of the IP targets\' 2,000): ENIs that would outlive their instances. The real provider sets it before its next create, at each describe and at each leaked-ENI sweep (none is left unset at the end), and those writes come from the mutating bucket every grow needs.',
  '- **DescribeNetworkInterfaces ~16,700 → ~9,000 in every row, DescribeInstanceTypes 0 → ~17,000**: the copy started each node with its first DescribeNetworkInterfaces; the real daemon first asks DescribeInstanceTypes for its limits (see above), so the start-up storm in the describe bucket is now mostly DescribeInstanceTypes, and a node\'s first DescribeNetworkInterfaces comes once that got through. It also spreads the nodes\' first grows: prefix delegation finishes sooner (542 → 520 s) with more pods waiting (22,516 → 23,893); with DescribeInstanceTypes answered at no cost the prefix row is within 2 % of the copy\'s (532 s, 22,484 pods) and the adaptive default needs 998 s (the DeleteOnTermination writes alone).',
  '- Throttled responses rise with both (adaptive 75,776 → 88,826).',
  '- **Since the start holds two interfaces\' worth (issue 11, 2026-12-03)**: the adaptive default needs 1,073 s here (962 s before): each of the 1,000 new nodes now asks for an ENI\'s worth more at once, from the same account-wide mutating bucket; in exchange its nodes stop making pods wait at start on the trace corpus.',
  '- **Since the chunk floor is a share of the interface (issue 11, 2026-12-03)**: 1,137 s (1,073 s before), mutating calls 91,901 → 95,629 from the same account-wide bucket; of them now 33,410 assigns and 746 releases (the split by action before was not recorded). On m5.xlarge a grow outside a burst brings at least 3 addresses instead of 6, and a node gives back what it holds past its churn margin sooner.',
].join('\n');

const nodes = flag('--nodes', 1000);
const podsPerNode = flag('--pods', 30);
const instanceType = 'm5.xlarge';
const trace = scaleUpTrace({ nodes, podsPerNode });
// Pods retry thousands of times while EC2 throttles; error stack traces are pure cost here.
Error.stackTraceLimit = 0;
const observeNodes = !process.argv.includes('--describe-every-reconcile');
const rows: string[] = [];
const describes: number[] = [];
let instanceTypeDescribes = 0;
const runs = POLICIES.map((policy) => ({ policy, label: policy.name, observe: observeNodes }));
if (observeNodes) runs.push({ policy: POLICIES[0]!, label: `${POLICIES[0]!.name}, describing on every reconcile (before IMDS)`, observe: false });
for (const { policy, label, observe } of runs) {
  const started = performance.now();
  const r = await simulate(trace, policy, { cloud: 'aws', instanceType, throttling: true, warmupMs: 0, drainMs: 3_600_000, observeNodes: observe });
  const firstPodMs = trace.events[0]!.t * 1000;
  const allAddressed = r.podsUnserved === 0 ? `${((r.lastAddressAtMs - firstPodMs) / 1000).toFixed(0)} s` : `not all: ${r.podsUnserved} pods unserved`;
  const line = `| ${label} | ${allAddressed} | ${r.podsWaited} | ${(r.waitP50Ms / 1000).toFixed(1)} s / ${(r.waitP99Ms / 1000).toFixed(1)} s | ${r.mutatingCalls} | ${r.callsByAction['DescribeNetworkInterfaces'] ?? 0} | ${r.callsByAction['DescribeInstanceTypes'] ?? 0} | ${r.metadataReads} | ${r.throttledCalls} | ${r.podsUnserved} |`;
  rows.push(line);
  if (policy === POLICIES[0]) describes.push(r.callsByAction['DescribeNetworkInterfaces'] ?? 0);
  if (policy === POLICIES[0] && observe) instanceTypeDescribes = r.callsByAction['DescribeInstanceTypes'] ?? 0;
  console.log(`${line}  (${((performance.now() - started) / 1000).toFixed(0)} s to simulate)`);
  console.log(`  EC2 calls by action: ${JSON.stringify(r.callsByAction)}`);
}
const table = [
  '| policy | until every pod has an address | pods that waited | wait p50 / p99 | mutating EC2 calls | DescribeNetworkInterfaces | DescribeInstanceTypes | IMDS reads (not EC2) | throttled responses (retried) | pods never addressed |',
  '|---|---|---|---|---|---|---|---|---|---|',
  ...rows,
].join('\n');
console.log(`\n${table}`);
const [describesNow, describesBefore] = describes;
const comparison =
  describesNow === undefined || describesBefore === undefined
    ? ''
    : ` The last row is the nativeip default again with every reconcile describing the node from EC2, as before IMDS observation: ${describesBefore.toLocaleString('en-US')} DescribeNetworkInterfaces calls against ${describesNow.toLocaleString('en-US')}; most of those left are the ${nodes.toLocaleString('en-US')} start-up describes and their throttled retries, and one describe per node every 15 minutes. Before its first describe each daemon asks DescribeInstanceTypes for its instance type's limits: ${instanceTypeDescribes.toLocaleString('en-US')} attempts when ${nodes.toLocaleString('en-US')} nodes start at once, most of them throttled, from the same describe bucket (a table of the published limits in the daemon, as the AWS VPC CNI carries, would spare them). The bottleneck of the scale-up is the mutating bucket (5/s for the whole account), which IMDS cannot relieve; what relieves it is spending fewer of its tokens: an ENI whose attach was throttled is kept and attached by the next grow instead of deleted and created again (before that change the adaptive default needed 1,378 s here, with 3,300 ENI deletions), and no node releases addresses for 30 minutes after it was throttled.`;
if (!process.argv.includes('--no-write') && observeNodes) {
  writeSection(
    'cluster-scale',
    [
      '## Cluster scale-up (simulated)',
      '',
      `${machineLine()}. \`bench/cluster-scale.ts\`: ${trace.description}; ${instanceType}; every node runs the daemon's pool engine and its real \`Ec2Provider\` on the emulated EC2 in-process, as \`bench/churn.ts\` does; every daemon shares one account's EC2 token buckets (describes 100 + 20/s, attach/detach 50 + 5/s, assign/unassign/create/delete/modify 100 + 5/s), and each runs the provider's client-side limiter (90% of each bucket, so no node alone exceeds it). A throttled request is retried as the SDK's standard mode does (3 attempts, full jitter from 1 s), then by the pool with equal-jitter exponential backoff (1 s doubling to 60 s), and by kubelet every 2 s; "pods never addressed" counts pods still without an address an hour after the last arrival (throttling after retries were exhausted). Each reconcile (every 60 s) reads the node from IMDS and describes it from EC2 only on a mismatch or every 15 minutes; the simulated hour runs from the first pod to an hour after the last. Call columns count every attempt, throttled ones included.${comparison}`,
      '',
      table,
      '',
      MOVED_SINCE_THE_COPY,
    ].join('\n'),
  );
}
