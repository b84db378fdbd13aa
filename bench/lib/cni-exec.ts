/**
 * Runs a CNI plugin binary once, the way a container runtime does (CNI_* environment, network
 * config on stdin), optionally started inside a network namespace so that namespace is the
 * plugin's host, and times it from spawn to exit.
 */
import { runPlugin, type PluginOutcome } from '../../src/demo/pods.js';

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

export type CniExecOutcome = PluginOutcome;

/** Runs `call.binary` once (src/demo/pods.ts runPlugin: env, stdin, start namespace, timing). */
export function execCni(call: CniExec, timeoutMs = 60_000): Promise<CniExecOutcome> {
  const { binary, ...rest } = call;
  return runPlugin(binary, rest, timeoutMs);
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
