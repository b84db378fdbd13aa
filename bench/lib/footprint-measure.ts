/**
 * One footprint measurement (bench/footprint.ts): a fresh emulated m5.16xlarge node, one
 * nativeip-ipamd, `pods` pods through the `add` RPC with the real datapath, then `idleSeconds`
 * idle while its resident set is sampled each second; optionally the Kubernetes API connected, and
 * /metrics scraped (its cost, and the resident set while it is scraped). Root only.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, readlinkSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPodNetns, deletePodNetns } from '../../src/demo/pods.js';
import { callDaemon } from '../../src/rpc/client.js';
import { startAwsCluster, type AwsCluster } from '../../src/emulator/aws/cluster.js';
import { KubeNode } from './kube-node.js';
import { MachineLoadSampler, type MachineLoad } from './machine-load.js';
import { sampleProcess } from './proc.js';

const PREFIX = 'pf-fp-';
const BATCH = 25;
export const NODE_NAME = 'footprint-node';
const NAMESPACE = 'footprint';
/** kubelet's max-pods on the Node: above the 250 pods, below the instance type's 737. */
export const CAPACITY_PODS = 300;

export interface MeasureOptions {
  readonly pods: number;
  readonly idleSeconds: number;
  /** Directory of the built binaries. */
  readonly binDir: string;
  readonly kubernetes: boolean;
  /** Extra daemon environment (DISABLE_METRICS, …). */
  readonly env?: Readonly<Record<string, string>>;
  /**
   * Scrape /metrics this many times back to back once the pods are in (time and bytes of each),
   * and once a second through the idle window. 0: never scraped.
   */
  readonly scrapes?: number;
}

/** What scraping /metrics cost, with the pods in. */
export interface ScrapeCost {
  /** Milliseconds per scrape (HTTP GET to the last byte), sorted. */
  readonly ms: readonly number[];
  /** Bytes of the exposition (the largest seen). */
  readonly bytes: number;
  /** Samples (non-comment lines) in it. */
  readonly samples: number;
}

export interface FootprintResult {
  /** Set when /metrics was scraped. */
  readonly scrape?: ScrapeCost;
  readonly kubernetes: boolean;
  readonly pods: number;
  /** The daemon's runtime: `node --version` of its executable. */
  readonly daemonNode: string;
  readonly emptyRssKiB: number;
  /** One sample a second while idle, sorted. */
  readonly idleRssKiB: readonly number[];
  readonly hwmKiB: number;
  readonly cpuPercent: number;
  readonly idleSeconds: number;
  readonly poolTotal: number;
  readonly interfaces: number;
  readonly warmPolicy: string;
  readonly maxPods: number | undefined;
  /** The resident set at the end of the idle window by kind: anonymous (heap, malloc), file-backed (the executable, libraries), shared memory. */
  readonly rssKindsKiB: { readonly anon: number; readonly file: number; readonly shmem: number };
  readonly load: MachineLoad;
}

export function mib(kib: number): string {
  return `${(kib / 1024).toFixed(1)} MiB`;
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function rssKinds(pid: number): FootprintResult['rssKindsKiB'] {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN);
  return { anon: field('RssAnon'), file: field('RssFile'), shmem: field('RssShmem') };
}

function daemonNodeVersion(pid: number): string {
  const exe = readlinkSync(`/proc/${pid}/exe`);
  return execFileSync(exe, ['--version']).toString().trim();
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs: number, context: () => Promise<string>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    const value = await probe().catch((error: unknown) => {
      last = error;
      return undefined;
    });
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last === undefined ? '' : ` (${String(last)})`}\n${await context()}`);
    await sleep(250);
  }
}

/** One measurement: a fresh emulated node (and API server), `pods` pods, `idleSeconds` idle. */
export async function measure(options: MeasureOptions): Promise<FootprintResult> {
  const { pods: PODS, idleSeconds: IDLE_SECONDS, binDir: BIN_DIR, kubernetes } = options;
  const ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim());
  const workDir = await mkdtemp(join(tmpdir(), 'nativeip-footprint-'));
  const load = new MachineLoadSampler();
  load.start();
  let kube: KubeNode | undefined;
  let cluster: AwsCluster | undefined;
  const names: string[] = [];
  try {
    if (kubernetes) kube = await KubeNode.start({ nodeName: NODE_NAME, capacityPods: CAPACITY_PODS, namespaces: [NAMESPACE], workDir });
    cluster = await startAwsCluster({
      prefix: PREFIX,
      nodes: 1,
      instanceType: 'm5.16xlarge',
      binDir: BIN_DIR,
      workDir,
      daemonEnv: { NATIVEIP_LOG_LEVEL: 'info', ...(kube?.daemonEnv() ?? {}), ...(options.env ?? {}) },
    });
    const node = cluster.nodes[0]!;
    const pid = node.process?.pid;
    if (pid === undefined) throw new Error('the daemon has no pid');
    const daemonNode = daemonNodeVersion(pid);
    if (kube !== undefined) {
      // The daemon has seen its Node: the pool's max pods is the capacity less its own host-network pod.
      await waitFor('the daemon to see the Node', async () => ((await cluster!.status(node)).maxPods === CAPACITY_PODS - 1 ? true : undefined), 60_000, () => cluster!.logTail(node));
    }
    await sleep(2_000);
    const empty = sampleProcess(pid);
    for (let i = 0; i < PODS; i += 1) names.push(`${PREFIX}p${i}`);
    if (kube !== undefined) await kube.createPods(NAMESPACE, names.map((_, i) => `pod-${i}`));
    for (let start = 0; start < PODS; start += BATCH) {
      const batch = names.slice(start, start + BATCH);
      await Promise.all(
        batch.map(async (name, j) => {
          const netns = await createPodNetns(name);
          const podName = `pod-${start + j}`;
          const added = await callDaemon(
            node.socketPath,
            'add',
            { networkName: 'nativeip', containerId: `footprint-${start + j}`, ifName: 'eth0', netns, podNamespace: NAMESPACE, podName },
            { timeoutMs: 60_000 },
          );
          await kube?.podRunning(NAMESPACE, podName, added.address.replace(/\/\d+$/, ''));
        }),
      );
    }
    const status = await cluster.status(node);
    if (status.pods.length !== PODS) throw new Error(`the daemon holds ${status.pods.length} pods, expected ${PODS}`);
    if (kube !== undefined) {
      await waitFor(
        'the NativeipNode status',
        async () => {
          // Counts are written when they moved by a quarter of max pods, else every 15 minutes:
          // the last pods may not be in it yet. Written at all is what matters here.
          const object = (await kube!.api('GET', `/apis/nativeip.io/v1alpha1/nativeipnodes/${NODE_NAME}`)) as { status?: { addresses?: { assigned?: number } } };
          return object.status?.addresses !== undefined ? true : undefined;
        },
        60_000,
        () => cluster!.logTail(node),
      );
    }
    // Let the pool finish growing to its warm target before measuring idle.
    await sleep(5_000);
    const scrapes = options.scrapes ?? 0;
    const scrape = scrapes > 0 ? await scrapeCost(node.metricsAddress, scrapes) : undefined;
    const before = sampleProcess(pid);
    const t0 = process.hrtime.bigint();
    const idleRss: number[] = [];
    for (let s = 0; s < IDLE_SECONDS; s += 1) {
      await sleep(1_000);
      if (scrapes > 0) await scrapeOnce(node.metricsAddress);
      idleRss.push(sampleProcess(pid).rssKiB);
    }
    const after = sampleProcess(pid);
    const kinds = rssKinds(pid);
    idleRss.sort((a, b) => a - b);
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    const final = await cluster.status(node);
    for (let start = 0; start < PODS; start += BATCH) {
      await Promise.all(
        names.slice(start, start + BATCH).map((_, j) =>
          callDaemon(node.socketPath, 'del', { networkName: 'nativeip', containerId: `footprint-${start + j}`, ifName: 'eth0' }, { timeoutMs: 60_000 }),
        ),
      );
    }
    return {
      ...(scrape === undefined ? {} : { scrape }),
      kubernetes,
      pods: PODS,
      daemonNode,
      emptyRssKiB: empty.rssKiB,
      idleRssKiB: idleRss,
      hwmKiB: after.hwmKiB,
      cpuPercent: ((after.cpuTicks - before.cpuTicks) / ticksPerSecond / seconds) * 100,
      idleSeconds: seconds,
      poolTotal: final.pool.total,
      interfaces: final.interfaces.length,
      warmPolicy: final.warmPool?.policy ?? 'unknown',
      maxPods: final.maxPods,
      rssKindsKiB: kinds,
      load: load.stop(),
    };
  } finally {
    for (const name of names) await deletePodNetns(name);
    await cluster?.close();
    await kube?.stop();
    await rm(workDir, { recursive: true, force: true });
  }
}


/** One GET of /metrics: milliseconds to the last byte, and the body. */
async function scrapeOnce(address: string): Promise<{ ms: number; text: string }> {
  const started = performance.now();
  const response = await fetch(`http://${address}/metrics`);
  const text = await response.text();
  if (!response.ok) throw new Error(`GET http://${address}/metrics: ${response.status}`);
  return { ms: performance.now() - started, text };
}

/** `count` scrapes back to back (after one to warm the connection). */
async function scrapeCost(address: string, count: number): Promise<ScrapeCost> {
  await scrapeOnce(address);
  const ms: number[] = [];
  let bytes = 0;
  let samples = 0;
  for (let i = 0; i < count; i += 1) {
    const one = await scrapeOnce(address);
    ms.push(one.ms);
    bytes = Math.max(bytes, Buffer.byteLength(one.text));
    samples = one.text.split('\n').filter((l) => l !== '' && !l.startsWith('#')).length;
  }
  return { ms: ms.sort((a, b) => a - b), bytes, samples };
}

