import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { NATIVEIP_VERSION } from '../../src/core/version.js';

describe('NATIVEIP_VERSION', () => {
  it('is package.json’s version (the build info metric and the CLI report it)', () => {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    expect(NATIVEIP_VERSION).toBe(pkg.version);
  });
});
