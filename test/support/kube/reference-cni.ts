/**
 * The reference CNI plugins (containernetworking/plugins v1.9.1: ptp, host-local, loopback, ...)
 * that scripts/install-cni-tools.sh installs into $CNI_TOOLS_DIR (default .tmp/cni-bin), and a
 * ptp + host-local network config for a {@link KubeletNode}.
 */
import { accessSync, constants } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { REPO_ROOT } from '../repo-root.js';

/** The reference plugins' directory; throws, naming the install script, if one of `needed` is missing. */
export function referenceCniBinDir(needed: readonly string[] = ['ptp', 'host-local', 'loopback'], env: NodeJS.ProcessEnv = process.env): string {
  const dir = env['CNI_TOOLS_DIR'] ?? join(REPO_ROOT, '.tmp', 'cni-bin');
  for (const plugin of needed) {
    try {
      accessSync(join(dir, plugin), constants.X_OK);
    } catch {
      throw new Error(`${join(dir, plugin)} is missing: run 'bash scripts/install-cni-tools.sh' (scripts/setup.sh does)`);
    }
  }
  return dir;
}

export interface PtpConflistOptions {
  /** The network name (also names host-local's allocations). */
  readonly name: string;
  /** Pod subnet, e.g. 198.19.0.0/24; pods get a route to it only (no default route). */
  readonly subnet: string;
  /** host-local's allocation directory (default `<confDir>/../host-local`), instead of /var/lib/cni. */
  readonly dataDir?: string;
}

/**
 * Writes `<confDir>/10-<name>.conflist`: ptp (no masquerade) with host-local. Returns its path.
 * Pods reach each other through the host's /32 routes and nothing else: no default route.
 */
export async function writePtpConflist(confDir: string, options: PtpConflistOptions): Promise<string> {
  await mkdir(confDir, { recursive: true });
  const conflist = {
    cniVersion: '1.0.0',
    name: options.name,
    plugins: [
      {
        type: 'ptp',
        ipMasq: false,
        mtu: 1500,
        ipam: {
          type: 'host-local',
          ranges: [[{ subnet: options.subnet }]],
          // No routes: ptp itself routes the subnet via the host end; pods get no default route.
          dataDir: options.dataDir ?? join(confDir, '..', 'host-local'),
        },
      },
    ],
  };
  const path = join(confDir, `10-${options.name}.conflist`);
  await writeFile(path, `${JSON.stringify(conflist, null, 2)}\n`);
  return path;
}
