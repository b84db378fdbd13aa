// Builds the three executables into dist/bin:
//   nativeip-cni   the CNI plugin, a standalone Bun executable (no Node.js needed on the host)
//   nativeip-ipamd the daemon, an ES module bundle run by Node (it loads native addons)
//   nativeip       the operator CLI, likewise
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const bin = join(root, 'dist', 'bin');
const js = join(root, 'dist', 'js');
rmSync(join(root, 'dist'), { recursive: true, force: true });
mkdirSync(bin, { recursive: true });
mkdirSync(js, { recursive: true });

const bundles = { 'nativeip-ipamd': 'src/ipamd/main.ts', nativeip: 'src/cli/main.ts' };
for (const [name, entry] of Object.entries(bundles)) {
  await build({
    entryPoints: [join(root, entry)],
    outfile: join(js, `${name}.mjs`),
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'esm',
    packages: 'external',
    sourcemap: 'linked',
    logLevel: 'warning',
  });
  const shim = `#!/bin/sh\nexec node "$(dirname "$(readlink -f "$0")")/../js/${name}.mjs" "$@"\n`;
  writeFileSync(join(bin, name), shim);
  chmodSync(join(bin, name), 0o755);
}

const bun = join(root, 'node_modules', '.bin', 'bun');
execFileSync(bun, ['build', '--compile', '--bytecode', '--minify', join(root, 'src/cni/plugin/main.ts'), '--outfile', join(bin, 'nativeip-cni')], {
  stdio: ['ignore', 'ignore', 'inherit'],
});
console.log(`built ${bin}/{nativeip-cni,nativeip-ipamd,nativeip}`);
