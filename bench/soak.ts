/**
 * Soak: many pod cycles (ADD, then DEL) through the built plugin and the exec path of one
 * daemon, watching what a leak would show: the daemon's open file descriptors (netlink sockets,
 * namespace handles), threads, resident memory, pods left held, and the host veths, routes and
 * rules left behind. Root only. Prints figures; asserts nothing.
 * Run: npm run build && node scripts/run-ts.mjs bench/soak.ts [cycles] [--no-write]
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPodNetns, deletePodNetns, runPlugin } from '../src/demo/pods.js';
import { sampleProcess } from './lib/proc.js';
import { REPO_ROOT, machineLine, writeSection } from './lib/report.js';
import { startAwsCluster } from '../src/emulator/aws/cluster.js';

const positional = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const CYCLES = Number(positional[0] ?? 2000);
const WRITE = !process.argv.includes('--no-write');
const EVERY = Math.max(1, Math.floor(CYCLES / 8));
const PREFIX = 'pf-soak-';
const WARMUP = 20;

interface Sample {
  readonly cycles: number;
  readonly fds: number;
  readonly threads: number;
  readonly rssMiB: number;
  readonly pods: number;
  readonly hostObjects: number;
  readonly interfaces: number;
  readonly addresses: number;
}

/** Host veths, routes through them, and `to <pod>` rules in the node's namespace: 0 with no pod held. */
function hostObjects(netnsPath: string): number {
  const inNode = (args: string[]) => execFileSync('nsenter', [`--net=${netnsPath}`, 'ip', ...args]).toString();
  const veths = inNode(['-o', 'link', 'show']).split('\n').filter((l) => /: eni[0-9a-f]+@/.test(l)).length;
  const routes = inNode(['route', 'show', 'table', 'main']).split('\n').filter((l) => / dev eni[0-9a-f]+ /.test(l)).length;
  // Every pod has exactly one rule at 512 (`to <pod> lookup main`); the rules at 1536 also include
  // each secondary ENI's own `from <ENI address>` rule, so they are not counted.
  const rules = inNode(['rule', 'show']).split('\n').filter((l) => /^512:/.test(l)).length;
  return veths + routes + rules;
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('bench/soak needs root (network namespaces)');
  const workDir = await mkdtemp(join(tmpdir(), 'nativeip-soak-'));
  const binDir = process.env['NATIVEIP_BENCH_BIN'] ?? join(REPO_ROOT, 'dist', 'bin');
  const cluster = await startAwsCluster({
    prefix: PREFIX,
    nodes: 1,
    instanceType: 'm5.4xlarge',
    binDir,
    workDir,
    daemonEnv: { NATIVEIP_LOG_LEVEL: 'warn', MINIMUM_IP_TARGET: '20' },
  });
  const podNs = `${PREFIX}pod`;
  const samples: Sample[] = [];
  let failures = 0;
  try {
    const node = cluster.nodes[0]!;
    const pid = node.process?.pid;
    if (pid === undefined) throw new Error('the daemon has no pid');
    const netns = await createPodNetns(podNs);
    const config = { cniVersion: '1.1.0', name: 'nativeip', type: 'nativeip-cni', socketPath: node.socketPath };
    const plugin = join(binDir, 'nativeip-cni');
    const take = async (cycles: number) => {
      const status = await cluster.status(node);
      const proc = sampleProcess(pid);
      samples.push({ cycles, fds: proc.openFds, threads: proc.threads, rssMiB: proc.rssKiB / 1024, pods: status.pods.length, hostObjects: hostObjects(node.netnsPath), interfaces: status.interfaces.length, addresses: status.pool.total });
    };
    const cycle = async (id: string): Promise<boolean> => {
      const call = { containerId: id, netns, ifName: 'eth0', config, hostNetnsPath: node.netnsPath };
      const add = await runPlugin(plugin, { ...call, command: 'ADD' }, 30_000);
      const del = await runPlugin(plugin, { ...call, command: 'DEL' }, 30_000);
      return add.exitCode === 0 && del.exitCode === 0;
    };
    // Warm up: the pool attaches its ENIs (each with its own route table and `from` rule) and the
    // daemon opens its sockets; the first row is the settled state.
    for (let i = 0; i < WARMUP; i += 1) await cycle(`soak-warmup-${i}`);
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    await take(0);
    const started = performance.now();
    for (let i = 1; i <= CYCLES; i += 1) {
      if (!(await cycle(`soak-${i}`))) failures += 1;
      if (i % EVERY === 0 || i === CYCLES) await take(i);
    }
    const seconds = (performance.now() - started) / 1000;
    const table = [
      '| cycles | open fds | threads | RSS | pods held | pod veths, routes and rules left | pool: ENIs, addresses |',
      '|---|---|---|---|---|---|---|',
      ...samples.map((s) => `| ${s.cycles} | ${s.fds} | ${s.threads} | ${s.rssMiB.toFixed(1)} MiB | ${s.pods} | ${s.hostObjects} | ${s.interfaces}, ${s.addresses} |`),
    ].join('\n');
    console.log(table);
    console.log(`${CYCLES} cycles in ${seconds.toFixed(0)} s, ${failures} failed`);
    if (WRITE) {
      writeSection(
        'soak',
        [
          '## Soak: pod cycles through one daemon',
          '',
          `${machineLine()}. Measured by \`bench/soak.ts\`: ${CYCLES} pod cycles (ADD, then DEL, one pod at a time, the same pod namespace each time) through the built \`nativeip-cni\` and the daemon's \`exec\` path on one emulated \`m5.4xlarge\` node, in ${seconds.toFixed(0)} s; ${failures} cycles failed. After ${WARMUP} warm-up cycles, and every ${EVERY} cycles: the daemon's open file descriptors and threads (\`/proc/<pid>\`), its resident memory, the pods it holds, the pod veths, routes through them and \`to <pod>\` rules left in the node's namespace, and the pool's size. A leak of sockets, namespace handles or host objects would show as a column that keeps growing; the resident memory moves with garbage collection, and a momentary fd count includes sockets of requests in flight. The pool grows under this churn because every released address cools down for 30 s (\`IP_COOLDOWN_PERIOD\`) while the next pods arrive about eight times a second: about 240 addresses are cooling at any moment, so the pool attaches ENIs up to the instance's limit, as the AWS VPC CNI would.`,
          '',
          table,
        ].join('\n'),
      );
    }
  } finally {
    await deletePodNetns(podNs).catch(() => undefined);
    await cluster.close();
    await rm(workDir, { recursive: true, force: true });
  }
}

await main();
