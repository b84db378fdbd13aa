/**
 * The ENI journal (eni-journal.ts): its codec, what a restart does for each state an operation can
 * be left in, which attached ENIs need DeleteOnTermination, and that createAttachedEni has each
 * step on disk before the call it protects. A gateway double keeps the ENIs' state; the emulator
 * test (aws-eni-crash-resume) kills the provider at each step over the wire.
 */
import { describe, expect, it } from 'vitest';
import { CloudError } from '../../src/core/types.js';
import type { Ec2Gateway } from '../../src/providers/aws/ec2-gateway.js';
import { createAttachedEni } from '../../src/providers/aws/ec2-grow.js';
import { Ec2Provider } from '../../src/providers/aws/ec2-provider.js';
import type { AttachmentRecord, EniRecord } from '../../src/providers/aws/ec2-records.js';
import { resolveUnfinished, settleDeleteOnTermination } from '../../src/providers/aws/ec2-resume.js';
import type { Ec2Session } from '../../src/providers/aws/ec2-session.js';
import {
  EniJournal,
  decodeEniJournal,
  deleteOnTerminationUnset,
  encodeEniJournal,
  resumeAction,
  stepOf,
  type EniOperation,
} from '../../src/providers/aws/eni-journal.js';
import { CREATE_TOKEN_TAG_KEY } from '../../src/providers/aws/tags.js';

const INSTANCE = 'i-1';

function eniOf(id: string, options: { attachment?: AttachmentRecord; managed?: boolean; tags?: Record<string, string> } = {}): EniRecord {
  const tags = new Map(Object.entries(options.tags ?? {}));
  if (options.managed !== false) tags.set('nativeip.io/managed', 'true');
  return {
    id,
    mac: '02:00:00:00:00:01',
    subnetId: 'subnet-1',
    primaryIp: '10.0.0.5',
    secondaryIps: ['10.0.0.6'],
    prefixes: [],
    status: options.attachment === undefined ? 'available' : 'in-use',
    attachment: options.attachment,
    tags,
  };
}

const attachment = (extra: Partial<AttachmentRecord> = {}): AttachmentRecord => ({ attachmentId: 'attach-1', deviceIndex: 1, status: 'attached', instanceId: INSTANCE, ...extra });

describe('journal codec', () => {
  const ops: EniOperation[] = [
    { clientToken: 't1', deviceIndex: 1, startedAtMs: 5 },
    { clientToken: 't2', deviceIndex: 2, startedAtMs: 6, interfaceId: 'eni-2' },
    { clientToken: 't3', deviceIndex: 3, startedAtMs: 7, interfaceId: 'eni-3', attachmentId: 'attach-3' },
  ];

  it('round-trips through JSON, and no operations encode to nothing', () => {
    expect(decodeEniJournal(JSON.parse(JSON.stringify(encodeEniJournal(ops))))).toEqual(ops);
    expect(encodeEniJournal([])).toBeUndefined();
    expect(decodeEniJournal(undefined)).toEqual([]);
  });

  it.each([
    ['not an object', 'x', /expected an object/],
    ['another version', { version: 2, enis: [] }, /version 2 is not supported/],
    ['no list', { version: 1 }, /enis: expected an array/],
    ['no token', { version: 1, enis: [{ deviceIndex: 1, startedAtMs: 1 }] }, /clientToken/],
    ['a fractional device index', { version: 1, enis: [{ clientToken: 't', deviceIndex: 1.5, startedAtMs: 1 }] }, /deviceIndex/],
    ['an attachment without an ENI', { version: 1, enis: [{ clientToken: 't', deviceIndex: 1, startedAtMs: 1, attachmentId: 'a' }] }, /attachmentId without interfaceId/],
  ])('refuses %s', (_what, value, message) => {
    expect(() => decodeEniJournal(value)).toThrow(message);
  });

  it('names the step each operation was at', () => {
    expect(ops.map(stepOf)).toEqual(['create', 'attach', 'deleteOnTermination']);
  });
});

describe('what a restart does with an operation, by what EC2 shows', () => {
  it.each<[string, EniRecord | undefined, string]>([
    ['nothing (never made, or deleted)', undefined, 'forget'],
    ['detached', eniOf('eni-1'), 'keep'],
    ['detached but not yet available', { ...eniOf('eni-1'), status: 'detaching' }, 'forget'],
    ['attached here, flag false', eniOf('eni-1', { attachment: attachment({ deleteOnTermination: false }) }), 'deleteOnTermination'],
    ['attached here, flag not reported', eniOf('eni-1', { attachment: attachment() }), 'deleteOnTermination'],
    ['attached here, flag set', eniOf('eni-1', { attachment: attachment({ deleteOnTermination: true }) }), 'done'],
    ['attached to another instance', eniOf('eni-1', { attachment: attachment({ instanceId: 'i-2' }) }), 'forget'],
    ['being detached from here', eniOf('eni-1', { attachment: attachment({ status: 'detaching', deleteOnTermination: false }) }), 'forget'],
  ])('%s → %s', (_what, found, kind) => {
    expect(resumeAction(found, INSTANCE).kind).toBe(kind);
  });
});

describe('ENIs needing DeleteOnTermination', () => {
  it('are the attached ENIs of ours whose flag EC2 shows false, and only those', () => {
    const enis = [
      eniOf('eni-unset', { attachment: attachment({ attachmentId: 'a-unset', deleteOnTermination: false }) }),
      eniOf('eni-set', { attachment: attachment({ deleteOnTermination: true }) }),
      eniOf('eni-unknown', { attachment: attachment() }),
      eniOf('eni-not-ours', { managed: false, attachment: attachment({ deleteOnTermination: false }) }),
      eniOf('eni-opted-out', { tags: { 'node.k8s.amazonaws.com/no_manage': 'TRUE' }, attachment: attachment({ deleteOnTermination: false }) }),
      eniOf('eni-elsewhere', { attachment: attachment({ instanceId: 'i-2', deleteOnTermination: false }) }),
      eniOf('eni-primary', { attachment: attachment({ deviceIndex: 0, deleteOnTermination: false }) }),
      eniOf('eni-detached'),
    ];
    expect([...deleteOnTerminationUnset(enis, INSTANCE)]).toEqual([['eni-unset', 'a-unset']]);
  });
});

/** A gateway double that keeps ENIs; `onCall` sees each call before it runs. */
class StatefulGateway {
  readonly calls: string[] = [];
  readonly enis = new Map<string, EniRecord>();
  onCall: (name: string) => void = () => undefined;
  createError: CloudError | undefined;
  modifyErrors: CloudError[] = [];
  #next = 1;

  async createEni(request: { tags: readonly { key: string; value: string }[]; clientToken?: string }): Promise<EniRecord> {
    this.#call('create');
    const id = `eni-${this.#next++}`;
    const eni = eniOf(id, { tags: Object.fromEntries(request.tags.map((tag) => [tag.key, tag.value])) });
    this.enis.set(id, eni);
    if (this.createError !== undefined) throw this.createError; // made, but the answer was lost
    return eni;
  }

  async attachEni(interfaceId: string, instanceId: string, deviceIndex: number): Promise<string> {
    this.#call('attach');
    const eni = this.enis.get(interfaceId);
    if (eni === undefined) throw new CloudError('NotFound', `${interfaceId} not found`);
    const attachmentId = `attach-${interfaceId}`;
    this.enis.set(interfaceId, { ...eni, status: 'in-use', attachment: { attachmentId, deviceIndex, status: 'attached', instanceId, deleteOnTermination: false } });
    return attachmentId;
  }

  async setDeleteOnTermination(interfaceId: string): Promise<void> {
    this.#call('modify');
    const error = this.modifyErrors.shift();
    if (error !== undefined) throw error;
    const eni = this.enis.get(interfaceId);
    if (eni?.attachment !== undefined) this.enis.set(interfaceId, { ...eni, attachment: { ...eni.attachment, deleteOnTermination: true } });
  }

  async deleteEni(interfaceId: string): Promise<void> {
    this.#call('delete');
    this.enis.delete(interfaceId);
  }

  async describeEni(interfaceId: string): Promise<EniRecord | undefined> {
    this.#call('describe');
    return this.enis.get(interfaceId);
  }

  async describeAvailableTagged(tags: ReadonlyMap<string, string>): Promise<EniRecord[]> {
    this.#call('describe-tagged');
    return [...this.enis.values()].filter((eni) => eni.attachment === undefined && [...tags].every(([key, value]) => value === '*' || eni.tags.get(key) === value));
  }

  #call(name: string): void {
    this.onCall(name);
    this.calls.push(name);
  }
}

function sessionOf(gateway: StatefulGateway, journal: EniJournal): Ec2Session {
  const limits = { maxInterfaces: 3, ipv4PerInterface: 10 };
  return {
    facts: {
      identity: { instanceId: INSTANCE, instanceType: 'm5.large', primaryMac: '02:00:00:00:00:00', localIpv4: '10.0.0.10', region: 'us-east-1' },
      limits,
      typeLimits: limits,
      primarySubnetId: 'subnet-1',
      primarySubnetCidr: '10.0.0.0/16',
      securityGroupIds: ['sg-1'],
    },
    ec2: () => gateway as unknown as Ec2Gateway,
    imds: undefined as never,
    options: {},
    log: { info: () => undefined, warn: () => undefined, error: () => undefined, debug: () => undefined },
    sleep: async () => undefined,
    subnetCidrs: new Map(),
    knownEnis: new Map(),
    unfinished: { unattached: undefined, deleteOnTermination: new Map(), journal },
  };
}

/** A journal whose saves go to `disk` (the last entry is what a restart would read). */
function journalOnDisk(): { journal: EniJournal; disk: unknown[] } {
  const journal = new EniJournal();
  const disk: unknown[] = [];
  journal.onSave(async () => {
    disk.push(structuredClone(journal.encode()));
  });
  return { journal, disk };
}

describe('createAttachedEni with a journal', () => {
  it('has each step on disk before the call it protects, and nothing left once done', async () => {
    const gateway = new StatefulGateway();
    const { journal, disk } = journalOnDisk();
    const seen: [string, string | undefined][] = [];
    gateway.onCall = (name) => {
      const [op] = decodeEniJournal(disk.at(-1));
      seen.push([name, op === undefined ? undefined : stepOf(op)]);
    };
    const created = await createAttachedEni(sessionOf(gateway, journal), { deviceIndex: 1, secondaryCount: 1 });
    expect(seen).toEqual([
      ['create', 'create'],
      ['attach', 'attach'],
      ['modify', 'deleteOnTermination'],
    ]);
    expect(disk.at(-1)).toBeUndefined();
    expect(gateway.enis.get(created.id)?.attachment?.deleteOnTermination).toBe(true);
    const token = decodeEniJournal(disk[0])[0]?.clientToken;
    expect(gateway.enis.get(created.id)?.tags.get(CREATE_TOKEN_TAG_KEY)).toBe(token);
  });

  it('a create that got no answer is looked up by its token before the next create: no second ENI', async () => {
    const gateway = new StatefulGateway();
    const { journal } = journalOnDisk();
    const session = sessionOf(gateway, journal);
    gateway.createError = new CloudError('Transient', 'CreateNetworkInterface failed (ECONNRESET)', { cloudCode: 'ECONNRESET' });
    await expect(createAttachedEni(session, { deviceIndex: 1, secondaryCount: 1 })).rejects.toMatchObject({ code: 'Transient' });
    expect(journal.size).toBe(1);
    gateway.createError = undefined;
    const created = await createAttachedEni(session, { deviceIndex: 1, secondaryCount: 1 });
    expect(created.id).toBe('eni-1');
    expect(gateway.calls).toEqual(['create', 'describe-tagged', 'attach', 'modify']);
    expect(journal.size).toBe(0);
  });

  it('a create EC2 refused leaves nothing to look up', async () => {
    const gateway = new StatefulGateway();
    const { journal, disk } = journalOnDisk();
    gateway.createEni = async () => {
      gateway.calls.push('create');
      throw new CloudError('SubnetExhausted', 'subnet subnet-1 has no free addresses', { cloudCode: 'InsufficientFreeAddressesInSubnet' });
    };
    await expect(createAttachedEni(sessionOf(gateway, journal), { deviceIndex: 1, secondaryCount: 1 })).rejects.toMatchObject({ code: 'SubnetExhausted' });
    expect(journal.size).toBe(0);
    expect(disk.at(-1)).toBeUndefined();
  });
});

describe('after a restart', () => {
  function restored(ops: EniOperation[]) {
    const gateway = new StatefulGateway();
    const { journal } = journalOnDisk();
    journal.restore(ops);
    return { gateway, journal, session: sessionOf(gateway, journal) };
  }

  it('a detached ENI an earlier run left is deleted; one found attached gets its flag; one gone is forgotten', async () => {
    const { gateway, journal, session } = restored([
      { clientToken: 'left', deviceIndex: 1, startedAtMs: 0 },
      { clientToken: 'attached', deviceIndex: 2, startedAtMs: 0, interfaceId: 'eni-a' },
      { clientToken: 'gone', deviceIndex: 3, startedAtMs: 0, interfaceId: 'eni-gone', attachmentId: 'attach-gone' },
    ]);
    gateway.enis.set('eni-k', eniOf('eni-k', { tags: { [CREATE_TOKEN_TAG_KEY]: 'left' } }));
    gateway.enis.set('eni-a', eniOf('eni-a', { attachment: attachment({ attachmentId: 'attach-a', deviceIndex: 2, deleteOnTermination: false }) }));
    await resolveUnfinished(session);
    // This run may never need another interface: the earlier run's detached ENI is undone at once.
    expect(session.unfinished.unattached).toBeUndefined();
    expect(gateway.enis.has('eni-k')).toBe(false);
    expect([...session.unfinished.deleteOnTermination]).toEqual([['eni-a', 'attach-a']]);
    expect(journal.operations().map((op) => [op.clientToken, stepOf(op)])).toEqual([['attached', 'deleteOnTermination']]);
    const created = await createAttachedEni(session, { deviceIndex: 1, secondaryCount: 1 });
    expect(created.id).not.toBe('eni-k');
    expect(gateway.enis.get('eni-a')?.attachment?.deleteOnTermination).toBe(true);
    expect(journal.size).toBe(0);
  });

  it('a lookup EC2 throttles is tried again by the next call', async () => {
    const { gateway, journal, session } = restored([{ clientToken: 't', deviceIndex: 1, startedAtMs: 0, interfaceId: 'eni-1' }]);
    gateway.describeEni = async () => {
      throw new CloudError('Throttled', 'EC2 throttled DescribeNetworkInterfaces', { cloudCode: 'RequestLimitExceeded' });
    };
    await expect(resolveUnfinished(session)).rejects.toMatchObject({ code: 'Throttled' });
    expect(journal.unresolved()).toHaveLength(1);
    gateway.describeEni = async () => undefined;
    await resolveUnfinished(session);
    expect(journal.size).toBe(0);
  });
});

describe('setting DeleteOnTermination left unset', () => {
  it('is never given up for a failure other than the ENI being gone', async () => {
    const gateway = new StatefulGateway();
    const { journal } = journalOnDisk();
    const session = sessionOf(gateway, journal);
    session.unfinished.deleteOnTermination.set('eni-1', 'attach-1');
    session.unfinished.deleteOnTermination.set('eni-2', 'attach-2');
    gateway.modifyErrors = [new CloudError('Unauthorized', 'not allowed to call ModifyNetworkInterfaceAttribute', { cloudCode: 'UnauthorizedOperation' })];
    await settleDeleteOnTermination(session);
    expect([...session.unfinished.deleteOnTermination.keys()]).toEqual(['eni-1']); // eni-2 went on and was set
    gateway.modifyErrors = [new CloudError('Throttled', 'EC2 throttled', { cloudCode: 'RequestLimitExceeded' })];
    await settleDeleteOnTermination(session);
    expect([...session.unfinished.deleteOnTermination.keys()]).toEqual(['eni-1']);
    gateway.modifyErrors = [new CloudError('NotFound', 'attachment not found', { cloudCode: 'InvalidAttachmentID.NotFound' })];
    await settleDeleteOnTermination(session);
    expect(session.unfinished.deleteOnTermination.size).toBe(0);
  });
});

describe('Ec2Provider resume state', () => {
  it('is undefined when nothing is in flight, and unreadable state is ignored', () => {
    const provider = new Ec2Provider();
    expect(provider.resumeState()).toBeUndefined();
    provider.restoreState({ version: 99, enis: [] });
    expect(provider.resumeState()).toBeUndefined();
    provider.restoreState({ version: 1, enis: [{ clientToken: 't', deviceIndex: 1, startedAtMs: 1 }] });
    expect(provider.resumeState()).toEqual({ version: 1, enis: [{ clientToken: 't', deviceIndex: 1, startedAtMs: 1 }] });
    provider.close();
  });
});
