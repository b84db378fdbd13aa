import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import {
  AssignPrivateIpAddressesCommand,
  AttachNetworkInterfaceCommand,
  CreateNetworkInterfaceCommand,
  DescribeInstancesCommand,
  DescribeNetworkInterfacesCommand,
  DetachNetworkInterfaceCommand,
  EC2Client,
  UnassignPrivateIpAddressesCommand,
} from '@aws-sdk/client-ec2';
import { afterEach, describe, expect, it } from 'vitest';
import type { AwsEmulator, AwsEmulatorOptions } from '../../src/emulator/aws/index.js';
import { startAwsEmulator } from '../../src/emulator/aws/index.js';

class Imds {
  private token = '';
  constructor(readonly base: string) {}

  async login(ttl = '21600'): Promise<void> {
    const res = await fetch(`${this.base}/latest/api/token`, { method: 'PUT', headers: { 'X-aws-ec2-metadata-token-ttl-seconds': ttl } });
    expect(res.status).toBe(200);
    this.token = await res.text();
  }

  async get(path: string): Promise<string> {
    const res = await fetch(`${this.base}/latest/meta-data/${path}`, { headers: { 'X-aws-ec2-metadata-token': this.token } });
    if (res.status !== 200) throw new Error(`IMDS ${path}: HTTP ${res.status}`);
    return res.text();
  }
}

const opened: AwsEmulator[] = [];
const clients: EC2Client[] = [];

async function setup(options: AwsEmulatorOptions = {}): Promise<{ emu: AwsEmulator; ec2: EC2Client }> {
  const emu = await startAwsEmulator(options);
  opened.push(emu);
  const ec2 = new EC2Client({ endpoint: emu.ec2Url, region: emu.region, credentials: { accessKeyId: 'test', secretAccessKey: 'test' }, maxAttempts: 1 });
  clients.push(ec2);
  return { emu, ec2 };
}

afterEach(async () => {
  for (const c of clients.splice(0)) c.destroy();
  for (const e of opened.splice(0)) await e.close();
});

describe('emulated IMDSv2', () => {
  it('requires a session token and a valid TTL', async () => {
    const { emu } = await setup();
    const node = await emu.launchInstance({ instanceType: 'm5.large' });
    expect((await fetch(`${node.imdsUrl}/latest/meta-data/instance-id`)).status).toBe(401);
    expect((await fetch(`${node.imdsUrl}/latest/meta-data/instance-id`, { headers: { 'X-aws-ec2-metadata-token': 'forged' } })).status).toBe(401);
    expect((await fetch(`${node.imdsUrl}/latest/api/token`, { method: 'PUT' })).status).toBe(400);
    expect((await fetch(`${node.imdsUrl}/latest/api/token`, { method: 'PUT', headers: { 'X-aws-ec2-metadata-token-ttl-seconds': '21601' } })).status).toBe(400);
    expect((await fetch(`${node.imdsUrl}/latest/api/token`, { method: 'GET' })).status).toBe(405);
    const imds = new Imds(node.imdsUrl);
    await imds.login('60');
    expect(await imds.get('instance-id')).toBe(node.instanceId);
  });

  it('expires tokens by the emulator clock', async () => {
    let now = 5_000_000;
    const { emu } = await setup({ clock: () => now });
    const node = await emu.launchInstance({ instanceType: 'm5.large' });
    const imds = new Imds(node.imdsUrl);
    await imds.login('10');
    now += 9_999;
    expect(await imds.get('instance-id')).toBe(node.instanceId);
    now += 1;
    await expect(imds.get('instance-id')).rejects.toThrow('HTTP 401');
  });

  it('serves identity, placement and a macs tree consistent with EC2', async () => {
    const { emu, ec2 } = await setup({ region: 'eu-west-1' });
    const node = await emu.launchInstance({ instanceType: 'c5.xlarge', securityGroupIds: ['sg-0aaaaaaaaaaaaaaa1', 'sg-0aaaaaaaaaaaaaaa2'] });
    const imds = new Imds(node.imdsUrl);
    await imds.login();
    expect(await imds.get('instance-type')).toBe('c5.xlarge');
    expect(await imds.get('mac')).toBe(node.mac);
    expect(await imds.get('local-ipv4')).toBe(node.primaryIp);
    expect(await imds.get('placement/region')).toBe('eu-west-1');
    expect(await imds.get('placement/availability-zone')).toBe('eu-west-1a');
    expect((await imds.get('')).split('\n')).toEqual(expect.arrayContaining(['instance-id', 'network/', 'placement/', 'iam/']));

    const subnetId = emu.subnets()[0]!.id;
    const eni = (await ec2.send(new CreateNetworkInterfaceCommand({ SubnetId: subnetId, SecondaryPrivateIpAddressCount: 1 }))).NetworkInterface!;
    await ec2.send(new AttachNetworkInterfaceCommand({ NetworkInterfaceId: eni.NetworkInterfaceId, InstanceId: node.instanceId, DeviceIndex: 1 }));
    const assigned = await ec2.send(new AssignPrivateIpAddressesCommand({ NetworkInterfaceId: eni.NetworkInterfaceId, SecondaryPrivateIpAddressCount: 2 }));

    const macs = (await imds.get('network/interfaces/macs/')).split('\n');
    expect(macs.sort()).toEqual([`${node.mac}/`, `${eni.MacAddress}/`].sort());
    const described = await ec2.send(new DescribeNetworkInterfacesCommand({ Filters: [{ Name: 'attachment.instance-id', Values: [node.instanceId] }] }));
    for (const d of described.NetworkInterfaces!) {
      const base = `network/interfaces/macs/${d.MacAddress}/`;
      expect(await imds.get(`${base}interface-id`)).toBe(d.NetworkInterfaceId);
      expect(await imds.get(`${base}device-number`)).toBe(String(d.Attachment!.DeviceIndex));
      expect(await imds.get(`${base}subnet-id`)).toBe(d.SubnetId);
      expect(await imds.get(`${base}subnet-ipv4-cidr-block`)).toBe('10.0.0.0/20');
      expect(await imds.get(`${base}vpc-id`)).toBe(d.VpcId);
      expect(await imds.get(`${base}vpc-ipv4-cidr-block`)).toBe('10.0.0.0/16');
      expect(await imds.get(`${base}vpc-ipv4-cidr-blocks`)).toBe('10.0.0.0/16');
      expect(await imds.get(`${base}owner-id`)).toBe(d.OwnerId);
      expect((await imds.get(`${base}security-group-ids`)).split('\n')).toEqual(d.Groups!.map((g) => g.GroupId));
      expect((await imds.get(`${base}local-ipv4s`)).split('\n')).toEqual(d.PrivateIpAddresses!.map((p) => p.PrivateIpAddress));
    }
    const secondaryIps = (await imds.get(`network/interfaces/macs/${eni.MacAddress}/local-ipv4s`)).split('\n');
    expect(secondaryIps[0]).toBe(eni.PrivateIpAddress);
    expect(secondaryIps).toEqual(expect.arrayContaining(assigned.AssignedPrivateIpAddresses!.map((a) => a.PrivateIpAddress)));
    expect((await imds.get(`network/interfaces/macs/${node.mac}/security-group-ids`)).split('\n')).toEqual([
      'sg-0aaaaaaaaaaaaaaa1',
      'sg-0aaaaaaaaaaaaaaa2',
    ]);
    await expect(imds.get('network/interfaces/macs/02:00:00:00:00:00/interface-id')).rejects.toThrow('HTTP 404');
  });

  it('lags EC2 by the propagation delay after attach, assign and unassign', async () => {
    let now = 1_700_000_000_000;
    const { emu, ec2 } = await setup({ clock: () => now, imdsPropagationMs: 1500, detachDelayMs: 2000 });
    const node = await emu.launchInstance({ instanceType: 'm5.large' });
    const imds = new Imds(node.imdsUrl);
    await imds.login();
    const macsNow = async (): Promise<string[]> => (await imds.get('network/interfaces/macs/')).split('\n').sort();
    expect(await macsNow()).toEqual([`${node.mac}/`]);

    const eni = (await ec2.send(new CreateNetworkInterfaceCommand({ SubnetId: emu.subnets()[0]!.id }))).NetworkInterface!;
    const { AttachmentId } = await ec2.send(
      new AttachNetworkInterfaceCommand({ NetworkInterfaceId: eni.NetworkInterfaceId, InstanceId: node.instanceId, DeviceIndex: 1 }),
    );
    now += 1499;
    expect(await macsNow()).toEqual([`${node.mac}/`]);
    now += 1;
    expect(await macsNow()).toEqual([`${node.mac}/`, `${eni.MacAddress}/`].sort());

    const ipsPath = `network/interfaces/macs/${eni.MacAddress}/local-ipv4s`;
    const assigned = await ec2.send(new AssignPrivateIpAddressesCommand({ NetworkInterfaceId: eni.NetworkInterfaceId, SecondaryPrivateIpAddressCount: 1 }));
    const ip = assigned.AssignedPrivateIpAddresses![0]!.PrivateIpAddress!;
    expect(await imds.get(ipsPath)).toBe(eni.PrivateIpAddress);
    now += 1500;
    expect(await imds.get(ipsPath)).toBe(`${eni.PrivateIpAddress}\n${ip}`);
    await ec2.send(new UnassignPrivateIpAddressesCommand({ NetworkInterfaceId: eni.NetworkInterfaceId, PrivateIpAddresses: [ip] }));
    expect(await imds.get(ipsPath)).toBe(`${eni.PrivateIpAddress}\n${ip}`);
    now += 1500;
    expect(await imds.get(ipsPath)).toBe(eni.PrivateIpAddress);

    await ec2.send(new DetachNetworkInterfaceCommand({ AttachmentId }));
    const status = async (): Promise<string | undefined> =>
      (await ec2.send(new DescribeNetworkInterfacesCommand({ NetworkInterfaceIds: [eni.NetworkInterfaceId!] }))).NetworkInterfaces?.[0]?.Attachment?.Status ??
      'none';
    expect(await status()).toBe('detaching');
    expect(emu.topology().instances[0]?.interfaces.map((i) => i.attachmentStatus)).toEqual(['attached', 'detaching']);
    now += 1999;
    expect(await status()).toBe('detaching');
    now += 1;
    expect(await status()).toBe('none');
    expect(emu.topology().detachedInterfaces.map((i) => i.eniId)).toEqual([eni.NetworkInterfaceId]);
    expect(await macsNow()).toHaveLength(2);
    now += 1500;
    expect(await macsNow()).toEqual([`${node.mac}/`]);
  });

  it('fires onChange after mutations and after an asynchronous detach completes', async () => {
    const { emu, ec2 } = await setup({ detachDelayMs: 30 });
    const node = await emu.launchInstance({ instanceType: 'm5.large' });
    const eni = (await ec2.send(new CreateNetworkInterfaceCommand({ SubnetId: emu.subnets()[0]!.id }))).NetworkInterface!;
    const { AttachmentId } = await ec2.send(
      new AttachNetworkInterfaceCommand({ NetworkInterfaceId: eni.NetworkInterfaceId, InstanceId: node.instanceId, DeviceIndex: 1 }),
    );
    let fired = 0;
    const detached = new Promise<void>((resolve) => {
      const off = emu.onChange(() => {
        fired += 1;
        if (emu.topology().detachedInterfaces.length === 1) {
          off();
          resolve();
        }
      });
    });
    await ec2.send(new DetachNetworkInterfaceCommand({ AttachmentId }));
    await detached;
    expect(fired).toBe(2);
  });

  it('serves role credentials that the SDK credential chain accepts', async () => {
    const { emu } = await setup();
    const node = await emu.launchInstance({ instanceType: 'm5.large' });
    const imds = new Imds(node.imdsUrl);
    await imds.login();
    const role = await imds.get('iam/security-credentials/');
    const doc: unknown = JSON.parse(await imds.get(`iam/security-credentials/${role}`));
    expect(doc).toMatchObject({ Code: 'Success', AccessKeyId: expect.stringMatching(/^ASIA/), Expiration: expect.any(String) });

    const require = createRequire(import.meta.url);
    const imdsProviderPath = require.resolve('@smithy/credential-provider-imds');
    expect(existsSync(imdsProviderPath)).toBe(true);
    const { fromInstanceMetadata } = (await import('@smithy/credential-provider-imds')) as {
      fromInstanceMetadata: () => () => Promise<{ accessKeyId: string; sessionToken?: string }>;
    };
    const saved = { ...process.env };
    try {
      for (const key of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_PROFILE', 'AWS_CONTAINER_CREDENTIALS_FULL_URI', 'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI', 'AWS_WEB_IDENTITY_TOKEN_FILE']) {
        delete process.env[key];
      }
      process.env['AWS_CONFIG_FILE'] = '/nonexistent/emu-aws-config';
      process.env['AWS_SHARED_CREDENTIALS_FILE'] = '/nonexistent/emu-aws-credentials';
      process.env['AWS_EC2_METADATA_SERVICE_ENDPOINT'] = node.imdsUrl;
      const creds = await fromInstanceMetadata()();
      expect(creds.accessKeyId).toBe((doc as { AccessKeyId: string }).AccessKeyId);

      const ec2 = new EC2Client({ endpoint: emu.ec2Url, region: emu.region, maxAttempts: 1 });
      clients.push(ec2);
      const out = await ec2.send(new DescribeInstancesCommand({ InstanceIds: [node.instanceId] }));
      expect(out.Reservations?.[0]?.Instances?.[0]?.InstanceId).toBe(node.instanceId);
      const used = await ec2.config.credentials();
      expect(used.accessKeyId).toBe((doc as { AccessKeyId: string }).AccessKeyId);
    } finally {
      for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
      Object.assign(process.env, saved);
    }
  });
});
