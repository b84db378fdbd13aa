/**
 * `nativeip support-bundle`: everything needed to say why a node misbehaves, in one archive to
 * attach to a ticket (what aws-node's support script gathers, in nativeip's terms): the daemon's
 * STATUS, its introspection (interfaces, pods, pool, configuration and variables, secrets
 * redacted by the daemon), its metrics, the checkpoint, the log's tail, and the node's kernel state
 * (links, addresses, policy rules, every route table, nft rules, the sysctls that matter). Each
 * part that cannot be had is recorded in `errors.txt` instead of stopping the bundle.
 */
import { execFile } from 'node:child_process';
import { constants } from 'node:fs';
import { access, mkdir, mkdtemp, open, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { callDaemon } from '../rpc/client.js';
import { DEFAULT_SOCKET_PATH } from '../rpc/protocol.js';
import { NATIVEIP_VERSION } from '../core/version.js';
import { parseFlags } from '../core/cli-flags.js';
import { fetchFailureName } from '../core/fetch-failure.js';
import { readVariable, type Env } from '../core/config/config-variable.js';
import { CONFIG_SPECS } from '../ipamd/config/config-variables.js';

const run = promisify(execFile);

export const SUPPORT_BUNDLE_USAGE = `usage: nativeip support-bundle [--out FILE.tar.gz] [--socket PATH] [--checkpoint PATH] [--log PATH]
                               [--introspection HOST:PORT] [--metrics HOST:PORT] [--netns PATH]
  defaults: the daemon's (NATIVEIP_SOCKET, NATIVEIP_CHECKPOINT, NATIVEIP_LOG_FILE, INTROSPECTION_BIND_ADDRESS,
  NATIVEIP_METRICS_ADDRESS as set, else ${DEFAULT_SOCKET_PATH}, /run/nativeip/checkpoint.json, 127.0.0.1:61679,
  127.0.0.1:61678) and the host's network namespace; run it on the node or in the nativeip pod (root).`;

export class SupportBundleUsageError extends Error {}

export interface SupportBundleOptions {
  readonly out: string;
  readonly socket: string;
  readonly checkpoint: string;
  readonly log: string | undefined;
  /** host:port, or why it is not served (the daemon's variable says off). */
  readonly introspection: string | { readonly off: string };
  readonly metrics: string | { readonly off: string };
  /** A network namespace to read the kernel state in (the emulated node's); unset: our own. */
  readonly netns: string | undefined;
}

/** The most of the log kept: its tail. */
const LOG_TAIL_BYTES = 8 * 1024 * 1024;
const INTROSPECTION_PATHS = ['interfaces', 'pods', 'pool', 'config', 'env-settings'] as const;

/** Kernel state: file name → the command that prints it. */
const KERNEL_COMMANDS: readonly (readonly [string, readonly string[]])[] = [
  ['ip-link.txt', ['ip', '-d', 'link', 'show']],
  ['ip-addr.txt', ['ip', 'addr', 'show']],
  ['ip-rule.txt', ['ip', 'rule', 'show']],
  ['ip-route.txt', ['ip', 'route', 'show', 'table', 'all']],
  ['ip-neigh.txt', ['ip', 'neigh', 'show']],
  ['nft-ruleset.txt', ['nft', 'list', 'ruleset']],
];

/** Sysctls that matter to pod traffic, read one by one (a key the kernel lacks loses only its line). */
const SYSCTLS = ['net.ipv4.ip_forward', 'net.ipv4.conf.all.rp_filter', 'net.ipv4.conf.default.rp_filter', 'net.ipv4.tcp_early_demux', 'net.ipv4.conf.all.forwarding'];

export function parseSupportBundleArgs(args: readonly string[], env: Readonly<Record<string, string | undefined>>): SupportBundleOptions {
  const flags = parseFlags(args, { values: ['--out', '--socket', '--checkpoint', '--log', '--introspection', '--metrics', '--netns'] }, (problem) => new SupportBundleUsageError(problem.message));
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  // The daemon's own variables, read as the daemon reads them (its defaults included).
  const daemon = <K extends keyof typeof CONFIG_SPECS>(key: K) => {
    const read = readVariable(CONFIG_SPECS[key], env as Env);
    if (!read.ok) throw new SupportBundleUsageError(`${read.issue.message} (the daemon's variable; or pass the path or address as a flag)`);
    return read.value;
  };
  const endpoint = (flag: string, address: 'metricsAddress' | 'introspectionAddress', disabled: 'disableMetrics' | 'disableIntrospection') => {
    const given = flags.one(flag);
    if (given !== undefined) return given;
    const at = daemon(address);
    if (at === undefined || daemon(disabled)) return { off: `not served (${CONFIG_SPECS[disabled].env} or ${CONFIG_SPECS[address].env}=off)` };
    return `${at.host === '0.0.0.0' ? '127.0.0.1' : at.host}:${at.port}`;
  };
  const logFile = daemon('logFile');
  const options: SupportBundleOptions = {
    out: resolve(flags.one('--out') ?? `nativeip-support-${stamp}.tar.gz`),
    socket: flags.one('--socket') ?? daemon('socketPath'),
    checkpoint: flags.one('--checkpoint') ?? daemon('checkpointPath'),
    log: flags.one('--log') ?? (logFile === 'stderr' ? undefined : logFile),
    introspection: endpoint('--introspection', 'introspectionAddress', 'disableIntrospection'),
    metrics: endpoint('--metrics', 'metricsAddress', 'disableMetrics'),
    netns: flags.one('--netns'),
  };
  if (!options.out.endsWith('.tar.gz')) throw new SupportBundleUsageError(`--out must name a .tar.gz file, not ${JSON.stringify(options.out)}`);
  return options;
}

/** Gathers the bundle and writes the archive; returns the files in it and what could not be had. */
export async function writeSupportBundle(options: SupportBundleOptions): Promise<{ files: string[]; errors: string[] }> {
  const root = await mkdtemp(join(tmpdir(), 'nativeip-support-'));
  const dir = join(root, basename(options.out, '.tar.gz'));
  const files: string[] = [];
  const errors: string[] = [];
  const save = async (name: string, what: () => Promise<string>) => {
    try {
      await writeFile(join(dir, name), await what());
      files.push(name);
    } catch (error) {
      errors.push(`${name}: ${error instanceof Error ? error.message : String(error)}`);
    }
  };
  try {
    await access(dirname(options.out), constants.W_OK).catch((error: unknown) => {
      throw new SupportBundleUsageError(`--out: cannot write into ${dirname(options.out)} (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
    });
    await mkdir(dir, { recursive: true });
    await save('version.txt', async () => `nativeip ${NATIVEIP_VERSION}\nnode ${process.version}\n${(await run('uname', ['-a'])).stdout}`);
    await save('status.json', async () => `${JSON.stringify(await callDaemon(options.socket, 'status', {}, { timeoutMs: 5_000 }), null, 2)}\n`);
    for (const path of INTROSPECTION_PATHS) await save(`introspection-${path}.json`, () => httpGet(options.introspection, `/v1/${path}`));
    await save('metrics.txt', () => httpGet(options.metrics, '/metrics'));
    await save('checkpoint.json', () => readFile(options.checkpoint, 'utf8'));
    if (options.log !== undefined) await save('ipamd.log', () => tail(options.log!, LOG_TAIL_BYTES));
    else errors.push('ipamd.log: the daemon logs to stderr (no NATIVEIP_LOG_FILE); add `kubectl logs -n kube-system <the nativeip pod> --all-containers`');
    const inNetns = (command: readonly string[]) => (options.netns === undefined ? [...command] : ['nsenter', `--net=${options.netns}`, ...command]);
    for (const [name, command] of KERNEL_COMMANDS) {
      const argv = inNetns(command);
      await save(name, async () => (await run(argv[0]!, argv.slice(1), { maxBuffer: 64 * 1024 * 1024 })).stdout);
    }
    await save('sysctl.txt', async () => {
      const lines: string[] = [];
      for (const key of SYSCTLS) {
        const argv = inNetns(['sysctl', key]);
        lines.push(await run(argv[0]!, argv.slice(1)).then((r) => r.stdout.trim(), (e: unknown) => `${key}: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`));
      }
      return `${lines.join('\n')}\n`;
    });
    await writeFile(join(dir, 'errors.txt'), errors.length === 0 ? 'none\n' : `${errors.join('\n')}\n`);
    files.push('errors.txt');
    await run('tar', ['-czf', options.out, '-C', root, basename(dir)]);
    return { files, errors };
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

/** GETs `path` from `at`; throws with the reason (refused, timed out, the status) when it cannot. */
async function httpGet(at: string | { readonly off: string }, path: string): Promise<string> {
  if (typeof at !== 'string') throw new Error(at.off);
  const url = `http://${at}${path}`;
  let response: Response;
  try {
    response = await fetch(url, { signal: AbortSignal.timeout(5_000) });
  } catch (error) {
    throw new Error(`GET ${url}: ${fetchFailureName(error)}`, { cause: error });
  }
  const body = await response.text();
  if (!response.ok) throw new Error(`GET ${url}: ${response.status} ${body.trim().slice(0, 200)}`);
  return body;
}

/** The last `bytes` of a file. */
async function tail(path: string, bytes: number): Promise<string> {
  const handle = await open(path, 'r');
  try {
    const size = (await handle.stat()).size;
    const length = Math.min(size, bytes);
    const buffer = Buffer.alloc(length);
    const { bytesRead } = await handle.read(buffer, 0, length, size - length);
    return buffer.subarray(0, bytesRead).toString('utf8');
  } finally {
    await handle.close();
  }
}
