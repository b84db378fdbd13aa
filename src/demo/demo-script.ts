/**
 * What `nativeip demo` shares between clouds: the run frame (arguments, built binaries, work
 * directory, clean-up, summary), the PASS/FAIL checks, adding and deleting pods through the real
 * plugin, connectivity checks and tables.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ClusterNode } from './emulated-cluster.js';
import { nodeLeftovers } from './leftovers.js';
import { createPodNetns, deletePodNetns, runPlugin } from './pods.js';
import { ping, tcpConnect } from '../emulator/fabric/index.js';
import type { StatusResult } from '../rpc/protocol.js';
import { formatTable } from '../cli/table.js';

export class Checks {
  readonly results: Array<{ name: string; ok: boolean; detail: string }> = [];
  record(name: string, ok: boolean, detail = ''): void {
    this.results.push({ name, ok, detail });
    process.stdout.write(`${ok ? 'PASS' : 'FAIL'}  ${name}${detail === '' || ok ? '' : `: ${detail}`}\n`);
  }
  get allPassed(): boolean {
    return this.results.every((r) => r.ok);
  }
}

/** What the demo frame needs of an emulated cluster. */
export interface DemoCluster {
  readonly nodes: readonly ClusterNode[];
  status(node: ClusterNode): Promise<StatusResult>;
  close(): Promise<void>;
}

export interface DemoPod {
  readonly name: string;
  readonly containerId: string;
  readonly node: ClusterNode;
  readonly netns: string;
  readonly netnsPath: string;
  /** The address ADD returned; empty when ADD failed. */
  address: string;
}

export interface DemoRun<C extends DemoCluster> {
  readonly cluster: C;
  readonly checks: Checks;
  /** Path of the built nativeip-cni. */
  readonly plugin: string;
  /** Namespace prefix of everything the demo creates. */
  readonly prefix: string;
  /** Every pod added so far; the frame deletes their namespaces at the end (unless --keep). */
  readonly pods: DemoPod[];
}

export interface DemoScript<C extends DemoCluster> {
  /** Namespace prefix of everything the demo creates, e.g. `nipd-`. */
  readonly prefix: string;
  /** Prefix of the temporary work directory (daemon sockets, checkpoints, logs). */
  readonly workDirPrefix: string;
  /** The line printed before the cluster starts. */
  readonly banner: string;
  start(binDir: string, workDir: string): Promise<C>;
  run(demo: DemoRun<C>): Promise<void>;
}

/**
 * Runs a demo script: checks the arguments (only `--keep`), root and the built binaries, starts
 * the cluster, runs the script (an exception is a failed check), cleans up and prints the summary.
 * Returns the exit status: 0 only if every check passed.
 */
export async function runDemoScript<C extends DemoCluster>(args: readonly string[], script: DemoScript<C>): Promise<number> {
  const keep = args.includes('--keep');
  const unknown = args.filter((a) => a !== '--keep');
  if (unknown.length > 0) throw new Error(`demo: unknown argument ${unknown[0]}`);
  if (process.getuid?.() !== 0) throw new Error('demo: needs root (it creates network namespaces); run it with sudo');
  const binDir = dirname(fileURLToPath(import.meta.url)).replace(/\/js(\/chunks)?$/, '/bin');
  const plugin = join(binDir, 'nativeip-cni');
  if (!existsSync(plugin) || !existsSync(join(binDir, 'nativeip-ipamd'))) {
    throw new Error(`demo: built binaries not found in ${binDir}; run 'npm run build' first`);
  }

  const workDir = await mkdtemp(join(tmpdir(), script.workDirPrefix));
  const checks = new Checks();
  const pods: DemoPod[] = [];
  process.stdout.write(`${script.banner}\n`);
  const cluster = await script.start(binDir, workDir);
  try {
    await script.run({ cluster, checks, plugin, prefix: script.prefix, pods });
  } catch (error) {
    checks.record('demo ran to the end', false, error instanceof Error ? error.message : String(error));
  } finally {
    if (!keep) {
      for (const pod of pods) await deletePodNetns(pod.netns);
      await cluster.close();
      await rm(workDir, { recursive: true, force: true });
    } else {
      process.stdout.write(`kept: namespaces ${script.prefix}*, daemon logs in ${workDir}\n`);
    }
  }
  const failed = checks.results.filter((r) => !r.ok).length;
  process.stdout.write(`${checks.results.length - failed} passed, ${failed} failed\n`);
  return checks.allPassed ? 0 : 1;
}

function pluginCall(pod: DemoPod, command: 'ADD' | 'DEL') {
  return {
    command,
    containerId: pod.containerId,
    netns: pod.netnsPath,
    ifName: 'eth0',
    args: `K8S_POD_NAMESPACE=default;K8S_POD_NAME=${pod.name}`,
    config: { cniVersion: '1.0.0', name: 'nativeip', type: 'nativeip-cni', socketPath: pod.node.socketPath },
  } as const;
}

/**
 * Adds `podsPerNode[i]` pods (`web-<node>-<n>`, container id `<containerIdPrefix><node>x<n>`) on
 * node i through the plugin, one check per ADD, and then checks that the addresses are distinct.
 */
export async function addPods<C extends DemoCluster>(demo: DemoRun<C>, podsPerNode: readonly number[], containerIdPrefix: string): Promise<void> {
  for (const [index, node] of demo.cluster.nodes.entries()) {
    for (let i = 1; i <= (podsPerNode[index] ?? 0); i += 1) {
      const name = `web-${index + 1}-${i}`;
      const netns = `${demo.prefix}${name}`;
      const pod: DemoPod = { name, containerId: `${containerIdPrefix}${index + 1}x${i}`, node, netns, netnsPath: await createPodNetns(netns), address: '' };
      demo.pods.push(pod);
      const outcome = await runPlugin(demo.plugin, pluginCall(pod, 'ADD'));
      if (outcome.exitCode !== 0) {
        demo.checks.record(`ADD ${name} on ${node.name}`, false, outcome.stdout.trim() || outcome.stderr.trim());
        continue;
      }
      const result = JSON.parse(outcome.stdout) as { ips: Array<{ address: string }> };
      pod.address = result.ips[0]?.address.replace(/\/32$/, '') ?? '';
      demo.checks.record(`ADD ${name} on ${node.name} → ${pod.address}`, pod.address !== '');
    }
  }
  const addresses = podAddresses(demo.pods);
  demo.checks.record('every pod has a distinct address', new Set(addresses).size === demo.pods.length);
}

function podAddresses(pods: readonly DemoPod[]): string[] {
  return pods.map((p) => p.address).filter((a) => a !== '');
}

/** Deletes every pod through the plugin, then checks each node kept no veth, route, rule or allocation. */
export async function deletePods<C extends DemoCluster>(demo: DemoRun<C>): Promise<void> {
  for (const pod of demo.pods) {
    const outcome = await runPlugin(demo.plugin, pluginCall(pod, 'DEL'));
    if (outcome.exitCode !== 0) demo.checks.record(`DEL ${pod.name}`, false, outcome.stdout.trim());
    await deletePodNetns(pod.netns);
  }
  const addresses = podAddresses(demo.pods);
  for (const node of demo.cluster.nodes) {
    const left = await nodeLeftovers(node.netnsPath, { addresses, isPodVeth: (name) => name.startsWith('eni') });
    demo.checks.record(`DEL left no veth, route or rule on ${node.name}`, left.length === 0, left.join('; '));
    demo.checks.record(`${node.name} holds no allocation after DEL`, (await demo.cluster.status(node)).pods.length === 0);
  }
}

/** Records a check that `from` (a namespace path) reaches `address` with ping. */
export async function checkPing(checks: Checks, name: string, from: string, address: string): Promise<void> {
  const outcome = await ping(from, address, { count: 2, timeoutSec: 5 });
  checks.record(name, outcome.ok, outcome.output);
}

/** Records a check that `from` (a namespace path) opens a TCP connection to `address:port`. */
export async function checkTcp(checks: Checks, name: string, from: string, address: string, port: number): Promise<void> {
  const outcome = await tcpConnect(from, address, port);
  checks.record(name, outcome.ok, outcome.output);
}

/** Prints a table preceded and followed by a blank line. */
export function printTable(headers: readonly string[], rows: readonly (readonly string[])[]): void {
  process.stdout.write(`\n${formatTable(headers, rows)}\n\n`);
}

/** Prints the emulator's call counts by action, sorted by name, under `title`. */
export function printCallCounts(title: string, header: string, counts: Readonly<Record<string, number>>): void {
  const calls = Object.entries(counts).sort(([a], [b]) => a.localeCompare(b));
  process.stdout.write(`\n${title}:\n${formatTable([header, 'CALLS'], calls.map(([a, n]) => [a, String(n)]))}\n\n`);
}
