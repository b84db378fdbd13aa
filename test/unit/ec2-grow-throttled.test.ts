/**
 * createAttachedEni when EC2 throttles halfway: work is kept for the next grow instead of undone
 * (undoing and redoing costs calls from the buckets every node is short of). A gateway double
 * scripts which calls are throttled; the emulator test covers the attach case over the wire.
 */
import { describe, expect, it } from 'vitest';
import { CloudError } from '../../src/core/types.js';
import type { Ec2Gateway } from '../../src/providers/aws/ec2-gateway.js';
import { createAttachedEni } from '../../src/providers/aws/ec2-grow.js';
import type { EniRecord } from '../../src/providers/aws/ec2-records.js';
import type { Ec2Session } from '../../src/providers/aws/ec2-session.js';

const throttled = () => new CloudError('Throttled', 'EC2 throttled the request (RequestLimitExceeded)', { cloudCode: 'RequestLimitExceeded' });

class ScriptedGateway {
  readonly calls: string[] = [];
  /** Calls (by name) to throttle, in order of occurrence. */
  readonly throttle: string[] = [];
  #next = 1;

  #maybeThrottle(name: string): void {
    this.calls.push(name);
    const index = this.throttle.indexOf(name);
    if (index >= 0) {
      this.throttle.splice(index, 1);
      throw throttled();
    }
  }

  async createEni(): Promise<EniRecord> {
    this.#maybeThrottle('create');
    const n = this.#next++;
    return { id: `eni-${n}`, mac: `02:00:00:00:00:0${n}`, subnetId: 'subnet-1', primaryIp: `10.0.0.${n}`, secondaryIps: ['10.0.1.1'], prefixes: [], status: 'available', attachment: undefined, tags: new Map([['nativeip.io/managed', 'true']]) };
  }

  async attachEni(interfaceId: string): Promise<string> {
    this.#maybeThrottle('attach');
    return `attach-${interfaceId}`;
  }

  async setDeleteOnTermination(): Promise<void> {
    this.#maybeThrottle('modify');
  }

  async describeEni(): Promise<undefined> {
    this.calls.push('describe');
    return undefined;
  }
}

function sessionOf(gateway: ScriptedGateway): Ec2Session {
  const limits = { maxInterfaces: 3, ipv4PerInterface: 10 };
  return {
    facts: {
      identity: { instanceId: 'i-1', instanceType: 'm5.large', primaryMac: '02:00:00:00:00:00', localIpv4: '10.0.0.10', region: 'us-east-1' },
      limits,
      typeLimits: limits,
      primarySubnetId: 'subnet-1',
      primarySubnetCidr: '10.0.0.0/16',
      securityGroupIds: ['sg-1'],
    },
    ec2: () => gateway as unknown as Ec2Gateway,
    imds: undefined as never,
    options: {},
    log: { info: () => undefined, warn: () => undefined, error: () => undefined, debug: () => undefined } as never,
    sleep: async () => undefined,
    subnetCidrs: new Map(),
    knownEnis: new Map(),
    unfinished: { unattached: undefined, deleteOnTermination: new Map() },
  };
}

describe('createAttachedEni when EC2 throttles', () => {
  it('a throttled attach keeps the new ENI; the next grow attaches it without creating another', async () => {
    const gateway = new ScriptedGateway();
    gateway.throttle.push('attach');
    const session = sessionOf(gateway);
    await expect(createAttachedEni(session, { deviceIndex: 1, secondaryCount: 1 })).rejects.toMatchObject({ code: 'Throttled' });
    expect(session.unfinished.unattached?.id).toBe('eni-1');
    const created = await createAttachedEni(session, { deviceIndex: 1, secondaryCount: 1 });
    expect(created.id).toBe('eni-1');
    expect(gateway.calls).toEqual(['create', 'attach', 'attach', 'modify']);
    expect(session.unfinished.unattached).toBeUndefined();
  });

  it('a throttled DeleteOnTermination leaves the ENI attached and sets the flag on the next grow', async () => {
    const gateway = new ScriptedGateway();
    gateway.throttle.push('modify');
    const session = sessionOf(gateway);
    const first = await createAttachedEni(session, { deviceIndex: 1, secondaryCount: 1 });
    expect(first.id).toBe('eni-1');
    expect([...session.unfinished.deleteOnTermination]).toEqual([['eni-1', 'attach-eni-1']]);
    await createAttachedEni(session, { deviceIndex: 2, secondaryCount: 1 });
    expect(gateway.calls).toEqual(['create', 'attach', 'modify', 'modify', 'create', 'attach', 'modify']);
    expect(session.unfinished.deleteOnTermination.size).toBe(0);
  });

  it('any other attach failure deletes the new ENI, as before', async () => {
    const gateway = new ScriptedGateway();
    gateway.attachEni = async () => {
      gateway.calls.push('attach');
      throw new CloudError('AddressLimit', 'too many addresses', { cloudCode: 'PrivateIpAddressLimitExceeded' });
    };
    const session = sessionOf(gateway);
    await expect(createAttachedEni(session, { deviceIndex: 1, secondaryCount: 1 })).rejects.toMatchObject({ code: 'AddressLimit' });
    expect(session.unfinished.unattached).toBeUndefined();
    expect(gateway.calls).toEqual(['create', 'attach', 'describe']); // describe: the clean-up found it gone
  });
});
