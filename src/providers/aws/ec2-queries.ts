/**
 * How two of the provider's EC2 reads are put to EC2, whatever carries them: the SDK gateway
 * (ec2-gateway.ts, the daemon) and the in-process adapter (in-process-ec2.ts, the simulators) both
 * call these, so the simulators run the daemon's code. Pure: the carrier's call is passed in.
 */
import { CloudError } from '../../core/types.js';

/** One DescribeNetworkInterfaces filter: EC2's filter name and the values any of which matches. */
export interface Ec2Filter {
  readonly name: string;
  readonly values: readonly string[];
}

/** The filters of detached (`available`) ENIs carrying every tag in `tags`; a value of `*` matches any value (`tag-key`). */
export function availableTaggedFilters(tags: ReadonlyMap<string, string>): Ec2Filter[] {
  return [
    { name: 'status', values: ['available'] },
    ...[...tags].map(([key, value]) => (value === '*' ? { name: 'tag-key', values: [key] } : { name: `tag:${key}`, values: [value] })),
  ];
}

/**
 * The state (`running`, `terminated`, …) of each instance EC2 still knows, by DescribeInstances;
 * instances it does not know are absent from the map. `describe` is one DescribeInstances of
 * `ids`, answering (instance id, state) pairs and throwing the provider's CloudErrors. Why one by
 * one after a NotFound: one unknown id (InvalidInstanceID.NotFound) fails the whole call, so each
 * id is then asked alone to learn which. Throws any failure but NotFound.
 */
export async function describeInstanceStates(
  instanceIds: readonly string[],
  describe: (ids: readonly string[]) => Promise<Iterable<readonly [string, string]>>,
): Promise<Map<string, string>> {
  const states = new Map<string, string>();
  if (instanceIds.length === 0) return states;
  const record = async (ids: readonly string[]): Promise<void> => {
    for (const [id, state] of await describe(ids)) states.set(id, state);
  };
  try {
    await record(instanceIds);
  } catch (error) {
    if (!isNotFound(error)) throw error;
    if (instanceIds.length === 1) return states;
    for (const id of instanceIds) {
      try {
        await record([id]);
      } catch (single) {
        if (!isNotFound(single)) throw single;
      }
    }
  }
  return states;
}

function isNotFound(error: unknown): boolean {
  return error instanceof CloudError && error.code === 'NotFound';
}
