/** Runs the reference `cnitool` (v1.3.0) against a conflist, as a container runtime would. */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';

export const REPO_ROOT = resolve(import.meta.dirname, '../../..');
export const DIST_BIN = join(REPO_ROOT, 'dist/bin');
export const CNI_TOOLS = process.env['CNI_TOOLS_DIR'] ?? join(REPO_ROOT, '.tmp/cni-bin');

/** Why the e2e suites cannot run here, or undefined when they can. */
export function e2eSkipReason(): string | undefined {
  if (process.getuid?.() !== 0) return 'e2e tests need root (network namespaces); run the suite as root';
  if (!existsSync(join(DIST_BIN, 'nativeip-cni'))) return `built binaries missing in ${DIST_BIN}: run 'npm run build'`;
  if (!existsSync(join(CNI_TOOLS, 'cnitool'))) return `cnitool missing in ${CNI_TOOLS}: run scripts/install-cni-tools.sh`;
  return undefined;
}

export interface CniOutcome {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export class CniTool {
  readonly #netconfDir: string;

  private constructor(netconfDir: string) {
    this.#netconfDir = netconfDir;
  }

  /** Writes `conflist` (named `conflist.name`) into its own NETCONFPATH directory. */
  static async withConflist(dir: string, conflist: Record<string, unknown>): Promise<CniTool> {
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, `10-${String(conflist['name'])}.conflist`), JSON.stringify(conflist, null, 2));
    return new CniTool(dir);
  }

  run(verb: 'add' | 'del' | 'check' | 'gc' | 'status', network: string, netnsPath: string, env: Record<string, string> = {}): Promise<CniOutcome> {
    return new Promise((resolvePromise) => {
      execFile(
        join(CNI_TOOLS, 'cnitool'),
        [verb, network, netnsPath],
        {
          env: {
            PATH: process.env['PATH'] ?? '/usr/bin:/bin',
            NETCONFPATH: this.#netconfDir,
            CNI_PATH: `${DIST_BIN}:${CNI_TOOLS}`,
            ...env,
          },
          timeout: 90_000,
        },
        (error, stdout, stderr) => {
          const code = error === null ? 0 : typeof error.code === 'number' ? error.code : 1;
          resolvePromise({ code, stdout, stderr });
        },
      );
    });
  }
}

/** The pod's eth0 address from a cnitool ADD result. */
export function podAddress(outcome: CniOutcome): string {
  const result = JSON.parse(outcome.stdout) as { ips?: Array<{ address: string }> };
  const address = result.ips?.[0]?.address;
  if (address === undefined) throw new Error(`no address in ADD result: ${outcome.stdout}`);
  return address.replace(/\/32$/, '');
}
