/**
 * `nativeip support-bundle` on an emulated node with a pod: one archive holding the daemon's
 * status, introspection, metrics, checkpoint, log and the node's kernel state (the pod's /32 route
 * in it), secrets redacted; what cannot be had is listed, not fatal.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClusterNode } from '../../src/demo/emulated-cluster.js';
import { createPodNetns } from '../../src/demo/pods.js';
import { startAwsCluster, type AwsCluster } from '../../src/emulator/aws/cluster.js';
import { CniTool, DIST_BIN, e2eSkipReason, podAddress } from './support/cnitool.js';
import { tearDownCluster } from './support/cluster.js';

const run = promisify(execFile);
const skip = e2eSkipReason();
if (skip !== undefined) console.warn(`skipping support-bundle e2e: ${skip}`);

describe.skipIf(skip !== undefined)('nativeip support-bundle', () => {
  let workDir: string;
  let cluster: AwsCluster | undefined;
  let address = '';
  const netns = 'sbd-p1';
  const node = (): ClusterNode => cluster!.nodes[0]!;

  beforeAll(async () => {
    workDir = await mkdtemp(join(tmpdir(), 'nativeip-bundle-'));
    cluster = await startAwsCluster({ prefix: 'sbd-', nodes: 1, instanceType: 't3.medium', binDir: DIST_BIN, workDir, daemonEnv: { AWS_SESSION_TOKEN: 'never-in-a-bundle' } });
    const cni = await CniTool.withConflist(join(workDir, 'netconf'), { cniVersion: '1.0.0', name: 'nativeip', plugins: [{ type: 'nativeip-cni', socketPath: node().socketPath }] });
    const outcome = await cni.run('add', 'nativeip', await createPodNetns(netns), { CNI_ARGS: 'K8S_POD_NAMESPACE=bundle;K8S_POD_NAME=p1' });
    expect(outcome.code, outcome.stdout + outcome.stderr).toBe(0);
    address = podAddress(outcome);
  }, 180_000);

  afterAll(async () => {
    await tearDownCluster(cluster, [netns], workDir);
    await rm(workDir, { recursive: true, force: true });
  }, 120_000);

  it('writes one archive with status, introspection, metrics, checkpoint, log and kernel state', async () => {
    const out = join(workDir, 'bundle.tar.gz');
    const n = node();
    const args = ['support-bundle', '--out', out, '--socket', n.socketPath, '--checkpoint', n.checkpointPath, '--log', n.logFile, '--introspection', n.introspectionAddress, '--metrics', n.metricsAddress, '--netns', n.netnsPath];
    const { stdout } = await run(join(DIST_BIN, 'nativeip'), args, { timeout: 60_000 });
    expect(stdout).toContain(`wrote ${out}`);
    const unpacked = join(workDir, 'unpacked');
    await run('mkdir', ['-p', unpacked]);
    await run('tar', ['-xzf', out, '-C', unpacked]);
    const [top] = await readdir(unpacked);
    const dir = join(unpacked, top!);
    const files = await readdir(dir);
    for (const name of ['version.txt', 'status.json', 'introspection-interfaces.json', 'introspection-pods.json', 'introspection-pool.json', 'introspection-config.json', 'introspection-env-settings.json', 'metrics.txt', 'checkpoint.json', 'ipamd.log', 'ip-route.txt', 'ip-rule.txt', 'ip-link.txt', 'nft-ruleset.txt', 'errors.txt']) {
      expect(files, name).toContain(name);
    }
    const status = JSON.parse(await readFile(join(dir, 'status.json'), 'utf8')) as { pods: { address: string }[] };
    expect(status.pods.map((p) => p.address)).toContain(address);
    expect(await readFile(join(dir, 'ip-route.txt'), 'utf8')).toContain(`${address} dev`);
    expect(await readFile(join(dir, 'metrics.txt'), 'utf8')).toMatch(/^nativeip_addresses\{state="assigned"\} 1$/m);
    expect(await readFile(join(dir, 'errors.txt'), 'utf8')).toBe('none\n');
    const everything = (await Promise.all(files.map((f) => readFile(join(dir, f), 'utf8')))).join('\n');
    expect(everything).not.toContain('never-in-a-bundle');
  }, 120_000);

  it('records what it cannot reach instead of failing', async () => {
    const out = join(workDir, 'partial.tar.gz');
    const n = node();
    const { stdout } = await run(join(DIST_BIN, 'nativeip'), ['support-bundle', '--out', out, '--socket', join(workDir, 'no.sock'), '--checkpoint', n.checkpointPath, '--introspection', '127.0.0.1:1', '--metrics', '127.0.0.1:1', '--netns', n.netnsPath], { timeout: 60_000, env: { ...process.env, NATIVEIP_LOG_FILE: '' } });
    expect(stdout).toMatch(/status\.json: .*no\.sock/);
    expect(stdout).toContain('metrics.txt:');
    expect(stdout).toContain('kubectl logs');
  }, 60_000);
});
