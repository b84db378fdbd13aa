import { describe, expect, it } from 'vitest';
import { CloudDetectionError, chooseCloud } from '../../src/ipamd/config/cloud-detect.js';

const yes = { ok: true } as const;
const no = (why: string) => ({ ok: false, why }) as const;
type Probe = { ok: true } | { ok: false; why: string };
/** The probes of the two registered clouds, in registry order. */
const probes = (aws: Probe, azure: Probe) => [
  { name: 'aws', title: 'AWS', result: aws },
  { name: 'azure', title: 'Azure', result: azure },
];

describe('chooseCloud', () => {
  it('picks the cloud whose metadata service answered', () => {
    expect(chooseCloud(probes(yes, no('HTTP 404')))).toBe('aws');
    expect(chooseCloud(probes(no('HTTP 400'), yes))).toBe('azure');
  });

  it('refuses to guess when both or neither answered, saying why', () => {
    expect(() => chooseCloud(probes(yes, yes))).toThrow(CloudDetectionError);
    expect(() => chooseCloud(probes(yes, yes))).toThrow(/both .* set NATIVEIP_CLOUD/);
    expect(() => chooseCloud(probes(no('ECONNREFUSED'), no('TimeoutError')))).toThrow(/AWS: ECONNREFUSED; Azure: TimeoutError/);
  });
});
