/**
 * `nativeip trace record` against a real kube-apiserver + etcd on loopback (no kubelet: pods are
 * bound by setting spec.nodeName, and finished through the status subresource). In-process,
 * recordTrace over the real PodTraceWatch relisting every second, through a cut connection (the
 * relist reconciles what changed meanwhile) and an API server restart; then the built CLI as a
 * subprocess with a node label selector, stopped by SIGINT.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, connect, type AddressInfo, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatLogLine } from '../../src/cli/trace-record.js';
import { ProgressLine, recordTrace } from '../../src/cli/trace-record-run.js';
import { PodTraceWatch } from '../../src/kube/index.js';
import { traceFromJsonl, type TraceEvent } from '../../src/sim/traces.js';
import { LocalControlPlane } from '../support/kube/control-plane.js';
import { writeKubeconfig } from '../support/kube/kubeconfig.js';
import { builtCli } from '../support/built-cli.js';
import { waitFor } from '../support/wait-for.js';

const NS = 'trace';
const CLI_NS = 'trace-cli';
const NODE_A = 'trace-a';
const NODE_B = 'trace-b';

let cp: LocalControlPlane;
let dir: string;

async function createPod(namespace: string, name: string, node: string, options: { hostNetwork?: boolean } = {}): Promise<void> {
  const pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace },
    spec: { nodeName: node, automountServiceAccountToken: false, ...(options.hostNetwork === true ? { hostNetwork: true } : {}), containers: [{ name: 'c', image: 'busybox' }] },
  };
  await cp.kubectl(['create', '-f', '-'], { input: JSON.stringify(pod) });
}

/** No kubelet confirms a graceful deletion here: the pod goes at once. */
const deletePod = (namespace: string, name: string) => cp.kubectl(['delete', 'pod', name, '-n', namespace, '--grace-period=0', '--force', '--wait=false']);

/** What kubelet writes when a pod's containers have all exited 0. */
const succeed = (namespace: string, name: string) =>
  cp.kubectl(['patch', 'pod', name, '-n', namespace, '--subresource=status', '--type=merge', '-p', JSON.stringify({ status: { phase: 'Succeeded' } })]);

async function events(path: string): Promise<TraceEvent[]> {
  return (await readFile(path, 'utf8').catch(() => ''))
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as TraceEvent);
}

const ops = (list: readonly TraceEvent[]) => list.map((e) => `${e.op} ${e.node} ${e.pod}`);

/** Waits until the file holds exactly `expected` (as `op node pod`), in order. */
function waitForEvents(path: string, expected: readonly string[], diagnostics?: () => string): Promise<TraceEvent[]> {
  return waitFor(
    `${path} to hold ${expected.join(', ')}`,
    async () => {
      const found = await events(path);
      return ops(found).join('|') === expected.join('|') ? found : undefined;
    },
    { timeoutMs: 30_000, diagnostics: async () => `file:\n${await readFile(path, 'utf8').catch(() => '(none)')}\n${diagnostics?.() ?? ''}` },
  );
}

/** The file is a trace: sorted, each pod added once and deleted at most once, strictly after its add. */
function expectWellFormed(list: readonly TraceEvent[]): void {
  for (let i = 1; i < list.length; i += 1) expect(list[i]!.t).toBeGreaterThanOrEqual(list[i - 1]!.t);
  const added = new Map<string, number>();
  const deleted = new Set<string>();
  for (const e of list) {
    const key = `${e.node} ${e.pod}`;
    if (e.op === 'add') {
      expect(added.has(key), `${key} added twice`).toBe(false);
      added.set(key, e.t);
    } else {
      expect(added.has(key), `${key} deleted before it was added`).toBe(true);
      expect(deleted.has(key), `${key} deleted twice`).toBe(false);
      expect(e.t).toBeGreaterThan(added.get(key)!);
      deleted.add(key);
    }
  }
}

/**
 * A TCP proxy to the API server that the test can cut: every open connection is destroyed and
 * new ones are refused until it heals, while the test itself still reaches the server directly.
 */
class CuttableProxy {
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  #cut = false;

  constructor(targetPort: number) {
    this.#server = createServer((client) => {
      if (this.#cut) return void client.destroy();
      const upstream = connect(targetPort, '127.0.0.1');
      for (const socket of [client, upstream]) {
        this.#sockets.add(socket);
        socket.on('close', () => this.#sockets.delete(socket));
        socket.on('error', () => undefined);
      }
      client.pipe(upstream).pipe(client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
  }

  /** Listens on a free loopback port and returns it. */
  async listen(): Promise<number> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    return (this.#server.address() as AddressInfo).port;
  }

  cut(): void {
    this.#cut = true;
    for (const socket of this.#sockets) socket.destroy();
  }

  heal(): void {
    this.#cut = false;
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise((resolve) => this.#server.close(resolve));
  }
}


beforeAll(async () => {
  cp = await LocalControlPlane.started();
  dir = await mkdtemp(join(tmpdir(), 'nativeip-trace-record-'));
  await cp.kubectl(['apply', '-f', '-'], {
    input: JSON.stringify({
      apiVersion: 'v1',
      kind: 'List',
      items: [
        ...[NS, CLI_NS].flatMap((namespace) => [
          { apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } },
          { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'default', namespace } },
        ]),
        { apiVersion: 'v1', kind: 'Node', metadata: { name: NODE_A } },
        { apiVersion: 'v1', kind: 'Node', metadata: { name: NODE_B } },
      ],
    }),
  });
}, 180_000);

afterAll(async () => {
  await cp?.stop();
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
}, 60_000);

describe('trace record on a real API server', () => {
  it('records binds, terminal phases and deletions once each, through relists, a cut connection and an API server restart', async () => {
    // Already there when the recording starts: a running pod (t = 0), a finished one and a
    // host-network one (neither holds an address).
    await createPod(NS, 'running0', NODE_A);
    await createPod(NS, 'finished0', NODE_A);
    await succeed(NS, 'finished0');
    await createPod(NS, 'host0', NODE_A, { hostNetwork: true });

    // The recorder reaches the API server through a proxy the test can cut.
    const proxy = new CuttableProxy(Number(new URL(cp.server).port));
    const kubeconfig = join(dir, 'via-proxy.kubeconfig');
    await writeKubeconfig(kubeconfig, { server: `https://127.0.0.1:${await proxy.listen()}`, caPath: cp.caPath, credentials: { token: cp.adminToken } });
    const out = join(dir, 'in-process.jsonl');
    const stderr: string[] = [];
    const progress = new ProgressLine({ write: (text: string) => stderr.push(text) }, 60_000);
    const logger = pino({ level: 'warn', base: null }, { write: (line: string) => progress.message(formatLogLine(line)) });
    // A relist every second: any duplicate a relist could cause would show.
    const source = new PodTraceWatch({ endpoint: { kind: 'kubeconfig', path: kubeconfig }, nodes: { kind: 'all' }, logger, resyncMs: 1_000 });
    const controller = new AbortController();
    const recording = recordTrace({ request: { out, durationSec: undefined, kubeconfig: undefined, nodes: { kind: 'all' } }, source, progress, signal: controller.signal });
    const said = () => stderr.join('');
    /** The last progress line (the watch's warnings come between them). */
    const lastLine = () => said().trimEnd().split('\n').filter((line) => line.includes(' · ')).at(-1) ?? '';
    const fileAndStderr = async () => `file:\n${await readFile(out, 'utf8').catch(() => '')}\nstderr:\n${said()}`;
    /** Waits for `count` more events after `before`, which must be unchanged; returns the new ones sorted. */
    const more = async (before: readonly string[], count: number): Promise<string[]> => {
      const found = await waitFor(
        `${count} more events after ${before.length}`,
        async () => {
          const list = ops(await events(out));
          return list.length >= before.length + count ? list : undefined;
        },
        { timeoutMs: 60_000, diagnostics: fileAndStderr },
      );
      expect(found.slice(0, before.length)).toEqual(before);
      return found.slice(before.length).sort();
    };
    try {
      const at0 = await waitForEvents(out, [`add ${NODE_A} ${NS}/running0`], said);
      expect(at0[0]!.t).toBe(0);

      await createPod(NS, 'web1', NODE_A);
      await createPod(NS, 'web2', NODE_B);
      await createPod(NS, 'web5', NODE_B);
      await createPod(NS, 'host1', NODE_B, { hostNetwork: true });
      const added = [`add ${NODE_A} ${NS}/running0`, `add ${NODE_A} ${NS}/web1`, `add ${NODE_B} ${NS}/web2`, `add ${NODE_B} ${NS}/web5`];
      await waitForEvents(out, added, said);

      // web1 succeeds (its address is released then); its deletion later adds nothing.
      await succeed(NS, 'web1');
      await waitForEvents(out, [...added, `del ${NODE_A} ${NS}/web1`], said);
      await deletePod(NS, 'web1');
      await deletePod(NS, 'web2');
      const beforeCut = [...added, `del ${NODE_A} ${NS}/web1`, `del ${NODE_B} ${NS}/web2`];
      await waitForEvents(out, beforeCut, said);

      // The connection is cut: what changes meanwhile reaches the file by the relist, once.
      proxy.cut();
      await waitFor('the watch to notice the cut', () => (lastLine().includes('watch broken') ? true : undefined), { timeoutMs: 20_000, diagnostics: fileAndStderr });
      await succeed(NS, 'web5');
      await deletePod(NS, 'running0');
      await createPod(NS, 'web3', NODE_B);
      // Born and finished, or born and deleted, while the watch was away: not in the trace.
      await createPod(NS, 'brief4', NODE_A);
      await succeed(NS, 'brief4');
      await createPod(NS, 'brief6', NODE_A);
      await deletePod(NS, 'brief6');
      expect(ops(await events(out))).toEqual(beforeCut);
      proxy.heal();
      expect(await more(beforeCut, 3)).toEqual([`add ${NODE_B} ${NS}/web3`, `del ${NODE_A} ${NS}/running0`, `del ${NODE_B} ${NS}/web5`]);
      await waitFor('the watch to be current again', () => (lastLine().includes('watch broken') ? undefined : true), { timeoutMs: 60_000, diagnostics: fileAndStderr });
      const beforeRestart = ops(await events(out));

      // The API server itself restarts; what changes after it is back is recorded once.
      await cp.stopApiServer();
      await waitFor('the watch to notice the restart', () => (lastLine().includes('watch broken') ? true : undefined), { timeoutMs: 20_000, diagnostics: fileAndStderr });
      await cp.startApiServer();
      await createPod(NS, 'web7', NODE_A);
      await deletePod(NS, 'web3');
      expect(await more(beforeRestart, 2)).toEqual([`add ${NODE_A} ${NS}/web7`, `del ${NODE_B} ${NS}/web3`]);
      await waitFor('the watch to be current again', () => (lastLine().includes('watch broken') ? undefined : true), { timeoutMs: 60_000, diagnostics: fileAndStderr });

      // Three more relists change nothing.
      const settled = await readFile(out, 'utf8');
      await new Promise((resolve) => setTimeout(resolve, 3_500));
      expect(await readFile(out, 'utf8')).toBe(settled);
    } finally {
      controller.abort('test');
      await proxy.close();
    }
    const outcome = await recording;
    expect(outcome.stoppedBy).toBe('test');
    expect(outcome.stats).toEqual({ events: 11, adds: 6, dels: 5, livePods: 1, nodes: 2, skippedHostNetwork: 2 });

    const text = await readFile(out, 'utf8');
    const recorded = await events(out);
    expectWellFormed(recorded);
    const pods = recorded.map((e) => e.pod);
    for (const absent of ['finished0', 'host0', 'host1', 'brief4', 'brief6']) expect(pods).not.toContain(`${NS}/${absent}`);
    const trace = traceFromJsonl('in-process', text);
    expect(new Set(ops(trace.events))).toEqual(new Set(ops(recorded)));
    expect(trace.events.at(-1)!.t).toBe(recorded.at(-1)!.t);
    expect(said()).toMatch(/Kubernetes watch broke; listing again later/);
  }, 180_000);

  it('the built CLI records the pods of the nodes matching --node-selector until SIGINT', async () => {
    const cli = await builtCli();

    // Its own nodes, labelled apart from the first test's (whose pods stay out of this trace).
    const [nodeC, nodeD] = ['trace-c', 'trace-d'];
    await cp.kubectl(['apply', '-f', '-'], {
      input: JSON.stringify({
        apiVersion: 'v1',
        kind: 'List',
        items: [
          { apiVersion: 'v1', kind: 'Node', metadata: { name: nodeC, labels: { 'trace-pool': 'cli' } } },
          { apiVersion: 'v1', kind: 'Node', metadata: { name: nodeD, labels: { 'trace-pool': 'other' } } },
        ],
      }),
    });
    await createPod(CLI_NS, 'cli0', nodeC);
    await createPod(CLI_NS, 'cli-host-c', nodeC, { hostNetwork: true });
    await createPod(CLI_NS, 'cli-host-d', nodeD, { hostNetwork: true });
    const out = join(dir, 'cli.jsonl');
    const child: ChildProcessWithoutNullStreams = spawn(cli, ['trace', 'record', '--out', out, '--kubeconfig', cp.adminKubeconfigPath, '--node-selector', 'trace-pool=cli'], {
      env: { ...process.env, KUBECONFIG: '' },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      await waitForEvents(out, [`add ${nodeC} ${CLI_NS}/cli0`], () => stderr);
      await createPod(CLI_NS, 'cli1', nodeC);
      // On a node that does not match: left out, until the node matches.
      await createPod(CLI_NS, 'cli2', nodeD);
      const onC = [`add ${nodeC} ${CLI_NS}/cli0`, `add ${nodeC} ${CLI_NS}/cli1`];
      await waitForEvents(out, onC, () => stderr);
      await cp.kubectl(['label', 'node', nodeD, 'trace-pool=cli', '--overwrite']);
      await waitForEvents(out, [...onC, `add ${nodeD} ${CLI_NS}/cli2`], () => stderr);
      await createPod(CLI_NS, 'cli3', nodeD);
      await deletePod(CLI_NS, 'cli1');
      await waitForEvents(out, [...onC, `add ${nodeD} ${CLI_NS}/cli2`, `add ${nodeD} ${CLI_NS}/cli3`, `del ${nodeC} ${CLI_NS}/cli1`], () => stderr);
    } finally {
      child.kill('SIGINT');
    }
    expect(await exited).toBe(0);
    expect(stdout).toMatch(new RegExp(`^recorded 5 events \\(4 add, 1 del\\) on 2 nodes over \\d+s into ${out} \\(stopped by SIGINT; 3 pods still running\\); 2 host-network pods skipped\\n$`));
    expect(stderr).toContain(`trace record: recording the pods on ${cp.server} (kubeconfig ${cp.adminKubeconfigPath}) into ${out}\n`);
    expect(stderr).toContain('trace record: listing pods…\ntrace record: 0s · 1 event · 1 live pod · 1 node\n');

    const recorded = await events(out);
    expectWellFormed(recorded);
    expect(recorded[0]!.t).toBe(0);
    const trace = traceFromJsonl('cli', await readFile(out, 'utf8'));
    expect(trace.events).toEqual(recorded);
  }, 360_000);
});
