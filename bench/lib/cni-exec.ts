/**
 * Runs a CNI plugin binary once, the way a container runtime does (CNI_* environment, network
 * config on stdin), optionally started inside a network namespace so that namespace is the
 * plugin's host, and times it from spawn to exit.
 */
import { spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { withNetns } from '../../src/cni/datapath/netns.js';

export interface CniExec {
  readonly binary: string;
  readonly command: 'ADD' | 'DEL' | 'CHECK' | 'VERSION';
  readonly containerId: string;
  readonly netns: string;
  readonly ifName: string;
  /** CNI_ARGS, e.g. `K8S_POD_NAMESPACE=default;K8S_POD_NAME=web-1`. */
  readonly args?: string;
  /** Directories searched for delegated plugins (host-local for ptp). */
  readonly cniPath: string;
  readonly config: Readonly<Record<string, unknown>>;
  /** Namespace the plugin process starts in; default the caller's. */
  readonly hostNetnsPath?: string;
}

export interface CniExecOutcome {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
  /** Spawn to exit, in milliseconds. */
  readonly ms: number;
}

/**
 * Starts the plugin and resolves when it exits; never rejects for a plugin failure. The child is
 * forked while the calling thread is inside `hostNetnsPath` (setns is synchronous and spawn forks
 * synchronously), so it costs no extra exec of `ip netns exec` or `nsenter`.
 */
export function execCni(call: CniExec, timeoutMs = 60_000): Promise<CniExecOutcome> {
  return new Promise((resolve, reject) => {
    const env: Record<string, string> = {
      PATH: process.env['PATH'] ?? '/usr/sbin:/usr/bin:/sbin:/bin',
      CNI_COMMAND: call.command,
      CNI_CONTAINERID: call.containerId,
      CNI_NETNS: call.netns,
      CNI_IFNAME: call.ifName,
      CNI_PATH: call.cniPath,
      ...(call.args === undefined ? {} : { CNI_ARGS: call.args }),
    };
    const start = performance.now();
    const launch = () => spawn(call.binary, [], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    const child = call.hostNetnsPath === undefined ? launch() : withNetns(call.hostNetnsPath, launch);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code) => {
      const ms = performance.now() - start;
      clearTimeout(timer);
      resolve({ exitCode: code ?? -1, stdout, stderr, ms });
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(JSON.stringify(call.config));
  });
}

/** The first address of an ADD result, without its prefix length; throws with the output when absent. */
export function resultAddress(outcome: CniExecOutcome): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(outcome.stdout);
  } catch {
    throw new Error(`ADD printed no JSON (exit ${outcome.exitCode}): ${outcome.stdout}${outcome.stderr}`);
  }
  const ips = typeof parsed === 'object' && parsed !== null && 'ips' in parsed ? parsed.ips : undefined;
  const first: unknown = Array.isArray(ips) ? ips[0] : undefined;
  const address = typeof first === 'object' && first !== null && 'address' in first ? first.address : undefined;
  if (typeof address !== 'string') throw new Error(`no address in ADD result (exit ${outcome.exitCode}): ${outcome.stdout}${outcome.stderr}`);
  return address.replace(/\/\d+$/, '');
}
