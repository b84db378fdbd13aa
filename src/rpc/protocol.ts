/**
 * The plugin ⇄ daemon protocol: length-prefixed JSON frames over a Unix socket.
 *
 * Frame: 4-byte big-endian unsigned length, then that many bytes of UTF-8 JSON.
 * Request:  `{ v, id, method, params }`
 * Response: `{ v, id, result }` or `{ v, id, error }`
 *
 * Imported by the CNI plugin, so: Node built-ins only, no dependencies.
 */

export const PROTOCOL_VERSION = 1;
/** Largest frame either side accepts; a larger length prefix is a protocol error. */
export const MAX_FRAME_BYTES = 1024 * 1024;
export const DEFAULT_SOCKET_PATH = '/run/nativeip/ipamd.sock';

export type RpcMethod = 'add' | 'del' | 'check' | 'gc' | 'status' | 'exec';

/** The CNI allocation key: (network name, container id, interface name). */
export interface AllocationKey {
  readonly networkName: string;
  readonly containerId: string;
  readonly ifName: string;
}

export interface PodRef {
  /** From CNI_ARGS K8S_POD_NAMESPACE / K8S_POD_NAME, when the runtime passes them. */
  readonly podNamespace?: string;
  readonly podName?: string;
}

export interface AddParams extends AllocationKey, PodRef {
  /** Path of the pod's network namespace (CNI_NETNS). */
  readonly netns: string;
  /** MTU from the network config, overriding the daemon's default. */
  readonly mtu?: number;
}

export interface DelParams extends AllocationKey, PodRef {
  /** May be empty: the runtime can call DEL after the namespace is gone. */
  readonly netns?: string;
}

export interface CheckParams extends AddParams {
  /**
   * The addresses the runtime's `prevResult` gives the pod interface; the daemon reports a
   * problem when its allocation is not among them. Absent: not compared.
   */
  readonly prevAddresses?: readonly string[];
}

export interface GcParams {
  readonly networkName: string;
  /** Attachments still in use; every other allocation of this network is released. */
  readonly validAttachments: readonly { readonly containerId: string; readonly ifName: string }[];
}

export type StatusParams = Record<string, never>;

/** What ADD set up; the plugin turns it into a CNI result. */
export interface AddResult {
  /** The pod's address with prefix, e.g. `10.0.1.23/32`. */
  readonly address: string;
  /** Gateway the pod routes through (link-local). */
  readonly gateway: string;
  readonly mtu: number;
  /** Cloud interface (ENI / NIC) the address belongs to. */
  readonly interfaceId: string;
  readonly hostInterface: { readonly name: string; readonly mac: string };
  readonly podInterface: { readonly name: string; readonly mac: string; readonly sandbox: string };
}

export type DelResult = Record<string, never>;

export interface CheckResult {
  /** True when the kernel matches what ADD set up; otherwise `problems` says what drifted. */
  readonly ok: boolean;
  readonly problems: readonly string[];
}

export interface GcResult {
  readonly released: number;
  /** Host objects no allocation owned (veths, routes, rules) that GC removed, described. */
  readonly removed?: readonly string[];
}

/** The warm-pool policy in force and, for the adaptive default, the band it keeps right now. */
export interface WarmPoolStatus {
  /**
   * `adaptive`: nativeip's default (no knob set); `eni`: WARM_ENI_TARGET; `ip`: WARM_IP_TARGET /
   * MINIMUM_IP_TARGET; `prefix`: prefix delegation.
   */
  readonly policy: 'adaptive' | 'eni' | 'ip' | 'prefix';
  /** Adaptive: grows below this many free addresses. */
  readonly low?: number;
  /** Adaptive: grows up to this many free addresses. */
  readonly high?: number;
  /** Adaptive: pods are arriving in a burst now. */
  readonly burst?: boolean;
  /** Adaptive: pod arrivals per minute at the busiest recent rate. */
  readonly arrivalsPerMinute?: number;
  /** Adaptive: free addresses a new node holds for its first minutes (the band is raised to it), while in force. */
  readonly startupFloor?: number;
  /** The AWS VPC CNI knobs in force (eni, ip, prefix), by variable name. */
  readonly knobs?: Readonly<Record<string, number>>;
}

export interface StatusResult {
  /**
   * `ready`: can serve; `growing`: empty but can grow; `blocked`: empty and cannot grow now
   * (a limit, a full subnet, or the cloud throttling); `reason` says which.
   */
  readonly state: 'ready' | 'growing' | 'blocked';
  readonly reason?: string;
  /** The grow under way: what it is doing and for how long it has been at it (a stalled grow says where). */
  readonly grow?: { readonly doing: string; readonly forMs: number };
  readonly cloud: string;
  readonly instanceId: string;
  readonly instanceType: string;
  /** Pods the node can run (EKS max-pods calculator, this node's mode); the pool never holds more addresses. */
  readonly maxPods?: number;
  /** Absent from daemons older than this field. */
  readonly warmPool?: WarmPoolStatus;
  readonly pool: {
    readonly total: number;
    readonly assigned: number;
    readonly available: number;
    readonly coolingDown: number;
  };
  readonly interfaces: readonly {
    readonly id: string;
    readonly deviceIndex: number;
    readonly subnetId: string;
    readonly addresses: number;
    readonly assigned: number;
  }[];
  readonly pods: readonly {
    readonly networkName: string;
    readonly containerId: string;
    readonly ifName: string;
    readonly podNamespace?: string;
    readonly podName?: string;
    readonly address: string;
    readonly interfaceId: string;
  }[];
  /**
   * Addresses held for live pods no allocation records (a lost or damaged checkpoint): found in
   * the kernel (`hostVeth`) or the Kubernetes API (`pod`); never handed out. Absent when none.
   */
  readonly held?: readonly {
    readonly address: string;
    readonly hostVeth?: string;
    readonly podNamespace?: string;
    readonly podName?: string;
    readonly source: 'kernel' | 'api';
  }[];
  /** Why the node does not release addresses or delete interfaces yet (records still being read). Absent once settled. */
  readonly unsettled?: string;
}

/**
 * One whole CNI invocation, forwarded by the native plugin shim (src/cni/shim): the runtime's
 * CNI_* variables and its stdin; the daemon runs the plugin logic (src/cni/plugin) in-process.
 */
export interface ExecParams {
  readonly env: Readonly<Record<string, string>>;
  /** stdin, base64 (the runtime's bytes, whatever they are). */
  readonly stdinBase64: string;
}

/** What the plugin prints and its exit status. stdout is base64 so the shim needs no JSON parser. */
export interface ExecResult {
  readonly stdoutBase64: string;
  readonly exitCode: number;
}

export interface MethodMap {
  add: { params: AddParams; result: AddResult };
  del: { params: DelParams; result: DelResult };
  check: { params: CheckParams; result: CheckResult };
  gc: { params: GcParams; result: GcResult };
  status: { params: StatusParams; result: StatusResult };
  exec: { params: ExecParams; result: ExecResult };
}

export interface RpcRequest<M extends RpcMethod = RpcMethod> {
  readonly v: number;
  readonly id: number;
  readonly method: M;
  readonly params: MethodMap[M]['params'];
}

/**
 * Stable error codes. Each maps to a CNI error code: the spec's own below 100, ours from 100 on
 * (documented in the README).
 */
export const RPC_ERROR_CODES = {
  /** Protocol version mismatch. CNI 1: incompatible version. */
  VersionMismatch: 1,
  /** The request is malformed or a field is invalid. CNI 7: invalid network config. */
  InvalidRequest: 7,
  /** The pool has no free address but is growing. CNI 11: try again later. */
  PoolEmptyGrowing: 11,
  /** The daemon is starting and has not restored its state yet. CNI 11. */
  NotReady: 11,
  /** The pool is empty and cannot grow (limit, subnet full, throttled). CNI 100. */
  PoolExhausted: 100,
  /** Programming the pod's or host's network failed. CNI 101. */
  DatapathFailed: 101,
  /** A cloud call failed in a way that is not the pool's fault. CNI 102. */
  CloudFailed: 102,
  /**
   * The daemon refused or closed the connection at one of its socket limits (connections open,
   * bytes of partly received frames, a frame not completed in time, a connection idle too long);
   * the message names the limit. Sent with id 0. CNI 11: try again later.
   */
  ConnectionLimit: 11,
  /** The frame could not be decoded. CNI 6: failed to decode content. */
  BadFrame: 6,
  /** Unexpected failure inside the daemon. CNI 999 is reserved; we use 103. */
  Internal: 103,
} as const;

export type RpcErrorCode = keyof typeof RPC_ERROR_CODES;

export interface RpcErrorBody {
  readonly code: RpcErrorCode;
  readonly cniCode: number;
  readonly message: string;
  readonly retryable: boolean;
}

export type RpcResponse<R = unknown> =
  | { readonly v: number; readonly id: number; readonly result: R }
  | { readonly v: number; readonly id: number; readonly error: RpcErrorBody };
