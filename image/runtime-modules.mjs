// Copies the node_modules the bundles in dist/js load at run time, and nothing else, into an
// output directory laid out like node_modules (nested packages stay nested):
//   node image/runtime-modules.mjs --dist dist/js --root . --out DIR
// Which packages: every package a bundle leaves external, read from the bundles themselves, not
// from a list — static imports and dynamic import() (esbuild's own parse, so text in strings does
// not count) and require()/require.resolve() calls through the bundles' createRequire'd require
// (esbuild emits those as `__require(...)`, which it would not see on a re-parse, so they are
// renamed to `require(` for the analysis). Then each package's dependencies and installed
// optionalDependencies, resolved the way Node does (nested node_modules first, then upwards).
// An external static import that is not installed is an error (Node would refuse to link the
// bundle); a require() or import() that is not installed is reported and skipped: bundled
// packages guard optional ones (debug's supports-color, the AWS SDK's signature-v4-crt).
// Left out of each package: type declarations, source maps, markdown, and other platforms'
// prebuilds (prebuilds/<platform>-<arch>, the node-gyp-build convention). @types/* packages are
// never copied: they hold no code.
// Prints one JSON line: { packages: [{ name, version, path }], skipped: [{ name, kind, from }] }.
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { isBuiltin } from 'node:module';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { parseArgs } from 'node:util';
import { build } from 'esbuild';

const { values } = parseArgs({ options: { dist: { type: 'string' }, root: { type: 'string' }, out: { type: 'string' } } });
if (values.dist === undefined || values.root === undefined || values.out === undefined) {
  console.error('usage: node image/runtime-modules.mjs --dist DIST_JS --root PROJECT_ROOT --out DIR');
  process.exit(2);
}
const dist = resolve(values.dist);
const root = resolve(values.root);
const out = resolve(values.out);

function listScripts(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return listScripts(path);
    return /\.(mjs|cjs|js)$/.test(entry.name) ? [path] : [];
  });
}

/** Package name of a bare specifier: `@scope/name/sub` → `@scope/name`, `name/sub` → `name`. */
function packageName(specifier) {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

/** External imports of the bundles: Map<package, { kind, from }[]>. */
async function externalImports(files) {
  const result = await build({
    entryPoints: files,
    bundle: true,
    write: false,
    metafile: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    packages: 'external',
    outdir: join(out, '.analysis'),
    logLevel: 'silent',
    plugins: [
      {
        name: 'bundle-require-calls',
        setup(b) {
          b.onLoad({ filter: /\.(mjs|cjs|js)$/ }, (args) => {
            const text = readFileSync(args.path, 'utf8')
              // The banner's `const require = createRequire(import.meta.url)` would hide every
              // require() call from the analysis (a local binding, not the CommonJS require).
              .replace(/^const require = [\w$]+\(import\.meta\.url\);?$/gm, '')
              .replaceAll('__require(', 'require(')
              .replaceAll('__require.resolve(', 'require.resolve(');
            return { contents: text, loader: 'js' };
          });
        },
      },
    ],
  });
  const found = new Map();
  for (const [file, input] of Object.entries(result.metafile.inputs)) {
    for (const imp of input.imports) {
      // `<runtime>`: esbuild's own helpers, which the analysis build itself adds.
      if (!imp.external || isBuiltin(imp.path) || /^[./<]/.test(imp.path)) continue;
      const name = packageName(imp.path);
      const uses = found.get(name) ?? [];
      uses.push({ kind: imp.kind, from: relative(root, resolve(file)) });
      found.set(name, uses);
    }
  }
  return found;
}

/** Node's lookup: `<dir>/node_modules/<name>`, then each parent directory's, up to `/`. */
function findPackage(name, fromDir) {
  for (let dir = fromDir; ; dir = dirname(dir)) {
    const candidate = join(dir, 'node_modules', name);
    if (existsSync(join(candidate, 'package.json'))) return candidate;
    if (dirname(dir) === dir) return undefined;
  }
}

const files = listScripts(dist);
if (files.length === 0) {
  console.error(`runtime-modules: no scripts in ${dist}; run npm run build first`);
  process.exit(1);
}
const imports = await externalImports(files);
const skipped = [];
const queue = [];
for (const [name, uses] of imports) {
  const dir = findPackage(name, dist);
  if (dir !== undefined) {
    queue.push(dir);
    continue;
  }
  const required = uses.filter((use) => use.kind === 'import-statement');
  if (required.length > 0) {
    console.error(`runtime-modules: ${name} is imported by ${required.map((u) => u.from).join(', ')} but not installed under ${root}/node_modules`);
    process.exit(1);
  }
  skipped.push({ name, kind: [...new Set(uses.map((u) => u.kind))].join(','), from: [...new Set(uses.map((u) => u.from))].join(',') });
}

const packages = new Map();
while (queue.length > 0) {
  const dir = queue.pop();
  if (packages.has(dir)) continue;
  const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  if (String(manifest.name).startsWith('@types/')) continue;
  packages.set(dir, manifest);
  const optional = new Set([...Object.keys(manifest.optionalDependencies ?? {}), ...Object.keys(manifest.peerDependencies ?? {})]);
  const wanted = new Set([...Object.keys(manifest.dependencies ?? {}), ...optional]);
  for (const dep of wanted) {
    if (dep.startsWith('@types/')) continue;
    const depDir = findPackage(dep, dir);
    if (depDir !== undefined) queue.push(depDir);
    else if (!optional.has(dep)) {
      console.error(`runtime-modules: ${manifest.name} depends on ${dep}, which is not installed (run npm ci)`);
      process.exit(1);
    }
  }
}

const platform = `${process.platform}-${process.arch}`;
function keep(source) {
  const name = source.slice(source.lastIndexOf(sep) + 1);
  if (/\.(d\.ts|d\.mts|d\.cts|map|md|markdown)$/i.test(name)) return false;
  const parent = dirname(source);
  if (parent.endsWith(`${sep}prebuilds`) && statSync(source).isDirectory() && name !== platform) return false;
  return true;
}

rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
const copied = [];
for (const [dir, manifest] of [...packages].sort(([a], [b]) => a.localeCompare(b))) {
  const rel = relative(join(root, 'node_modules'), dir);
  if (rel.startsWith('..')) {
    console.error(`runtime-modules: ${dir} is outside ${root}/node_modules`);
    process.exit(1);
  }
  // A package's own node_modules holds nested packages, copied only if they are in the closure.
  cpSync(dir, join(out, rel), {
    recursive: true,
    verbatimSymlinks: true,
    filter: (source) => (source === dir || relative(dir, source).split(sep)[0] !== 'node_modules') && keep(source),
  });
  copied.push({ name: manifest.name, version: manifest.version, path: `node_modules/${rel}` });
}
console.log(JSON.stringify({ packages: copied, skipped }));
