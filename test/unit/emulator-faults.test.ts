/** The emulators' fault plan (selection, seeded rates, counters) and its spec parser. Pure. */
import { describe, expect, it } from 'vitest';
import { parseAwsEmulatorArgs } from '../../src/emulator/aws/cli-args.js';
import { EC2_FAULT_KINDS } from '../../src/emulator/aws/ec2-faults.js';
import { parseAzureEmulatorArgs } from '../../src/emulator/azure/cli-args.js';
import { actionMatches, FaultPlan, seededRandom, type FaultRule } from '../../src/emulator/faults/fault-plan.js';
import { decodeFaultPlan, FaultSpecError, parseFaultSpec } from '../../src/emulator/faults/fault-spec.js';

const rule = (partial: Partial<FaultRule> & Pick<FaultRule, 'kind'>): FaultRule =>
  ({ actions: ['*'], rate: undefined, count: undefined, skip: 0, ...partial }) as FaultRule;
const plan = (rules: FaultRule[], seed = 1) => new FaultPlan({ seed, rules }, () => 0);
const kinds = (p: FaultPlan, actions: string[]) => actions.map((a) => p.decide(a)?.kind ?? '-');

describe('actionMatches', () => {
  it.each([
    ['AttachNetworkInterface', 'AttachNetworkInterface', true],
    ['AttachNetworkInterface', 'DetachNetworkInterface', false],
    ['*', 'Anything', true],
    ['Describe*', 'DescribeSubnets', true],
    ['Describe*', 'CreateTags', false],
    ['*NetworkInterface', 'PutNetworkInterface', true],
    ['*NetworkInterface', 'PutNetworkInterfaceX', false],
    ['Get*Interface*', 'GetScaleSetVmNetworkInterface', true],
    ['Put*Vm', 'PutScaleSetVm', true],
    ['A*A', 'A', false],
  ])('%s ~ %s → %s', (pattern, action, expected) => {
    expect(actionMatches(pattern, action)).toBe(expected);
  });
});

describe('FaultPlan', () => {
  it('fires on every matching request without rate or count', () => {
    expect(kinds(plan([rule({ kind: 'replyLost', actions: ['CreateNetworkInterface'] })]), ['DescribeSubnets', 'CreateNetworkInterface', 'CreateNetworkInterface'])).toEqual([
      '-',
      'replyLost',
      'replyLost',
    ]);
  });

  it('skips K matching requests, then fires exactly N times; other actions do not count', () => {
    const p = plan([rule({ kind: 'serverError', status: 500, actions: ['Attach*'], skip: 2, count: 3 })]);
    const seen = kinds(p, ['AttachNetworkInterface', 'DescribeSubnets', 'AttachNetworkInterface', 'AttachNetworkInterface', 'AttachNetworkInterface', 'DescribeSubnets', 'AttachNetworkInterface', 'AttachNetworkInterface']);
    expect(seen).toEqual(['-', '-', '-', 'serverError', 'serverError', '-', 'serverError', '-']);
    expect(p.status().rules[0]).toMatchObject({ seen: 5, fired: 3 });
  });

  it('the same seed draws the same faults; the rate is roughly kept', () => {
    const run = (seed: number) => kinds(plan([rule({ kind: 'latency', delayMs: 1, rate: 0.3 })], seed), Array.from({ length: 1000 }, () => 'X'));
    const first = run(42);
    expect(run(42)).toEqual(first);
    expect(run(43)).not.toEqual(first);
    const fired = first.filter((k) => k !== '-').length;
    expect(fired).toBeGreaterThan(240);
    expect(fired).toBeLessThan(360);
  });

  it('replace restarts the draws from the seed; without a seed it takes the fallback and reports it', () => {
    const p = new FaultPlan(undefined, () => 77);
    expect(p.status().seed).toBe(77);
    const spec = { seed: 5, rules: [rule({ kind: 'replyLost', rate: 0.5 })] };
    p.replace(spec);
    const first = kinds(p, Array.from({ length: 40 }, () => 'X'));
    p.replace(spec);
    expect(kinds(p, Array.from({ length: 40 }, () => 'X'))).toEqual(first);
  });

  it('one fault per request: the first rule that fires; later rules do not advance', () => {
    const p = plan([rule({ kind: 'serverError', status: 503, count: 1 }), rule({ kind: 'replyLost', count: 1 })]);
    expect(kinds(p, ['X', 'X', 'X'])).toEqual(['serverError', 'replyLost', '-']);
  });

  it('a request the applies check refuses is not a matching one', () => {
    const p = plan([rule({ kind: 'notFoundAfterCreate', windowMs: 100, count: 1 })]);
    expect(p.decide('AttachNetworkInterface', () => false)).toBeUndefined();
    expect(p.status().rules[0]!.seen).toBe(0);
    expect(p.decide('AttachNetworkInterface', () => true)?.kind).toBe('notFoundAfterCreate');
  });

  it('counts fired faults by kind and action, until reset; add appends, clear drops rules but keeps counters', () => {
    const p = plan([rule({ kind: 'replyLost', actions: ['A'] })]);
    p.add([rule({ kind: 'timeout', delayMs: undefined, applied: false, actions: ['B'] })]);
    kinds(p, ['A', 'A', 'B', 'C']);
    expect(p.fired()).toEqual({ total: 3, byKind: { replyLost: 2, timeout: 1 }, byAction: { replyLost: { A: 2 }, timeout: { B: 1 } } });
    p.clear();
    expect(p.decide('A')).toBeUndefined();
    expect(p.fired().total).toBe(3);
    p.resetFired();
    expect(p.fired()).toEqual({ total: 0, byKind: {}, byAction: {} });
  });

  it('seededRandom is the same sequence for the same seed, in [0, 1)', () => {
    const a = seededRandom(9);
    const b = seededRandom(9);
    const xs = Array.from({ length: 100 }, () => a());
    expect(Array.from({ length: 100 }, () => b())).toEqual(xs);
    expect(xs.every((x) => x >= 0 && x < 1)).toBe(true);
  });
});

describe('fault spec', () => {
  it('decodes JSON with defaults', () => {
    expect(parseFaultSpec('{"seed": 3, "rules": [{"kind": "serverError", "actions": "Attach*", "count": 2}, {"kind": "timeout"}, {"kind": "failOperation"}]}')).toEqual({
      seed: 3,
      rules: [
        { kind: 'serverError', status: 500, actions: ['Attach*'], rate: undefined, count: 2, skip: 0 },
        { kind: 'timeout', delayMs: undefined, applied: false, actions: ['*'], rate: undefined, count: undefined, skip: 0 },
        { kind: 'failOperation', code: 'InternalServerError', message: 'The operation failed (fault injected by the emulator).', actions: ['*'], rate: undefined, count: undefined, skip: 0 },
      ],
    });
    expect(parseFaultSpec('[{"kind": "replyLost"}]').seed).toBeUndefined();
  });

  it('decodes the compact form into the same plan', () => {
    expect(parseFaultSpec('replyLost@CreateNetworkInterface|Attach*,count=1,skip=2; latency,delayMs=300,rate=0.25; timeout,applied=true; seed=42')).toEqual({
      seed: 42,
      rules: [
        { kind: 'replyLost', actions: ['CreateNetworkInterface', 'Attach*'], rate: undefined, count: 1, skip: 2 },
        { kind: 'latency', delayMs: 300, actions: ['*'], rate: 0.25, count: undefined, skip: 0 },
        { kind: 'timeout', delayMs: undefined, applied: true, actions: ['*'], rate: undefined, count: undefined, skip: 0 },
      ],
    });
  });

  it.each([
    ['{"rules": [{"kind": "replyLost", "rate": 1.5}]}', 'rules[0].rate', '1.5 is not a number from 0 to 1'],
    ['{"rules": [{"kind": "replyLost"}, {"kind": "latency"}]}', 'rules[1].delayMs', "required for kind 'latency'"],
    ['{"rules": [{"kind": "latency", "delay": 5}]}', 'rules[0].delay', "not a field of kind 'latency'"],
    ['{"rules": [{"kind": "explode"}]}', 'rules[0].kind', '"explode" is not one of replyLost'],
    ['{"rules": [{"kind": "replyLost", "count": 0}]}', 'rules[0].count', '0 is not a whole number from 1'],
    ['{"rules": [{"kind": "replyLost", "skip": -1}]}', 'rules[0].skip', '-1 is not a whole number from 0'],
    ['{"rules": [{"kind": "replyLost", "actions": []}]}', 'rules[0].actions', 'is not an action name or a non-empty list'],
    ['{"rules": [{"kind": "replyLost", "actions": ["PUT networkInterfaces"]}]}', 'rules[0].actions[0]', 'is not an action name'],
    ['{"rules": [{"kind": "serverError", "status": 502}]}', 'rules[0].status', '502 is not 500 or 503'],
    ['{"rules": [{"kind": "timeout", "applied": "yes"}]}', 'rules[0].applied', '"yes" is not true or false'],
    ['{"rules": [{"kind": "notFoundAfterCreate", "windowMs": 0}]}', 'rules[0].windowMs', '0 is not a whole number from 1'],
    ['{"rules": [{"kind": "concurrentWrite"}]}', 'rules[0].name', "required for kind 'concurrentWrite'"],
    ['{"seed": -1, "rules": []}', 'seed', 'is not a whole number'],
    ['{"rule": []}', 'rule', 'not a field of a fault plan'],
    ['{"rules": {}}', 'rules', 'is not a list of rules'],
    ['{"rules": [5]}', 'rules[0]', '5 is not an object'],
    ['latency,delayMs', 'rules[0]', "'delayMs' is not key=value"],
    ['replyLost; latency,delayMs=x', 'rules[1].delayMs', '"x" is not a whole number'],
    ['{"rules": [', '', 'not valid JSON'],
  ])('%s → %s', (text, field, message) => {
    let error: unknown;
    try {
      parseFaultSpec(text);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(FaultSpecError);
    expect((error as FaultSpecError).field).toBe(field);
    expect((error as FaultSpecError).message).toContain(message);
    if (field !== '') expect((error as FaultSpecError).message.startsWith(`${field}: `)).toBe(true);
  });

  it('refuses kinds the emulator does not know', () => {
    expect(() => decodeFaultPlan([{ kind: 'concurrentWrite', name: 'x' }], EC2_FAULT_KINDS)).toThrow(
      'rules[0].kind: "concurrentWrite" is not one of replyLost, serverError, timeout, latency, notFoundAfterCreate, throttle',
    );
  });
});

describe('--faults on the emulator CLIs', () => {
  it('the AWS emulator takes a plan and names flag and field on a mistake', () => {
    expect(parseAwsEmulatorArgs(['--faults', 'serverError@Attach*,status=503,count=1;seed=7']).emulator.faults).toEqual({
      seed: 7,
      rules: [{ kind: 'serverError', status: 503, actions: ['Attach*'], rate: undefined, count: 1, skip: 0 }],
    });
    expect(() => parseAwsEmulatorArgs(['--faults={"rules":[{"kind":"latency","delayMs":-5}]}'])).toThrow('--faults: rules[0].delayMs: -5 is not a whole number from 0 to 3600000');
    expect(() => parseAwsEmulatorArgs(['--faults', 'failOperation'])).toThrow(/^--faults: rules\[0\]\.kind: "failOperation" is not one of/);
  });

  it('the Azure emulator takes every kind', () => {
    expect(parseAzureEmulatorArgs(['--faults', 'concurrentWrite@PutNetworkInterface,name=other,count=1']).emulator.faults?.rules[0]).toMatchObject({ kind: 'concurrentWrite', name: 'other' });
    expect(() => parseAzureEmulatorArgs(['--faults', 'throttle,retryAfterSec=9000'])).toThrow('--faults: rules[0].retryAfterSec: 9000 is not a whole number from 0 to 3600');
  });
});
