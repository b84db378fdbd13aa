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
import { KEPT_ENI_MAX_AGE_MS, collectLeakedEnis } from '../../src/providers/aws/leaked-eni-collection.js';
import { CREATED_AT_TAG_KEY, INSTANCE_ID_TAG_KEY } from '../../src/providers/aws/tags.js';
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

/** A gateway that keeps the ENIs' state, so an attach can land while its answer says "throttled". */
class StatefulGateway {
  readonly calls: string[] = [];
  readonly enis = new Map<string, EniRecord>();
  /** attach: throttle the answer but let the attach land (a timed-out first attempt, a throttled retry). */
  landThrottledAttach = false;
  modifyErrors: CloudError[] = [];
  #next = 1;

  async createEni(): Promise<EniRecord> {
    this.calls.push('create');
    const n = this.#next++;
    const eni: EniRecord = { id: `eni-${n}`, mac: `02:00:00:00:00:0${n}`, subnetId: 'subnet-1', primaryIp: `10.0.0.${n}`, secondaryIps: ['10.0.1.1'], prefixes: [], status: 'available', attachment: undefined, tags: new Map([['nativeip.io/managed', 'true']]) };
    this.enis.set(eni.id, eni);
    return eni;
  }

  async attachEni(interfaceId: string, instanceId: string, deviceIndex: number): Promise<string> {
    this.calls.push('attach');
    const eni = this.enis.get(interfaceId);
    if (eni === undefined) throw new CloudError('NotFound', `${interfaceId} not found`, { cloudCode: 'InvalidNetworkInterfaceID.NotFound' });
    if (eni.attachment !== undefined) throw new CloudError('InvalidRequest', `Interface: [${interfaceId}] in use.`, { cloudCode: 'InvalidNetworkInterface.InUse' });
    const attachmentId = `attach-${interfaceId}`;
    this.enis.set(interfaceId, { ...eni, status: 'in-use', attachment: { attachmentId, deviceIndex, status: 'attached', instanceId } });
    if (this.landThrottledAttach) {
      this.landThrottledAttach = false;
      throw throttled();
    }
    return attachmentId;
  }

  async setDeleteOnTermination(): Promise<void> {
    this.calls.push('modify');
    const error = this.modifyErrors.shift();
    if (error !== undefined) throw error;
  }

  async describeEni(interfaceId: string): Promise<EniRecord | undefined> {
    this.calls.push('describe');
    return this.enis.get(interfaceId);
  }

  async detachEni(interfaceId: string): Promise<void> {
    this.calls.push('detach');
    const eni = this.enis.get(interfaceId);
    if (eni !== undefined) this.enis.set(interfaceId, { ...eni, status: 'available', attachment: undefined });
  }

  async deleteEni(interfaceId: string): Promise<void> {
    this.calls.push('delete');
    this.enis.delete(interfaceId);
  }

  async describeAvailableTagged(): Promise<EniRecord[]> {
    this.calls.push('describe-available');
    return [...this.enis.values()].filter((eni) => eni.attachment === undefined);
  }
}

describe('a kept ENI whose throttled attach had landed after all', () => {
  it('is taken as it is attached, not detached and deleted (the reconcile may already have given it to the pool)', async () => {
    const gateway = new StatefulGateway();
    gateway.landThrottledAttach = true;
    const session = sessionOf(gateway as unknown as ScriptedGateway);
    await expect(createAttachedEni(session, { deviceIndex: 1, secondaryCount: 1 })).rejects.toMatchObject({ code: 'Throttled' });
    expect(gateway.enis.get('eni-1')?.attachment?.deviceIndex).toBe(1);
    // The pool, not knowing device 1 is taken, or having adopted eni-1 meanwhile, asks for device 2.
    const created = await createAttachedEni(session, { deviceIndex: 2, secondaryCount: 1 }).catch((error: unknown) => error);
    expect(gateway.calls.slice(2)).toEqual(['attach', 'describe', 'modify']);
    expect(created).toMatchObject({ id: 'eni-1', deviceIndex: 1, managed: true });
    expect(gateway.calls).not.toContain('detach');
    expect(gateway.calls).not.toContain('delete');
    expect(gateway.enis.get('eni-1')?.attachment?.status).toBe('attached');
    expect(session.unfinished.unattached).toBeUndefined();
    expect(session.unfinished.deleteOnTermination.size).toBe(0);
  });

  it('still detached and refused for another reason: deleted, as a new ENI would be', async () => {
    const gateway = new StatefulGateway();
    gateway.landThrottledAttach = true;
    const session = sessionOf(gateway as unknown as ScriptedGateway);
    await expect(createAttachedEni(session, { deviceIndex: 1, secondaryCount: 1 })).rejects.toMatchObject({ code: 'Throttled' });
    await gateway.detachEni('eni-1'); // as if the landed attach were undone
    gateway.attachEni = async () => {
      gateway.calls.push('attach');
      throw new CloudError('InterfaceLimit', 'no more interfaces', { cloudCode: 'AttachmentLimitExceeded' });
    };
    await expect(createAttachedEni(session, { deviceIndex: 2, secondaryCount: 1 })).rejects.toMatchObject({ code: 'InterfaceLimit' });
    expect(gateway.enis.has('eni-1')).toBe(false);
    expect(session.unfinished.unattached).toBeUndefined();
  });

  it('its state unknown (the describe failed too): kept for the next create, not deleted', async () => {
    const gateway = new StatefulGateway();
    gateway.landThrottledAttach = true;
    const session = sessionOf(gateway as unknown as ScriptedGateway);
    await expect(createAttachedEni(session, { deviceIndex: 1, secondaryCount: 1 })).rejects.toMatchObject({ code: 'Throttled' });
    gateway.describeEni = async () => {
      throw throttled();
    };
    await expect(createAttachedEni(session, { deviceIndex: 2, secondaryCount: 1 })).rejects.toMatchObject({ cloudCode: 'InvalidNetworkInterface.InUse' });
    expect(gateway.calls).not.toContain('detach');
    expect(session.unfinished.unattached?.id).toBe('eni-1');
  });
});

describe('a DeleteOnTermination left unset', () => {
  it('is kept after a transient failure to set it (not given up as if the ENI were gone)', async () => {
    const gateway = new StatefulGateway();
    gateway.modifyErrors = [throttled(), new CloudError('Transient', 'ModifyNetworkInterfaceAttribute failed (InternalError)', { cloudCode: 'InternalError' })];
    const session = sessionOf(gateway as unknown as ScriptedGateway);
    await createAttachedEni(session, { deviceIndex: 1, secondaryCount: 1 });
    expect([...session.unfinished.deleteOnTermination.keys()]).toEqual(['eni-1']);
    await createAttachedEni(session, { deviceIndex: 2, secondaryCount: 1 });
    expect([...session.unfinished.deleteOnTermination.keys()]).toEqual(['eni-1']);
  });

  it('is given up once the ENI is gone', async () => {
    const gateway = new StatefulGateway();
    gateway.modifyErrors = [throttled(), new CloudError('NotFound', 'ModifyNetworkInterfaceAttribute: eni-1 not found', { cloudCode: 'InvalidNetworkInterfaceID.NotFound' })];
    const session = sessionOf(gateway as unknown as ScriptedGateway);
    await createAttachedEni(session, { deviceIndex: 1, secondaryCount: 1 });
    await createAttachedEni(session, { deviceIndex: 2, secondaryCount: 1 });
    expect(session.unfinished.deleteOnTermination.size).toBe(0);
  });
});

describe('the leaked-ENI sweep and a kept ENI', () => {
  const createdAt = Date.parse('2026-11-22T08:00:00Z');

  async function keptSession(ageMs: number) {
    const gateway = new StatefulGateway();
    const session = { ...sessionOf(gateway as unknown as ScriptedGateway), options: { now: () => new Date(createdAt + ageMs) } };
    gateway.attachEni = async () => {
      gateway.calls.push('attach');
      throw throttled();
    };
    await expect(createAttachedEni(session, { deviceIndex: 1, secondaryCount: 1 })).rejects.toMatchObject({ code: 'Throttled' });
    const eni = gateway.enis.get('eni-1')!;
    const tags = new Map(eni.tags);
    tags.set(INSTANCE_ID_TAG_KEY, 'i-1');
    tags.set(CREATED_AT_TAG_KEY, new Date(createdAt).toISOString());
    gateway.enis.set('eni-1', { ...eni, tags });
    return { gateway, session };
  }

  it('spares it while the daemon may still come back to it (throttling can last longer than the grace period)', async () => {
    const { gateway, session } = await keptSession(6 * 60_000);
    expect(await collectLeakedEnis(session)).toEqual([]);
    expect(gateway.enis.has('eni-1')).toBe(true);
    expect(session.unfinished.unattached?.id).toBe('eni-1');
  });

  it('deletes it once kept for long, and forgets it', async () => {
    const { gateway, session } = await keptSession(KEPT_ENI_MAX_AGE_MS);
    expect(await collectLeakedEnis(session)).toEqual(['eni-1']);
    expect(gateway.enis.has('eni-1')).toBe(false);
    expect(session.unfinished.unattached).toBeUndefined();
  });
});
