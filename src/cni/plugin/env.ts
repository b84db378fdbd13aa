/** Reading the CNI_* environment variables the runtime sets for each call. */

import { containerIdProblem, ifNameProblem, netnsProblem, podRefProblem } from '../../rpc/validate.js';
import { CNI_ERROR, CniError } from './cni-error.js';
import { isCniCommand, type CniCommand } from './versions.js';

export type CniEnv = Readonly<Record<string, string | undefined>>;

/** What the runtime told us about the attachment, from CNI_* variables. */
export interface CommandEnv {
  readonly containerId: string;
  readonly ifName: string;
  /** Absent on DEL when the runtime no longer has the namespace. */
  readonly netns?: string;
  /** From CNI_ARGS `K8S_POD_NAMESPACE` / `K8S_POD_NAME`. */
  readonly podNamespace?: string;
  readonly podName?: string;
}

/** Reads CNI_COMMAND. Throws {@link CniError} code 4 when it is missing or unknown. */
export function parseCommand(env: CniEnv): CniCommand {
  const command = env['CNI_COMMAND'];
  if (command === undefined || command === '') throw invalidEnv(['CNI_COMMAND is required']);
  if (!isCniCommand(command)) throw invalidEnv([`unknown CNI_COMMAND ${JSON.stringify(command)}`]);
  return command;
}

/**
 * Parses CNI_ARGS (`KEY=VALUE;KEY=VALUE`). Unknown keys, including `IgnoreUnknown`, are kept in
 * the map and ignored by callers. Throws {@link CniError} code 4 for a pair without `=`.
 */
export function parseCniArgs(raw: string): ReadonlyMap<string, string> {
  const args = new Map<string, string>();
  for (const pair of raw.split(';')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    if (eq <= 0) throw invalidEnv([`CNI_ARGS: ${JSON.stringify(pair)} is not KEY=VALUE`]);
    args.set(pair.slice(0, eq), pair.slice(eq + 1));
  }
  return args;
}

/**
 * Reads and validates the variables ADD, DEL and CHECK need. Throws one {@link CniError} code 4
 * listing every problem.
 */
export function parseCommandEnv(command: 'ADD' | 'DEL' | 'CHECK', env: CniEnv): CommandEnv {
  const problems: string[] = [];
  const required = (name: string, check: (value: string) => string | undefined): string => {
    const value = env[name];
    if (value === undefined || value === '') {
      problems.push(`${name} is required for ${command}`);
      return '';
    }
    const problem = check(value);
    if (problem !== undefined) problems.push(`${name}: ${problem}`);
    return value;
  };

  const containerId = required('CNI_CONTAINERID', containerIdProblem);
  const ifName = required('CNI_IFNAME', ifNameProblem);
  let netns: string | undefined;
  if (command === 'DEL') {
    const value = env['CNI_NETNS'];
    if (value !== undefined && value !== '') {
      const problem = netnsProblem(value);
      if (problem !== undefined) problems.push(`CNI_NETNS: ${problem}`);
      netns = value;
    }
  } else {
    netns = required('CNI_NETNS', netnsProblem);
  }

  let args: ReadonlyMap<string, string> = new Map();
  try {
    args = parseCniArgs(env['CNI_ARGS'] ?? '');
  } catch (err) {
    if (!(err instanceof CniError)) throw err;
    problems.push(err.message.replace(/^invalid environment variables: /, ''));
  }
  const podRef = (key: string): string | undefined => {
    const value = args.get(key);
    if (value === undefined || value === '') return undefined;
    const problem = podRefProblem(value);
    if (problem !== undefined) problems.push(`CNI_ARGS ${key}: ${problem}`);
    return value;
  };
  const podNamespace = podRef('K8S_POD_NAMESPACE');
  const podName = podRef('K8S_POD_NAME');

  if (problems.length > 0) throw invalidEnv(problems);
  return {
    containerId,
    ifName,
    ...(netns === undefined ? {} : { netns }),
    ...(podNamespace === undefined ? {} : { podNamespace }),
    ...(podName === undefined ? {} : { podName }),
  };
}

function invalidEnv(problems: readonly string[]): CniError {
  return new CniError(CNI_ERROR.InvalidEnvironment, `invalid environment variables: ${problems.join('; ')}`);
}
