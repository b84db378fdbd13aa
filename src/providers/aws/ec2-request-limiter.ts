/**
 * Client-side mirror of EC2's request token buckets, so one node never by itself exceeds its
 * account's budget: a request waits here for a token instead of being sent to be throttled.
 * EC2 throttles per account and region, with one bucket per class of action
 * (https://docs.aws.amazon.com/ec2/latest/devguide/ec2-api-throttling.html). Every node has its
 * own limiter, so a fleet can still drain the account's buckets together; what reaches EC2 from
 * one node is at most what EC2 would admit from it alone.
 */
import { sleepUnref as defaultSleep } from '../../core/sleep.js';
import { TokenBucket, type TokenBucketSpec } from '../../core/token-bucket.js';
import { EC2_ACTION_CLASSES, EC2_REQUEST_BUCKETS, type Ec2RequestClass } from './ec2-request-classes.js';

export { EC2_REQUEST_BUCKETS, type Ec2RequestClass } from './ec2-request-classes.js';

/** Request members that make a Describe* call "filtered or paginated" in EC2's terms. */
const NARROWING_MEMBERS = ['Filters', 'MaxResults', 'NextToken', 'NetworkInterfaceIds', 'InstanceIds', 'SubnetIds', 'InstanceTypes'];

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

function present(value: unknown): boolean {
  if (value === undefined || value === null || value === '') return false;
  return !Array.isArray(value) || value.length > 0;
}

/**
 * The bucket an EC2 request draws from. `input` is the SDK command's input: a Describe* call
 * with no filter, id list or paging is "unfiltered and unpaginated" and draws from the smaller
 * bucket. Any other action not named by EC2 counts as a plain non-mutating call.
 */
export function requestClassOf(action: string, input: unknown): Ec2RequestClass {
  const named = EC2_ACTION_CLASSES[action];
  if (named !== undefined) return named;
  if (!action.startsWith('Describe')) return 'describe';
  const narrowed = isRecord(input) && NARROWING_MEMBERS.some((member) => present(input[member]));
  return narrowed ? 'describe' : 'unfilteredDescribe';
}

export interface Ec2RequestLimiterOptions {
  /** Milliseconds; default Date.now. */
  readonly clock?: () => number;
  /** Waits on the same clock; default setTimeout. */
  readonly sleep?: (ms: number) => Promise<void>;
  /** Bucket figures per class; default {@link EC2_REQUEST_BUCKETS}. */
  readonly buckets?: Readonly<Record<Ec2RequestClass, TokenBucketSpec>>;
  /**
   * Share of each bucket (burst and refill rate) this node uses; default {@link DEFAULT_BUDGET_SHARE}.
   * Below 1 so that latency jitter cannot throttle: EC2 takes a token when a request arrives, not
   * when it leaves here, and a burst sent at once arrives spread out while EC2's bucket, full,
   * refills nothing; the tokens left over absorb that.
   */
  readonly budgetShare?: number;
}

export const DEFAULT_BUDGET_SHARE = 0.9;

/**
 * The classes a release draws from (UnassignPrivateIpAddresses; DetachNetworkInterface and
 * DeleteNetworkInterface): only their throttling says the buckets a release would spend are short.
 */
const RELEASE_CLASSES: ReadonlySet<Ec2RequestClass> = new Set<Ec2RequestClass>(['eniMutation', 'attachDetach']);


export class Ec2RequestLimiter {
  readonly #sleep: (ms: number) => Promise<void>;
  readonly #buckets: ReadonlyMap<Ec2RequestClass, TokenBucket>;
  /** Per class: the last waiter, so waiters are served in arrival order. */
  readonly #tails = new Map<Ec2RequestClass, Promise<void>>();
  readonly #queued = new Map<Ec2RequestClass, number>();
  readonly #clock: () => number;
  #throttledAtMs: number | undefined;

  constructor(options: Ec2RequestLimiterOptions = {}) {
    const clock = options.clock ?? Date.now;
    this.#clock = clock;
    this.#sleep = options.sleep ?? defaultSleep;
    const specs = options.buckets ?? EC2_REQUEST_BUCKETS;
    const share = options.budgetShare ?? DEFAULT_BUDGET_SHARE;
    if (!(share > 0 && share <= 1)) throw new RangeError(`budgetShare must be in (0, 1], got ${share}`);
    this.#buckets = new Map(
      Object.entries(specs).map(([name, spec]) => [
        name as Ec2RequestClass,
        new TokenBucket(Math.max(1, Math.floor(spec.capacity * share)), spec.refillPerSecond * share, clock),
      ]),
    );
  }

  /**
   * Resolves when a request of `requestClass` may be sent, having taken its token; requests of
   * one class are admitted in the order they asked. Never rejects.
   */
  acquire(requestClass: Ec2RequestClass): Promise<void> {
    const bucket = this.#bucket(requestClass);
    if ((this.#queued.get(requestClass) ?? 0) === 0 && bucket.take()) return Promise.resolve();
    this.#queued.set(requestClass, (this.#queued.get(requestClass) ?? 0) + 1);
    const previous = this.#tails.get(requestClass) ?? Promise.resolve();
    const mine = previous.then(async () => {
      while (!bucket.take()) await this.#sleep(bucket.msUntilToken());
      this.#queued.set(requestClass, (this.#queued.get(requestClass) ?? 1) - 1);
    });
    this.#tails.set(requestClass, mine);
    return mine;
  }

  /** Requests of `requestClass` waiting for a token now. */
  waiting(requestClass: Ec2RequestClass): number {
    return this.#queued.get(requestClass) ?? 0;
  }

  /** Tokens left in the class's bucket now (fractional). */
  tokens(requestClass: Ec2RequestClass): number {
    return this.#bucket(requestClass).tokens;
  }

  /**
   * EC2 answered RequestLimitExceeded for this class: the account's bucket is empty (other nodes
   * drained it), so this node's mirror empties too and its next requests wait for the refill.
   */
  throttled(requestClass: Ec2RequestClass): void {
    this.#bucket(requestClass).drain();
    if (RELEASE_CLASSES.has(requestClass)) this.#throttledAtMs = this.#clock();
  }

  /**
   * When EC2 last answered RequestLimitExceeded to one of this node's requests of a class a
   * release draws from (ENI mutations, attach/detach); undefined: never. A throttled describe does
   * not count: describe pressure from other tools can last for ever and says nothing about these buckets.
   */
  get lastThrottledAtMs(): number | undefined {
    return this.#throttledAtMs;
  }

  #bucket(requestClass: Ec2RequestClass): TokenBucket {
    const bucket = this.#buckets.get(requestClass);
    if (bucket === undefined) throw new Error(`no request bucket for class ${requestClass}`);
    return bucket;
  }
}
