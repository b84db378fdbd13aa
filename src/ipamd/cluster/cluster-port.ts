/**
 * What the daemon needs from the cluster around its node, in its own terms: its Node, the pods on
 * the node, and a few writes about itself. Implemented by the Kubernetes room (src/kube), the only
 * place that knows the API's types. The API is a source, never a dependency of ADD/DEL: nothing
 * here blocks a pod's network, and every call copes with the API server being away.
 */
import type { ExhaustionReason, NodeAvailability } from '../../core/node-availability.js';

/** This node's Node object, as last seen. */
export interface ClusterNode {
  readonly name: string;
  readonly uid: string;
  /** `status.capacity.pods` (kubelet's max-pods); undefined until kubelet reports it. */
  readonly capacityPods: number | undefined;
  /** The value of nativeip's own taint when the Node carries it (an earlier daemon set it). */
  readonly taint?: ExhaustionReason;
}

/** A pod scheduled to this node, as last seen. */
export interface ClusterPod {
  readonly namespace: string;
  readonly name: string;
  readonly uid: string;
  /** Host-network pods count against the node's capacity but take no address. */
  readonly hostNetwork: boolean;
  /** `status.podIPs` (IPv4 and IPv6 as the API gives them). */
  readonly podIps: readonly string[];
  /** Succeeded or Failed: its containers will not run again, its sandbox is (being) torn down. */
  readonly terminal: boolean;
  /** Being deleted (`deletionTimestamp` set): kubelet is tearing it down, its DEL may have run. */
  readonly deleting: boolean;
}

export interface ClusterEvents {
  /** The Node or the set of pods changed (also after a relist). */
  changed(): void;
  /** A pod left the API (deleted for good), or became terminal. */
  podGone(pod: Pick<ClusterPod, 'namespace' | 'name' | 'uid'>): void;
}

/** The NativeipNode object's status: how full the node is and why. */
export interface NativeipNodeStatus {
  readonly cloud: string;
  readonly instanceId: string;
  readonly instanceType: string;
  readonly maxPods: number;
  readonly ready: boolean;
  readonly state: 'ready' | 'growing' | 'blocked';
  readonly addresses: { readonly total: number; readonly assigned: number; readonly free: number; readonly coolingDown: number };
  readonly interfaces: readonly {
    readonly id: string;
    readonly subnetId: string;
    readonly deviceIndex: number;
    readonly total: number;
    readonly assigned: number;
    readonly free: number;
    readonly coolingDown: number;
    readonly prefixes: readonly string[];
  }[];
  /** Why no pod can get an address now; absent while one can. */
  readonly reason?: ExhaustionReason;
  readonly warmPool: { readonly policy: string; readonly low?: number; readonly high?: number; readonly burst?: boolean; readonly arrivalsPerMinute?: number; readonly startupFloor?: number; readonly knobs?: Readonly<Record<string, number>> };
  readonly lastFailure?: { readonly reason: string; readonly message: string; readonly time: string };
  readonly cloudCalls: readonly { readonly action: string; readonly calls: number; readonly errors: number; readonly throttled: number }[];
  readonly observedAt: string;
}

/** A Warning about a pod whose ADD was refused, already aggregated by the caller. */
export interface PodWarning {
  readonly namespace: string;
  readonly name: string;
  readonly uid?: string;
  readonly reason: string;
  readonly message: string;
  /** Refusals this event stands for since it was first written. */
  readonly count: number;
  readonly firstTime: Date;
  readonly lastTime: Date;
}

export interface ClusterPort {
  /** The Node's name this port watches and writes. */
  readonly nodeName: string;
  /**
   * Starts watching the Node and the pods on it (list, then watch, relisting after a break).
   * Returns at once: the API may be away; events follow when it answers. Idempotent.
   */
  start(events: ClusterEvents): void;
  /** Stops the watches; pending writes are abandoned. */
  close(): Promise<void>;
  /** True while both watches have listed since their last break: node() and pods() are current. */
  synced(): boolean;
  node(): ClusterNode | undefined;
  pods(): readonly ClusterPod[];
  /** Sets the Node condition and adds, changes or removes the taint. Throws when the API refuses or is away. */
  writeAvailability(availability: NodeAvailability): Promise<void>;
  /** Creates the NativeipNode (owned by the Node) when missing, and replaces its status. Throws as above. */
  writeNodeStatus(status: NativeipNodeStatus): Promise<void>;
  /**
   * Writes a Warning Event on a pod: a new one the first time, the same one with its count raised
   * after (returns the key to raise it by). Throws as above.
   */
  writePodWarning(warning: PodWarning, existing: string | undefined): Promise<string>;
}
