/**
 * The daemon's SNAT wiring with a fake cloud and datapath: which rules it asks the egress NAT for,
 * and which destinations a pod on a secondary interface gets, per cloud and per
 * AWS_VPC_K8S_CNI_EXTERNALSNAT. Real Unix socket and checkpoint in a temp dir.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { EgressNat, SnatRules } from '../../src/cni/datapath/snat.js';
import { FileCheckpoint } from '../../src/ipamd/checkpoint.js';
import { loadDaemonConfig } from '../../src/ipamd/config.js';
import { Daemon } from '../../src/ipamd/daemon.js';
import { FakeCloud } from '../support/fake-cloud.js';
import { FakeDatapath } from '../support/fake-datapath.js';

class RecordingNat implements EgressNat {
  readonly calls: (SnatRules | 'remove')[] = [];
  async apply(rules: SnatRules): Promise<void> {
    this.calls.push(rules);
  }
  async remove(): Promise<void> {
    this.calls.push('remove');
  }
}

let dir: string | undefined;
let daemon: Daemon | undefined;

afterEach(async () => {
  await daemon?.close();
  daemon = undefined;
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

/** A node whose only free address is on a secondary interface (route table 2). */
async function start(cloudName: string, env: Record<string, string>) {
  dir = await mkdtemp(join(tmpdir(), 'nativeip-daemon-snat-'));
  const cloud = new FakeCloud();
  // Why: FakeCloud names itself 'fake'; the SNAT decision depends on the provider's name.
  Object.defineProperty(cloud, 'name', { value: cloudName });
  cloud.interfaces.push({ id: 'eni-1', deviceIndex: 1, primaryIp: '10.0.0.40', secondaryIps: ['10.0.0.41'], managed: true });
  const config = loadDaemonConfig({
    WARM_IP_TARGET: '1',
    NATIVEIP_CLOUD: 'aws',
    NATIVEIP_SOCKET: join(dir, 'ipamd.sock'),
    NATIVEIP_CHECKPOINT: join(dir, 'checkpoint.json'),
    ...env,
  });
  const datapath = new FakeDatapath();
  const egressNat = new RecordingNat();
  daemon = new Daemon({ config, logger: pino({ level: 'silent' }), provider: cloud, datapath, egressNat, checkpoint: new FileCheckpoint(config.checkpointPath) });
  await daemon.start();
  const result = await daemon.service.add({ networkName: 'net', containerId: 'c1', ifName: 'eth0', netns: '/run/netns/snat-fake' });
  expect(result.address).toBe('10.0.0.41/32');
  const spec = [...datapath.pods.values()][0];
  return { cloud, egressNat, spec };
}

describe('daemon SNAT wiring', () => {
  it('AWS default: installs the SNAT rule for the node and routes only VPC (and excluded) destinations through a secondary interface', async () => {
    const { cloud, egressNat, spec } = await start('aws', { AWS_VPC_K8S_CNI_EXCLUDE_SNAT_CIDRS: '192.168.0.0/24', AWS_VPC_K8S_CNI_RANDOMIZESNAT: 'hashrandom' });
    expect(egressNat.calls).toEqual([
      { primaryIp: cloud.interfaces[0]!.primaryIp, vpcCidrs: ['10.0.0.0/16'], excludedCidrs: ['192.168.0.0/24'], podInterfacePrefix: 'eni', ports: 'hashrandom' },
    ]);
    expect(spec?.routeTable).toBe(2);
    expect(spec?.fromRuleDestinations).toEqual(['10.0.0.0/16', '192.168.0.0/24']);
  });

  it('AWS with external SNAT: removes an earlier SNAT table and the secondary interface carries every destination', async () => {
    const { egressNat, spec } = await start('aws', { AWS_VPC_K8S_CNI_EXTERNALSNAT: 'true' });
    expect(egressNat.calls).toEqual(['remove']);
    expect(spec?.routeTable).toBe(2);
    expect(spec?.fromRuleDestinations).toBeUndefined();
  });

  it('Azure: no SNAT and no nft call at all', async () => {
    const { egressNat, spec } = await start('azure', {});
    expect(egressNat.calls).toEqual([]);
    expect(spec?.fromRuleDestinations).toBeUndefined();
  });

  it('a reconcile re-applies the rules with the VPC CIDRs the cloud reports now', async () => {
    const { cloud, egressNat } = await start('aws', {});
    const describe = cloud.describeNode.bind(cloud);
    cloud.describeNode = async () => ({ ...(await describe()), vpcCidrs: ['10.0.0.0/16', '100.64.0.0/16'] });
    await daemon!.reconcileNow();
    const last = egressNat.calls.at(-1);
    expect(last !== 'remove' && last?.vpcCidrs).toEqual(['10.0.0.0/16', '100.64.0.0/16']);
  });
});
