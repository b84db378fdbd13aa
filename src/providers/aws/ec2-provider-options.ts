/** How an {@link Ec2Provider} is configured, and the defaults it falls back on. */
import type { CloudApiObserver } from '../../core/cloud-plugin.js';
import type { Ec2Api } from './ec2-api.js';
import type { AwsCredentials } from './ec2-gateway.js';
import type { Ec2RequestLimiter } from './ec2-request-limiter.js';
import type { ImdsApi } from './imds-api.js';

/** The subset of a pino logger the provider uses. */
export interface AwsProviderLogger {
  debug(obj: Record<string, unknown>, msg: string): void;
  info(obj: Record<string, unknown>, msg: string): void;
  warn(obj: Record<string, unknown>, msg: string): void;
  error(obj: Record<string, unknown>, msg: string): void;
}

/** How long deleteInterface waits for a detached ENI to become `available`. */
export interface DetachWaitOptions {
  /** Status checks before giving up. Default 10. */
  readonly attempts?: number;
  /** Delay before the first check, doubled after each. Default 500 ms. */
  readonly initialDelayMs?: number;
  /** Ceiling for the delay between checks. Default 4000 ms. */
  readonly maxDelayMs?: number;
}

export interface Ec2ProviderOptions {
  /** EC2 endpoint URL (from `AWS_ENDPOINT_URL_EC2`); the SDK's default when unset. */
  readonly ec2Endpoint?: string;
  /** IMDS base URL (from `AWS_EC2_METADATA_SERVICE_ENDPOINT`); `http://169.254.169.254` when unset. */
  readonly imdsEndpoint?: string;
  /** AWS region; read from IMDS `placement/region` when unset. */
  readonly region?: string;
  /** Written to the `cluster.k8s.amazonaws.com/name` tag of created ENIs. */
  readonly clusterName?: string;
  /** Static credentials (tests, emulator); the SDK's default chain when unset. */
  readonly credentials?: AwsCredentials;
  readonly logger?: AwsProviderLogger;
  /** Caps the interfaces the node may use (MAX_ENI), below the instance type's limit. */
  readonly maxEnis?: number;
  /** SDK attempts per EC2 call, first included. Small so throttling reaches the pool. Default 3. */
  readonly maxAttempts?: number;
  /**
   * Client-side mirror of EC2's request buckets (ec2-request-limiter.ts): every EC2 request waits
   * for a token of its class. Default: EC2's published figures on the real clock. `false`: none.
   */
  readonly requestLimiter?: Ec2RequestLimiter | false;
  /** Told of every EC2 request (each SDK attempt) as it ends (metrics). */
  readonly apiObserver?: CloudApiObserver;
  /**
   * Longest wait for the answer to one EC2 HTTP attempt. Default {@link DEFAULT_EC2_REQUEST_TIMEOUT_MS}.
   * A request never answered then fails as Transient (retried by the SDK, then by the pool's backoff).
   */
  readonly ec2RequestTimeoutMs?: number;
  /** Per-request IMDS timeout. Default 2000 ms. */
  readonly imdsTimeoutMs?: number;
  readonly detachWait?: DetachWaitOptions;
  /** collectLeakedInterfaces leaves ENIs younger than this alone. Default 5 minutes. */
  readonly leakGraceMs?: number;
  /** Injectable sleep and clock, for tests. */
  readonly sleep?: (ms: number) => Promise<void>;
  readonly now?: () => Date;
  /**
   * The EC2 backend to use instead of the SDK gateway the provider otherwise builds at discovery
   * (from the endpoint, credentials, attempts, timeout and limiter above, which are then unused):
   * the churn simulators' in-process emulator, a test double. The caller owns it: close() leaves it open.
   */
  readonly ec2Api?: Ec2Api;
  /** The instance metadata to read instead of IMDS over HTTP at {@link imdsEndpoint}. */
  readonly imdsApi?: ImdsApi;
}

/**
 * Why 10 s: every call the provider makes is one short EC2 request (describe, create, attach,
 * assign; none waits for work to finish), answered in well under a second at the median and
 * within a few seconds at p99. 10 s is several times that, so a slow but healthy answer is not
 * cut off (a cut-off mutation is a lost reply: it may have been applied), while a request EC2
 * never answers costs at most 10 s per attempt, ~30 s with the SDK's 3 attempts, before the pool
 * backs off, instead of hanging the grow for ever.
 */
export const DEFAULT_EC2_REQUEST_TIMEOUT_MS = 10_000;


/** The provider's clock: the injected one, else the real one. */
export function nowOf(options: Ec2ProviderOptions): Date {
  return (options.now ?? (() => new Date()))();
}
