import { describe, expect, it } from 'vitest';
import { ClientTokens, requestFingerprint } from '../../src/emulator/aws/client-tokens.js';
import { Ec2ApiError } from '../../src/emulator/aws/errors.js';

describe('requestFingerprint', () => {
  it.each([
    { name: 'order of parameters does not matter', a: [['A', '1'], ['B', '2']], b: [['B', '2'], ['A', '1']], same: true },
    { name: 'the token and the version are not compared', a: [['A', '1'], ['ClientToken', 'x'], ['Version', '2016-11-15']], b: [['A', '1'], ['ClientToken', 'y']], same: true },
    { name: 'a different value differs', a: [['A', '1']], b: [['A', '2']], same: false },
    { name: 'an extra parameter differs', a: [['A', '1']], b: [['A', '1'], ['B', '']], same: false },
  ] as const)('$name', ({ a, b, same }) => {
    expect(requestFingerprint(a) === requestFingerprint(b)).toBe(same);
  });
});

describe('ClientTokens', () => {
  it('runs once per token, answers the first result, refuses other parameters or actions', () => {
    const tokens = new ClientTokens<number>();
    let made = 0;
    const make = () => ++made;
    expect(tokens.run('Create', 't', 'f', make)).toBe(1);
    expect(tokens.run('Create', 't', 'f', make)).toBe(1);
    expect(() => tokens.run('Create', 't', 'g', make)).toThrow(expect.objectContaining({ code: 'IdempotentParameterMismatch', httpStatus: 400 }));
    expect(() => tokens.run('Other', 't', 'f', make)).toThrow(Ec2ApiError);
    expect(made).toBe(1);
  });

  it('without a token always runs; a failed run leaves the token unused', () => {
    const tokens = new ClientTokens<number>();
    expect(tokens.run('Create', undefined, 'f', () => 1)).toBe(1);
    expect(tokens.run('Create', '', 'f', () => 2)).toBe(2);
    expect(() =>
      tokens.run('Create', 't', 'f', () => {
        throw new Error('refused');
      }),
    ).toThrow('refused');
    expect(tokens.run('Create', 't', 'f', () => 3)).toBe(3);
    expect(tokens.size).toBe(1);
  });
});
