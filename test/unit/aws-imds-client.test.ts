import { afterEach, describe, expect, it } from 'vitest';
import { ImdsError } from '../../src/providers/aws/error-mapping.js';
import { ImdsClient } from '../../src/providers/aws/imds-client.js';
import { listMacs, readIdentity, readMacFacts } from '../../src/providers/aws/node-discovery.js';
import { imdsTree, startImdsStub, type ImdsStub } from '../support/aws-imds-stub.js';

const tree = imdsTree({
  instanceId: 'i-0abc',
  instanceType: 'm5.large',
  region: 'eu-west-1',
  interfaces: [
    {
      mac: '02:aa:00:00:00:01',
      deviceIndex: 0,
      interfaceId: 'eni-p',
      subnetId: 'subnet-1',
      subnetCidr: '10.0.1.0/24',
      localIpv4s: ['10.0.1.10', '10.0.1.11'],
      vpcCidrs: ['10.0.0.0/16', '100.64.0.0/16'],
      securityGroupIds: ['sg-1', 'sg-2'],
    },
    {
      mac: '02:aa:00:00:00:02',
      deviceIndex: 1,
      interfaceId: 'eni-s',
      subnetId: 'subnet-2',
      subnetCidr: '10.0.2.0/24',
      localIpv4s: ['10.0.2.10'],
      vpcCidrs: ['10.0.0.0/16'],
      securityGroupIds: ['sg-1'],
    },
  ],
});

const noSleep = (): Promise<void> => Promise.resolve();

describe('ImdsClient', () => {
  let stub: ImdsStub | undefined;
  afterEach(async () => {
    await stub?.close();
    stub = undefined;
  });

  it('fetches one token and reuses it', async () => {
    stub = await startImdsStub(tree);
    const imds = new ImdsClient({ endpoint: stub.url, sleep: noSleep });
    expect(await imds.get('/latest/meta-data/instance-id')).toBe('i-0abc');
    expect(await imds.get('/latest/meta-data/instance-type')).toBe('m5.large');
    expect(stub.tokensIssued()).toBe(1);
    expect(stub.requests.filter((request) => request.startsWith('PUT'))).toEqual(['PUT /latest/api/token']);
  });

  it('fetches a new token shortly before the old one expires', async () => {
    stub = await startImdsStub(tree);
    let now = 1_000_000;
    const imds = new ImdsClient({ endpoint: stub.url, sleep: noSleep, now: () => now });
    await imds.get('/latest/meta-data/instance-id');
    now += 21_600_000 - 120_000;
    await imds.get('/latest/meta-data/instance-id');
    expect(stub.tokensIssued()).toBe(1);
    now += 90_000;
    await imds.get('/latest/meta-data/instance-id');
    expect(stub.tokensIssued()).toBe(2);
  });

  it('fetches a new token when IMDS answers 401', async () => {
    stub = await startImdsStub(tree);
    const imds = new ImdsClient({ endpoint: stub.url, sleep: noSleep });
    await imds.get('/latest/meta-data/instance-id');
    stub.revokeTokens();
    expect(await imds.get('/latest/meta-data/mac')).toBe('02:aa:00:00:00:01');
    expect(stub.tokensIssued()).toBe(2);
  });

  it('retries 5xx and 429, then succeeds', async () => {
    stub = await startImdsStub(tree);
    stub.failNext('/latest/meta-data/instance-id', 503, 429);
    const imds = new ImdsClient({ endpoint: stub.url, sleep: noSleep, attempts: 3 });
    expect(await imds.get('/latest/meta-data/instance-id')).toBe('i-0abc');
  });

  it('names the path and status when a path is missing, without retrying a 404', async () => {
    stub = await startImdsStub(tree);
    const imds = new ImdsClient({ endpoint: stub.url, sleep: noSleep });
    const error = await imds.get('/latest/meta-data/nope').catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ImdsError);
    expect((error as ImdsError).status).toBe(404);
    expect((error as ImdsError).message).toBe('IMDS /latest/meta-data/nope failed: HTTP 404 Not Found');
    expect(stub.requests.filter((request) => request === 'GET /latest/meta-data/nope')).toHaveLength(1);
  });

  it('gives up after the configured attempts when 5xx persists', async () => {
    stub = await startImdsStub(tree);
    stub.failNext('/latest/meta-data/instance-id', 500, 500, 500);
    const imds = new ImdsClient({ endpoint: stub.url, sleep: noSleep, attempts: 3 });
    await expect(imds.get('/latest/meta-data/instance-id')).rejects.toThrow(
      'IMDS /latest/meta-data/instance-id failed: HTTP 500',
    );
  });

  it('reports a connection failure with no status', async () => {
    stub = await startImdsStub(tree);
    const url = stub.url;
    await stub.close();
    stub = undefined;
    const imds = new ImdsClient({ endpoint: url, sleep: noSleep, attempts: 2, timeoutMs: 500 });
    const error = await imds.get('/latest/meta-data/instance-id').catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ImdsError);
    expect((error as ImdsError).status).toBeUndefined();
    expect((error as ImdsError).message).toMatch(/^IMDS \/latest\/api\/token failed: no answer after 2 attempts/);
  });
});

describe('node discovery from IMDS', () => {
  let stub: ImdsStub | undefined;
  afterEach(async () => {
    await stub?.close();
    stub = undefined;
  });

  it('reads identity, MACs and one MAC subtree', async () => {
    stub = await startImdsStub(tree);
    const imds = new ImdsClient({ endpoint: stub.url, sleep: noSleep });
    expect(await readIdentity(imds, undefined)).toEqual({
      instanceId: 'i-0abc',
      instanceType: 'm5.large',
      primaryMac: '02:aa:00:00:00:01',
      localIpv4: '10.0.1.10',
      region: 'eu-west-1',
    });
    expect((await readIdentity(imds, 'us-west-2')).region).toBe('us-west-2');
    expect(await listMacs(imds)).toEqual(['02:aa:00:00:00:01', '02:aa:00:00:00:02']);
    expect(await readMacFacts(imds, '02:aa:00:00:00:01')).toEqual({
      mac: '02:aa:00:00:00:01',
      deviceIndex: 0,
      interfaceId: 'eni-p',
      subnetId: 'subnet-1',
      subnetCidr: '10.0.1.0/24',
      localIpv4s: ['10.0.1.10', '10.0.1.11'],
      vpcCidrs: ['10.0.0.0/16', '100.64.0.0/16'],
      securityGroupIds: ['sg-1', 'sg-2'],
    });
  });

  it('rejects a device-number that is not an index', async () => {
    stub = await startImdsStub(tree);
    stub.set('/latest/meta-data/network/interfaces/macs/02:aa:00:00:00:02/device-number', 'eth1');
    const imds = new ImdsClient({ endpoint: stub.url, sleep: noSleep });
    await expect(readMacFacts(imds, '02:aa:00:00:00:02')).rejects.toThrow(/device-number is not a device index: "eth1"/);
  });
});
