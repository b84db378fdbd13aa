/**
 * The layer rules of eslint.config.js fire: each forbidden import, linted as if it were in the
 * folder it is forbidden in, is an error naming the rule; the allowed imports are not.
 */
import { join } from 'node:path';
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '../..');
const eslint = new ESLint({ cwd: ROOT });

/** The layer errors ESLint reports for `code` placed at `file`. */
async function layerErrors(file: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(`${code}\nexport const used = x;\n`, { filePath: join(ROOT, file) });
  return (result?.messages ?? []).filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.message);
}

describe('layer rules', () => {
  it.each([
    ['src/core/x.ts', "import { x } from '../ipamd/config.js';", /src\/core imports only src\/core/],
    ['src/core/config/x.ts', "import { x } from '../../providers/aws/index.js';", /src\/core imports only src\/core/],
    ['src/core/x.ts', "import { readFileSync as x } from 'node:fs';", /src\/core is pure/],
    ['src/providers/aws/x.ts', "import { x } from '../../ipamd/config.js';", /a provider imports only src\/core/],
    ['src/providers/aws/x.ts', "import { x } from '../azure/index.js';", /never another cloud/],
    ['src/providers/azure/x.ts', "import { x } from '../../emulator/azure/index.js';", /a provider imports only src\/core/],
    ['src/emulator/aws/x.ts', "import { x } from '../../providers/aws/index.js';", /an emulator never imports a provider/],
    ['src/ipamd/x.ts', "import { x } from '../../bench/churn.js';", /nothing imports bench/],
  ])('%s: %s is refused', async (file, code, message) => {
    const errors = await layerErrors(file, code);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(message);
  });

  it.each([
    ['src/core/x.ts', "import { x } from './ipv4.js';"],
    ['src/providers/aws/x.ts', "import { x } from '../../core/types.js';"],
    ['src/providers/azure/x.ts', "import { x } from '../metadata-probe.js';"],
    ['src/emulator/azure/x.ts', "import { x } from '../faults/index.js';"],
    ['src/ipamd/x.ts', "import { x } from '../providers/aws/plugin.js';"],
  ])('%s: %s is allowed', async (file, code) => {
    expect(await layerErrors(file, code)).toEqual([]);
  });
});
