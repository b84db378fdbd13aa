/**
 * `nativeip trace record`'s pure half (src/cli/trace-record.ts): arguments, durations, the choice
 * of kubeconfig, the progress and summary lines; and recordTrace (trace-record-run.ts) driven by
 * an in-memory pod source: the file it writes, its progress output and how it stops.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  chooseTraceEndpoint,
  formatElapsed,
  formatLogLine,
  formatProgress,
  formatSummary,
  parseDuration,
  parseTraceRecordArgs,
  TraceRecordUsageError,
  type TraceRecordRequest,
} from '../../src/cli/trace-record.js';
import { ProgressLine, recordTrace } from '../../src/cli/trace-record-run.js';
import type { PodObservation, PodSource, PodSourceEvents, TraceStats } from '../../src/cli/trace-recorder.js';
import { traceFromJsonl } from '../../src/sim/traces.js';

describe('parseTraceRecordArgs', () => {
  it.each<[string, string[], TraceRecordRequest]>([
    ['only --out', ['--out', 't.jsonl'], { out: 't.jsonl', durationSec: undefined, kubeconfig: undefined, nodes: { kind: 'all' } }],
    [
      'everything, --flag=value too',
      ['--duration=1h30m', '--out', 't.jsonl', '--kubeconfig', '/k', '--nodes', 'a,b,a'],
      { out: 't.jsonl', durationSec: 5400, kubeconfig: '/k', nodes: { kind: 'names', names: ['a', 'b'] } },
    ],
    ['a label selector', ['--out', 't', '--node-selector', 'pool=web,zone in (a,b)'], { out: 't', durationSec: undefined, kubeconfig: undefined, nodes: { kind: 'labels', selector: 'pool=web,zone in (a,b)' } }],
  ])('%s', (_name, argv, expected) => {
    expect(parseTraceRecordArgs(argv)).toEqual(expected);
  });

  it.each<[string[], string]>([
    [[], 'give --out FILE, where the trace goes'],
    [['--out'], '--out needs a value'],
    [['--out', '--duration', '2h'], '--out needs a value'],
    [['--out='], '--out needs a value'],
    [['--out', 't', '--duration', '120'], '--duration "120" is not a duration (give a unit): use e.g. 90s, 30m, 2h or 1h30m'],
    [['--out', 't', '--duration', '2 hours'], '--duration "2 hours" is not a duration: use e.g. 90s, 30m, 2h or 1h30m'],
    [['--out', 't', '--duration', '0s'], '--duration must be longer than zero'],
    [['--out', 't', '--nodes', 'a', '--node-selector', 'x=y'], 'give --nodes or --node-selector, not both'],
    [['--out', 't', '--nodes', 'a,,B'], '--nodes: "", "B" is not a node name (give N1,N2,…)'],
    [['--out', 't', '--verbose'], 'unknown argument --verbose'],
    [['--out', 't', 'extra'], 'unknown argument extra'],
  ])('%j: %s', (argv, message) => {
    expect(() => parseTraceRecordArgs(argv)).toThrow(new TraceRecordUsageError(message));
  });
});

describe('parseDuration', () => {
  it.each<[string, number]>([
    ['90s', 90],
    ['30m', 1800],
    ['2h', 7200],
    ['1h30m', 5400],
    ['1.5h', 5400],
    ['1d', 86_400],
    ['500ms', 0.5],
  ])('%s = %d s', (text, seconds) => {
    expect(parseDuration(text, '--duration')).toBe(seconds);
  });

  it.each(['', 'h', '5', '5x', '1h 30m', '-5m', 'm5'])('refuses %j', (text) => {
    expect(() => parseDuration(text, '--duration')).toThrow(TraceRecordUsageError);
  });
});

describe('chooseTraceEndpoint', () => {
  const files = (...paths: string[]) => (p: string) => paths.includes(p);
  const inPod = { KUBERNETES_SERVICE_HOST: '10.96.0.1', KUBERNETES_SERVICE_PORT: '443' };
  const token = '/var/run/secrets/kubernetes.io/serviceaccount/token';

  it.each<[string, Parameters<typeof chooseTraceEndpoint>[0], ReturnType<typeof chooseTraceEndpoint>]>([
    ['--kubeconfig first', { flag: '/f', env: { KUBECONFIG: '/e', HOME: '/h', ...inPod }, exists: files('/f', '/e', '/h/.kube/config', token) }, { kind: 'kubeconfig', path: '/f' }],
    ['then $KUBECONFIG', { flag: undefined, env: { KUBECONFIG: '/e', HOME: '/h' }, exists: files('/e', '/h/.kube/config') }, { kind: 'kubeconfig', path: '/e' }],
    ['the first of $KUBECONFIG’s files that exists', { flag: undefined, env: { KUBECONFIG: '/gone::/e2:/e3' }, exists: files('/e2', '/e3') }, { kind: 'kubeconfig', path: '/e2' }],
    ['then ~/.kube/config', { flag: undefined, env: { KUBECONFIG: '', HOME: '/h', ...inPod }, exists: files('/h/.kube/config', token) }, { kind: 'kubeconfig', path: '/h/.kube/config' }],
    ['then the service account', { flag: undefined, env: { HOME: '/h', ...inPod }, exists: files(token) }, { kind: 'in-cluster', host: '10.96.0.1', port: '443' }],
  ])('%s', (_name, facts, expected) => {
    expect(chooseTraceEndpoint(facts)).toEqual(expected);
  });

  it.each<[string, Parameters<typeof chooseTraceEndpoint>[0], string]>([
    ['a missing --kubeconfig', { flag: '/f', env: { HOME: '/h' }, exists: files('/h/.kube/config') }, '--kubeconfig /f: no such file'],
    ['$KUBECONFIG naming nothing that exists', { flag: undefined, env: { KUBECONFIG: '/a:/b', HOME: '/h' }, exists: files('/h/.kube/config') }, 'KUBECONFIG names no file that exists (/a, /b)'],
    [
      'nothing at all (service host without a token)',
      { flag: undefined, env: { HOME: '/h', ...inPod }, exists: files() },
      'no Kubernetes access: give --kubeconfig PATH, set KUBECONFIG, create ~/.kube/config, or run in a pod with a service account',
    ],
  ])('%s', (_name, facts, message) => {
    expect(() => chooseTraceEndpoint(facts)).toThrow(new TraceRecordUsageError(message));
  });
});

describe('lines for the operator', () => {
  const stats: TraceStats = { events: 1234, adds: 620, dels: 614, livePods: 6, nodes: 3, skippedHostNetwork: 1 };

  it.each<[number, string]>([
    [0, '0s'],
    [4.9, '4s'],
    [125, '2m05s'],
    [3725, '1h02m05s'],
    [90_000, '25h00m00s'],
  ])('formatElapsed(%d) = %s', (seconds, text) => {
    expect(formatElapsed(seconds)).toBe(text);
  });

  it('progress', () => {
    expect(formatProgress({ state: 'listing', elapsedSec: 0, durationSec: undefined, stats })).toBe('trace record: listing pods…');
    expect(formatProgress({ state: 'recording', elapsedSec: 125, durationSec: 7200, stats })).toBe('trace record: 2m05s of 2h00m00s · 1234 events · 6 live pods · 3 nodes');
    expect(formatProgress({ state: 'relisting', elapsedSec: 5, durationSec: undefined, stats: { ...stats, events: 1, livePods: 1, nodes: 1 } })).toBe(
      'trace record: 5s · 1 event · 1 live pod · 1 node · watch broken, listing again',
    );
  });

  it('summary', () => {
    expect(formatSummary({ out: 't.jsonl', elapsedSec: 7200, stats, stoppedBy: 'duration' })).toBe(
      'recorded 1234 events (620 add, 614 del) on 3 nodes over 2h00m00s into t.jsonl (stopped by duration; 6 pods still running); 1 host-network pod skipped',
    );
  });

  it('log lines', () => {
    expect(formatLogLine('{"level":40,"path":"/api/v1/pods","err":{"type":"Error","message":"connect ECONNREFUSED 127.0.0.1:6443"},"msg":"Kubernetes watch broke; listing again later"}\n')).toBe(
      'trace record: Kubernetes watch broke; listing again later: connect ECONNREFUSED 127.0.0.1:6443',
    );
    expect(formatLogLine('not json\n')).toBe('trace record: not json');
  });
});

/** A pod source the test drives by hand; it keeps the pods it was told of, as the watch does. */
class HandSource implements PodSource {
  readonly description = 'https://test.invalid (hand)';
  events: PodSourceEvents | undefined;
  readonly held = new Map<string, PodObservation>();
  closed = false;
  checkError: Error | undefined;

  async check(): Promise<void> {
    if (this.checkError !== undefined) throw this.checkError;
  }
  start(events: PodSourceEvents): void {
    this.events = events;
  }
  pods(): readonly PodObservation[] {
    return [...this.held.values()];
  }
  async close(): Promise<void> {
    this.closed = true;
  }
  upsert(pod: PodObservation): void {
    this.held.set(pod.uid, pod);
    this.events!.pod(pod);
  }
  remove(uid: string): void {
    const pod = this.held.get(uid)!;
    this.held.delete(uid);
    this.events!.podGone(pod);
  }
}

const obs = (name: string, node = 'node-a', extra: Partial<PodObservation> = {}): PodObservation => ({ uid: name, pod: `default/${name}`, node, hostNetwork: false, terminal: false, ...extra });

describe('recordTrace', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'nativeip-trace-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  function harness(request: Partial<TraceRecordRequest> = {}, tty = false) {
    const source = new HandSource();
    const written: string[] = [];
    const progress = new ProgressLine({ write: (text: string) => written.push(text), isTTY: tty }, 60_000);
    let clockMs = 5_000;
    const controller = new AbortController();
    const out = join(dir, 'trace.jsonl');
    const run = recordTrace({
      request: { out, durationSec: undefined, kubeconfig: undefined, nodes: { kind: 'all' }, ...request },
      source,
      progress,
      now: () => clockMs,
      signal: controller.signal,
    });
    return {
      source,
      written,
      run,
      out,
      stop: (reason = 'SIGINT') => controller.abort(reason),
      advance: (ms: number) => (clockMs += ms),
      file: () => readFile(out, 'utf8'),
    };
  }
  const started = async (h: ReturnType<typeof harness>) => {
    for (let i = 0; i < 20 && h.source.events === undefined; i += 1) await new Promise((r) => setImmediate(r));
    return h.source;
  };

  it('writes each event as it happens; the file is a valid trace at every moment', async () => {
    const h = harness();
    const source = await started(h);
    source.upsert(obs('a'));
    source.upsert(obs('host', 'node-a', { hostNetwork: true }));
    source.events!.synced(true);
    expect(await h.file()).toBe('{"t":0,"node":"node-a","pod":"default/a","op":"add"}\n');
    h.advance(1500);
    source.upsert(obs('b', 'node-b'));
    h.advance(500);
    source.upsert(obs('a', 'node-a', { terminal: true }));
    source.remove('a');
    // A break and a relist that finds b deleted meanwhile.
    source.events!.synced(false);
    h.advance(1000);
    source.upsert(obs('a', 'node-a', { terminal: true }));
    source.remove('b');
    source.events!.synced(true);
    const partial = await h.file();
    expect(traceFromJsonl('partial', partial).events.map((e) => `${e.t} ${e.op} ${e.pod}`)).toEqual(['0 add default/a', '1.5 add default/b', '2 del default/a', '3 del default/b']);
    h.stop();
    const outcome = await h.run;
    expect(await h.file()).toBe(partial);
    expect(outcome).toEqual({ stats: { events: 4, adds: 2, dels: 2, livePods: 0, nodes: 2, skippedHostNetwork: 1 }, elapsedSec: 3, stoppedBy: 'SIGINT' });
    expect(source.closed).toBe(true);
    expect(h.written).toEqual([
      `trace record: recording the pods on https://test.invalid (hand) into ${h.out}\n`,
      'trace record: listing pods…\n',
      'trace record: 0s · 1 event · 1 live pod · 1 node\n',
      'trace record: 2s · 3 events · 1 live pod · 2 nodes · watch broken, listing again\n',
      'trace record: 3s · 4 events · 0 live pods · 2 nodes\n',
    ]);
  });

  it('stops after --duration counted from the first full listing', async () => {
    const h = harness({ durationSec: 0.05 });
    const source = await started(h);
    source.upsert(obs('a'));
    source.events!.synced(true);
    // The timer re-reads the clock when it fires: it ends once the clock has passed the end.
    h.advance(60);
    const outcome = await h.run;
    expect(outcome.stoppedBy).toBe('duration');
    expect(await h.file()).toBe('{"t":0,"node":"node-a","pod":"default/a","op":"add"}\n');
  });

  it('redraws one line in place on a terminal, printing messages above it and clearing it at the end', async () => {
    const h = harness({}, true);
    const source = await started(h);
    source.events!.synced(true);
    h.stop('SIGTERM');
    expect((await h.run).stoppedBy).toBe('SIGTERM');
    expect(h.written).toEqual([
      `trace record: recording the pods on https://test.invalid (hand) into ${h.out}\n`,
      '\rtrace record: listing pods…\x1b[K',
      '\rtrace record: 0s · 0 events · 0 live pods · 0 nodes\x1b[K',
      '\r\x1b[K',
    ]);
  });

  it('fails before touching the file when the API server cannot be listed', async () => {
    const source = new HandSource();
    source.checkError = new Error('cannot list pods on https://x: HTTP 403 (pods is forbidden)');
    const out = join(dir, 'untouched.jsonl');
    const progress = new ProgressLine({ write: () => true }, 60_000);
    await expect(recordTrace({ request: { out, durationSec: undefined, kubeconfig: undefined, nodes: { kind: 'all' } }, source, progress })).rejects.toThrow('HTTP 403');
    await expect(readFile(out, 'utf8')).rejects.toThrow('ENOENT');
  });

  it('gives up when stopped before the API server answers', async () => {
    const source = new HandSource();
    source.check = () => new Promise(() => undefined);
    const controller = new AbortController();
    const out = join(dir, 'never.jsonl');
    const progress = new ProgressLine({ write: () => true }, 60_000);
    const run = recordTrace({ request: { out, durationSec: undefined, kubeconfig: undefined, nodes: { kind: 'all' } }, source, progress, signal: controller.signal });
    controller.abort('SIGINT');
    await expect(run).rejects.toThrow('stopped by SIGINT before https://test.invalid (hand) answered');
    await expect(readFile(out, 'utf8')).rejects.toThrow('ENOENT');
  });

  it('names the file it cannot open', async () => {
    const out = join(dir, 'missing-dir', 't.jsonl');
    const progress = new ProgressLine({ write: () => true }, 60_000);
    await expect(recordTrace({ request: { out, durationSec: undefined, kubeconfig: undefined, nodes: { kind: 'all' } }, source: new HandSource(), progress })).rejects.toThrow(`cannot write ${out}: ENOENT`);
  });
});
