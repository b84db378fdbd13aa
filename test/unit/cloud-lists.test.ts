/**
 * The lists of the clouds that live outside the registries (README: "Adding a cloud"): each names
 * every registered cloud, so a new cloud that forgot one fails here rather than at a user's
 * `helm install --set env.NATIVEIP_CLOUD=<cloud>`. The variables' own rows and entries are checked
 * by readme.test.ts and helm-chart.test.ts.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CONFIG_VARIABLES } from '../../src/ipamd/config/config.js';
import { CLOUD_PLUGINS } from '../../src/ipamd/clouds.js';

const ROOT = join(import.meta.dirname, '../..');
const CHART = join(ROOT, 'charts/nativeip');
const NAMES = CLOUD_PLUGINS.map((p) => p.name);
const cloudVariable = CONFIG_VARIABLES.find((v) => v.env === 'NATIVEIP_CLOUD')!;

describe('NATIVEIP_CLOUD names every registered cloud', () => {
  it("in the README's configuration table (its allowed column)", () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const row = readme.split('\n').find((line) => line.startsWith('| `NATIVEIP_CLOUD` |'));
    const allowed = row?.split(' | ')[2];
    expect(allowed).toBe([...NAMES, 'auto'].map((n) => `\`${n}\``).join(', '));
  });

  it("in the chart's values.schema.json (the enum Helm checks --set against) and its description", () => {
    const schema = JSON.parse(readFileSync(join(CHART, 'values.schema.json'), 'utf8')) as {
      properties: { env: { properties: Record<string, { enum?: string[]; description?: string }> } };
    };
    const entry = schema.properties.env.properties['NATIVEIP_CLOUD'];
    expect(entry?.enum).toEqual(['', ...NAMES, 'auto']);
    expect(entry?.description).toBe(`NATIVEIP_CLOUD: ${cloudVariable.allowed}. Default: ${cloudVariable.default}.`);
  });

  it("in the comment above it in the chart's values.yaml", () => {
    const lines = readFileSync(join(CHART, 'values.yaml'), 'utf8').split('\n');
    const at = lines.findIndex((line) => line.startsWith('  NATIVEIP_CLOUD:'));
    const comment: string[] = [];
    for (let i = at - 1; i >= 0 && /^ {2}#/.test(lines[i] ?? ''); i -= 1) comment.unshift((lines[i] ?? '').replace(/^ {2}# ?/, ''));
    expect(comment.join(' ')).toBe(`NATIVEIP_CLOUD — default: ${cloudVariable.default}. Allowed: ${cloudVariable.allowed}. ${cloudVariable.description}`);
  });
});
