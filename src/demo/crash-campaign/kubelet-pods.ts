/**
 * Pods driven the way kubelet drives a CNI plugin, through the built `nativeip-cni` shim: each
 * sandbox gets a fresh network namespace and container id; a failed ADD is followed by a DEL of
 * that sandbox (retried until it succeeds) before the pod is tried again with a new sandbox; a
 * DEL is retried until it succeeds, whatever the daemon is doing (dead, restarting, replaced).
 */
import { join } from 'node:path';
import { hostVethName } from '../../ipamd/datapath/veth-name.js';
import { createPodNetns, deletePodNetns, runPlugin, type PluginOutcome } from '../pods.js';
import { sleep } from '../../core/sleep.js';

export const POD_NAMESPACE = 'crash';

/** A sandbox of a pod: what kubelet knows about it. */
export interface Sandbox {
  readonly slot: number;
  readonly containerId: string;
  readonly podName: string;
  readonly netns: string;
  readonly netnsPath: string;
  readonly hostVeth: string;
  address: string | undefined;
}

export interface KubeletCounts {
  adds: number;
  addFailures: number;
  dels: number;
  delRetries: number;
}

export interface KubeletPodsOptions {
  readonly binDir: string;
  readonly socketPath: string;
  /** Namespace names start with it. */
  readonly prefix: string;
  readonly slots: number;
  /** kubelet's retry pause after a failed DEL. */
  readonly retryMs?: number;
  /** A DEL still failing after this long is reported (kubelet would go on trying). */
  readonly delDeadlineMs?: number;
}

export class KubeletPods {
  readonly #options: KubeletPodsOptions;
  readonly #live = new Map<number, Sandbox>();
  readonly #busy = new Set<number>();
  #generation = 0;
  readonly counts: KubeletCounts = { adds: 0, addFailures: 0, dels: 0, delRetries: 0 };
  /** DELs that kept failing past the deadline: a bug (kubelet would be stuck on them). */
  readonly stuck: string[] = [];

  constructor(options: KubeletPodsOptions) {
    this.#options = options;
  }

  /** Pods holding an address, as kubelet sees them. */
  live(): Sandbox[] {
    return [...this.#live.values()];
  }

  /** Slots free to change now (not mid-ADD or mid-DEL). */
  idleSlots(): { empty: number[]; live: number[] } {
    const empty: number[] = [];
    const live: number[] = [];
    for (let slot = 0; slot < this.#options.slots; slot += 1) {
      if (this.#busy.has(slot)) continue;
      (this.#live.has(slot) ? live : empty).push(slot);
    }
    return { empty, live };
  }

  /** Starts a pod in `slot` (one sandbox try); resolves once it holds an address or its failed sandbox is torn down. */
  async add(slot: number): Promise<void> {
    this.#busy.add(slot);
    try {
      this.#generation += 1;
      const podName = `p${slot}-${this.#generation}`;
      const netns = `${this.#options.prefix}${slot}g${this.#generation}`;
      const sandbox: Sandbox = {
        slot,
        containerId: `crash-${this.#generation}`,
        podName,
        netns,
        netnsPath: await createPodNetns(netns),
        hostVeth: hostVethName('eni', { namespace: POD_NAMESPACE, name: podName }),
        address: undefined,
      };
      this.counts.adds += 1;
      const outcome = await this.#plugin('ADD', sandbox);
      const address = outcome.exitCode === 0 ? addressOf(outcome.stdout) : undefined;
      if (address !== undefined) {
        sandbox.address = address;
        this.#live.set(slot, sandbox);
        return;
      }
      // kubelet: the sandbox failed; tear its network down (DEL until it succeeds) and drop it.
      this.counts.addFailures += 1;
      await this.#delUntilDone(sandbox);
    } finally {
      this.#busy.delete(slot);
    }
  }

  /** Stops the pod in `slot`: DEL until it succeeds, then its namespace goes. */
  async del(slot: number): Promise<void> {
    const sandbox = this.#live.get(slot);
    if (sandbox === undefined) return;
    this.#busy.add(slot);
    try {
      await this.#delUntilDone(sandbox);
      this.#live.delete(slot);
    } finally {
      this.#busy.delete(slot);
    }
  }

  /** Removes every pod (end of a campaign). */
  async removeAll(): Promise<void> {
    await Promise.all([...this.#live.keys()].map((slot) => this.del(slot)));
  }

  async #delUntilDone(sandbox: Sandbox): Promise<void> {
    const started = Date.now();
    for (let attempt = 0; ; attempt += 1) {
      if (attempt > 0) this.counts.delRetries += 1;
      const outcome = await this.#plugin('DEL', sandbox);
      if (outcome.exitCode === 0) break;
      if (Date.now() - started > (this.#options.delDeadlineMs ?? 90_000)) {
        this.stuck.push(`DEL of ${sandbox.podName} (${sandbox.containerId}) still failing after ${attempt + 1} tries: ${outcome.stdout.trim()} ${outcome.stderr.trim()}`);
        break;
      }
      await sleep(this.#options.retryMs ?? 200);
    }
    this.counts.dels += 1;
    await deletePodNetns(sandbox.netns);
  }

  #plugin(command: 'ADD' | 'DEL', sandbox: Sandbox): Promise<PluginOutcome> {
    return runPlugin(join(this.#options.binDir, 'nativeip-cni'), {
      command,
      containerId: sandbox.containerId,
      netns: sandbox.netnsPath,
      ifName: 'eth0',
      args: `IgnoreUnknown=1;K8S_POD_NAMESPACE=${POD_NAMESPACE};K8S_POD_NAME=${sandbox.podName}`,
      config: { cniVersion: '1.0.0', name: 'nativeip', type: 'nativeip-cni', socketPath: this.#options.socketPath },
    });
  }
}

/** The pod's address from an ADD result, or undefined when the output is not one. */
function addressOf(stdout: string): string | undefined {
  try {
    const result = JSON.parse(stdout) as { ips?: { address?: string }[] };
    return result.ips?.[0]?.address?.replace(/\/32$/, '');
  } catch {
    return undefined;
  }
}
