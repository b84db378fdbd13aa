/**
 * The container image (scripts/build-image.sh → dist/image/nativeip-<version>-amd64.oci.tar), as
 * the DaemonSet runs it: a valid OCI archive with the expected tag, loaded into podman (runc,
 * storage and configuration in a temp dir of its own, no network) and into containerd (ctr, a
 * private instance). Node.js 24 runs; the daemon bundle loads with its addons and stops on a bad
 * environment with the config error; with a cloud chosen and none reachable it gets past opening
 * its netlink datapath and fails on the cloud; `nativeip install-cni` puts the shim into a
 * mounted host directory, where it answers VERSION. Builds the image when the archive is missing
 * or older than dist/. Needs root.
 */
import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LATEST_VERSION, SUPPORTED_VERSIONS } from '../../src/cni/plugin/versions.js';

const ROOT = join(import.meta.dirname, '../..');
const packageJson = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string; devDependencies: Record<string, string> };
const VERSION = packageJson.version;
const ARCHIVE = join(ROOT, 'dist/image', `nativeip-${VERSION}-amd64.oci.tar`);
const TAG = `localhost/nativeip:${VERSION}`;

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

function run(file: string, args: readonly string[], options: { env?: NodeJS.ProcessEnv; timeoutMs?: number; input?: string } = {}): Promise<Run> {
  return new Promise((resolve) => {
    const child = execFile(file, args, { env: options.env ?? process.env, timeout: options.timeoutMs ?? 60_000, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
      resolve({ code, stdout, stderr });
    });
    // A command may exit without reading its stdin (EPIPE): its result is what counts.
    child.stdin?.on('error', () => undefined);
    child.stdin?.end(options.input ?? '');
  });
}

function isStale(): boolean {
  if (!existsSync(ARCHIVE)) return true;
  const built = statSync(ARCHIVE).mtimeMs;
  // A missing dist/ file counts as newer: build-image.sh then says to run npm run build.
  return ['dist/js/nativeip-ipamd.mjs', 'dist/js/nativeip.mjs', 'dist/bin/nativeip-cni'].some((path) => (statSync(join(ROOT, path), { throwIfNoEntry: false })?.mtimeMs ?? Infinity) > built);
}

let dir: string;
let podmanEnv: NodeJS.ProcessEnv;
const containers = new Set<string>();
const podman = (args: readonly string[], timeoutMs?: number) => run('podman', args, { env: podmanEnv, ...(timeoutMs === undefined ? {} : { timeoutMs }) });
/** `podman run --rm --network none` of the image. */
const inImage = (args: readonly string[], options: { env?: Record<string, string>; volumes?: string[] } = {}) =>
  podman([
    'run',
    '--rm',
    '--network',
    'none',
    ...Object.entries(options.env ?? {}).flatMap(([key, value]) => ['-e', `${key}=${value}`]),
    ...(options.volumes ?? []).flatMap((volume) => ['-v', volume]),
    TAG,
    ...args,
  ]);

beforeAll(async () => {
  const tools = await run('bash', [join(ROOT, 'image/install-test-tools.sh')], { timeoutMs: 300_000 });
  if (tools.code !== 0) throw new Error(`image/install-test-tools.sh failed: ${tools.stderr}`);
  if (isStale()) {
    const built = await run('bash', [join(ROOT, 'scripts/build-image.sh')], { timeoutMs: 300_000 });
    if (built.code !== 0) throw new Error(`scripts/build-image.sh failed (${built.code}): ${built.stderr}`);
  }
  dir = await mkdtemp(join(tmpdir(), 'nativeip-image-test-'));
  await mkdir(join(dir, 'tmp'));
  // podman's state, storage, locks and settings all in the temp dir; nothing machine-wide. The
  // limits are explicit: podman's defaults (the maximum) need CAP_SYS_RESOURCE, which this
  // machine's root lacks.
  await writeFile(join(dir, 'storage.conf'), `[storage]\ndriver = "overlay"\ngraphroot = "${dir}/storage"\nrunroot = "${dir}/run"\n`);
  await writeFile(
    join(dir, 'containers.conf'),
    '[containers]\ndefault_ulimits = ["nofile=4096:4096", "nproc=4096:4096"]\n' +
      `[engine]\ncgroup_manager = "cgroupfs"\nevents_logger = "none"\nruntime = "runc"\nlock_type = "file"\ntmp_dir = "${dir}/tmp"\n`,
  );
  podmanEnv = { ...process.env, CONTAINERS_STORAGE_CONF: join(dir, 'storage.conf'), CONTAINERS_CONF: join(dir, 'containers.conf') };
  const loaded = await podman(['load', '-i', ARCHIVE], 120_000);
  if (loaded.code !== 0) throw new Error(`podman load failed: ${loaded.stderr}`);
}, 600_000);

afterAll(async () => {
  if (dir === undefined) return;
  for (const name of containers) await podman(['rm', '-f', '-t', '0', name]);
  await podman(['rmi', '-a', '-f']);
  // Whatever overlay mount is left under the temp dir goes before the directory does.
  const mounts = (await readFile('/proc/mounts', 'utf8')).split('\n').map((line) => line.split(' ')[1] ?? '');
  for (const mount of mounts.filter((m) => m.startsWith(dir)).reverse()) await run('umount', ['-l', mount]);
  await rm(dir, { recursive: true, force: true });
}, 120_000);

describe('the image archive', () => {
  let layout: string;
  beforeAll(async () => {
    layout = join(dir, 'layout');
    await mkdir(layout);
    const untar = await run('tar', ['-xf', ARCHIVE, '-C', layout]);
    expect(untar.stderr).toBe('');
  });

  const blob = (digest: string) => readFile(join(layout, 'blobs', ...digest.split(':')));
  const json = async <T>(digest: string) => JSON.parse((await blob(digest)).toString('utf8')) as T;

  it('is an OCI image layout with one manifest, tagged localhost/nativeip:<version>, whose blobs match their digests', async () => {
    expect(JSON.parse(await readFile(join(layout, 'oci-layout'), 'utf8'))).toEqual({ imageLayoutVersion: '1.0.0' });
    const index = JSON.parse(await readFile(join(layout, 'index.json'), 'utf8')) as {
      manifests: { mediaType: string; digest: string; annotations?: Record<string, string> }[];
    };
    expect(index.manifests).toHaveLength(1);
    const [entry] = index.manifests;
    expect(entry?.mediaType).toBe('application/vnd.oci.image.manifest.v1+json');
    expect(entry?.annotations?.['org.opencontainers.image.ref.name']).toBe(TAG);

    const manifest = await json<{ config: { digest: string }; layers: { digest: string; size: number; mediaType: string }[] }>(entry?.digest ?? '');
    for (const { digest, size } of [manifest.config, ...manifest.layers].map((d) => ({ size: undefined, ...d }))) {
      const bytes = await blob(digest);
      expect(`sha256:${createHash('sha256').update(bytes).digest('hex')}`).toBe(digest);
      if (size !== undefined) expect(bytes.length).toBe(size);
    }
    expect(manifest.layers.every((layer) => layer.mediaType === 'application/vnd.oci.image.layer.v1.tar+gzip')).toBe(true);

    const config = await json<{ architecture: string; os: string; config: { Env: string[]; Cmd: string[]; User?: string; Labels: Record<string, string> } }>(
      manifest.config.digest,
    );
    expect(config).toMatchObject({ architecture: 'amd64', os: 'linux' });
    expect(config.config.Cmd).toEqual(['/usr/local/bin/nativeip-ipamd']);
    expect(config.config.Env).toContain('PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin');
    expect(config.config.Labels).toMatchObject({
      'org.opencontainers.image.title': 'nativeip',
      'org.opencontainers.image.version': VERSION,
      'org.opencontainers.image.licenses': 'Apache-2.0',
    });
    expect(config.config.Labels['org.opencontainers.image.revision']).toMatch(/^[0-9a-f]{40}(-modified)?$/);
    expect(config.config.Labels['org.opencontainers.image.created']).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  });
});

describe('the image under podman (runc, no network)', () => {
  it('runs Node.js 24 from PATH, nft, ip and a shell', async () => {
    const out = await inImage(['sh', '-c', 'node --version; nft --version; ip -V; for c in node nativeip-ipamd nativeip; do command -v $c; done']);
    expect(out.stderr).toBe('');
    expect(out.code).toBe(0);
    const [nodeVersion, nft, ip, ...paths] = out.stdout.trim().split('\n');
    expect(nodeVersion).toMatch(/^v24\.\d+\.\d+$/);
    expect(nft).toMatch(/^nftables v1\./);
    expect(ip).toMatch(/^ip utility, iproute2-/);
    expect(paths).toEqual(['/usr/local/bin/node', '/usr/local/bin/nativeip-ipamd', '/usr/local/bin/nativeip']);
  });

  it('holds the runtime node_modules and nothing of the dev tooling or source maps', async () => {
    const out = await inImage(['sh', '-c', 'ls /opt/nativeip/node_modules; find /opt/nativeip -name "*.map" -o -name "*.d.ts" | head -3']);
    expect(out.code).toBe(0);
    const names = out.stdout.trim().split('\n');
    expect(names).toEqual(expect.arrayContaining(['netlink', 'koffi']));
    for (const dev of Object.keys(packageJson.devDependencies)) expect(names).not.toContain(dev.split('/')[0]);
    expect(names.filter((name) => name.includes('.map') || name.includes('.d.ts'))).toEqual([]);
  });

  it('loads the netlink and koffi addons: an rtnetlink socket lists links, koffi calls libc', async () => {
    const script = [
      "const require = (await import('node:module')).createRequire('/opt/nativeip/js/nativeip-ipamd.mjs');",
      "const links = await require('netlink').createRtNetlink().getLinks();",
      "const getpid = require('koffi').load('libc.so.6').func('int getpid()');",
      'console.log(JSON.stringify({ links: links.map((l) => l.attrs.ifname), pid: getpid() === process.pid }));',
    ].join('\n');
    const out = await inImage(['node', '--input-type=module', '-e', script]);
    expect(out.stderr).toBe('');
    expect(JSON.parse(out.stdout)).toEqual({ links: ['lo'], pid: true });
  });

  it('nativeip-ipamd with WARM_IP_TARGET=abc exits 2 with the config error on stderr', async () => {
    const out = await inImage(['nativeip-ipamd'], { env: { WARM_IP_TARGET: 'abc' } });
    expect(out.code).toBe(2);
    expect(out.stderr).toContain('nativeip-ipamd: invalid daemon configuration');
    expect(out.stderr).toContain('WARM_IP_TARGET="abc": expected a whole number');
  });

  it('nativeip-ipamd with NATIVEIP_CLOUD=auto and no metadata service exits 2 saying so', async () => {
    const out = await inImage(['nativeip-ipamd'], { env: { NATIVEIP_CLOUD: 'auto' } });
    expect(out.code).toBe(2);
    expect(out.stderr).toContain('no cloud metadata service answered');
    expect(out.stderr).not.toMatch(/ERR_MODULE_NOT_FOUND|ERR_DLOPEN_FAILED|Cannot find (module|package)/);
  });

  it('nativeip-ipamd with NATIVEIP_CLOUD=aws opens its datapath and then fails on the unreachable IMDS, retrying', async () => {
    const name = `nativeip-image-test-${process.pid}`;
    containers.add(name);
    const child = spawn('podman', ['run', '--rm', '--name', name, '--network', 'none', '-e', 'NATIVEIP_CLOUD=aws', TAG, 'nativeip-ipamd'], { env: podmanEnv });
    let stderr = '';
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const retrying = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), 30_000);
      child.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
        if (stderr.includes('reading the node from the cloud failed; retrying')) {
          clearTimeout(timer);
          resolve(true);
        }
      });
      void exited.then(() => resolve(false));
    });
    await podman(['rm', '-f', '-t', '0', name]);
    await exited;
    containers.delete(name);
    expect(stderr).not.toMatch(/ERR_MODULE_NOT_FOUND|ERR_DLOPEN_FAILED|Cannot find (module|package)/);
    expect(retrying, stderr).toBe(true);
    expect(stderr).toContain('"cloud":"aws"');
    expect(stderr).toMatch(/IMDS \/latest\/api\/token failed.*(ENETUNREACH|ECONNREFUSED|EHOSTUNREACH)/);
  });

  it('nativeip install-cni puts the shim into the mounted host directory, where it answers VERSION; again, it leaves it', async () => {
    const host = join(dir, 'host-cni-bin');
    await mkdir(host);
    const first = await inImage(['nativeip', 'install-cni', '--bin-dir', '/host-cni'], { volumes: [`${host}:/host-cni`] });
    expect(first.stderr).toBe('');
    expect(first.stdout).toMatch(/^install-cni: installed \/host-cni\/nativeip-cni \(\d+ bytes, from \/opt\/nativeip\/bin\/nativeip-cni\)\n$/);
    expect(first.code).toBe(0);
    expect(await readdir(host)).toEqual(['nativeip-cni']);
    expect((await stat(join(host, 'nativeip-cni'))).mode & 0o777).toBe(0o755);

    const version = await run(join(host, 'nativeip-cni'), [], { env: { CNI_COMMAND: 'VERSION' }, input: '{"cniVersion":"1.0.0"}' });
    expect(version.code).toBe(0);
    expect(JSON.parse(version.stdout)).toEqual({ cniVersion: LATEST_VERSION, supportedVersions: [...SUPPORTED_VERSIONS] });

    const again = await inImage(['nativeip', 'install-cni', '--bin-dir', '/host-cni'], { volumes: [`${host}:/host-cni`] });
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('already has the bytes of /opt/nativeip/bin/nativeip-cni; left as it is');
  });

  it('nativeip install-cni without the host directory mounted fails naming it', async () => {
    const out = await inImage(['nativeip', 'install-cni']);
    expect(out.code).toBe(1);
    expect(out.stderr).toContain('cannot use the CNI bin directory /host/opt/cni/bin: it does not exist (ENOENT)');
  });
});

describe('the image under containerd (ctr, a private instance)', () => {
  it('imports with ctr -n k8s.io images import under its tag and runs', async () => {
    const base = join(dir, 'containerd');
    await mkdir(base);
    const address = join(base, 'containerd.sock');
    await writeFile(
      join(base, 'config.toml'),
      [
        'version = 2',
        `root = "${base}/root"`,
        `state = "${base}/state"`,
        'disabled_plugins = ["io.containerd.grpc.v1.cri"]',
        `[grpc]\n  address = "${address}"`,
        `[ttrpc]\n  address = "${base}/ttrpc.sock"`,
        `[plugins."io.containerd.internal.v1.opt"]\n  path = "${base}/opt"`,
      ].join('\n'),
    );
    const daemon = spawn('containerd', ['--config', join(base, 'config.toml'), '--log-level', 'error'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let log = '';
    daemon.stderr.on('data', (chunk: Buffer) => (log += chunk.toString()));
    const ctr = (args: string[]) => run('ctr', ['--address', address, '-n', 'k8s.io', ...args], { timeoutMs: 120_000 });
    try {
      for (let i = 0; i < 100 && !existsSync(address); i += 1) await new Promise((r) => setTimeout(r, 100));
      const imported = await ctr(['images', 'import', ARCHIVE]);
      expect(imported.code, imported.stderr + log).toBe(0);
      expect(imported.stdout).toContain(`unpacking ${TAG}`);
      const listed = await ctr(['images', 'ls', '-q']);
      expect(listed.stdout.trim().split('\n')).toContain(TAG);
      const ran = await ctr(['run', '--rm', TAG, `nativeip-image-test-${process.pid}`, 'node', '--version']);
      expect(ran.stderr).toBe('');
      expect(ran.stdout.trim()).toMatch(/^v24\./);
    } finally {
      daemon.kill('SIGTERM');
      await new Promise((resolve) => daemon.on('exit', resolve));
    }
  });
});
