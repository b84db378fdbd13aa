/**
 * Each reason a pod gets no address increments its own counter, on a real daemon whose emulated
 * node is really exhausted: the instance's interface limit (MAX_ENI=1), a full subnet (a /28),
 * EC2 throttling, an EC2 server error, and a grow slower than the ADD's wait (cnitool shows the
 * CNI error's message, not its code: the code is read from nativeip_cni_requests_total's result). Every scrape is
 * also checked by the real `promtool check metrics`. (max_pods needs the Node's capacity from the
 * Kubernetes API; test/unit/node-metrics.test.ts covers it on the pool.)
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClusterNode } from '../../src/demo/emulated-cluster.js';
import { createPodNetns, deletePodNetns } from '../../src/demo/pods.js';
import { startAwsCluster, type AwsCluster } from '../../src/emulator/aws/cluster.js';
import { CniTool, DIST_BIN, e2eSkipReason, type CniOutcome } from './support/cnitool.js';
import { tearDownCluster } from './support/cluster.js';
import { sampleSum, scrape } from '../support/metrics-text.js';
import { checkMetrics } from '../support/prometheus.js';
import { waitFor } from '../support/wait-for.js';

const skip = e2eSkipReason();
if (skip !== undefined) console.warn(`skipping metrics e2e: ${skip}`);

const FAILURES = 'nativeip_assign_failures_total';

/** One emulated node, pods added through the built plugin until one fails. */
class ExhaustedNode {
  readonly netns: string[] = [];
  cluster: AwsCluster | undefined;
  #cni: CniTool | undefined;
  #count = 0;

  constructor(
    readonly prefix: string,
    readonly workDir: string,
  ) {}

  get node(): ClusterNode {
    return this.cluster!.nodes[0]!;
  }

  async start(options: { subnetCidr?: string; daemonEnv?: Record<string, string> }): Promise<void> {
    await mkdir(this.workDir, { recursive: true });
    this.cluster = await startAwsCluster({
      prefix: this.prefix,
      nodes: 1,
      instanceType: 't3.medium',
      binDir: DIST_BIN,
      workDir: this.workDir,
      ...(options.daemonEnv === undefined ? {} : { daemonEnv: options.daemonEnv }),
      ...(options.subnetCidr === undefined ? {} : { emulator: { subnets: [{ cidr: options.subnetCidr }] } }),
    });
    this.#cni = await CniTool.withConflist(join(this.workDir, 'netconf'), {
      cniVersion: '1.0.0',
      name: 'nativeip',
      plugins: [{ type: 'nativeip-cni', socketPath: this.node.socketPath }],
    });
  }

  async add(): Promise<CniOutcome> {
    this.#count += 1;
    const name = `p${this.#count}`;
    const netns = `${this.prefix}${name}`;
    const netnsPath = await createPodNetns(netns);
    this.netns.push(netns);
    return this.#cni!.run('add', 'nativeip', netnsPath, { CNI_ARGS: `K8S_POD_NAMESPACE=metrics;K8S_POD_NAME=${name}` });
  }

  /** Adds pods until an ADD fails; returns the failure. */
  async addUntilFailure(most: number): Promise<CniOutcome> {
    for (let i = 0; i < most; i += 1) {
      const outcome = await this.add();
      if (outcome.code !== 0) return outcome;
    }
    throw new Error(`${most} pods were added and none failed`);
  }

  async failures(): Promise<Record<string, number>> {
    const { text, samples } = await scrape(this.node.metricsAddress);
    const checked = await checkMetrics(text);
    expect(checked.ok, `promtool check metrics:\n${checked.output}`).toBe(true);
    const out: Record<string, number> = {};
    for (const s of samples.filter((x) => x.name === FAILURES)) out[s.labels['reason']!] = s.value;
    return out;
  }

  async close(): Promise<void> {
    await tearDownCluster(this.cluster, this.netns, undefined);
    for (const netns of this.netns) await deletePodNetns(netns).catch(() => undefined);
  }
}

describe.skipIf(skip !== undefined)('failed assignments by reason, from really exhausted emulated nodes', () => {
  let workDir: string;
  let limited: ExhaustedNode;
  let small: ExhaustedNode;

  beforeAll(async () => {
    workDir = await mkdtemp(join(tmpdir(), 'nativeip-metrics-'));
    limited = new ExhaustedNode('mfa-', join(workDir, 'limited'));
    small = new ExhaustedNode('mfb-', join(workDir, 'small'));
  });

  afterAll(async () => {
    await limited?.close();
    await small?.close();
    await rm(workDir, { recursive: true, force: true });
  }, 120_000);

  it('interface_limit: MAX_ENI=1 leaves the primary ENI’s five addresses; the sixth pod fails with code 100', async () => {
    await limited.start({ daemonEnv: { MAX_ENI: '1' } });
    const failed = await limited.addUntilFailure(8);
    expect(failed.stdout + failed.stderr).toMatch(/no free address/);
    const failures = await limited.failures();
    expect(failures).toEqual({ interface_limit: 1 });
    const { samples } = await scrape(limited.node.metricsAddress);
    expect(sampleSum(samples, 'nativeip_addresses', { state: 'assigned' })).toBe(5);
    expect(sampleSum(samples, 'nativeip_interfaces_max')).toBe(1);
    expect(sampleSum(samples, 'nativeip_pool_blocked', { reason: 'interface_limit' })).toBe(1);
    expect(sampleSum(samples, 'nativeip_cni_requests_total', { command: 'ADD', result: 'PoolExhausted' })).toBe(1);
  }, 180_000);

  it('throttled: with the ENI limit lifted, EC2 answers RequestLimitExceeded to every create and assign', async () => {
    const { cluster, node } = limited;
    cluster!.emulator.faults.set({ rules: [{ kind: 'throttle', actions: ['CreateNetworkInterface', 'AssignPrivateIpAddresses'] }] });
    await cluster!.stopDaemon(node);
    await cluster!.startDaemon(node, { env: { MAX_ENI: '' } });
    const failed = await limited.addUntilFailure(3);
    expect(failed.stdout + failed.stderr).toMatch(/no free address/);
    expect((await limited.failures())['throttled']).toBeGreaterThanOrEqual(1);
    const { samples } = await scrape(node.metricsAddress);
    expect(sampleSum(samples, 'nativeip_cloud_api_requests_total', { api: 'CreateNetworkInterface', result: 'throttled' })).toBeGreaterThanOrEqual(1);
    expect(sampleSum(samples, 'nativeip_cloud_operations_total', { result: 'throttled' })).toBeGreaterThanOrEqual(1);
    expect(sampleSum(samples, 'nativeip_cni_requests_total', { command: 'ADD', result: 'PoolEmptyGrowing' })).toBeGreaterThanOrEqual(1);
  }, 180_000);

  it('cloud_error: EC2 answers 500 to every create and assign', async () => {
    const { cluster, node } = limited;
    cluster!.emulator.faults.set({ rules: [{ kind: 'serverError', actions: ['CreateNetworkInterface', 'AssignPrivateIpAddresses'] }] });
    await cluster!.stopDaemon(node);
    await cluster!.startDaemon(node, { env: { MAX_ENI: '' } });
    // The start-up grow fails (after the SDK's own retries); the next ADD is told why.
    await waitFor('the start-up grow to fail', async () => (sampleSum((await scrape(node.metricsAddress)).samples, 'nativeip_cloud_operations_total', { result: 'error' }) > 0 ? true : undefined), { timeoutMs: 60_000, intervalMs: 200 });
    await limited.addUntilFailure(3);
    expect((await limited.failures())['cloud_error']).toBeGreaterThanOrEqual(1);
    const { samples } = await scrape(node.metricsAddress);
    expect(sampleSum(samples, 'nativeip_cloud_api_requests_total', { result: 'error' })).toBeGreaterThanOrEqual(1);
  }, 180_000);

  it('grow_timeout: a create that takes longer than the ADD’s 20 s wait', async () => {
    const { cluster, node } = limited;
    cluster!.emulator.faults.set({ rules: [{ kind: 'latency', actions: ['CreateNetworkInterface', 'AssignPrivateIpAddresses'], delayMs: 60_000 }] });
    await cluster!.stopDaemon(node);
    await cluster!.startDaemon(node, { env: { MAX_ENI: '' } });
    const failed = await limited.addUntilFailure(3);
    expect(failed.stdout + failed.stderr).toMatch(/the pool is growing/);
    expect((await limited.failures())['grow_timeout']).toBe(1);
    const { samples } = await scrape(node.metricsAddress);
    expect(sampleSum(samples, 'nativeip_grow_in_progress')).toBe(1);
    expect(sampleSum(samples, 'nativeip_cni_requests_total', { command: 'ADD', result: 'PoolEmptyGrowing' })).toBe(1);
    cluster!.emulator.faults.clear();
  }, 180_000);

  it('subnet_full: a /28 subnet runs out of addresses before the instance does', async () => {
    await small.start({ subnetCidr: '10.0.0.0/28' });
    const failed = await small.addUntilFailure(16);
    expect(failed.stdout + failed.stderr).toMatch(/no free address/);
    const failures = await small.failures();
    expect(failures['subnet_full']).toBeGreaterThanOrEqual(1);
    expect(Object.keys(failures).filter((k) => k !== 'subnet_full')).toEqual([]);
  }, 180_000);
});
