import { describe, expect, it } from 'vitest';
import { boolean, vpcCniBoolean } from '../../src/core/config/config-parsers.js';

describe('vpcCniBoolean: a boolean as the AWS VPC CNI reads one (Go strconv.ParseBool)', () => {
  it.each([
    ['1', true], ['t', true], ['T', true], ['TRUE', true], ['true', true], ['True', true],
    ['0', false], ['f', false], ['F', false], ['FALSE', false], ['false', false], ['False', false],
  ])('%s is %s', (raw, expected) => {
    expect(vpcCniBoolean(raw)).toBe(expected);
  });

  it.each(['', 'yes', 'no', 'on', 'off', 'tRUE', 'fAlse', 'TRue', ' true', 'true ', '2', '01', 'y'])('%j is not a boolean', (raw) => {
    expect(vpcCniBoolean(raw)).toBeUndefined();
  });

  it('takes single letters, which nativeip\'s own boolean does not', () => {
    expect([boolean('t').ok, boolean('f').ok]).toEqual([false, false]);
    expect([vpcCniBoolean('t'), vpcCniBoolean('f')]).toEqual([true, false]);
  });
});
