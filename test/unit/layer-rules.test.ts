/**
 * The layer rules of eslint.config.js (eslint-plugin-boundaries) fire: each forbidden import,
 * linted as if it were in the folder it is forbidden in, is an error of the boundaries rule; the
 * allowed imports are not. The imported files exist: an import the resolver cannot find proves
 * nothing about the layers.
 */
import { join } from 'node:path';
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '../..');
const eslint = new ESLint({ cwd: ROOT });

/** The layer errors ESLint reports for `code` placed at `file`. */
async function layerErrors(file: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(`${code}\nexport const used = x;\n`, { filePath: join(ROOT, file) });
  return (result?.messages ?? []).filter((m) => m.ruleId === 'boundaries/dependencies').map((m) => m.message);
}

describe('layer rules', () => {
  it.each([
    ['src/core/x.ts', "import { x } from '../ipamd/config/config.js';", /core may not import app/],
    ['src/core/config/x.ts', "import { x } from '../../providers/aws/index.js';", /core may not import provider/],
    ['src/core/x.ts', "import { x } from '../emulator/aws/index.js';", /core may not import emulator/],
    ['src/core/x.ts', "import { readFileSync as x } from 'node:fs';", /core is pure/],
    ['src/core/x.ts', "import { readFile as x } from 'fs/promises';", /core is pure/],
    ['src/core/x.ts', "import { env as x } from 'node:process';", /core is pure/],
    ['src/core/x.ts', "import x from 'pino';", /core is pure/],
    ['src/ipamd/pool/plan/x.ts', "import { x } from '../pool-manager.js';", /pool-plan may not import app/],
    ['src/ipamd/pool/plan/x.ts', "import { spawn as x } from 'node:child_process';", /pool-plan is pure/],
    ['src/providers/aws/x.ts', "import { x } from '../../ipamd/config/config.js';", /provider may not import app/],
    ['src/providers/aws/x.ts', "import { x } from '../azure/index.js';", /provider may not import provider/],
    ['src/providers/azure/x.ts', "import type { x } from '../aws/plugin.js';", /provider may not import provider/],
    ['src/providers/azure/x.ts', "import { x } from '../../emulator/azure/index.js';", /provider may not import emulator/],
    ['src/providers/x.ts', "import { x } from './aws/plugin.js';", /providers-shared may not import provider/],
    ['src/emulator/aws/x.ts', "import { x } from '../../providers/aws/index.js';", /emulator may not import provider/],
    ['src/emulator/azure/x.ts', "import { x } from '../../providers/metadata-probe.js';", /emulator may not import providers-shared/],
    ['src/emulator/azure/x.ts', "import { x } from '../aws/ec2-backend.js';", /emulator may not import emulator/],
    ['src/emulator/fabric/x.ts', "import { x } from '../aws/index.js';", /emulator-shared may not import emulator/],
    ['src/emulator/x.ts', "import { x } from './azure/plugin.js';", /emulator-shared may not import emulator/],
    ['src/ipamd/x.ts', "import { x } from '../../test/support/fake-datapath.js';", /app may not import test/],
    ['src/ipamd/x.ts', "import { x } from '../../bench/churn.js';", /app may not import bench/],
    ['test/unit/x.test.ts', "import { x } from '../../bench/lib/report.js';", /test may not import bench/],
    ['scripts/x.ts', "import { x } from '../bench/lib/report.js';", /scripts may not import bench/],
  ])('%s: %s is refused', async (file, code, message) => {
    const errors = await layerErrors(file, code);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(message);
  });

  it.each([
    ['src/core/x.ts', "import { x } from './ipv4.js';"],
    ['src/ipamd/pool/plan/x.ts', "import { x } from '../../../core/ipv4.js';"],
    ['src/providers/aws/x.ts', "import { x } from '../../core/types.js';"],
    ['src/providers/aws/x.ts', "import { x } from './ec2-api.js';"],
    ['src/providers/azure/x.ts', "import { x } from '../metadata-probe.js';"],
    ['src/emulator/azure/x.ts', "import { x } from '../faults/index.js';"],
    ['src/emulator/azure/x.ts', "import { x } from '../shared/address-allocator.js';"],
    ['src/emulator/clouds.ts', "import { x } from './aws/plugin.js';"],
    ['src/ipamd/x.ts', "import { x } from '../providers/aws/plugin.js';"],
    ['src/sim/x.ts', "import { x } from '../emulator/clouds.js';"],
    ['bench/x.ts', "import { x } from '../src/sim/simulate.js';"],
  ])('%s: %s is allowed', async (file, code) => {
    expect(await layerErrors(file, code)).toEqual([]);
  });
});
