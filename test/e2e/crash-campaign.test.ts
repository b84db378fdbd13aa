/**
 * The crash campaign, short (CI): ADD/DEL storms through the built nativeip-cni with kubelet-like
 * retries on an emulated t3.medium, with the daemon killed (-9) at random moments and restarted,
 * a second daemon started beside it, and its checkpoint deleted, truncated, garbled or doubled
 * with live pods, while EC2 loses replies, answers 5xx, throttles, times out, lags and
 * forgets new ENIs for a moment (eventual consistency). After every round, and at the end with
 * every pod removed: no address held twice, no allocation for a gone pod, no kernel leftovers,
 * every live pod answers a ping from the VPC, and within 20 s no leaked ENI, DeleteOnTermination
 * on every ENI of the node, and as many addresses on each ENI in EC2 as in the pool.
 * bench/crash-campaign.ts runs the long version.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCrashCampaign } from '../../src/demo/crash-campaign/campaign.js';
import type { ClusterNode } from '../../src/demo/emulated-cluster.js';
import { DIST_BIN, e2eSkipReason } from './support/cnitool.js';
import { tearDownCluster } from './support/cluster.js';
import { startAwsCluster, type AwsCluster } from '../../src/emulator/aws/cluster.js';

const skip = e2eSkipReason();
const PREFIX = 'crs-';
const SEED = Number(process.env['NATIVEIP_CAMPAIGN_SEED'] ?? 9);
const ROUNDS = 40;
let cluster: AwsCluster | undefined;
let workDir: string | undefined;
let node: ClusterNode;

beforeAll(async () => {
  if (skip !== undefined) return;
  workDir = await mkdtemp(join(tmpdir(), 'nativeip-crash-'));
  // t3.medium: 3 ENIs × 5 secondary addresses; 12 pod slots keep it under its 17 max pods.
  // WARM_IP_TARGET=1 makes the pool grow and shrink with the pods (EC2 is called often). A 2 s
  // cooldown keeps the storms within its addresses; a 10 s reconcile lets held addresses go; a 5 s
  // leaked-ENI sweep lets the end be checked soon.
  cluster = await startAwsCluster({
    prefix: PREFIX,
    nodes: 1,
    instanceType: 't3.medium',
    binDir: DIST_BIN,
    workDir,
    daemonEnv: { IP_COOLDOWN_PERIOD: '2', WARM_IP_TARGET: '1', NATIVEIP_RECONCILE_INTERVAL: '10', NATIVEIP_ENI_GC_INTERVAL: '5' },
  });
  node = cluster.nodes[0]!;
}, 120_000);

afterAll(async () => {
  await tearDownCluster(cluster, [], workDir);
}, 120_000);

describe.skipIf(skip !== undefined)('crash campaign (AWS, short)', () => {
  it(`${ROUNDS} rounds of storms, kills, second daemons and damaged checkpoints keep every address single and every pod reachable`, async () => {
    const c = cluster!;
    const report = await runCrashCampaign({
      daemon: {
        node,
        start: () => c.startDaemon(node),
        kill: () => c.stopDaemon(node, 'SIGKILL'),
        status: () => c.status(node),
        logTail: (lines) => c.logTail(node, lines),
      },
      cloud: c.cloud.view(node.instanceId),
      binDir: DIST_BIN,
      vpcHostNetnsPath: c.fabric.vpcHost.netnsPath,
      prefix: PREFIX,
      rounds: ROUNDS,
      seed: SEED,
      slots: 12,
      faults: { plan: c.cloud.faults, actions: c.cloud.faultActions, choices: { roundRate: 0.4 } },
      log: (line) => console.log(line),
    });
    console.log(JSON.stringify({ ...report, violations: report.violations.length }));
    expect(report.violations).toEqual([]);
    expect(report.kills).toBeGreaterThan(ROUNDS / 2);
  }, 600_000);
});
