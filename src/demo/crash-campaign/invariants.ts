/**
 * What must hold on a node once it has settled, whatever crashed on the way, checked across every
 * record: kubelet's view of its pods, the daemon's (STATUS), the checkpoint file, the kernel of the
 * node, and the cloud. Each broken rule is one line naming what broke.
 */
import { readFile } from 'node:fs/promises';
import { ping } from '../../emulator/fabric/index.js';
import type { StatusResult } from '../../rpc/protocol.js';
import type { CloudView } from '../cloud-under-test.js';
import { nodeLeftovers } from '../leftovers.js';
import type { Sandbox } from './kubelet-pods.js';

/** A way the cloud and the node disagree; `key` stays the same while the same disagreement lasts. */
export interface CloudDisagreement {
  readonly key: string;
  readonly text: string;
}

export interface NodeUnderTest {
  readonly netnsPath: string;
  readonly checkpointPath: string;
  /** Where the pods are pinged from: a host in the VPC. */
  readonly vpcHostNetnsPath: string;
}

/** Violations of the rules on who holds which address; empty when all hold. */
export async function addressViolations(live: readonly Sandbox[], status: StatusResult, node: NodeUnderTest, cloud: CloudView): Promise<string[]> {
  const problems: string[] = [];
  const byAddress = new Map<string, Sandbox[]>();
  for (const pod of live) byAddress.set(pod.address!, [...(byAddress.get(pod.address!) ?? []), pod]);
  for (const [address, pods] of byAddress) if (pods.length > 1) problems.push(`${address} held by ${pods.length} live pods: ${pods.map((p) => p.podName).join(', ')}`);

  const allocations = new Map(status.pods.map((p) => [p.containerId, p]));
  const held = new Map((status.held ?? []).map((h) => [h.address, h]));
  const liveIds = new Set(live.map((p) => p.containerId));
  const liveAddresses = new Set(live.map((p) => p.address!));
  for (const pod of live) {
    const allocation = allocations.get(pod.containerId);
    const hold = held.get(pod.address!);
    if (allocation?.address === pod.address) continue;
    if (hold !== undefined && (hold.hostVeth === undefined || hold.hostVeth === pod.hostVeth)) continue;
    problems.push(`live pod ${pod.podName} has ${pod.address} but the daemon records ${allocation === undefined ? 'no allocation' : `allocation ${allocation.address}`}${hold === undefined ? '' : ` (held for ${hold.hostVeth ?? hold.podName})`}`);
  }
  for (const allocation of status.pods) {
    if (!liveIds.has(allocation.containerId)) problems.push(`allocation of gone container ${allocation.containerId} (${allocation.podName}) still holds ${allocation.address}`);
  }
  for (const hold of status.held ?? []) {
    if (!liveAddresses.has(hold.address)) problems.push(`${hold.address} still held for ${hold.hostVeth ?? hold.podName} though no live pod has it`);
  }
  const seen = new Map<string, string>();
  for (const allocation of status.pods) {
    const other = seen.get(allocation.address);
    if (other !== undefined) problems.push(`the daemon gives ${allocation.address} to both ${other} and ${allocation.containerId}`);
    seen.set(allocation.address, allocation.containerId);
  }

  problems.push(...(await checkpointViolations(node.checkpointPath, liveIds)));

  const inCloud = new Set((await cloud.nodeInterfaces()).flatMap((i) => i.addresses));
  for (const pod of live) if (!inCloud.has(pod.address!)) problems.push(`live pod ${pod.podName}'s ${pod.address} is not on the node in the cloud`);

  const leftovers = await nodeLeftovers(node.netnsPath, {
    addresses: [...inCloud].filter((a) => !liveAddresses.has(a)),
    isPodVeth: (name) => name.startsWith('eni') && !live.some((p) => p.hostVeth === name),
  });
  problems.push(...leftovers.map((l) => `kernel leftover of a gone pod: ${l}`));
  return problems;
}

/**
 * Where the cloud and the node's pool disagree: an ENI or NIC leaked (see
 * {@link CloudView.leakedInterfaces}); an interface attached to the node that the pool does not
 * know, or one the pool has that the cloud does not attach to the node; an interface on which the
 * cloud gives the node more addresses than the pool has (free, cooling down or assigned, to a pod
 * or held for one: an address nothing accounts for is never used and never given back) or fewer
 * (the pool would hand out an address the node does not have). Some are passing (a create or an
 * assign under way, a lost reply the next reconcile repairs): the caller counts those that last.
 */
export async function cloudDisagreements(status: StatusResult, cloud: CloudView): Promise<CloudDisagreement[]> {
  const found: CloudDisagreement[] = (await cloud.leakedInterfaces()).map((text) => ({ key: `leak ${text.split(' ')[0]}`, text: `leaked interface: ${text}` }));
  const pool = new Map(status.interfaces.map((i) => [i.id.toLowerCase(), i]));
  const attached = new Set<string>();
  for (const pif of await cloud.nodeInterfaces()) {
    const id = pif.id.toLowerCase();
    attached.add(id);
    const known = pool.get(id);
    if (known === undefined) {
      found.push({ key: `unknown ${id}`, text: `${pif.id} is attached to the node with ${pif.addresses.length} addresses but the pool does not know it` });
    } else if (known.addresses !== pif.addresses.length) {
      const more = pif.addresses.length > known.addresses;
      found.push({
        key: `count ${id}`,
        text: `${pif.id} has ${pif.addresses.length} addresses in the cloud but ${known.addresses} in the pool${more ? ': the node holds addresses no pod, pool entry or cooldown accounts for' : ': the pool has addresses the node does not'}`,
      });
    }
  }
  for (const known of status.interfaces) {
    if (!attached.has(known.id.toLowerCase())) found.push({ key: `gone ${known.id.toLowerCase()}`, text: `the pool has ${known.id}, which the cloud does not attach to the node` });
  }
  return found;
}

/** The checkpoint on disk: each address once, and no allocation of a gone container. */
async function checkpointViolations(path: string, liveIds: ReadonlySet<string>): Promise<string[]> {
  let data: { allocations?: { containerId: string; address: string }[] };
  try {
    data = JSON.parse(await readFile(path, 'utf8')) as typeof data;
  } catch (error) {
    return [`the checkpoint of a settled daemon cannot be read: ${(error as Error).message}`];
  }
  const problems: string[] = [];
  const seen = new Set<string>();
  for (const a of data.allocations ?? []) {
    if (seen.has(a.address)) problems.push(`the checkpoint has ${a.address} twice`);
    seen.add(a.address);
    if (!liveIds.has(a.containerId)) problems.push(`the checkpoint keeps gone container ${a.containerId} (${a.address})`);
  }
  return problems;
}

/** Live pods that do not answer a ping from the VPC host. */
export async function unreachablePods(live: readonly Sandbox[], node: NodeUnderTest): Promise<string[]> {
  const results = await Promise.all(live.map(async (pod) => ((await ping(node.vpcHostNetnsPath, pod.address!, { count: 1, timeoutSec: 3 })).ok ? undefined : `live pod ${pod.podName} (${pod.address}) does not answer a ping from the VPC`)));
  return results.filter((r): r is string => r !== undefined);
}
