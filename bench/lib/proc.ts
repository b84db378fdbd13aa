/** What the benchmarks read of a process from /proc (Linux). */
import { readdirSync, readFileSync } from 'node:fs';

export interface ProcessSample {
  readonly rssKiB: number;
  readonly hwmKiB: number;
  /** utime + stime, in clock ticks. */
  readonly cpuTicks: number;
  readonly openFds: number;
  readonly threads: number;
}

export function sampleProcess(pid: number): ProcessSample {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (name: string): number => {
    const match = new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status);
    if (match?.[1] === undefined) throw new Error(`/proc/${pid}/status has no ${name}`);
    return Number(match[1]);
  };
  // Fields after the command name (which may hold spaces) start at the last ')'.
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return {
    rssKiB: field('VmRSS'),
    hwmKiB: field('VmHWM'),
    cpuTicks: Number(rest[11]) + Number(rest[12]),
    openFds: readdirSync(`/proc/${pid}/fd`).length,
    threads: readdirSync(`/proc/${pid}/task`).length,
  };
}
