/**
 * NodePort traffic to a pod on a secondary interface comes in on the primary interface and its
 * reply leaves by the secondary one; a strict reverse-path filter (rp_filter=1) on the primary
 * drops such packets. The DaemonSet's init step loosens it to 2 on the interface of the default
 * route, as the AWS VPC CNI's init container does; 0 (off) and 2 are left as they are.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export type RpFilterOutcome =
  | { readonly kind: 'loosened'; readonly iface: string }
  | { readonly kind: 'unchanged'; readonly iface: string; readonly value: string }
  | { readonly kind: 'no-default-route' };

/** The interface of the IPv4 default route in a /proc/net/route text, if any. Pure. */
export function defaultRouteInterface(routeTable: string): string | undefined {
  for (const line of routeTable.split('\n').slice(1)) {
    const [iface, destination, , , , , , mask] = line.trim().split(/\s+/);
    if (iface !== undefined && destination === '00000000' && mask === '00000000') return iface;
  }
  return undefined;
}

/** Sets rp_filter to 2 on the default route's interface when it is 1; `procRoot` is /proc (a test passes another). */
export async function loosenRpFilter(procRoot = '/proc'): Promise<RpFilterOutcome> {
  const iface = defaultRouteInterface(await readFile(join(procRoot, 'net/route'), 'utf8'));
  if (iface === undefined) return { kind: 'no-default-route' };
  const path = join(procRoot, 'sys/net/ipv4/conf', iface, 'rp_filter');
  const value = (await readFile(path, 'utf8')).trim();
  if (value !== '1') return { kind: 'unchanged', iface, value };
  await writeFile(path, '2\n');
  return { kind: 'loosened', iface };
}

/** One line for the init container's log. Pure. */
export function renderRpFilterOutcome(outcome: RpFilterOutcome): string {
  switch (outcome.kind) {
    case 'loosened':
      return `install-cni: rp_filter on ${outcome.iface} (the default route's interface) set from 1 (strict) to 2 (loose), so NodePort replies from pods on secondary interfaces are not dropped`;
    case 'unchanged':
      return `install-cni: rp_filter on ${outcome.iface} is ${outcome.value}; left as it is`;
    case 'no-default-route':
      return 'install-cni: no IPv4 default route; rp_filter left as it is';
  }
}
