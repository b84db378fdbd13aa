import { describe, expect, it } from 'vitest';
import { intToIpv4, parseAlignedCidr, tryIpv4ToInt } from '../../src/core/ipv4.js';
import { AddressAllocator } from '../../src/emulator/shared/address-allocator.js';
import { applyFilters } from '../../src/emulator/aws/ec2-filters.js';
import { Ec2ApiError } from '../../src/emulator/aws/errors.js';
import { ImdsHistory } from '../../src/emulator/aws/imds-history.js';
import { lookup } from '../../src/emulator/aws/imds-tree.js';
import { QueryParams } from '../../src/emulator/aws/query-params.js';
import { TokenBucket } from '../../src/core/token-bucket.js';
import { THROTTLE_BUCKETS, throttleClassOf } from '../../src/emulator/aws/ec2-throttling.js';
import { ec2ErrorResponse, ec2Response, escapeXml, leaf, set } from '../../src/emulator/aws/xml.js';

const q = (body: string): QueryParams => QueryParams.fromForm(body);

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (err instanceof Ec2ApiError) return err.code;
    throw err;
  }
  return 'no error';
}

describe('QueryParams', () => {
  it('decodes .N lists in index order, sparse indexes included', () => {
    expect(q('PrivateIpAddress.10=c&PrivateIpAddress.2=b&PrivateIpAddress.1=a').list('PrivateIpAddress')).toEqual(['a', 'b', 'c']);
    expect(q('PrivateIpAddresses.1.PrivateIpAddress=x').list('PrivateIpAddress')).toEqual([]);
  });

  it('decodes filters, tags, tag specifications and private IP specifications', () => {
    const p = q(
      [
        'Filter.1.Name=tag%3Ak',
        'Filter.1.Value.1=a',
        'Filter.1.Value.2=b%20c',
        'Filter.2.Name=status',
        'Filter.2.Value.1=available',
        'TagSpecification.1.ResourceType=network-interface',
        'TagSpecification.1.Tag.1.Key=k',
        'TagSpecification.1.Tag.1.Value=v',
        'Tag.1.Key=only',
        'PrivateIpAddresses.1.PrivateIpAddress=10.0.0.9',
        'PrivateIpAddresses.1.Primary=true',
        'PrivateIpAddresses.2.PrivateIpAddress=10.0.0.10',
      ].join('&'),
    );
    expect(p.filters()).toEqual([
      { name: 'tag:k', values: ['a', 'b c'] },
      { name: 'status', values: ['available'] },
    ]);
    expect(p.tagSpecifications()).toEqual([{ resourceType: 'network-interface', tags: [{ key: 'k', value: 'v' }] }]);
    expect(p.tags()).toEqual([{ key: 'only', value: undefined }]);
    expect(p.privateIpSpecifications()).toEqual([
      { address: '10.0.0.9', primary: true },
      { address: '10.0.0.10', primary: false },
    ]);
  });

  it.each([
    ['missing required', (p: QueryParams) => p.requireString('SubnetId'), '', 'MissingParameter'],
    ['empty required', (p: QueryParams) => p.requireString('SubnetId'), 'SubnetId=', 'MissingParameter'],
    ['non-integer', (p: QueryParams) => p.int('DeviceIndex'), 'DeviceIndex=one', 'InvalidParameterValue'],
    ['out of range', (p: QueryParams) => p.int('MaxResults', { min: 5, max: 1000 }), 'MaxResults=4', 'InvalidParameterValue'],
    ['bad boolean', (p: QueryParams) => p.bool('Force'), 'Force=yes', 'InvalidParameterValue'],
    ['bad list index', (p: QueryParams) => p.list('ResourceId'), 'ResourceId.x=1', 'InvalidParameterValue'],
    ['filter without name', (p: QueryParams) => p.filters(), 'Filter.1.Value.1=a', 'MissingParameter'],
    ['tag without key', (p: QueryParams) => p.tags(), 'Tag.1.Value=a', 'MissingParameter'],
  ])('%s → %s', (_name, read, body, code) => {
    expect(codeOf(() => read(q(body)))).toBe(code);
  });

  it('parses booleans case-insensitively and integers exactly', () => {
    expect(q('Force=TRUE').bool('Force')).toBe(true);
    expect(q('DeviceIndex=3').requireInt('DeviceIndex', { min: 0, max: 127 })).toBe(3);
  });
});

describe('xml', () => {
  it('escapes every special character in leaves', () => {
    expect(escapeXml(`<a href="x">'&'</a>`)).toBe('&lt;a href=&quot;x&quot;&gt;&apos;&amp;&apos;&lt;/a&gt;');
    expect(leaf('description', '</description><x>')).toBe('<description>&lt;/description&gt;&lt;x&gt;</description>');
    expect(leaf('absent', undefined)).toBe('');
  });

  it('renders EC2 documents', () => {
    expect(ec2Response('DeleteTags', 'r-1', [leaf('return', true)])).toContain(
      '<DeleteTagsResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>r-1</requestId><return>true</return></DeleteTagsResponse>',
    );
    expect(set('tagSet', [[leaf('key', 'k')]])).toBe('<tagSet><item><key>k</key></item></tagSet>');
    expect(ec2ErrorResponse('Code.X', 'a & b', 'id')).toContain(
      '<Response><Errors><Error><Code>Code.X</Code><Message>a &amp; b</Message></Error></Errors><RequestID>id</RequestID></Response>',
    );
  });
});

describe('AddressAllocator', () => {
  const cidr = parseAlignedCidr('10.0.0.0/26')!;

  it('skips the reserved addresses and allocates lowest-free, all or nothing', () => {
    const a = new AddressAllocator(cidr);
    expect(a.usableCount).toBe(59);
    expect(a.allocate(2)?.map(intToIpv4)).toEqual(['10.0.0.4', '10.0.0.5']);
    a.release(tryIpv4ToInt('10.0.0.4')!);
    expect(a.allocate(1)?.map(intToIpv4)).toEqual(['10.0.0.4']);
    expect(a.allocate(58)).toBeUndefined();
    expect(a.freeCount).toBe(57);
    expect(a.allocate(57)?.at(-1)).toBe(tryIpv4ToInt('10.0.0.62'));
    expect(a.freeCount).toBe(0);
  });

  it('hands out aligned /28 blocks that avoid reserved and used addresses', () => {
    const a = new AddressAllocator(cidr);
    a.claim(tryIpv4ToInt('10.0.0.20')!);
    expect(intToIpv4(a.allocateBlock(28)!)).toBe('10.0.0.32');
    expect(a.allocateBlock(28)).toBeUndefined();
    expect(a.allocate(1)?.map(intToIpv4)).toEqual(['10.0.0.4']);
    expect(a.isUsed(tryIpv4ToInt('10.0.0.47')!)).toBe(true);
    a.releaseBlock(tryIpv4ToInt('10.0.0.32')!, 28);
    expect(a.isUsed(tryIpv4ToInt('10.0.0.47')!)).toBe(false);
  });
});

describe('filters', () => {
  const items = [
    { id: 'eni-a1', tags: new Map([['team', 'net']]) },
    { id: 'eni-b2', tags: new Map([['team', 'web']]) },
    { id: 'eni-c3', tags: new Map<string, string>() },
  ];
  const fields = { 'network-interface-id': (i: (typeof items)[number]) => [i.id] };
  const ids = (filters: { name: string; values: string[] }[]): string[] => applyFilters(items, filters, fields, (i) => i.tags).map((i) => i.id);

  it.each([
    [[{ name: 'network-interface-id', values: ['eni-a*', 'eni-?2'] }], ['eni-a1', 'eni-b2']],
    [[{ name: 'tag:team', values: ['net'] }], ['eni-a1']],
    [[{ name: 'tag-key', values: ['team'] }], ['eni-a1', 'eni-b2']],
    [[{ name: 'tag-value', values: ['w*'] }], ['eni-b2']],
    [[{ name: 'tag-key', values: ['team'] }, { name: 'network-interface-id', values: ['eni-b2'] }], ['eni-b2']],
    [[], ['eni-a1', 'eni-b2', 'eni-c3']],
  ])('%j → %j', (filters, expected) => {
    expect(ids(filters)).toEqual(expected);
  });

  it('rejects an unknown filter name', () => {
    expect(codeOf(() => ids([{ name: 'flavour', values: ['x'] }]))).toBe('InvalidParameterValue');
  });
});

describe('throttling', () => {
  it('refills at the published rate and caps at the burst', () => {
    let now = 0;
    const bucket = new TokenBucket(THROTTLE_BUCKETS.attachDetach.capacity, THROTTLE_BUCKETS.attachDetach.refillPerSecond, () => now);
    let taken = 0;
    while (bucket.take()) taken++;
    expect(taken).toBe(50);
    now += 1000;
    taken = 0;
    while (bucket.take()) taken++;
    expect(taken).toBe(5);
    now += 3_600_000;
    taken = 0;
    while (bucket.take()) taken++;
    expect(taken).toBe(50);
  });

  it.each([
    ['DescribeNetworkInterfaces', '', 'unfilteredDescribe'],
    ['DescribeNetworkInterfaces', 'Filter.1.Name=status&Filter.1.Value.1=x', 'describe'],
    ['DescribeInstances', 'MaxResults=5', 'describe'],
    ['AttachNetworkInterface', '', 'attachDetach'],
    ['UnassignPrivateIpAddresses', '', 'eniMutation'],
    ['ModifyNetworkInterfaceAttribute', '', 'eniMutation'],
    ['DeleteTags', '', 'tags'],
  ])('%s %s is %s', (action, body, expected) => {
    expect(throttleClassOf(action, q(body))).toBe(expected);
  });
});

describe('IMDS', () => {
  const view = (ip: string) => [
    {
      mac: '02:00:00:00:00:01',
      interfaceId: 'eni-1',
      deviceNumber: 0,
      subnetId: 's',
      subnetCidr: '10.0.0.0/24',
      vpcId: 'v',
      vpcCidr: '10.0.0.0/16',
      localIpv4s: [ip],
      securityGroupIds: [],
      ownerId: 'o',
    },
  ];

  it('serves the view as of now minus the propagation delay', () => {
    const h = new ImdsHistory(1000);
    h.record('i-1', 0, view('10.0.0.4'));
    h.record('i-1', 5000, view('10.0.0.5'));
    h.record('i-1', 5500, view('10.0.0.6'));
    expect(h.viewAt('i-1', 5999)?.[0]?.localIpv4s).toEqual(['10.0.0.4']);
    expect(h.viewAt('i-1', 6000)?.[0]?.localIpv4s).toEqual(['10.0.0.5']);
    expect(h.viewAt('i-1', 6500)?.[0]?.localIpv4s).toEqual(['10.0.0.6']);
    expect(h.viewAt('i-2', 6500)).toBeUndefined();
  });

  it('lists branches with a trailing slash and leaves plain', () => {
    const tree = { a: '1', b: { c: '2' } };
    expect(lookup(tree, '/')).toBe('a\nb/');
    expect(lookup(tree, 'b/c')).toBe('2');
    expect(lookup(tree, 'b/')).toBe('c');
    expect(lookup(tree, 'x')).toBeUndefined();
    expect(lookup(tree, 'a/b')).toBeUndefined();
  });
});
