// Builds the three executables into dist/bin (and the shim for arm64 into dist/bin/arm64):
//   nativeip-cni   the CNI plugin: a static native shim that forwards each call to the daemon,
//                  which runs the plugin logic (src/cni/plugin) warm; starts in ~1 ms
//   nativeip-cni-standalone  the same plugin logic as one Bun executable (no daemon-side
//                  logic needed; kept for comparison and for runtimes that want it)
//   nativeip-ipamd the daemon, an ES module bundle run by Node (it loads native addons)
//   nativeip       the operator CLI, likewise
import { execFileSync, spawnSync } from 'node:child_process';
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

// The daemon: split into chunks so a cloud's provider and its SDK load only when that cloud is
// chosen; packages bundled (the SDKs tree-shaken from their ES modules) except the native addons,
// which Node must load from node_modules. Measured in BENCHMARKS.md (footprint).
await build({
  entryPoints: { 'nativeip-ipamd': join(root, 'src/ipamd/main.ts') },
  outdir: js,
  outExtension: { '.js': '.mjs' },
  chunkNames: 'chunks/[name]-[hash]',
  splitting: true,
  bundle: true,
  platform: 'node',
  target: 'node24',
  format: 'esm',
  external: ['netlink', 'koffi'],
  mainFields: ['module', 'main'],
  sourcemap: 'linked',
  // V8 keeps every loaded script's source in the heap: without whitespace and with shorter syntax
  // (names kept, so errors and the SDKs' own class names read the same) the resident set is
  // ~4–6 MiB smaller on Node 24 (bench/footprint.ts, 100 pods).
  minifyWhitespace: true,
  minifySyntax: true,
  logLevel: 'warning',
  // Bundled CommonJS packages (the cloud SDKs, pino) call require for Node's built-ins.
  banner: { js: "import { createRequire as __nativeipCreateRequire } from 'node:module';\nconst require = __nativeipCreateRequire(import.meta.url);" },
});
// The operator CLI: one file, packages from node_modules (its footprint does not matter).
await build({
  entryPoints: [join(root, 'src/cli/main.ts')],
  outfile: join(js, 'nativeip.mjs'),
  bundle: true,
  platform: 'node',
  target: 'node24',
  format: 'esm',
  packages: 'external',
  sourcemap: 'linked',
  logLevel: 'warning',
});
// A 1 MiB young generation instead of 16: the daemon allocates little per request, and the
// resident set with 250 pods drops by ~35 MiB (bench/footprint.ts). Two glibc malloc arenas
// instead of one per thread (the link-deletion worker, libuv, V8's platform threads): ~10 MiB
// less, measured the same way. A fixed 32 KiB mmap threshold: glibc otherwise serves buffers
// from 32 KiB up (libuv's 64 KiB socket reads, frame buffers) from the heap once it has raised its
// dynamic threshold, and keeps that memory after they are freed. Measured with 250 pods
// (bench/footprint.ts, 2 runs each): idle RSS 115.5–119.6 MiB against 130.8–133.2 MiB with glibc's
// default, and 98 MiB against 115 MiB at start-up; after 400 peers each sent most of a 1 MiB
// frame (test/integration/socket-limits.test.ts) 117 MiB against 149 MiB a minute later. 16 KiB
// gave no more. Values set by the operator win.
const launchers = {
  'nativeip-ipamd': {
    env: ': "${MALLOC_ARENA_MAX:=2}"\n: "${MALLOC_MMAP_THRESHOLD_:=32768}"\nexport MALLOC_ARENA_MAX MALLOC_MMAP_THRESHOLD_\n',
    // --expose-gc: the socket's idle collector (src/ipamd/idle-collector.ts) gives a burst's garbage back.
    flags: '--max-semi-space-size=1 --expose-gc ',
  },
  nativeip: { env: '', flags: '' },
};
// An older Node.js on PATH would fail inside a dependency's import with a stack trace (undici
// needs Node 22 or later): say so in one line instead, and how to put the project's Node first.
const nodeCheck =
  'case "$(node --version 2>/dev/null)" in\n' +
  '  v2[4-9].*|v[3-9][0-9].*) ;;\n' +
  '  *) echo "$(basename "$0"): needs Node.js 24 or later on PATH (found: $(node --version 2>/dev/null || echo none)); the project installs it with scripts/install-node.sh, which prints the directory to put first on PATH" >&2; exit 2 ;;\n' +
  'esac\n';
for (const [name, { env, flags }] of Object.entries(launchers)) {
  const shim = `#!/bin/sh\n${nodeCheck}${env}exec node ${flags}"$(dirname "$(readlink -f "$0")")/../js/${name}.mjs" "$@"\n`;
  writeFileSync(join(bin, name), shim);
  chmodSync(join(bin, name), 0o755);
}

const bun = join(root, 'node_modules', '.bin', 'bun');
const shimSources = ['nativeip-cni.c', 'json-scan.c', 'net-config.c'].map((file) => join(root, 'src/cni/shim', file));
const shimFlags = ['-std=gnu11', '-O2', '-Wall', '-Wextra', '-Werror', '-static'];
execFileSync('cc', [...shimFlags, '-o', join(bin, 'nativeip-cni'), ...shimSources], {
  stdio: ['ignore', 'inherit', 'inherit'],
});
// The shim for arm64 (Graviton) nodes too, into dist/bin/arm64, when Debian's cross toolchain is
// here (gcc-aarch64-linux-gnu and libc6-dev-arm64-cross; scripts/setup.sh installs them). The
// daemon's bundles are the same on both; the image takes the rest (node, the addons' builds) per
// architecture (scripts/build-image.sh --arch arm64).
const crossCc = 'aarch64-linux-gnu-gcc';
const hasCross = spawnSync(crossCc, ['--version'], { stdio: 'ignore' }).status === 0;
if (hasCross) {
  mkdirSync(join(bin, 'arm64'), { recursive: true });
  execFileSync(crossCc, [...shimFlags, '-o', join(bin, 'arm64', 'nativeip-cni'), ...shimSources], {
    stdio: ['ignore', 'inherit', 'inherit'],
  });
} else {
  console.warn(`build: ${crossCc} not found, so no arm64 shim (dist/bin/arm64/nativeip-cni); run scripts/setup.sh`);
}
execFileSync(bun, ['build', '--compile', '--bytecode', '--minify', join(root, 'src/cni/plugin/main.ts'), '--outfile', join(bin, 'nativeip-cni-standalone')], {
  stdio: ['ignore', 'ignore', 'inherit'],
});
console.log(`built ${bin}/{nativeip-cni,nativeip-cni-standalone,nativeip-ipamd,nativeip}${hasCross ? ' and arm64/nativeip-cni' : ''}`);
