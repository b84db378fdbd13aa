/**
 * What the fault plan's kinds look like from EC2. Why NotFound after create: the EC2 API is
 * eventually consistent, and right after CreateNetworkInterface other calls naming the new ENI
 * may answer `InvalidNetworkInterfaceID.NotFound` and filtered describes may leave it out
 * (https://docs.aws.amazon.com/ec2/latest/devguide/eventual-consistency.html); the AWS VPC CNI
 * retries its attach for this reason.
 */
import type { EniRecord } from './ec2-model.js';
import { Ec2ApiError } from './errors.js';
import type { Ec2State } from './ec2-state.js';
import type { FaultEffect, FaultKind, FaultPlan, FaultRule } from '../faults/fault-plan.js';
import type { QueryParams } from './query-params.js';

/** The kinds the EC2 emulator knows (the ARM-only ones are refused when a plan is parsed). */
export const EC2_FAULT_KINDS: readonly FaultKind[] = ['replyLost', 'serverError', 'timeout', 'latency', 'notFoundAfterCreate', 'throttle'];

/** ENI ids a request names: `NetworkInterfaceId`, `NetworkInterfaceId.N`, and `ResourceId.N` of the tag actions. */
export function eniIdsNamed(params: QueryParams): string[] {
  const single = params.string('NetworkInterfaceId');
  const ids = [...(single === undefined ? [] : [single]), ...params.list('NetworkInterfaceId'), ...params.list('ResourceId')];
  return ids.filter((id) => id.startsWith('eni-'));
}

/** ENIs created less than `windowMs` ago, by id. */
export function youngEnis(enis: readonly EniRecord[], now: number, windowMs: number): Set<string> {
  return new Set(enis.filter((e) => now - e.createdAt < windowMs).map((e) => e.id));
}

/** A request's fault; for NotFound-after-create, the young ENIs the request names and those a describe leaves out. */
export interface Ec2FaultDecision {
  readonly rule: FaultRule | undefined;
  readonly youngNamed: readonly string[];
  readonly hidden: ReadonlySet<string> | undefined;
}

/**
 * Asks the plan for the fault of a request to `action` naming the ENIs `named`, as the HTTP server
 * and the in-process backend both do. A NotFound-after-create rule matches only requests that name
 * an ENI inside its window, or a describe without ids while such an ENI exists.
 */
export function decideEc2Fault(plan: FaultPlan, state: Ec2State, clock: () => number, action: string, named: readonly string[]): Ec2FaultDecision {
  let youngNamed: string[] = [];
  let hidden: Set<string> | undefined;
  const rule = plan.decide(action, (effect) => {
    if (effect.kind !== 'notFoundAfterCreate') return true;
    const young = youngEnis(state.networkInterfaces(), clock(), effect.windowMs);
    youngNamed = named.filter((id) => young.has(id));
    hidden = young;
    return youngNamed.length > 0 || (action === 'DescribeNetworkInterfaces' && named.length === 0 && young.size > 0);
  });
  return rule?.kind === 'notFoundAfterCreate' ? { rule, youngNamed, hidden } : { rule, youngNamed: [], hidden: undefined };
}

/** What a fired serverError/throttle/notFoundAfterCreate answers; undefined for the kinds that change delivery only. */
export function ec2FaultError(effect: FaultEffect, youngNamed: readonly string[]): Ec2ApiError | undefined {
  switch (effect.kind) {
    case 'serverError':
      // Why these two: EC2's documented server errors (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/errors-overview.html).
      return effect.status === 503
        ? new Ec2ApiError('Unavailable', "The server is overloaded and can't handle the request.", 503)
        : new Ec2ApiError('InternalError', 'An internal error has occurred.', 500);
    case 'throttle':
      return new Ec2ApiError('RequestLimitExceeded', 'Request limit exceeded.', 503);
    case 'notFoundAfterCreate':
      return youngNamed.length === 0
        ? undefined
        : new Ec2ApiError('InvalidNetworkInterfaceID.NotFound', `The networkInterface ID '${youngNamed[0]}' does not exist`);
    default:
      return undefined;
  }
}
