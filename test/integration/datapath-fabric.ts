/** Helpers for the datapath integration tests: namespaces and `ip -j` queries. Root only. */
import { execFileSync } from 'node:child_process';

export const PREFIX = 'dpt-';

export function ip(...args: string[]): string {
  return execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Runs a command inside a namespace; returns its exit status (0 = success). */
export function nsRun(ns: string, ...cmd: string[]): number {
  try {
    execFileSync('ip', ['netns', 'exec', ns, ...cmd], { stdio: 'ignore', timeout: 10_000 });
    return 0;
  } catch (err) {
    const status = (err as { status?: unknown }).status;
    return typeof status === 'number' ? status : 1;
  }
}

export function ping(ns: string, address: string): number {
  return nsRun(ns, 'ping', '-c', '1', '-W', '2', '-q', address);
}

export function addNetns(name: string): string {
  if (!name.startsWith(PREFIX)) throw new Error(`test namespaces must start with ${PREFIX}`);
  ip('netns', 'add', name);
  ip('-n', name, 'link', 'set', 'lo', 'up');
  return `/run/netns/${name}`;
}

export function delNetns(name: string): void {
  try {
    ip('netns', 'del', name);
  } catch {
    // already gone
  }
}

/** Deletes every namespace this suite could have left behind. */
export function cleanupNamespaces(): void {
  const out = ip('netns', 'list');
  for (const line of out.split('\n')) {
    const name = line.split(' ')[0];
    if (name?.startsWith(PREFIX)) delNetns(name);
  }
}

function ipJson(ns: string, ...args: string[]): unknown[] {
  const out = ip('-j', '-n', ns, ...args).trim();
  if (out === '') return [];
  const parsed: unknown = JSON.parse(out);
  return Array.isArray(parsed) ? parsed : [];
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null;

export interface IpLink {
  name: string;
  mac: string;
  mtu: number;
  up: boolean;
  kind: string | undefined;
}

export function links(ns: string): IpLink[] {
  return ipJson(ns, '-d', 'link', 'show').filter(isObj).map((l) => {
    const flags = Array.isArray(l.flags) ? l.flags : [];
    const info = isObj(l.linkinfo) ? l.linkinfo : {};
    return {
      name: String(l.ifname),
      mac: String(l.address ?? ''),
      mtu: Number(l.mtu),
      up: flags.includes('UP'),
      kind: typeof info.info_kind === 'string' ? info.info_kind : undefined,
    };
  });
}

export function link(ns: string, name: string): IpLink | undefined {
  return links(ns).find((l) => l.name === name);
}

/** `10.0.1.5/32` strings of the IPv4 addresses on `dev`. */
export function addresses(ns: string, dev: string): string[] {
  const entries = ipJson(ns, '-4', 'addr', 'show', 'dev', dev).filter(isObj);
  return entries.flatMap((e) => (Array.isArray(e.addr_info) ? e.addr_info.filter(isObj).map((a) => `${String(a.local)}/${String(a.prefixlen)}`) : []));
}

/** Routes as `ip route` prints them, one line each, without trailing spaces. */
export function routes(ns: string, table = 'main'): string[] {
  return ip('-n', ns, '-4', 'route', 'show', 'table', table)
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '');
}

export function rules(ns: string): string[] {
  return ip('-n', ns, '-4', 'rule', 'show')
    .split('\n')
    .map((l) => l.trim().replace(/\s+/g, ' '))
    .filter((l) => l !== '');
}

export function neighbours(ns: string, dev: string): string[] {
  return ip('-n', ns, '-4', 'neigh', 'show', 'dev', dev)
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '');
}
