/**
 * Container images without a registry: a directory tree becomes a one-layer docker-archive
 * tarball (what `docker save` writes: manifest.json, the image config, the layer tar), which
 * `ctr -n k8s.io images import` loads into containerd. Pods use them with imagePullPolicy: Never.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { chmod, copyFile, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { runCommand } from './process.js';

export interface ImageSpec {
  /** Fully qualified reference, e.g. `nativeip.local/busybox:test` (no registry is ever asked). */
  readonly name: string;
  /** The directory tree that becomes the image's single layer. */
  readonly rootfs: string;
  readonly entrypoint?: readonly string[];
  readonly cmd?: readonly string[];
  /** Default `PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`. */
  readonly env?: readonly string[];
}

function sha256File(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    createReadStream(path)
      .on('data', (chunk) => hash.update(chunk))
      .on('end', () => resolve(hash.digest('hex')))
      .on('error', reject);
  });
}

/** Writes `spec` as a docker-archive tarball at `outPath` (uses GNU tar). */
export async function writeImageArchive(spec: ImageSpec, outPath: string): Promise<void> {
  const stage = await mkdtemp(join(dirname(outPath), '.image-'));
  try {
    const layerTmp = join(stage, 'layer.tar');
    await runCommand('tar', ['--sort=name', '--numeric-owner', '--owner=0', '--group=0', '--mtime=@0', '-C', spec.rootfs, '-cf', layerTmp, '.']);
    const layerDigest = await sha256File(layerTmp);
    await mkdir(join(stage, layerDigest));
    await runCommand('mv', [layerTmp, join(stage, layerDigest, 'layer.tar')]);
    const config = {
      architecture: process.arch === 'arm64' ? 'arm64' : 'amd64',
      os: 'linux',
      created: '1970-01-01T00:00:00Z',
      config: {
        Env: spec.env ?? ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'],
        ...(spec.entrypoint !== undefined ? { Entrypoint: spec.entrypoint } : {}),
        ...(spec.cmd !== undefined ? { Cmd: spec.cmd } : {}),
      },
      rootfs: { type: 'layers', diff_ids: [`sha256:${layerDigest}`] },
      history: [{ created: '1970-01-01T00:00:00Z', created_by: 'nativeip test/support/kube/image.ts' }],
    };
    const configJson = JSON.stringify(config);
    const configName = `${createHash('sha256').update(configJson).digest('hex')}.json`;
    await writeFile(join(stage, configName), configJson);
    const manifest = [{ Config: configName, RepoTags: [spec.name], Layers: [`${layerDigest}/layer.tar`] }];
    await writeFile(join(stage, 'manifest.json'), JSON.stringify(manifest));
    await runCommand('tar', ['--numeric-owner', '--owner=0', '--group=0', '-C', stage, '-cf', outPath, 'manifest.json', configName, `${layerDigest}/layer.tar`]);
  } finally {
    await rm(stage, { recursive: true, force: true });
  }
}

/**
 * A rootfs with Debian's static busybox (`busybox-static`, installed by scripts/install-kube.sh)
 * as /bin/busybox and a symlink per applet (sh, sleep, ping, nc, ip, ...).
 */
export async function makeBusyboxRootfs(dir: string, busybox = '/bin/busybox'): Promise<void> {
  await mkdir(join(dir, 'bin'), { recursive: true });
  for (const sub of ['etc', 'tmp', 'proc', 'sys', 'dev']) await mkdir(join(dir, sub), { recursive: true });
  await chmod(join(dir, 'tmp'), 0o1777);
  await copyFile(busybox, join(dir, 'bin', 'busybox'));
  await chmod(join(dir, 'bin', 'busybox'), 0o755);
  const applets = (await runCommand(busybox, ['--list'])).split('\n').filter((name) => /^[a-z0-9_.[-]+$/.test(name) && name !== 'busybox');
  for (const applet of applets) await symlink('busybox', join(dir, 'bin', applet));
  await writeFile(join(dir, 'etc', 'passwd'), 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n');
  await writeFile(join(dir, 'etc', 'group'), 'root:x:0:\nnogroup:x:65534:\n');
}

/** A rootfs holding only the static pause binary, as /pause. */
export async function makePauseRootfs(dir: string, pauseBinary: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  await copyFile(pauseBinary, join(dir, 'pause'));
  await chmod(join(dir, 'pause'), 0o755);
}

/** Builds the busybox image (`sleep 3600` by default) as a docker-archive under `workDir`; returns its path. */
export async function buildBusyboxImage(workDir: string, name = 'nativeip.local/busybox:test'): Promise<string> {
  const rootfs = join(workDir, 'busybox-rootfs');
  await makeBusyboxRootfs(rootfs);
  const tar = join(workDir, `${basename(name).replace(/[^a-zA-Z0-9.-]/g, '_')}.tar`);
  await writeImageArchive({ name, rootfs, cmd: ['sleep', '3600'] }, tar);
  await rm(rootfs, { recursive: true, force: true });
  return tar;
}
