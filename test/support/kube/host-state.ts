/**
 * What a kubelet and its pods change on the host, recorded before and put back after:
 * sysctls, iptables KUBE-* chains and rules, mounts under a directory, a cgroup subtree, leftover
 * processes and libcni's cached results.
 */
import { readFileSync, readdirSync, rmdirSync, rmSync, statSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCommand, sleep } from './process.js';

/**
 * The sysctls kubelet sets at start-up (setupKernelTunables: vm.overcommit_memory=1,
 * vm.panic_on_oom=0, kernel.panic=10, kernel.panic_on_oops=1, kernel.keys.root_max*) and the
 * one the ptp CNI plugin sets (IPv4 forwarding).
 */
export const KUBELET_SYSCTLS: readonly string[] = [
  'vm.overcommit_memory',
  'vm.panic_on_oom',
  'kernel.panic',
  'kernel.panic_on_oops',
  'kernel.keys.root_maxkeys',
  'kernel.keys.root_maxbytes',
  'net.ipv4.ip_forward',
  'net.ipv6.conf.all.forwarding',
];

function sysctlPath(name: string): string {
  return join('/proc/sys', ...name.split('.'));
}

/** Current values of the given sysctls (those this kernel has). */
export function readSysctls(names: readonly string[] = KUBELET_SYSCTLS): Map<string, string> {
  const values = new Map<string, string>();
  for (const name of names) {
    try {
      values.set(name, readFileSync(sysctlPath(name), 'utf8').trim());
    } catch {
      // not on this kernel
    }
  }
  return values;
}

/** Writes back every sysctl of `saved` whose value changed; returns the names restored. */
export function restoreSysctls(saved: ReadonlyMap<string, string>): string[] {
  const restored: string[] = [];
  for (const [name, value] of saved) {
    if (readFileSync(sysctlPath(name), 'utf8').trim() === value) continue;
    writeFileSync(sysctlPath(name), value);
    restored.push(name);
  }
  return restored;
}

const IPTABLES_TABLES = ['filter', 'nat', 'mangle'] as const;
const IPTABLES_COMMANDS = ['iptables', 'ip6tables'] as const;

/** Splits one `iptables -S` line into arguments (double-quoted words keep their spaces). */
function splitRule(line: string): string[] {
  const words: string[] = [];
  const pattern = /"((?:[^"\\]|\\.)*)"|(\S+)/g;
  for (let match = pattern.exec(line); match !== null; match = pattern.exec(line)) {
    words.push(match[1] !== undefined ? match[1].replace(/\\(.)/g, '$1') : (match[2] ?? ''));
  }
  return words;
}

/**
 * Every iptables/ip6tables chain and rule naming a KUBE-* chain, as `<command> <table> <-S line>`
 * (sorted), in the filter, nat and mangle tables. A missing command or table counts as empty.
 */
export async function kubeIptablesState(): Promise<string[]> {
  const lines: string[] = [];
  for (const command of IPTABLES_COMMANDS) {
    for (const table of IPTABLES_TABLES) {
      let out = '';
      try {
        out = await runCommand(command, ['-w', '5', '-t', table, '-S']);
      } catch {
        continue;
      }
      for (const line of out.split('\n')) if (line.includes('KUBE-')) lines.push(`${command} ${table} ${line}`);
    }
  }
  return lines.sort();
}

/**
 * Removes the KUBE-* rules and chains that are not in `before` (what {@link kubeIptablesState}
 * returned before the kubelet started): rules first, then the chains (flushed, deleted).
 * Returns what it removed.
 */
export async function restoreKubeIptables(before: readonly string[]): Promise<string[]> {
  const keep = new Set(before);
  const added = (await kubeIptablesState()).filter((line) => !keep.has(line));
  const removed: string[] = [];
  for (const entry of added) {
    const [command = '', table = '', ...rest] = entry.split(' ');
    const rule = rest.join(' ');
    if (!rule.startsWith('-A ')) continue;
    await runCommand(command, ['-w', '5', '-t', table, '-D', ...splitRule(rule).slice(1)]);
    removed.push(entry);
  }
  for (const entry of added) {
    const [command = '', table = '', flag, chain = ''] = entry.split(' ');
    if (flag !== '-N') continue;
    await runCommand(command, ['-w', '5', '-t', table, '-F', chain]);
    await runCommand(command, ['-w', '5', '-t', table, '-X', chain]);
    removed.push(entry);
  }
  return removed;
}

/** The nftables tables (`ip filter`, `ip6 nat`, ...); [] without the nft command. */
export async function nftTables(): Promise<string[]> {
  try {
    const out = await runCommand('nft', ['list', 'tables']);
    return out.split('\n').filter((line) => line.startsWith('table ')).map((line) => line.slice('table '.length).trim()).sort();
  } catch {
    return [];
  }
}

/**
 * Deletes the iptables-nft tables (ip/ip6 filter, nat, mangle) that are not in `before` (what
 * {@link nftTables} returned before the kubelet started) and hold nothing but ACCEPT policies:
 * kubelet's chains create them, and removing its chains leaves them empty. Returns what it deleted.
 */
export async function removeNewEmptyIptablesTables(before: readonly string[]): Promise<string[]> {
  const keep = new Set(before);
  const deleted: string[] = [];
  for (const table of await nftTables()) {
    if (keep.has(table)) continue;
    const [family, name = ''] = table.split(' ');
    const command = family === 'ip' ? 'iptables' : family === 'ip6' ? 'ip6tables' : undefined;
    if (command === undefined || !(IPTABLES_TABLES as readonly string[]).includes(name)) continue;
    const rules = (await runCommand(command, ['-w', '5', '-t', name, '-S'])).split('\n').filter((line) => line !== '');
    if (!rules.every((line) => line.startsWith('-P ') && line.endsWith(' ACCEPT'))) continue;
    await runCommand('nft', ['delete', 'table', family ?? '', name]);
    deleted.push(table);
  }
  return deleted;
}

/**
 * `iptables-save` and `ip6tables-save` without comments and packet counters: equal before and
 * after means the rule set is as it was.
 */
export async function iptablesDump(): Promise<string> {
  const parts: string[] = [];
  for (const command of ['iptables-save', 'ip6tables-save']) {
    const out = await runCommand(command, []).catch(() => '');
    parts.push(`# ${command}`, ...out.split('\n').filter((line) => !line.startsWith('#') && line !== '').map((line) => line.replace(/ \[\d+:\d+\]$/, '')));
  }
  return parts.join('\n');
}

/** Decodes the octal escapes (`\040`) of /proc/self/mountinfo paths. */
function unescapeMountPath(path: string): string {
  return path.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
}

/** Mount points at or under `dir`, in mount order. */
export function mountsUnder(dir: string): string[] {
  const prefix = dir.endsWith('/') ? dir : `${dir}/`;
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((line) => unescapeMountPath(line.split(' ')[4] ?? ''))
    .filter((point) => point === dir || point.startsWith(prefix));
}

/**
 * Unmounts everything at or under `dir`, most recent first (lazily when a plain umount is
 * refused). Returns the mount points unmounted; throws if some remain after 5 passes.
 */
export async function unmountUnder(dir: string): Promise<string[]> {
  const done: string[] = [];
  for (let pass = 0; pass < 5; pass += 1) {
    const points = mountsUnder(dir).reverse();
    if (points.length === 0) return done;
    for (const point of points) {
      try {
        await runCommand('umount', [point]);
      } catch {
        await runCommand('umount', ['-l', point]).catch(() => undefined);
      }
      done.push(point);
    }
  }
  const left = mountsUnder(dir);
  if (left.length > 0) throw new Error(`mounts left under ${dir}: ${left.join(', ')}`);
  return done;
}

/** Mount points of the cgroup v1 hierarchies and the cgroup2 one (hybrid hosts have both). */
function cgroupMounts(): { readonly v1: string[]; readonly v2: string[] } {
  const v1: string[] = [];
  const v2: string[] = [];
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const [before, after] = line.split(' - ');
    const point = unescapeMountPath(before?.split(' ')[4] ?? '');
    const fsType = after?.split(' ')[0];
    if (fsType === 'cgroup') v1.push(point);
    if (fsType === 'cgroup2') v2.push(point);
  }
  return { v1, v2 };
}

/**
 * Creates the cgroup `/<name>` in every cgroup v1 hierarchy (kubelet's cgroupRoot must exist in
 * each), with the root's cpuset, so that everything the kubelet and runc create stays under it.
 * On a cgroup v2-only host, creates it in the unified hierarchy. Returns the directories made.
 */
export function createCgroupRoot(name: string): string[] {
  const { v1, v2 } = cgroupMounts();
  const made: string[] = [];
  for (const mount of v1.length > 0 ? v1 : v2) {
    const dir = join(mount, name);
    if (existsSync(dir)) continue;
    mkdirSync(dir);
    made.push(dir);
    for (const file of ['cpuset.cpus', 'cpuset.mems']) {
      if (existsSync(join(dir, file))) writeFileSync(join(dir, file), readFileSync(join(mount, file), 'utf8').trim());
    }
  }
  return made;
}

function collectProcs(dir: string, pids: Set<number>): void {
  for (const line of readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n')) if (line !== '') pids.add(Number(line));
  for (const entry of readdirSync(dir)) {
    const child = join(dir, entry);
    if (statSync(child).isDirectory()) collectProcs(child, pids);
  }
}

/** The processes in `/<name>` or below it, in any hierarchy. */
export function cgroupProcs(name: string): number[] {
  const { v1, v2 } = cgroupMounts();
  const pids = new Set<number>();
  for (const mount of [...v1, ...v2]) {
    const dir = join(mount, name);
    if (existsSync(dir)) collectProcs(dir, pids);
  }
  return [...pids];
}

function removeCgroupTree(dir: string): void {
  for (const entry of readdirSync(dir)) {
    const child = join(dir, entry);
    if (statSync(child).isDirectory()) removeCgroupTree(child);
  }
  rmdirSync(dir);
}

/**
 * Removes `/<name>` and every cgroup below it in every hierarchy (children first). Fails while a
 * process is still in one of them. Returns the top directories removed.
 */
export function removeCgroupRoot(name: string): string[] {
  const { v1, v2 } = cgroupMounts();
  const removed: string[] = [];
  for (const mount of [...v1, ...v2]) {
    const dir = join(mount, name);
    if (!existsSync(dir)) continue;
    removeCgroupTree(dir);
    removed.push(dir);
  }
  return removed;
}

/**
 * libcni's cache of ADD results (`/var/lib/cni/results/<network>-<containerId>-<ifName>`), which a
 * DEL removes: the entries of sandboxes killed without one.
 */
export function removeCniResults(containerIds: readonly string[]): string[] {
  const dir = '/var/lib/cni/results';
  if (containerIds.length === 0 || !existsSync(dir)) return [];
  const removed: string[] = [];
  for (const entry of readdirSync(dir)) {
    if (!containerIds.some((id) => entry.includes(`-${id}-`))) continue;
    rmSync(join(dir, entry), { force: true });
    removed.push(join(dir, entry));
  }
  return removed;
}

/**
 * SIGKILLs the processes whose command line contains `text` (e.g. a node's unique temporary
 * directory: its containerd shims) and waits for them to go. Returns their pids.
 */
export async function killProcessesMentioning(text: string): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    let cmdline = '';
    try {
      cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
    } catch {
      continue;
    }
    if (!cmdline.includes(text)) continue;
    try {
      process.kill(Number(entry), 'SIGKILL');
      pids.push(Number(entry));
    } catch {
      // already gone
    }
  }
  for (let i = 0; i < 40 && pids.some((pid) => existsSync(`/proc/${pid}/cmdline`) && readFileSync(`/proc/${pid}/cmdline`, 'utf8') !== ''); i += 1) await sleep(100);
  return pids;
}
