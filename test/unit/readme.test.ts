import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CONFIG_VARIABLES } from '../../src/ipamd/config/config.js';

const readme = readFileSync(join(import.meta.dirname, '../../README.md'), 'utf8');

describe('README', () => {
  it.each(CONFIG_VARIABLES.map((v) => [v.env]))('documents %s in the configuration table', (env) => {
    expect(readme).toMatch(new RegExp(`^\\| \`${env}\``, 'm'));
  });

  it('quick start is the demo command and the test command that .ci/run calls', () => {
    expect(readme).toContain('sudo bash scripts/demo.sh');
    expect(readme).toContain('sudo npm test');
    expect(readFileSync(join(import.meta.dirname, '../../.ci/run'), 'utf8')).toMatch(/^npm test$/m);
  });
});
