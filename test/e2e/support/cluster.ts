/** Helpers for e2e suites that run an EmulatedCluster. */
import { rm } from 'node:fs/promises';
import { hostVethName } from '../../../src/ipamd/datapath/veth-name.js';
import type { ClusterNode } from '../../../src/demo/emulated-cluster.js';
import { nodeLeftovers } from '../../../src/demo/leftovers.js';
import { deletePodNetns } from '../../../src/demo/pods.js';

/**
 * The pod's host veth (as the daemon names it for `podNamespace/name`) and host routes and rules
 * naming its address, if any are still in the node's namespace.
 */
export function podLeftovers(node: ClusterNode, podNamespace: string, pod: { readonly name: string; readonly address: string }): Promise<string[]> {
  const veth = hostVethName('eni', { namespace: podNamespace, name: pod.name });
  return nodeLeftovers(node.netnsPath, { addresses: [pod.address], isPodVeth: (name) => name === veth });
}

/** What {@link tearDownCluster} needs of an EmulatedCluster. */
export interface ClusterToTearDown {
  readonly nodes: readonly ClusterNode[];
  logTail(node: ClusterNode, lines: number): Promise<string>;
  close(): Promise<void>;
}

/**
 * A cluster suite's afterAll: deletes the pod namespaces, prints each daemon's log tail, closes
 * the cluster (if it started) and removes the work directory.
 */
export async function tearDownCluster(cluster: ClusterToTearDown | undefined, podNetns: readonly string[], workDir: string | undefined): Promise<void> {
  for (const netns of podNetns) await deletePodNetns(netns);
  if (cluster !== undefined) {
    for (const node of cluster.nodes) console.log(`--- ${node.name} daemon log tail ---\n${await cluster.logTail(node, 15)}`);
    await cluster.close();
  }
  if (workDir !== undefined) await rm(workDir, { recursive: true, force: true });
}
