/**
 * A simulated node's cloud provider as its pool sees it: the real provider, with each observation
 * from instance metadata counted (IMDS reads are no cloud API calls), and the same provider without
 * observeNode, whose reconciles read the cloud's API every time (the behaviour before observeNode).
 */
import type { CloudProvider, NodeObservation } from '../core/types.js';

export type SimNode = CloudProvider & {
  observeNode(): Promise<NodeObservation>;
  /** The provider without observeNode. */
  describeOnly(): CloudProvider;
};

/** `provider` must have observeNode; `observed` is called at each call of it. */
export function simNode(provider: CloudProvider, observed: () => void): SimNode {
  const observe = provider.observeNode?.bind(provider);
  if (observe === undefined) throw new Error(`provider ${provider.name} cannot observe its node`);
  return {
    ...describeOnly(provider),
    observeNode: () => {
      observed();
      return observe();
    },
    describeOnly: () => describeOnly(provider),
  };
}

/** Every member of the provider but observeNode, bound to it (its state may be in #private fields). */
function describeOnly(p: CloudProvider): CloudProvider {
  return {
    name: p.name,
    describeNode: () => p.describeNode(),
    assignAddresses: (interfaceId, count) => p.assignAddresses(interfaceId, count),
    createInterface: (options) => p.createInterface(options),
    releaseAddresses: (interfaceId, addresses) => p.releaseAddresses(interfaceId, addresses),
    deleteInterface: (interfaceId) => p.deleteInterface(interfaceId),
    ...(p.assignPrefixes === undefined ? {} : { assignPrefixes: p.assignPrefixes.bind(p) }),
    ...(p.releasePrefixes === undefined ? {} : { releasePrefixes: p.releasePrefixes.bind(p) }),
    ...(p.collectLeakedInterfaces === undefined ? {} : { collectLeakedInterfaces: p.collectLeakedInterfaces.bind(p) }),
    ...(p.resumeState === undefined ? {} : { resumeState: p.resumeState.bind(p) }),
    ...(p.restoreState === undefined ? {} : { restoreState: p.restoreState.bind(p) }),
    ...(p.onResumeStateChange === undefined ? {} : { onResumeStateChange: p.onResumeStateChange.bind(p) }),
    ...(p.throttledAtMs === undefined ? {} : { throttledAtMs: p.throttledAtMs.bind(p) }),
  };
}
