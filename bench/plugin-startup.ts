/**
 * How fast the CNI plugin starts, per packaging: the Bun-compiled executable we ship, a Node
 * single-executable application (SEA), and plain `node bundle.mjs`. Each run is a full process
 * answering CNI VERSION (no daemon involved): this is the fixed cost every ADD and DEL pays.
 * Run: node scripts/run-ts.mjs bench/plugin-startup.ts [runs]
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { build } from 'esbuild';
import { REPO_ROOT, machineLine, mean, ms, percentile, writeSection } from './lib/report.js';

const runs = Number(process.argv[2] ?? 40);
const work = join(REPO_ROOT, '.tmp', 'bench-plugin');
mkdirSync(work, { recursive: true });

const shimBinary = join(REPO_ROOT, 'dist', 'bin', 'nativeip-cni');
const bunBinary = join(REPO_ROOT, 'dist', 'bin', 'nativeip-cni-standalone');
for (const binary of [shimBinary, bunBinary]) if (!existsSync(binary)) throw new Error(`${binary} missing: run npm run build first`);

const bundle = join(work, 'nativeip-cni.cjs');
await build({ entryPoints: [join(REPO_ROOT, 'src/cni/plugin/main.ts')], outfile: bundle, bundle: true, platform: 'node', target: 'node24', format: 'cjs', minify: true, logLevel: 'error' });

function buildSea(): string | undefined {
  try {
    const seaConfig = join(work, 'sea-config.json');
    const blob = join(work, 'sea-prep.blob');
    const binary = join(work, 'nativeip-cni-sea');
    writeFileSync(seaConfig, JSON.stringify({ main: bundle, output: blob, disableExperimentalSEAWarning: true }));
    execFileSync(process.execPath, ['--experimental-sea-config', seaConfig], { stdio: 'ignore' });
    copyFileSync(process.execPath, binary);
    execFileSync(join(REPO_ROOT, 'node_modules', '.bin', 'postject'), [binary, 'NODE_SEA_BLOB', blob, '--sentinel-fuse', 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2'], { stdio: 'ignore' });
    return binary;
  } catch (error) {
    console.warn(`Node SEA not measured: ${(error as Error).message.split('\n')[0]}`);
    return undefined;
  }
}
const seaBinary = buildSea();

const env = { CNI_COMMAND: 'VERSION', PATH: process.env['PATH'] ?? '/usr/bin:/bin' };
const stdin = JSON.stringify({ cniVersion: '1.0.0', name: 'nativeip', type: 'nativeip-cni' });

function time(command: string, args: string[], extraEnv: Record<string, string> = {}): number[] {
  const samples: number[] = [];
  for (let i = 0; i < runs + 3; i += 1) {
    const start = performance.now();
    const result = spawnSync(command, args, { env: { ...env, ...extraEnv }, input: stdin });
    const elapsed = performance.now() - start;
    if (result.status !== 0) throw new Error(`${command} VERSION failed: ${result.stdout.toString()}${result.stderr.toString()}`);
    if (i >= 3) samples.push(elapsed); // the first runs warm the page cache
  }
  return samples;
}

const caBundle = '/etc/ssl/certs/ca-certificates.crt';
const variants: Array<[string, number[]]> = [
  ['native shim `nativeip-cni` (shipped; the plugin logic runs in the daemon)', time(shimBinary, [])],
  ['Bun `--compile` executable (`nativeip-cni-standalone`)', time(bunBinary, [])],
  ...(seaBinary === undefined ? [] : ([['Node 20 single executable (SEA)', time(seaBinary, [])]] as Array<[string, number[]]>)),
  ['`node bundle.cjs`', time(process.execPath, [bundle])],
  ...(existsSync(caBundle) ? ([['`node bundle.cjs` with NODE_EXTRA_CA_CERTS set', time(process.execPath, [bundle], { NODE_EXTRA_CA_CERTS: caBundle })]] as Array<[string, number[]]>) : []),
];

const rows = variants.map(([name, samples]) => `| ${name} | ${ms(percentile(samples, 50))} | ${ms(percentile(samples, 90))} | ${ms(mean(samples))} |`);
const table = ['| packaging | p50 | p90 | mean |', '|---|---|---|---|', ...rows].join('\n');
console.log(table);
writeSection(
  'plugin-startup',
  `## CNI plugin start-up\n\n${machineLine()}. ${runs} runs each of a whole process answering CNI \`VERSION\` (spawn to exit), after 3 warm-up runs. Measured by \`bench/plugin-startup.ts\`.\n\n${table}\n\nThe plugin ships as a static native shim that forwards each call to the daemon, where the same TypeScript plugin logic runs warm: process start-up was most of a CNI call, and no JavaScript runtime starts in ~1 ms. The Bun executable, the fastest JavaScript packaging, is built too (\`nativeip-cni-standalone\`). The datapath stays in the daemon, where Bun could not go anyway (it cannot load the \`netlink\` addon).`,
);
