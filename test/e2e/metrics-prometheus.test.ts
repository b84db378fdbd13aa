/**
 * A real Prometheus server scrapes a real daemon on an emulated node, and a PromQL query returns
 * the number of pods the test created through the built plugin; the introspection API on the same
 * node lists those pods, their interfaces and the configuration (secrets redacted).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClusterNode } from '../../src/demo/emulated-cluster.js';
import { createPodNetns } from '../../src/demo/pods.js';
import { startAwsCluster, type AwsCluster } from '../../src/emulator/aws/cluster.js';
import { CniTool, DIST_BIN, e2eSkipReason, podAddress } from './support/cnitool.js';
import { tearDownCluster } from './support/cluster.js';
import { startPrometheus, type PrometheusServer } from '../support/prometheus.js';

const PREFIX = 'mpr-';
const PODS = 7;
const skip = e2eSkipReason();
if (skip !== undefined) console.warn(`skipping Prometheus e2e: ${skip}`);

describe.skipIf(skip !== undefined)('Prometheus scrapes a daemon on an emulated node', () => {
  let workDir: string;
  let cluster: AwsCluster | undefined;
  let prometheus: PrometheusServer | undefined;
  const netns: string[] = [];
  const addresses: string[] = [];

  const node = (): ClusterNode => cluster!.nodes[0]!;
  const introspect = async (path: string): Promise<unknown> => {
    const response = await fetch(`http://${node().introspectionAddress}${path}`);
    expect(response.status, path).toBe(200);
    return response.json();
  };

  beforeAll(async () => {
    workDir = await mkdtemp(join(tmpdir(), 'nativeip-prometheus-e2e-'));
    cluster = await startAwsCluster({ prefix: PREFIX, nodes: 1, instanceType: 't3.medium', binDir: DIST_BIN, workDir });
    const cni = await CniTool.withConflist(join(workDir, 'netconf'), { cniVersion: '1.0.0', name: 'nativeip', plugins: [{ type: 'nativeip-cni', socketPath: node().socketPath }] });
    for (let i = 1; i <= PODS; i += 1) {
      const name = `${PREFIX}p${i}`;
      netns.push(name);
      const outcome = await cni.run('add', 'nativeip', await createPodNetns(name), { CNI_ARGS: `K8S_POD_NAMESPACE=prom;K8S_POD_NAME=p${i}` });
      expect(outcome.code, outcome.stdout + outcome.stderr).toBe(0);
      addresses.push(podAddress(outcome));
    }
    prometheus = await startPrometheus({ targets: [node().metricsAddress], scrapeIntervalMs: 1000 });
  }, 180_000);

  afterAll(async () => {
    await prometheus?.stop();
    await tearDownCluster(cluster, netns, workDir);
    await rm(workDir, { recursive: true, force: true });
  }, 120_000);

  it(`a PromQL query over the scraped metrics returns the ${PODS} pods created`, async () => {
    const samples = await prometheus!.waitForQuery('sum(nativeip_addresses{state="assigned"})', (s) => s.length === 1 && s[0]!.value === PODS, 60_000);
    expect(samples[0]!.value).toBe(PODS);
    const adds = await prometheus!.query('sum(nativeip_cni_requests_total{command="ADD",result="ok"})');
    expect(adds[0]?.value).toBe(PODS);
    const latency = await prometheus!.query('histogram_quantile(0.99, sum by (le) (nativeip_cni_request_duration_seconds_bucket{command="ADD"}))');
    expect(latency[0]?.value).toBeGreaterThan(0);
    const build = await prometheus!.query('nativeip_build_info');
    expect(build[0]?.metric['cloud']).toBe('aws');
  }, 90_000);

  it('introspection lists the pods, the interfaces holding their addresses, and the pool', async () => {
    const pods = (await introspect('/v1/pods')) as { pods: { address: string; podName?: string }[] };
    expect(pods.pods.map((p) => p.address).sort()).toEqual([...addresses].sort());
    const interfaces = (await introspect('/v1/enis')) as { interfaces: { id: string; addresses: { address: string; state: string }[] }[] };
    const assigned = interfaces.interfaces.flatMap((i) => i.addresses.filter((a) => a.state === 'assigned').map((a) => a.address));
    expect(assigned.sort()).toEqual([...addresses].sort());
    const pool = (await introspect('/v1/pool')) as { counts: { assigned: number }; warmPool: { policy: string } };
    expect(pool.counts.assigned).toBe(PODS);
    expect(pool.warmPool.policy).toBe('adaptive');
  });

  it('introspection shows the configuration and the variables set (redaction: test/unit/introspection.test.ts)', async () => {
    const config = (await introspect('/v1/config')) as { metricsAddress: { port: number } };
    expect(config.metricsAddress.port).toBe(Number(node().metricsAddress.split(':')[1]));
    const env = (await introspect('/v1/ipamd-env-settings')) as Record<string, string>;
    expect(env['NATIVEIP_METRICS_ADDRESS']).toBe(node().metricsAddress);
    const missing = await fetch(`http://${node().introspectionAddress}/v1/nothing`);
    expect(missing.status).toBe(404);
  });
});
