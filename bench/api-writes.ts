/**
 * What one node's daemon writes to the Kubernetes API: the real nativeip-ipamd (built bundle) on
 * an emulated m5.xlarge, connected to a real kube-apiserver + etcd on loopback (bench/lib/kube-node.ts)
 * whose audit log records every request of the daemon's ServiceAccount at level Metadata. Three
 * phases: start-up (the node joins and fills to half), steady churn for a bounded time (pods in
 * and out every 10–20 s through the `add`/`del` RPC with the real datapath, each also created and
 * deleted as an API object and marked Running with its address as kubelet would; the fill wanders
 * around half of max pods), then a burst that asks for more pods than the Node may run, retries
 * the refused ones as kubelet does, and drains back. Counts the writes (create, update, patch,
 * delete) by resource in each phase from the audit log, and extrapolates the steady ones to an
 * hour. Root only. Prints figures; asserts nothing.
 * Run: npm run build && node scripts/run-ts.mjs bench/api-writes.ts [minutes] [--no-write] [--seed=N] [--keep]
 * (minutes of steady churn, default 20; `--keep` leaves the logs; NATIVEIP_BENCH_BIN: a private copy of dist/bin.)
 */
import { readFile, writeFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ClusterNode } from '../src/demo/emulated-cluster.js';
import { createPodNetns, deletePodNetns } from '../src/demo/pods.js';
import { callDaemon } from '../src/rpc/client.js';
import { seededRandom } from '../src/core/seeded-random.js';
import { buildRevision } from './lib/build-revision.js';
import { DAEMON_USER, KubeNode } from './lib/kube-node.js';
import { MachineLoadSampler, describeLoad } from './lib/machine-load.js';
import { sampleProcess } from './lib/proc.js';
import { REPO_ROOT, machineLine, writeSection } from './lib/report.js';
import { startAwsCluster, type AwsCluster } from '../src/emulator/aws/cluster.js';

const flags = process.argv.slice(2).filter((a) => a.startsWith('--'));
const positional = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const MINUTES = Number(positional[0] ?? 20);
const WRITE = !flags.includes('--no-write');
/** Keep the work directory (daemon log, audit log) and the control plane's, and print where. */
const KEEP = flags.includes('--keep');
const SEED = Number(flags.find((f) => f.startsWith('--seed='))?.slice('--seed='.length) ?? 1);
const PREFIX = 'pf-aw-';
const NODE_NAME = 'churn-node';
const NAMESPACE = 'churn';
const INSTANCE_TYPE = 'm5.xlarge';
/** kubelet's max-pods: the pool's max pods is this less the daemon's own host-network pod. */
const CAPACITY_PODS = 30;
const MAX_PODS = CAPACITY_PODS - 1;
const HALF = Math.round(MAX_PODS / 2);
/** The steady churn's gaps between two arrivals (and two departures), in seconds. */
const GAP_SECONDS = [10, 20] as const;
const SETTLE_MS = 60_000;
/** Burst: pods asked for beyond max pods, how long refused ones are retried, and how often. */
const BURST_EXCESS = 6;
const BURST_HOLD_MS = 120_000;
const RETRY_MS = 10_000;
const DRAIN_WAIT_MS = 90_000;
/** NATIVEIP_BENCH_BIN: a private copy of dist/bin, safe from a concurrent `npm run build`. */
const BIN_DIR = process.env['NATIVEIP_BENCH_BIN'] ?? join(REPO_ROOT, 'dist', 'bin');

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

interface AuditEvent {
  readonly stage: string;
  readonly verb: string;
  readonly user: { readonly username: string };
  readonly objectRef?: { readonly resource?: string; readonly subresource?: string; readonly name?: string; readonly apiGroup?: string };
  readonly responseStatus?: { readonly code?: number };
  readonly requestReceivedTimestamp: string;
}

const WRITE_VERBS = new Set(['create', 'update', 'patch', 'delete', 'deletecollection']);

interface Phase {
  readonly name: string;
  readonly fromMs: number;
  toMs: number;
}

/** The pods of the node as the benchmark drives them: in the API and in the daemon. */
class Pods {
  readonly live = new Set<string>();
  readonly refused = new Set<string>();
  readonly busy = new Set<string>();
  added = 0;
  deleted = 0;
  refusals = 0;
  #next = 0;

  constructor(
    private readonly kube: KubeNode,
    private readonly node: ClusterNode,
  ) {}

  newName(): string {
    this.#next += 1;
    return `w-${this.#next}`;
  }

  /** Creates the pod object, then ADD (as kubelet after scheduling); a refused ADD leaves the pod Pending. */
  async arrive(names: readonly string[]): Promise<void> {
    for (const n of names) this.busy.add(n);
    try {
      await this.kube.createPods(NAMESPACE, names);
      await Promise.all(names.map((n) => this.#add(n)));
    } finally {
      for (const n of names) this.busy.delete(n);
    }
  }

  /** ADD again for pods refused before (kubelet retries the sandbox). */
  async retry(): Promise<void> {
    const names = [...this.refused].filter((n) => !this.busy.has(n));
    for (const n of names) this.busy.add(n);
    try {
      await Promise.all(names.map((n) => this.#add(n)));
    } finally {
      for (const n of names) this.busy.delete(n);
    }
  }

  async #add(name: string): Promise<void> {
    const netns = await createPodNetns(`${PREFIX}${name}`);
    try {
      const result = await callDaemon(
        this.node.socketPath,
        'add',
        { networkName: 'nativeip', containerId: `aw-${name}`, ifName: 'eth0', netns, podNamespace: NAMESPACE, podName: name },
        { timeoutMs: 60_000 },
      );
      this.refused.delete(name);
      this.live.add(name);
      this.added += 1;
      await this.kube.podRunning(NAMESPACE, name, result.address.replace(/\/\d+$/, ''));
    } catch (error) {
      if (!/max pods|no free address|address/i.test(String(error))) throw error;
      // kubelet tears the failed sandbox down before it tries again.
      await deletePodNetns(`${PREFIX}${name}`);
      this.refused.add(name);
      this.refusals += 1;
    }
  }

  /** Deleted in the API as kubelet sees it: graceful delete, DEL and the namespace gone, terminal status, final delete. */
  async depart(names: readonly string[]): Promise<void> {
    for (const n of names) this.busy.add(n);
    try {
      await this.kube.deletePods(NAMESPACE, names, async () => {
        await Promise.all(
          names.map(async (name) => {
            if (this.live.has(name)) {
              await callDaemon(this.node.socketPath, 'del', { networkName: 'nativeip', containerId: `aw-${name}`, ifName: 'eth0', podNamespace: NAMESPACE, podName: name }, { timeoutMs: 60_000 });
              await deletePodNetns(`${PREFIX}${name}`);
            }
          }),
        );
      });
      for (const n of names) {
        if (this.live.delete(n)) this.deleted += 1;
        this.refused.delete(n);
      }
    } finally {
      for (const n of names) this.busy.delete(n);
    }
  }

  idle(): string[] {
    return [...this.live].filter((n) => !this.busy.has(n));
  }
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('bench/api-writes needs root (network namespaces)');
  const rand = seededRandom(SEED);
  const gap = () => (GAP_SECONDS[0] + rand() * (GAP_SECONDS[1] - GAP_SECONDS[0])) * 1000;
  const workDir = await mkdtemp(join(tmpdir(), 'nativeip-api-writes-'));
  const auditLog = join(workDir, 'audit.log');
  const auditPolicy = join(workDir, 'audit-policy.json');
  await writeFile(
    auditPolicy,
    JSON.stringify({
      apiVersion: 'audit.k8s.io/v1',
      kind: 'Policy',
      omitStages: ['RequestReceived'],
      rules: [{ level: 'Metadata', users: [DAEMON_USER] }, { level: 'None' }],
    }),
  );
  const load = new MachineLoadSampler({ intervalMs: 5_000 });
  load.start();
  const phases: Phase[] = [];
  const rss: { atMs: number; kib: number }[] = [];
  let kube: KubeNode | undefined;
  let cluster: AwsCluster | undefined;
  let pods: Pods | undefined;
  try {
    kube = await KubeNode.start({
      nodeName: NODE_NAME,
      capacityPods: CAPACITY_PODS,
      namespaces: [NAMESPACE],
      workDir,
      extraApiServerArgs: [`--audit-policy-file=${auditPolicy}`, `--audit-log-path=${auditLog}`, '--audit-log-format=json', '--audit-log-mode=blocking'],
      keepDir: KEEP,
    });
    const startup: Phase = { name: 'start-up', fromMs: Date.now(), toMs: 0 };
    phases.push(startup);
    cluster = await startAwsCluster({
      prefix: PREFIX,
      nodes: 1,
      instanceType: INSTANCE_TYPE,
      binDir: BIN_DIR,
      workDir,
      daemonEnv: { NATIVEIP_LOG_LEVEL: 'info', ...kube.daemonEnv() },
    });
    const node = cluster.nodes[0]!;
    const pid = node.process?.pid;
    if (pid === undefined) throw new Error('the daemon has no pid');
    const rssTimer = setInterval(() => rss.push({ atMs: Date.now(), kib: sampleProcess(pid).rssKiB }), 10_000);
    for (let deadline = Date.now() + 60_000; (await cluster.status(node)).maxPods !== MAX_PODS; ) {
      if (Date.now() > deadline) throw new Error(`the daemon did not take max pods ${MAX_PODS} from the Node\n${await cluster.logTail(node)}`);
      await sleep(250);
    }
    pods = new Pods(kube, node);
    const p = pods;
    const initial = Array.from({ length: HALF }, () => p.newName());
    await p.arrive(initial);
    await sleep(SETTLE_MS);
    startup.toMs = Date.now();

    // Steady churn: arrivals and departures on their own clocks, each every 10–20 s; an arrival
    // is skipped above 1.5 × half the node and a departure below 0.5 × half.
    const steady: Phase = { name: 'steady', fromMs: Date.now(), toMs: 0 };
    phases.push(steady);
    const end = steady.fromMs + MINUTES * 60_000;
    let lowest = p.live.size;
    let highest = p.live.size;
    const arrivals = (async () => {
      while (Date.now() + 1 < end) {
        await sleep(Math.min(gap(), Math.max(0, end - Date.now())));
        if (Date.now() >= end) break;
        if (p.live.size + p.busy.size < HALF * 1.5) await p.arrive([p.newName()]);
        highest = Math.max(highest, p.live.size);
      }
    })();
    const departures = (async () => {
      while (Date.now() + 1 < end) {
        await sleep(Math.min(gap(), Math.max(0, end - Date.now())));
        if (Date.now() >= end) break;
        const idle = p.idle();
        if (p.live.size > HALF * 0.5 && idle.length > 0) await p.depart([idle[Math.floor(rand() * idle.length)]!]);
        lowest = Math.min(lowest, p.live.size);
      }
    })();
    await Promise.all([arrivals, departures]);
    steady.toMs = Date.now();
    const steadyPods = { added: p.added - HALF, deleted: p.deleted, lowest, highest };
    const rssSteady = rss.filter((s) => s.atMs >= steady.fromMs && s.atMs <= steady.toMs);
    console.log(`steady: ${steadyPods.added} pods in, ${steadyPods.deleted} out over ${((steady.toMs - steady.fromMs) / 60_000).toFixed(1)} min; fill ${lowest}–${highest}`);

    // Burst: more pods than the Node may run, all at once; refused ones retried every 10 s for
    // 2 minutes; then the node drains back to half.
    const burst: Phase = { name: 'burst', fromMs: Date.now(), toMs: 0 };
    phases.push(burst);
    const refusedBefore = p.refusals;
    const addedBefore = p.added;
    const wanted = MAX_PODS + BURST_EXCESS - p.live.size;
    await p.arrive(Array.from({ length: wanted }, () => p.newName()));
    const burstRefused = p.refused.size;
    for (let t = Date.now(); Date.now() - t < BURST_HOLD_MS; ) {
      await sleep(RETRY_MS);
      await p.retry();
    }
    const drain = [...p.refused, ...p.idle().slice(0, Math.max(0, p.live.size - HALF))];
    const drainStartMs = Date.now();
    await p.depart(drain);
    await sleep(DRAIN_WAIT_MS);
    burst.toMs = Date.now();
    clearInterval(rssTimer);
    const burstPods = { asked: wanted, refusedAtOnce: burstRefused, refusals: p.refusals - refusedBefore, added: p.added - addedBefore, drained: drain.length };
    const events = (await kube.api('GET', `/api/v1/namespaces/${NAMESPACE}/events`)) as { items: { reason?: string; count?: number; involvedObject?: { name?: string }; source?: { component?: string } }[] };
    const ours = events.items.filter((e) => e.source?.component === 'nativeip');
    const log = await readFile(node.logFile, 'utf8');
    const audit = (await readFile(auditLog, 'utf8'))
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as AuditEvent)
      .filter((e) => e.stage === 'ResponseComplete' && e.user.username === DAEMON_USER);
    report({ phases, audit, log, steadyPods, burstPods, events: { objects: ours.length, count: ours.reduce((s, e) => s + (e.count ?? 1), 0) }, rss, rssSteady, drainStartMs, load: load.stop() });
  } finally {
    if (pods !== undefined) for (const n of [...pods.live, ...pods.refused]) await deletePodNetns(`${PREFIX}${n}`);
    await cluster?.close();
    await kube?.stop();
    if (KEEP) console.log(`kept: ${workDir} (daemon log node1/ipamd.log, audit.log), ${kube?.cp.dir ?? ''} (API server and etcd logs)`);
    else await rm(workDir, { recursive: true, force: true });
  }
}

interface Report {
  readonly phases: readonly Phase[];
  readonly audit: readonly AuditEvent[];
  readonly log: string;
  readonly steadyPods: { added: number; deleted: number; lowest: number; highest: number };
  readonly burstPods: { asked: number; refusedAtOnce: number; refusals: number; added: number; drained: number };
  readonly events: { objects: number; count: number };
  readonly rss: readonly { atMs: number; kib: number }[];
  readonly rssSteady: readonly { atMs: number; kib: number }[];
  readonly drainStartMs: number;
  readonly load: ReturnType<MachineLoadSampler['stop']>;
}

function resourceOf(e: AuditEvent): string {
  const ref = e.objectRef;
  if (ref?.resource === undefined) return '(no resource)';
  return ref.subresource === undefined ? ref.resource : `${ref.resource}/${ref.subresource}`;
}

function report(r: Report): void {
  const [startup, steady, burst] = r.phases as [Phase, Phase, Phase];
  const inPhase = (phase: Phase) => r.audit.filter((e) => {
    const t = Date.parse(e.requestReceivedTimestamp);
    return t >= phase.fromMs && t < phase.toMs;
  });
  // Everything before the steady phase counts as start-up, the daemon's first requests included.
  startup.toMs = steady.fromMs;
  const early = r.audit.filter((e) => Date.parse(e.requestReceivedTimestamp) < steady.fromMs);
  const byKey = (events: readonly AuditEvent[], verbs: (v: string) => boolean) => {
    const counts = new Map<string, number>();
    for (const e of events) if (verbs(e.verb)) counts.set(`${resourceOf(e)} ${e.verb}`, (counts.get(`${resourceOf(e)} ${e.verb}`) ?? 0) + 1);
    return counts;
  };
  const isWrite = (v: string) => WRITE_VERBS.has(v);
  const phaseWrites = [byKey(early, isWrite), byKey(inPhase(steady), isWrite), byKey(inPhase(burst), isWrite)] as const;
  const keys = [...new Set(phaseWrites.flatMap((m) => [...m.keys()]))].sort();
  const steadyHours = (steady.toMs - steady.fromMs) / 3_600_000;
  const startupSeconds = (steady.fromMs - startup.fromMs) / 1000;
  const burstSeconds = (burst.toMs - burst.fromMs) / 1000;
  const sum = (m: Map<string, number>) => [...m.values()].reduce((a, b) => a + b, 0);
  const table = [
    `| resource, verb | start-up (${startupSeconds.toFixed(0)} s) | steady churn: count in ${(steadyHours * 60).toFixed(1)} min | steady churn: per hour | burst and drain (${burstSeconds.toFixed(0)} s) |`,
    '|---|---|---|---|---|',
    ...keys.map((k) => {
      const steadyCount = phaseWrites[1].get(k) ?? 0;
      return `| ${k} | ${phaseWrites[0].get(k) ?? 0} | ${steadyCount} | ${(steadyCount / steadyHours).toFixed(1)} | ${phaseWrites[2].get(k) ?? 0} |`;
    }),
    `| **all writes** | ${sum(phaseWrites[0])} | ${sum(phaseWrites[1])} | ${(sum(phaseWrites[1]) / steadyHours).toFixed(1)} | ${sum(phaseWrites[2])} |`,
  ].join('\n');
  const reads = byKey(inPhase(steady), (v) => !isWrite(v));
  const readLine = [...reads].sort().map(([k, n]) => `${k} ${n} (${(n / steadyHours).toFixed(0)} an hour)`).join(', ');
  const failed = r.audit.filter((e) => (e.responseStatus?.code ?? 0) >= 400);
  const failedLine = [...byKey(failed, () => true)].map(([k, n]) => `${k} ${n}`).join(', ');
  const failedCodes = [...new Set(failed.map((e) => e.responseStatus?.code))].join(', ');
  // The Node writes of the burst, in time order, relative to its start.
  const timeline = inPhase(burst)
    .filter((e) => e.objectRef?.resource === 'nodes' && isWrite(e.verb))
    .map((e) => `${((Date.parse(e.requestReceivedTimestamp) - burst.fromMs) / 1000).toFixed(1)} s ${resourceOf(e)}`)
    .join(', ');
  const logLines = r.log.split('\n').filter((l) => l !== '').map((l) => {
    try {
      return JSON.parse(l) as { level?: number; msg?: string; time?: string; available?: boolean; reason?: string; taint?: string | null };
    } catch {
      return {};
    }
  });
  const availability = logLines
    .filter((l) => l.msg === 'Node condition and taint written' && l.time !== undefined && Date.parse(l.time) >= burst.fromMs)
    .map((l) => `${((Date.parse(l.time!) - burst.fromMs) / 1000).toFixed(1)} s ${l.available === true ? 'available' : `not available (${l.reason}), taint ${l.taint ?? 'none'}`}`)
    .join('; ');
  const warnings = new Map<string, number>();
  for (const l of logLines) if ((l.level ?? 0) >= 40) warnings.set(l.msg ?? '?', (warnings.get(l.msg ?? '?') ?? 0) + 1);
  const warningLine = [...warnings].map(([m, n]) => `"${m}" ×${n}`).join(', ');
  const mib = (kib: number) => `${(kib / 1024).toFixed(1)} MiB`;
  const steadyRss = r.rssSteady.map((s) => s.kib);
  const firstTen = steadyRss.slice(0, Math.max(1, Math.floor(steadyRss.length / 10)));
  const lastTen = steadyRss.slice(-Math.max(1, Math.floor(steadyRss.length / 10)));
  const avg = (v: readonly number[]) => v.reduce((a, b) => a + b, 0) / Math.max(1, v.length);
  const steadyFrom = r.rssSteady[0]?.atMs ?? 0;
  const marks: string[] = [];
  for (let minute = 0; minute <= steadyHours * 60 + 0.01; minute += 5) {
    const sample = r.rssSteady.find((s) => s.atMs >= steadyFrom + minute * 60_000 - 5_000);
    if (sample !== undefined) marks.push(`${minute} min ${mib(sample.kib)}`);
  }
  const memory = `daemon resident memory (VmRSS, every 10 s) during the steady churn: ${mib(Math.min(...steadyRss))} … ${mib(Math.max(...steadyRss))}, mean of the first tenth ${mib(avg(firstTen))}, of the last tenth ${mib(avg(lastTen))} (at ${marks.join(', ')}); whole run at most ${mib(Math.max(...r.rss.map((s) => s.kib)))}`;
  const drainAt = ((r.drainStartMs - burst.fromMs) / 1000).toFixed(0);
  const summary = [
    `Steady churn: ${r.steadyPods.added} pods in and ${r.steadyPods.deleted} out in ${(steadyHours * 60).toFixed(1)} minutes (${(r.steadyPods.added / steadyHours).toFixed(0)} an hour), fill between ${r.steadyPods.lowest} and ${r.steadyPods.highest} of ${MAX_PODS}.`,
    `Burst: ${r.burstPods.asked} pods asked for at once on top of the running ones (${BURST_EXCESS} beyond max pods ${MAX_PODS}), ${r.burstPods.refusedAtOnce} refused at first, retried every ${RETRY_MS / 1000} s for ${BURST_HOLD_MS / 1000} s (${r.burstPods.refusals} refused ADDs in all, ${r.burstPods.added} served); from ${drainAt} s the refused pods and enough running ones (${r.burstPods.drained} in all) were deleted, back to ${HALF}, and the run went on ${DRAIN_WAIT_MS / 1000} s. The daemon's Warning Events in the namespace at the end: ${r.events.objects} objects, counts summing to ${r.events.count}.`,
    `Node writes of the burst (seconds from its start): ${timeline || 'none'}. The daemon's log, condition and taint written: ${availability || 'none'}.`,
    `Reads by the daemon during the steady churn: ${readLine || 'none'} (a watch is one request for as long as it lasts; @kubernetes/client-node ends a watch that received nothing for 30 s and the daemon's list-watch opens it again).`,
    `Requests the API server refused or failed: ${failed.length === 0 ? 'none' : `${failedLine} (codes ${failedCodes})`}. The daemon's warnings and errors: ${warningLine || 'none'}.`,
    `Memory: ${memory}.`,
  ];
  console.log(table);
  for (const line of summary) console.log(line);
  console.log(describeLoad(r.load));
  if (!WRITE) return;
  writeSection(
    'api-writes',
    [
      '## Kubernetes API writes of one node',
      '',
      `${machineLine()}. Build: ${buildRevision(BIN_DIR)}. Measured by \`bench/api-writes.ts\` (seed ${SEED}): the built \`nativeip-ipamd\` on an emulated \`${INSTANCE_TYPE}\`, connected to a real kube-apiserver v1.35.4 + etcd on loopback through the manifests' CRD, RBAC and admission policy, as the \`nativeip\` ServiceAccount with a token bound to its host-network pod on the Node \`${NODE_NAME}\` (\`status.capacity.pods\` ${CAPACITY_PODS}, so max pods ${MAX_PODS}). The API server's audit log recorded every request of \`${DAEMON_USER}\` at level Metadata; the table counts the writes (create, update, patch, delete) by resource, at the time the API server received them. Pods are API objects bound to the Node, created before their ADD and marked Running with their address after it (what kubelet writes); a departure is deleted in kubelet's order: a graceful delete (deletionTimestamp), the DEL, the terminal status (phase Failed), the final delete with grace 0; the \`add\`/\`del\` RPCs run the real datapath, each pod in its own network namespace. Default daemon settings (adaptive warm pool, 30 s cooldown, taint on). Start-up: the daemon starts, fills to ${HALF} pods at once, then ${SETTLE_MS / 1000} s pass. Steady churn: ${MINUTES} minutes with an arrival every ${GAP_SECONDS[0]}–${GAP_SECONDS[1]} s and, on its own clock, a departure every ${GAP_SECONDS[0]}–${GAP_SECONDS[1]} s (an arrival is skipped above ${HALF * 1.5} pods, a departure below ${HALF * 0.5}). Per hour = the steady count ÷ the steady time: with counts this small, ±1 write in the window is ±${(1 / steadyHours).toFixed(0)} an hour. While it ran: ${describeLoad(r.load)}.`,
      '',
      table,
      '',
      ...summary.map((s) => `- ${s}`),
    ].join('\n'),
    { after: 'footprint-kubernetes' },
  );
}

await main();
