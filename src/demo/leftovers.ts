/**
 * What a pod can leave behind in a node's namespace after DEL: its host veth, and host routes or
 * rules naming its address. Used by the demo and the e2e tests. Runs `ip`; needs root.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

export interface LeftoverQuery {
  /** Pod addresses whose routes and rules count as leftovers. */
  readonly addresses: readonly string[];
  /** Whether a veth (by name) counts as a leftover. */
  readonly isPodVeth: (name: string) => boolean;
}

/**
 * The leftovers in the namespace at `netnsPath` (`/run/netns/<name>`), one line each:
 * `veth <name>`, `route <ip route line>` or `rule <ip rule line>`. Empty when clean.
 */
export async function nodeLeftovers(netnsPath: string, query: LeftoverQuery): Promise<string[]> {
  const ns = ['-n', netnsPath.replace('/run/netns/', '')];
  const [links, routes, rules] = await Promise.all([
    execFileAsync('ip', [...ns, '-o', 'link', 'show', 'type', 'veth']),
    execFileAsync('ip', [...ns, '-4', 'route', 'show', 'table', 'all']),
    execFileAsync('ip', [...ns, '-4', 'rule', 'show']),
  ]);
  const found: string[] = [];
  for (const line of links.stdout.split('\n')) {
    const name = /^\d+: ([^:@\s]+)[@:]/.exec(line)?.[1];
    if (name !== undefined && query.isPodVeth(name)) found.push(`veth ${name}`);
  }
  const patterns = query.addresses.map((a) => new RegExp(`(^|\\s)${a.replace(/\./g, '\\.')}(/32)?(\\s|$)`));
  const names = (line: string) => patterns.some((p) => p.test(line));
  found.push(...routes.stdout.split('\n').filter(names).map((l) => `route ${l.trim()}`));
  found.push(...rules.stdout.split('\n').filter(names).map((l) => `rule ${l.trim()}`));
  return found;
}
