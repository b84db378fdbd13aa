/**
 * The daemon's SNAT and NodePort wiring with a fake cloud and datapath: which table it asks the
 * egress NAT for, which node-port rule it asks the datapath for, which destinations a pod on a
 * secondary interface gets, per cloud, per AWS_VPC_K8S_CNI_EXTERNALSNAT and per
 * AWS_VPC_CNI_NODE_PORT_SUPPORT, and the rewrite of existing pods' from rules at start-up.
 * Real Unix socket and checkpoint in a temp dir.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { EgressNat, NodeNftRules } from '../../src/ipamd/datapath/snat.js';
import type { PodFromRuleSpec } from '../../src/ipamd/datapath/types.js';
import { FileCheckpoint } from '../../src/ipamd/checkpoint/checkpoint.js';
import { loadDaemonConfig } from '../../src/ipamd/config/config.js';
import { cloudPlugin } from '../../src/ipamd/clouds.js';
import { Daemon } from '../../src/ipamd/daemon.js';
import { FakeCloud } from '../support/fake-cloud.js';
import { FakeDatapath } from '../support/fake-datapath.js';

class RecordingNat implements EgressNat {
  readonly calls: (NodeNftRules | 'remove')[] = [];
  async apply(rules: NodeNftRules): Promise<void> {
    this.calls.push(rules);
  }
  async remove(): Promise<void> {
    this.calls.push('remove');
  }
}

/** The fake datapath with the optional host-rule methods, recording what it is asked. */
class HostRuleDatapath extends FakeDatapath {
  readonly nodePortMarks: (number | undefined)[] = [];
  readonly rewrites: PodFromRuleSpec[][] = [];
  async syncNodePortRule(mark: number | undefined): Promise<void> {
    this.nodePortMarks.push(mark);
  }
  async rewritePodFromRules(pods: () => readonly PodFromRuleSpec[]): Promise<number> {
    const specs = [...pods()];
    this.rewrites.push(specs);
    return specs.length;
  }
}

let dir: string | undefined;
let daemon: Daemon | undefined;

afterEach(async () => {
  await daemon?.close();
  daemon = undefined;
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  dir = undefined;
});

/** A node whose only free address is on a secondary interface (route table 2). */
async function start(cloudName: string, env: Record<string, string>, options: { keepDir?: boolean } = {}) {
  if (!options.keepDir || dir === undefined) dir = await mkdtemp(join(tmpdir(), 'nativeip-daemon-snat-'));
  const cloud = new FakeCloud();
  Object.defineProperty(cloud, 'name', { value: cloudName });
  cloud.interfaces.push({ id: 'eni-1', deviceIndex: 1, primaryIp: '10.0.0.40', secondaryIps: ['10.0.0.41'], managed: true });
  const config = loadDaemonConfig({
    WARM_IP_TARGET: '1',
    NATIVEIP_CLOUD: 'aws',
    NATIVEIP_SOCKET: join(dir, 'ipamd.sock'),
    NATIVEIP_CHECKPOINT: join(dir, 'checkpoint.json'),
    ...env,
  });
  const datapath = new HostRuleDatapath();
  const egressNat = new RecordingNat();
  // The SNAT decision is the cloud's (CloudPlugin.snatsEgress), as main.ts passes it.
  const snatsEgress = cloudPlugin(cloudName).snatsEgress;
  daemon = new Daemon({ config, logger: pino({ level: 'silent' }), provider: cloud, datapath, egressNat, checkpoint: new FileCheckpoint(config.checkpointPath), snatsEgress });
  await daemon.start();
  // A file stands in for the pod's network namespace: the daemon only checks that it exists.
  const netns = join(dir, 'pod-netns');
  await writeFile(netns, '');
  const result = await daemon.service.add({ networkName: 'net', containerId: 'c1', ifName: 'eth0', netns });
  expect(result.address).toBe('10.0.0.41/32');
  const spec = [...datapath.pods.values()][0];
  return { cloud, egressNat, spec, datapath };
}

describe('daemon SNAT wiring', () => {
  it('AWS default: installs the SNAT rule for the node and routes only VPC (and excluded) destinations through a secondary interface', async () => {
    const { cloud, egressNat, spec } = await start('aws', { AWS_VPC_K8S_CNI_EXCLUDE_SNAT_CIDRS: '192.168.0.0/24', AWS_VPC_K8S_CNI_RANDOMIZESNAT: 'hashrandom' });
    const primaryIp = cloud.interfaces[0]!.primaryIp;
    expect(egressNat.calls).toEqual([
      {
        snat: { primaryIp, vpcCidrs: ['10.0.0.0/16'], excludedCidrs: ['192.168.0.0/24'], podInterfacePrefix: 'eni', ports: 'hashrandom' },
        nodePort: { primaryIp, podInterfacePrefix: 'eni', mark: 0x80 },
      },
    ]);
    expect(spec?.routeTable).toBe(2);
    expect(spec?.fromRuleDestinations).toEqual(['10.0.0.0/16', '192.168.0.0/24']);
  });

  it('AWS with external SNAT: the table keeps only the node-port chain and the secondary interface carries every destination', async () => {
    const { cloud, egressNat, spec, datapath } = await start('aws', { AWS_VPC_K8S_CNI_EXTERNALSNAT: 'true' });
    expect(egressNat.calls).toEqual([{ nodePort: { primaryIp: cloud.interfaces[0]!.primaryIp, podInterfacePrefix: 'eni', mark: 0x80 } }]);
    expect(datapath.nodePortMarks).toEqual([0x80]);
    expect(spec?.routeTable).toBe(2);
    expect(spec?.fromRuleDestinations).toBeUndefined();
  });

  it('AWS with external SNAT and no node-port support: removes the table of an earlier run and the node-port rule', async () => {
    const { egressNat, datapath } = await start('aws', { AWS_VPC_K8S_CNI_EXTERNALSNAT: 'true', AWS_VPC_CNI_NODE_PORT_SUPPORT: 'false' });
    expect(egressNat.calls).toEqual(['remove']);
    expect(datapath.nodePortMarks).toEqual([undefined]);
  });

  it('node-port support with another mark: the table and the rule use it', async () => {
    const { egressNat, datapath } = await start('aws', { AWS_VPC_K8S_CNI_CONNMARK: '0x2000' });
    const call = egressNat.calls[0];
    expect(call !== 'remove' && call?.nodePort?.mark).toBe(0x2000);
    expect(datapath.nodePortMarks).toEqual([0x2000]);
  });

  it('Azure: no SNAT, but the node-port chain and rule (a pod on a secondary NIC answers through the primary NIC)', async () => {
    const { cloud, egressNat, spec, datapath } = await start('azure', {});
    expect(egressNat.calls).toEqual([{ nodePort: { primaryIp: cloud.interfaces[0]!.primaryIp, podInterfacePrefix: 'eni', mark: 0x80 } }]);
    expect(datapath.nodePortMarks).toEqual([0x80]);
    expect(spec?.fromRuleDestinations).toBeUndefined();
  });

  it('start-up rewrites the from rules of the pods the checkpoint holds to the current mode', async () => {
    const first = await start('aws', { AWS_VPC_K8S_CNI_EXTERNALSNAT: 'true' });
    expect(first.datapath.rewrites).toEqual([[]]);
    await daemon!.close();
    daemon = undefined;
    const second = await start('aws', { AWS_VPC_K8S_CNI_EXCLUDE_SNAT_CIDRS: '192.168.0.0/24' }, { keepDir: true });
    expect(second.datapath.rewrites).toEqual([[{ address: '10.0.0.41', routeTable: 2, fromRuleDestinations: ['10.0.0.0/16', '192.168.0.0/24'] }]]);
  });

  it('a reconcile re-applies the rules with the VPC CIDRs the cloud reports now, and rewrites the pods from rules once', async () => {
    const { cloud, egressNat, datapath } = await start('aws', {});
    const describe = cloud.describeNode.bind(cloud);
    cloud.describeNode = async () => ({ ...(await describe()), vpcCidrs: ['10.0.0.0/16', '100.64.0.0/16'] });
    await daemon!.reconcileNow();
    const last = egressNat.calls.at(-1);
    expect(last !== 'remove' && last?.snat?.vpcCidrs).toEqual(['10.0.0.0/16', '100.64.0.0/16']);
    // The pod added before the change gets its from rules rewritten for the new CIDR; an unchanged reconcile rewrites nothing.
    expect(datapath.rewrites.at(-1)).toEqual([{ address: '10.0.0.41', routeTable: 2, fromRuleDestinations: ['10.0.0.0/16', '100.64.0.0/16'] }]);
    const rewrites = datapath.rewrites.length;
    await daemon!.reconcileNow();
    expect(datapath.rewrites).toHaveLength(rewrites);
  });
});
