/**
 * Pod-start latency of nativeip against the reference plugins, on one emulated node in one run:
 * the built nativeip-cni (→ nativeip-ipamd → netlink) and `ptp` + `host-local` v1.9.1, both
 * started inside the node's network namespace with the same spawn, so both pay the same exec
 * overhead. Sequential ADD/DEL cycles with a warm pool, then bursts of concurrent ADDs and DELs,
 * then a breakdown of where our ADD's time goes. Root only. Prints figures; asserts nothing.
 * Run: npm run build && node scripts/run-ts.mjs bench/cni-latency.ts [cycles] [burst] [--no-write]
 * (`--no-write` prints the tables without rewriting BENCHMARKS.md.)
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { ClusterNode } from '../src/demo/emulated-cluster.js';
import { createPodNetns, deletePodNetns } from '../src/demo/pods.js';
import { callDaemon } from '../src/rpc/client.js';
import { execCni, resultAddress, type CniExec, type CniExecOutcome } from './lib/cni-exec.js';
import { REPO_ROOT, machineLine, mean, ms, percentile, writeSection } from './lib/report.js';
import { startAwsCluster } from '../src/emulator/aws/cluster.js';

const positional = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const WRITE = !process.argv.includes('--no-write');
const CYCLES = Number(positional[0] ?? 200);
const BURST = Number(positional[1] ?? 110);
const BURST_ROUNDS = 3;
const WARMUP = 10;
const PREFIX = 'pf-lb-';
/** NATIVEIP_BENCH_BIN: a private copy of dist/bin, safe from a concurrent `npm run build`. */
const DIST_BIN = process.env['NATIVEIP_BENCH_BIN'] ?? join(REPO_ROOT, 'dist', 'bin');
const CNI_BIN = process.env['CNI_TOOLS_DIR'] ?? join(REPO_ROOT, '.tmp', 'cni-bin');

interface Contender {
  readonly label: string;
  readonly binary: string;
  readonly config: Readonly<Record<string, unknown>>;
}

interface Samples {
  readonly add: number[];
  readonly del: number[];
  readonly burstAdd: number[];
  readonly burstDel: number[];
}

function newSamples(): Samples {
  return { add: [], del: [], burstAdd: [], burstDel: [] };
}

function check(outcome: CniExecOutcome, what: string): CniExecOutcome {
  if (outcome.exitCode !== 0) throw new Error(`${what} failed (exit ${outcome.exitCode}): ${outcome.stdout}${outcome.stderr}`);
  return outcome;
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('bench/cni-latency needs root (network namespaces)');
  for (const needed of [join(DIST_BIN, 'nativeip-cni'), join(DIST_BIN, 'nativeip-ipamd'), join(CNI_BIN, 'ptp'), join(CNI_BIN, 'host-local')]) {
    if (!existsSync(needed)) throw new Error(`${needed} missing: run npm run build and scripts/install-cni-tools.sh`);
  }
  const loadAtStart = loadavg()[0] ?? 0;
  const workDir = await mkdtemp(join(tmpdir(), 'nativeip-bench-'));
  // A pool that stays warm through every phase: each released address cools down for the
  // default 30 s, so the node keeps enough addresses for all cycles and bursts without growing.
  const minimum = Math.min(700, CYCLES + WARMUP + BURST * BURST_ROUNDS + 50);
  const cluster = await startAwsCluster({
    prefix: PREFIX,
    nodes: 1,
    instanceType: 'm5.16xlarge',
    binDir: DIST_BIN,
    workDir,
    daemonEnv: { MINIMUM_IP_TARGET: String(minimum), NATIVEIP_LOG_LEVEL: 'info' },
  });
  const pods: string[] = [];
  try {
    const node = cluster.nodes[0]!;
    await cluster.waitForPool(node, minimum, 120_000);
    for (let i = 0; i < BURST; i += 1) {
      const name = `${PREFIX}p${i}`;
      await createPodNetns(name);
      pods.push(name);
    }
    const ours: Contender = {
      label: 'nativeip',
      binary: join(DIST_BIN, 'nativeip-cni'),
      config: { cniVersion: '1.0.0', name: 'nativeip', type: 'nativeip-cni', socketPath: node.socketPath },
    };
    const reference: Contender = {
      label: 'ptp + host-local v1.9.1',
      binary: join(CNI_BIN, 'ptp'),
      config: {
        cniVersion: '1.0.0',
        name: 'refnet',
        type: 'ptp',
        ipMasq: false,
        mtu: 9001,
        ipam: { type: 'host-local', ranges: [[{ subnet: '10.200.0.0/16' }]], dataDir: join(workDir, 'host-local') },
      },
    };
    const run = (c: Contender, command: 'ADD' | 'DEL' | 'VERSION', index: number, netns: string): Promise<CniExecOutcome> => {
      const call: CniExec = {
        binary: c.binary,
        command,
        containerId: `bench-${c.config['name'] as string}-${index}`,
        netns: `/run/netns/${netns}`,
        ifName: 'eth0',
        args: `IgnoreUnknown=1;K8S_POD_NAMESPACE=bench;K8S_POD_NAME=pod-${index}`,
        cniPath: CNI_BIN,
        config: c.config,
        hostNetnsPath: node.netnsPath,
      };
      return execCni(call);
    };

    const results = new Map<Contender, Samples>([
      [ours, newSamples()],
      [reference, newSamples()],
    ]);
    const seqPod = pods[0]!;
    let index = 0;
    const sequentialIds = new Set<string>();
    const cycle = async (c: Contender, record: boolean): Promise<void> => {
      index += 1;
      const add = check(await run(c, 'ADD', index, seqPod), `${c.label} ADD`);
      resultAddress(add);
      const del = check(await run(c, 'DEL', index, seqPod), `${c.label} DEL`);
      if (record) {
        if (c === ours) sequentialIds.add(`bench-nativeip-${index}`);
        results.get(c)!.add.push(add.ms);
        results.get(c)!.del.push(del.ms);
      }
    };
    for (let i = 0; i < WARMUP; i += 1) for (const c of [ours, reference]) await cycle(c, false);
    for (let i = 0; i < CYCLES; i += 1) {
      // Alternate who goes first, so neither always follows the other's veth deletion.
      for (const c of i % 2 === 0 ? [ours, reference] : [reference, ours]) await cycle(c, true);
    }
    console.log(`sequential: ${CYCLES} cycles each done`);

    for (let round = 0; round < BURST_ROUNDS; round += 1) {
      for (const c of round % 2 === 0 ? [ours, reference] : [reference, ours]) {
        const base = index + 1;
        index += BURST;
        const t0 = performance.now();
        const adds = await Promise.all(pods.map((netns, i) => run(c, 'ADD', base + i, netns)));
        const t1 = performance.now();
        adds.forEach((o, i) => check(o, `${c.label} burst ADD ${i}`));
        const addresses = adds.map(resultAddress);
        if (new Set(addresses).size !== addresses.length) throw new Error(`${c.label}: burst handed out duplicate addresses`);
        const t2 = performance.now();
        const dels = await Promise.all(pods.map((netns, i) => run(c, 'DEL', base + i, netns)));
        const t3 = performance.now();
        dels.forEach((o, i) => check(o, `${c.label} burst DEL ${i}`));
        results.get(c)!.burstAdd.push(t1 - t0);
        results.get(c)!.burstDel.push(t3 - t2);
      }
    }
    console.log(`bursts: ${BURST_ROUNDS} rounds of ${BURST} each done`);

    const breakdown = await measureBreakdown(node, run, ours, reference, seqPod, sequentialIds);
    report(results, ours, reference, breakdown, minimum, loadAtStart);
  } finally {
    for (const name of pods) await deletePodNetns(name);
    await cluster.close();
    await rm(workDir, { recursive: true, force: true });
  }
}

interface Breakdown {
  readonly oursVersion: number[];
  readonly refVersion: number[];
  readonly rpcAdd: number[];
  readonly rpcDel: number[];
  readonly rpcStatus: number[];
  readonly daemonAdd: Record<'pool' | 'checkpoint' | 'datapath' | 'total', number[]>;
  readonly daemonDel: Record<'datapath' | 'checkpoint' | 'total', number[]>;
}

/**
 * Where an ADD's time goes: the plugin process alone (VERSION, no daemon call), the RPC straight
 * from this process (no plugin), and the daemon's own split from its `added` / `released` log
 * lines of the sequential phase.
 */
async function measureBreakdown(
  node: ClusterNode,
  run: (c: Contender, command: 'ADD' | 'DEL' | 'VERSION', index: number, netns: string) => Promise<CniExecOutcome>,
  ours: Contender,
  reference: Contender,
  seqPod: string,
  sequential: ReadonlySet<string>,
): Promise<Breakdown> {
  const oursVersion: number[] = [];
  const refVersion: number[] = [];
  for (let i = 0; i < 60; i += 1) {
    const a = check(await run(ours, 'VERSION', i, seqPod), 'nativeip VERSION');
    const b = check(await run(reference, 'VERSION', i, seqPod), 'ptp VERSION');
    if (i >= 10) {
      oursVersion.push(a.ms);
      refVersion.push(b.ms);
    }
  }
  const rpcAdd: number[] = [];
  const rpcDel: number[] = [];
  const rpcStatus: number[] = [];
  const params = { networkName: 'nativeip', ifName: 'eth0', netns: `/run/netns/${seqPod}`, podNamespace: 'bench', podName: 'rpc' };
  for (let i = 0; i < 100; i += 1) {
    const key = { ...params, containerId: `bench-rpc-${i}` };
    const t0 = performance.now();
    await callDaemon(node.socketPath, 'add', key, { timeoutMs: 30_000 });
    const t1 = performance.now();
    await callDaemon(node.socketPath, 'del', key, { timeoutMs: 30_000 });
    const t2 = performance.now();
    await callDaemon(node.socketPath, 'status', {}, { timeoutMs: 30_000 });
    const t3 = performance.now();
    rpcAdd.push(t1 - t0);
    rpcDel.push(t2 - t1);
    rpcStatus.push(t3 - t2);
  }
  const log = await readFile(node.logFile, 'utf8');
  const daemonAdd = { pool: [] as number[], checkpoint: [] as number[], datapath: [] as number[], total: [] as number[] };
  const daemonDel = { datapath: [] as number[], checkpoint: [] as number[], total: [] as number[] };
  for (const line of log.split('\n')) {
    if (!line.includes('"containerId":"bench-nativeip-')) continue;
    const entry = JSON.parse(line) as { msg?: string; containerId?: string; ms?: Record<string, number> };
    if (entry.containerId === undefined || !sequential.has(entry.containerId)) continue;
    const timings = entry.ms;
    if (timings === undefined) continue;
    const target: Record<string, number[]> | undefined = entry.msg === 'added' ? daemonAdd : entry.msg === 'released' ? daemonDel : undefined;
    if (target === undefined) continue;
    for (const [part, samples] of Object.entries(target)) {
      const value = timings[part];
      if (value !== undefined) samples.push(value);
    }
  }
  return { oursVersion, refVersion, rpcAdd, rpcDel, rpcStatus, daemonAdd, daemonDel };
}

function ratio(a: number, b: number): string {
  return `${(a / b).toFixed(2)}×`;
}

function report(results: Map<Contender, Samples>, ours: Contender, reference: Contender, b: Breakdown, minimum: number, loadAtStart: number): void {
  const o = results.get(ours)!;
  const r = results.get(reference)!;
  const med = (values: number[]) => percentile(values, 50);
  const rows: Array<[string, number, number]> = [
    ['ADD p50', percentile(o.add, 50), percentile(r.add, 50)],
    ['ADD p99', percentile(o.add, 99), percentile(r.add, 99)],
    ['DEL p50', percentile(o.del, 50), percentile(r.del, 50)],
    ['DEL p99', percentile(o.del, 99), percentile(r.del, 99)],
    [`${BURST} concurrent ADDs, wall time (median of ${BURST_ROUNDS})`, med(o.burstAdd), med(r.burstAdd)],
    [`${BURST} concurrent DELs, wall time (median of ${BURST_ROUNDS})`, med(o.burstDel), med(r.burstDel)],
  ];
  const targets: Record<string, string> = { 'ADD p50': '≤ 1.0×', 'ADD p99': '≤ 1.5×' };
  targets[rows[4]![0]] = '≤ 1.0×';
  const latency = [
    `| | nativeip | ${reference.label} | ours / reference | target |`,
    '|---|---|---|---|---|',
    ...rows.map(([name, a, c]) => `| ${name} | ${ms(a)} | ${ms(c)} | ${ratio(a, c)} | ${targets[name] ?? ''} |`),
  ].join('\n');
  const bursts = [
    '| burst wall times, each round | nativeip | reference |',
    '|---|---|---|',
    `| ${BURST} ADDs | ${o.burstAdd.map(ms).join(', ')} | ${r.burstAdd.map(ms).join(', ')} |`,
    `| ${BURST} DELs | ${o.burstDel.map(ms).join(', ')} | ${r.burstDel.map(ms).join(', ')} |`,
  ].join('\n');
  const p50 = (v: number[]) => ms(percentile(v, 50));
  const p99 = (v: number[]) => ms(percentile(v, 99));
  const split = [
    '| part of one ADD (DEL) | p50 | p99 |',
    '|---|---|---|',
    `| whole ADD through nativeip-cni (from the table above) | ${p50(o.add)} | ${p99(o.add)} |`,
    `| plugin process alone: spawn, start-up, exit (CNI VERSION, no daemon call) | ${p50(b.oursVersion)} | ${p99(b.oursVersion)} |`,
    `| \`add\` RPC from a warm process (socket connect, frames, daemon work) | ${p50(b.rpcAdd)} | ${p99(b.rpcAdd)} |`,
    `| daemon: whole ADD handler | ${p50(b.daemonAdd.total)} | ${p99(b.daemonAdd.total)} |`,
    `| daemon: pool (take an address) | ${p50(b.daemonAdd.pool)} | ${p99(b.daemonAdd.pool)} |`,
    `| daemon: checkpoint write (write, fsync, rename, fsync dir) | ${p50(b.daemonAdd.checkpoint)} | ${p99(b.daemonAdd.checkpoint)} |`,
    `| daemon: datapath (veth, addresses, routes, rules over netlink) | ${p50(b.daemonAdd.datapath)} | ${p99(b.daemonAdd.datapath)} |`,
    `| \`status\` RPC (socket round trip with next to no daemon work) | ${p50(b.rpcStatus)} | ${p99(b.rpcStatus)} |`,
    `| reference \`ptp\` process alone (CNI VERSION) | ${p50(b.refVersion)} | ${p99(b.refVersion)} |`,
    `| DEL through nativeip-cni | ${p50(o.del)} | ${p99(o.del)} |`,
    `| \`del\` RPC from a warm process | ${p50(b.rpcDel)} | ${p99(b.rpcDel)} |`,
    `| daemon: DEL datapath (route, veth, rules) | ${p50(b.daemonDel.datapath)} | ${p99(b.daemonDel.datapath)} |`,
    `| daemon: DEL checkpoint write | ${p50(b.daemonDel.checkpoint)} | ${p99(b.daemonDel.checkpoint)} |`,
  ].join('\n');
  console.log(latency);
  console.log(bursts);
  console.log(split);
  console.log(`mean ADD: ours ${ms(mean(o.add))}, reference ${ms(mean(r.add))}`);
  console.log(`load average (1 min): ${loadAtStart.toFixed(1)} at the start, ${(loadavg()[0] ?? 0).toFixed(1)} at the end`);
  if (!WRITE) return;
  writeSection(
    'cni-latency',
    [
      '## CNI latency: nativeip against the reference plugins',
      '',
      `${machineLine()}. Measured by \`bench/cni-latency.ts\` on one emulated \`m5.16xlarge\` node (a network namespace behind the emulated VPC), in one run: ${CYCLES} sequential pod cycles (ADD, then DEL) per plugin after ${WARMUP} warm-up cycles, alternating plugin by plugin; then ${BURST_ROUNDS} rounds of ${BURST} concurrent ADDs followed by ${BURST} concurrent DELs per plugin, each pod in its own namespace. Each figure is a whole plugin process, spawn to exit, started inside the node's namespace the same way for both (no \`ip netns exec\`). nativeip: the built \`nativeip-cni\` → \`nativeip-ipamd\` with a warm pool (\`MINIMUM_IP_TARGET=${minimum}\`, default 30 s cooldown, log level info); its checkpoint sits on ext4 and is fsynced on every change, as is host-local's store. Reference: \`ptp\` + \`host-local\` v1.9.1 (\`ipMasq: false\`). Load average (1 min) ${loadAtStart.toFixed(1)} at the start and ${(loadavg()[0] ?? 0).toFixed(1)} at the end: other work shared the machine, so tails (p99, bursts) vary from run to run.`,
      '',
      latency,
      '',
      bursts,
      '',
      '### Where the time of our ADD goes',
      '',
      'The plugin process alone answers CNI VERSION without calling the daemon; the RPCs are made straight from the benchmark process; the daemon split comes from the `ms` field of its `added` and `released` log lines for the sequential cycles.',
      '',
      split,
      '',
      '### Findings',
      '',
      '- The plugin process was the biggest single cost while it was a JavaScript executable: a Bun-compiled plugin took about twice as long as the Go `ptp` binary to start and exit, and an empty Bun program cost as much. `nativeip-cni` is now a static C shim (~1.3 ms by hyperfine, against 4–6 ms for `ptp` in the rows above) that validates the config with a strict JSON scanner and forwards the call to the daemon, where the TypeScript plugin logic runs warm; in a burst of 110 the CPU the shim saves is what lets ours finish first on 2 cores.',
      '- The daemon\'s part is a few milliseconds: the checkpoint write (temp file, fsync, rename, fsync of the directory; on a real node `/run/nativeip` is tmpfs and the fsyncs cost next to nothing, here it is ext4 shared with other work) and the datapath (veth pair created with its peer in the pod namespace, then pipelined requests in both namespaces).',
      '- DEL: the kernel deletes a veth inside the netlink request (15–20 ms of RCU waits, as `ip link del`). The daemon hands veth deletions to a worker thread with its own rtnetlink socket in the host namespace, so its event loop keeps serving, and the worker deletes the veths that queued up meanwhile together (each put in one link group, then one group deletion: the kernel shares the waits), so a burst of DELs costs a few kernel waits instead of one per pod. A single sequential DEL still pays one wait, as `ptp` does.',
    ].join('\n'),
  );
}

await main();
