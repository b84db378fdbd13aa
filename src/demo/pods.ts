/**
 * Pods for the demo and the e2e tests: a network namespace per pod, and the CNI plugin run the
 * way a container runtime runs it (CNI_* environment, network config on stdin).
 */
import { execFile, spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import { withNetns } from '../ipamd/datapath/netns.js';

const execFileAsync = promisify(execFile);

export async function createPodNetns(name: string): Promise<string> {
  await execFileAsync('ip', ['netns', 'add', name]);
  await execFileAsync('ip', ['-n', name, 'link', 'set', 'lo', 'up']);
  return `/run/netns/${name}`;
}

export async function deletePodNetns(name: string): Promise<void> {
  await execFileAsync('ip', ['netns', 'del', name]).catch(() => undefined);
}

export interface PluginCall {
  readonly command: 'ADD' | 'DEL' | 'CHECK' | 'VERSION';
  readonly containerId: string;
  readonly netns: string;
  readonly ifName: string;
  /** CNI_ARGS, e.g. `K8S_POD_NAMESPACE=default;K8S_POD_NAME=web-1`. */
  readonly args?: string;
  readonly config: Readonly<Record<string, unknown>>;
  /** CNI_PATH: directories searched for delegated plugins (host-local for ptp). */
  readonly cniPath?: string;
  /**
   * Network namespace the plugin process starts in (its "host"); default the caller's. The
   * child is forked while the calling thread is inside it (setns and spawn are synchronous), so
   * no `ip netns exec` is paid.
   */
  readonly hostNetnsPath?: string;
}

export interface PluginOutcome {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
  /** Spawn to exit, in milliseconds. */
  readonly ms: number;
}

/** Runs the plugin binary once, with a deadline; never rejects for a plugin failure. */
export function runPlugin(binary: string, call: PluginCall, timeoutMs = 60_000): Promise<PluginOutcome> {
  return new Promise((resolve, reject) => {
    const env = {
      PATH: process.env['PATH'] ?? '/usr/sbin:/usr/bin:/sbin:/bin',
      CNI_COMMAND: call.command,
      CNI_CONTAINERID: call.containerId,
      CNI_NETNS: call.netns,
      CNI_IFNAME: call.ifName,
      CNI_PATH: call.cniPath ?? '/opt/cni/bin',
      ...(call.args === undefined ? {} : { CNI_ARGS: call.args }),
    };
    const started = performance.now();
    const launch = () => spawn(binary, [], { env, stdio: ['pipe', 'pipe', 'pipe'] });
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
      clearTimeout(timer);
      resolve({ exitCode: code ?? -1, stdout, stderr, ms: performance.now() - started });
    });
    // A plugin that exits before reading stdin (VERSION) must not crash the caller.
    child.stdin.on('error', () => undefined);
    child.stdin.end(JSON.stringify(call.config));
  });
}
