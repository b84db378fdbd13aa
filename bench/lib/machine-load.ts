/**
 * What else ran on the machine while a benchmark measured: the 1-minute load average, the
 * machine's busy CPU (from /proc/stat, so short-lived processes such as compilers count too) and
 * the busiest commands outside the benchmark's own process tree (from /proc/<pid>/stat deltas
 * between samples; a process that starts and ends between two samples is missed there, not in
 * the busy total). Linux only.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { basename } from 'node:path';

export interface MachineLoad {
  readonly seconds: number;
  readonly loadStart: number;
  readonly loadEnd: number;
  readonly loadMax: number;
  /** Busy CPU over the whole window, in cores (2.0 = both cores of this machine busy). */
  readonly busyCoresMean: number;
  /** Busiest sampling interval, in cores. */
  readonly busyCoresMax: number;
  /** The sampling interval. */
  readonly intervalSeconds: number;
  /** Commands outside this process tree, by CPU seconds used in the window, busiest first. */
  readonly others: readonly { readonly command: string; readonly cpuSeconds: number }[];
  /** CPU seconds of this process tree (the benchmark, its daemons, control plane). */
  readonly oursCpuSeconds: number;
  /**
   * CPU seconds of kernel threads (kworkers: network namespace teardown, IPv6 address setup,
   * writeback…), whoever caused them; a benchmark that makes and deletes pods causes much of it.
   */
  readonly kernelCpuSeconds: number;
}

interface ProcStat {
  readonly ppid: number;
  readonly ticks: number;
  readonly comm: string;
  /** Clock ticks after boot when it started: tells a reused pid apart (a kworker's comm changes with its work). */
  readonly started: number;
}

const TICKS_PER_SECOND = 100;

function loadAverage(): number {
  return Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]);
}

/** [busy, total] jiffies of all CPUs. */
function cpuJiffies(): [number, number] {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
  const fields = line.trim().split(/\s+/).slice(1).map(Number);
  const total = fields.reduce((a, b) => a + b, 0);
  const idle = (fields[3] ?? 0) + (fields[4] ?? 0);
  return [total - idle, total];
}

function readProcs(): Map<number, ProcStat> {
  const procs = new Map<number, ProcStat>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const open = stat.indexOf('(');
      const close = stat.lastIndexOf(')');
      const rest = stat.slice(close + 2).split(' ');
      procs.set(Number(entry), { comm: stat.slice(open + 1, close), ppid: Number(rest[1]), ticks: Number(rest[11]) + Number(rest[12]), started: Number(rest[19]) });
    } catch {
      // It ended between readdir and read.
    }
  }
  return procs;
}

/** Flags of node and python whose value is the next argument. */
const FLAGS_WITH_VALUE = new Set(['-r', '--require', '--import', '--loader', '--conditions', '-C', '-m']);

/** A readable name: the command, and for interpreters the script they run (`node vitest`, `node tsc`). */
function label(pid: number, comm: string): string {
  if (!/^(node|MainThread|python3?|bash|sh|bun)$/.test(comm)) return comm;
  const command = comm === 'MainThread' ? 'node' : comm;
  try {
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter((a) => a !== '');
    const script = argv.slice(1).find((a, i, rest) => !a.startsWith('-') && !FLAGS_WITH_VALUE.has(rest[i - 1] ?? ''));
    return script === undefined ? command : `${command} ${basename(script)}`;
  } catch {
    return command;
  }
}

export class MachineLoadSampler {
  readonly #intervalMs: number;
  #timer: NodeJS.Timeout | undefined;
  #t0 = 0;
  #loadStart = 0;
  #loadMax = 0;
  #jiffies: [number, number] = [0, 0];
  #jiffiesStart: [number, number] = [0, 0];
  #busyMax = 0;
  #sampledAt = 0;
  #procs = new Map<number, ProcStat>();
  #labels = new Map<number, string>();
  readonly #othersTicks = new Map<string, number>();
  #oursTicks = 0;
  #kernelTicks = 0;

  constructor(options: { readonly intervalMs?: number } = {}) {
    this.#intervalMs = options.intervalMs ?? 2_000;
  }

  start(): void {
    this.#t0 = Date.now();
    this.#loadStart = loadAverage();
    this.#loadMax = this.#loadStart;
    this.#jiffies = cpuJiffies();
    this.#jiffiesStart = this.#jiffies;
    this.#sampledAt = this.#t0;
    this.#procs = readProcs();
    this.#timer = setInterval(() => this.#sample(), this.#intervalMs);
    this.#timer.unref();
  }

  stop(): MachineLoad {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#sample();
    const seconds = (Date.now() - this.#t0) / 1000;
    const busyCoresMean = (this.#jiffies[0] - this.#jiffiesStart[0]) / TICKS_PER_SECOND / Math.max(seconds, 1e-3);
    const others = [...this.#othersTicks]
      .map(([command, ticks]) => ({ command, cpuSeconds: ticks / TICKS_PER_SECOND }))
      .sort((a, b) => b.cpuSeconds - a.cpuSeconds);
    return {
      seconds,
      loadStart: this.#loadStart,
      loadEnd: loadAverage(),
      loadMax: this.#loadMax,
      busyCoresMean,
      intervalSeconds: this.#intervalMs / 1000,
      busyCoresMax: this.#busyMax,
      others,
      oursCpuSeconds: this.#oursTicks / TICKS_PER_SECOND,
      kernelCpuSeconds: this.#kernelTicks / TICKS_PER_SECOND,
    };
  }

  #sample(): void {
    this.#loadMax = Math.max(this.#loadMax, loadAverage());
    const [busy, total] = cpuJiffies();
    const now = Date.now();
    const wall = (now - this.#sampledAt) / 1000;
    if (wall > 0.5) this.#busyMax = Math.max(this.#busyMax, (busy - this.#jiffies[0]) / TICKS_PER_SECOND / wall);
    this.#sampledAt = now;
    this.#jiffies = [busy, total];
    const procs = readProcs();
    const ours = new Set<number>([process.pid]);
    const isOurs = (pid: number): boolean => {
      const seen: number[] = [];
      for (let p = pid; p > 1; ) {
        if (ours.has(p)) {
          for (const s of seen) ours.add(s);
          return true;
        }
        seen.push(p);
        const next = procs.get(p)?.ppid;
        if (next === undefined) return false;
        p = next;
      }
      return false;
    };
    for (const [pid, current] of procs) {
      const before = this.#procs.get(pid);
      const delta = before === undefined || before.started !== current.started ? current.ticks : current.ticks - before.ticks;
      if (delta <= 0) continue;
      if (isOurs(pid)) {
        this.#oursTicks += delta;
        continue;
      }
      // Kernel threads are children of kthreadd (pid 2).
      if (pid === 2 || current.ppid === 2) {
        this.#kernelTicks += delta;
        continue;
      }
      let name = this.#labels.get(pid);
      if (name === undefined || before === undefined) {
        name = label(pid, current.comm);
        this.#labels.set(pid, name);
      }
      this.#othersTicks.set(name, (this.#othersTicks.get(name) ?? 0) + delta);
    }
    this.#procs = procs;
  }
}

/** The busiest commands of other work, e.g. `kube-apiserver 54 s, tsc 47 s`, or '' when none used a second. */
export function describeOthers(load: MachineLoad, top = 4, minSeconds = 1): string {
  return load.others
    .filter((o) => o.cpuSeconds >= minSeconds)
    .slice(0, top)
    .map((o) => `${o.command} ${o.cpuSeconds.toFixed(0)} s`)
    .join(', ');
}

/** One line for a report: load, busy cores, kernel threads and the busiest other commands. */
export function describeLoad(load: MachineLoad, top = 4): string {
  const others = describeOthers(load, top);
  return `load average (1 min) ${load.loadStart.toFixed(1)} at the start, ${load.loadEnd.toFixed(1)} at the end, at most ${load.loadMax.toFixed(1)}; the machine's CPU busy ${load.busyCoresMean.toFixed(2)} cores on average, ${load.busyCoresMax.toFixed(2)} at most over ${load.intervalSeconds} s; CPU used in ${load.seconds.toFixed(0)} s by this benchmark's processes ${load.oursCpuSeconds.toFixed(0)} s, by kernel threads ${load.kernelCpuSeconds.toFixed(0)} s (network namespace teardown and the like, much of it this benchmark's), by other work ${others === '' ? 'nothing worth naming' : others}`;
}
