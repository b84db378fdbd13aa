/**
 * `nativeip trace record`: the pure half — arguments, how the API server is reached, the progress
 * and summary lines. The recording itself (watch, file, signals) is trace-record-run.ts; what is
 * written when, trace-recorder.ts.
 */
import type { KubeEndpoint } from '../kube/kube-config.js';
import { SERVICE_ACCOUNT_DIR } from '../kube/kube-config-paths.js';
import type { NodeFilter, TraceStats } from './trace-recorder.js';
import { parseFlags } from '../core/cli-flags.js';

export const TRACE_RECORD_USAGE = `usage: nativeip trace record --out FILE [--duration D] [--kubeconfig PATH] [--nodes N1,N2 | --node-selector SELECTOR]
  --out FILE                the JSONL trace to write (replaced if it exists), one event per line:
                            {"t": seconds, "node": "...", "pod": "namespace/name", "op": "add"|"del"}
  --duration D              stop after D (e.g. 90s, 30m, 2h, 1h30m); default: until Ctrl-C or SIGTERM
  --kubeconfig PATH         default: $KUBECONFIG, then ~/.kube/config, then the pod's service account
  --nodes N1,N2             record only these nodes' pods
  --node-selector SELECTOR  record only the pods of nodes matching this label selector (e.g. pool=web)
Pods already running when the recording starts are added at t = 0; host-network pods are skipped.
Needs list and watch on pods (and on nodes with --node-selector).
`;

export class TraceRecordUsageError extends Error {}

export interface TraceRecordRequest {
  readonly out: string;
  /** Undefined: until interrupted. */
  readonly durationSec: number | undefined;
  readonly kubeconfig: string | undefined;
  readonly nodes: NodeFilter;
}

/** Parses the arguments after `trace record`. Pure; throws TraceRecordUsageError naming the problem. */
export function parseTraceRecordArgs(argv: readonly string[]): TraceRecordRequest {
  const flags = parseFlags(argv, { values: ['--out', '--duration', '--kubeconfig', '--nodes', '--node-selector'] }, (problem) => new TraceRecordUsageError(problem.message));
  const out = flags.one('--out');
  const duration = flags.one('--duration');
  const kubeconfig = flags.one('--kubeconfig');
  const nodes = flags.one('--nodes');
  const selector = flags.one('--node-selector');
  if (out === undefined) throw new TraceRecordUsageError('give --out FILE, where the trace goes');
  if (nodes !== undefined && selector !== undefined) throw new TraceRecordUsageError('give --nodes or --node-selector, not both');
  return {
    out,
    durationSec: duration === undefined ? undefined : parseDuration(duration, '--duration'),
    kubeconfig,
    nodes: nodes !== undefined ? { kind: 'names', names: parseNodeNames(nodes) } : selector !== undefined ? { kind: 'labels', selector: selector.trim() } : { kind: 'all' },
  };
}

const UNIT_SEC: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86_400 };

/** `90s`, `30m`, `2h`, `1h30m`, `1.5h` → seconds. Pure; a bare number or a zero duration is an error. */
export function parseDuration(text: string, flag: string): number {
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h|d)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== text) {
    const hint = /^\d+(\.\d+)?$/.test(text) ? ' (give a unit)' : '';
    throw new TraceRecordUsageError(`${flag} ${JSON.stringify(text)} is not a duration${hint}: use e.g. 90s, 30m, 2h or 1h30m`);
  }
  const seconds = parts.reduce((sum, p) => sum + Number(p[1]) * UNIT_SEC[p[2]!]!, 0);
  if (!(seconds > 0)) throw new TraceRecordUsageError(`${flag} must be longer than zero`);
  return seconds;
}

/** A node name is a DNS subdomain: lower-case letters, digits, '-' and '.'. */
const NODE_NAME = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;

function parseNodeNames(text: string): string[] {
  const names = text.split(',').map((n) => n.trim());
  const bad = names.filter((n) => !NODE_NAME.test(n));
  if (bad.length > 0) throw new TraceRecordUsageError(`--nodes: ${bad.map((n) => JSON.stringify(n)).join(', ')} is not a node name (give N1,N2,…)`);
  return [...new Set(names)];
}

export interface EndpointFacts {
  /** --kubeconfig. */
  readonly flag: string | undefined;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly exists: (path: string) => boolean;
}

/**
 * How the API server is reached: --kubeconfig, then $KUBECONFIG (the first of its files that
 * exists; kubectl would merge them), then ~/.kube/config, then the pod's service account. Pure;
 * throws TraceRecordUsageError saying what was looked for.
 */
export function chooseTraceEndpoint(facts: EndpointFacts): KubeEndpoint {
  const { flag, env, exists } = facts;
  if (flag !== undefined) {
    if (!exists(flag)) throw new TraceRecordUsageError(`--kubeconfig ${flag}: no such file`);
    return { kind: 'kubeconfig', path: flag };
  }
  const listed = (env['KUBECONFIG'] ?? '').split(':').filter((p) => p !== '');
  if (listed.length > 0) {
    const path = listed.find(exists);
    if (path === undefined) throw new TraceRecordUsageError(`KUBECONFIG names no file that exists (${listed.join(', ')})`);
    return { kind: 'kubeconfig', path };
  }
  const home = env['HOME'];
  if (home !== undefined && home !== '' && exists(`${home}/.kube/config`)) return { kind: 'kubeconfig', path: `${home}/.kube/config` };
  const host = env['KUBERNETES_SERVICE_HOST'] ?? '';
  const port = env['KUBERNETES_SERVICE_PORT'] ?? '';
  if (host !== '' && port !== '' && exists(`${SERVICE_ACCOUNT_DIR}/token`)) return { kind: 'in-cluster', host, port };
  throw new TraceRecordUsageError('no Kubernetes access: give --kubeconfig PATH, set KUBECONFIG, create ~/.kube/config, or run in a pod with a service account');
}

/** `4s`, `2m05s`, `1h02m05s`. Pure. */
export function formatElapsed(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = s % 60;
  const two = (n: number) => String(n).padStart(2, '0');
  if (h > 0) return `${h}h${two(m)}m${two(rest)}s`;
  if (m > 0) return `${m}m${two(rest)}s`;
  return `${rest}s`;
}

const plural = (n: number, one: string, many = `${one}s`): string => `${n} ${n === 1 ? one : many}`;

export type RecordingState = 'listing' | 'recording' | 'relisting';

/** The progress line (no newline). Pure. */
export function formatProgress(p: { readonly state: RecordingState; readonly elapsedSec: number; readonly durationSec: number | undefined; readonly stats: TraceStats }): string {
  if (p.state === 'listing') return 'trace record: listing pods…';
  const of = p.durationSec === undefined ? '' : ` of ${formatElapsed(p.durationSec)}`;
  const line = `trace record: ${formatElapsed(p.elapsedSec)}${of} · ${plural(p.stats.events, 'event')} · ${plural(p.stats.livePods, 'live pod')} · ${plural(p.stats.nodes, 'node')}`;
  return p.state === 'relisting' ? `${line} · watch broken, listing again` : line;
}

/** A pino line (JSON) from the watch, as the one line the operator reads on stderr. Pure. */
export function formatLogLine(json: string): string {
  let entry: { msg?: unknown; err?: { message?: unknown } } | undefined;
  try {
    entry = JSON.parse(json) as typeof entry;
  } catch {
    return `trace record: ${json.trim()}`;
  }
  const msg = typeof entry?.msg === 'string' ? entry.msg : json.trim();
  const err = typeof entry?.err?.message === 'string' ? `: ${entry.err.message}` : '';
  return `trace record: ${msg}${err}`;
}

/** The line printed when the recording ends. Pure. */
export function formatSummary(s: { readonly out: string; readonly elapsedSec: number; readonly stats: TraceStats; readonly stoppedBy: string }): string {
  const { stats } = s;
  const skipped = stats.skippedHostNetwork === 0 ? '' : `; ${plural(stats.skippedHostNetwork, 'host-network pod')} skipped`;
  return (
    `recorded ${plural(stats.events, 'event')} (${stats.adds} add, ${stats.dels} del) on ${plural(stats.nodes, 'node')} over ${formatElapsed(s.elapsedSec)} into ${s.out}` +
    ` (stopped by ${s.stoppedBy}; ${plural(stats.livePods, 'pod')} still running)${skipped}`
  );
}
