import { describe, expect, it } from 'vitest';
import { describeFailure, errnoOf, isAbsent } from '../../src/ipamd/datapath/errno.js';

describe('netlink errors', () => {
  it.each([
    [new Error('Request rejected: EEXIST'), 'EEXIST', 'EEXIST (already exists)', false],
    [new Error('Request rejected: ENODEV'), 'ENODEV', 'ENODEV (no such device)', true],
    [new Error('Request rejected: ESRCH'), 'ESRCH', 'ESRCH (no such route)', true],
    [new Error('Request rejected: ENOENT'), 'ENOENT', 'ENOENT (no such object)', true],
    [new Error('Request rejected: EADDRNOTAVAIL'), 'EADDRNOTAVAIL', 'EADDRNOTAVAIL (address not assigned to the link)', true],
    [new Error('Request rejected: EHWPOISON'), 'EHWPOISON', 'EHWPOISON', false],
    [Object.assign(new Error('sendmsg failed'), { code: 'ENOBUFS' }), 'ENOBUFS', 'ENOBUFS (kernel buffer space exhausted)', false],
    [new Error('Timeout has been reached'), 'ETIMEDOUT', 'ETIMEDOUT (timed out)', false],
    [new Error('something else'), undefined, 'something else', false],
    ['a string', undefined, 'a string', false],
  ])('%o → %s', (err, code, text, absent) => {
    expect(errnoOf(err)).toBe(code);
    expect(describeFailure(err)).toBe(text);
    expect(isAbsent(err)).toBe(absent);
  });
});
