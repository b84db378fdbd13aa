import { describe, expect, it } from 'vitest';
import { CloudDetectionError, chooseCloud } from '../../src/ipamd/cloud-detect.js';

const yes = { ok: true } as const;
const no = (why: string) => ({ ok: false, why }) as const;

describe('chooseCloud', () => {
  it('picks the cloud whose metadata service answered', () => {
    expect(chooseCloud(yes, no('HTTP 404'))).toBe('aws');
    expect(chooseCloud(no('HTTP 400'), yes)).toBe('azure');
  });

  it('refuses to guess when both or neither answered, saying why', () => {
    expect(() => chooseCloud(yes, yes)).toThrow(CloudDetectionError);
    expect(() => chooseCloud(yes, yes)).toThrow(/both .* set NATIVEIP_CLOUD/);
    expect(() => chooseCloud(no('ECONNREFUSED'), no('TimeoutError'))).toThrow(/AWS: ECONNREFUSED; Azure: TimeoutError/);
  });
});
