/**
 * `nativeip tune` end to end, as an operator runs it: the built CLI records a trace from a real
 * kube-apiserver + etcd on loopback (pods bound to two nodes, some deleted), then tunes on it —
 * the trade-off table, the recommended variables, and the chart, drawn by a real renderer
 * (rsvg-convert) and checked on its pixels.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { POOL_CHART_COLORS, poolChartLayout, type Rect } from '../../src/sim/pool-chart-layout.js';
import { traceFromJsonl } from '../../src/sim/traces.js';
import { LocalControlPlane } from '../support/kube/control-plane.js';
import { builtCli } from '../support/built-cli.js';
import { REPO_ROOT } from '../support/repo-root.js';
import { waitFor } from '../support/wait-for.js';

const NS = 'tune';
const NODES = ['tune-a', 'tune-b'];
const CLI = join(REPO_ROOT, 'dist/bin/nativeip');

let cp: LocalControlPlane;
let dir: string;

async function createPod(name: string, node: string): Promise<void> {
  const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: NS }, spec: { nodeName: node, automountServiceAccountToken: false, containers: [{ name: 'c', image: 'busybox' }] } };
  await cp.kubectl(['create', '-f', '-'], { input: JSON.stringify(pod) });
}

const deletePod = (name: string) => cp.kubectl(['delete', 'pod', name, '-n', NS, '--grace-period=0', '--force', '--wait=false']);

/** Runs the CLI to its end; its output and exit status. */
function runCli(args: readonly string[]): Promise<{ stdout: string; stderr: string; status: number | null }> {
  return new Promise((resolve, reject) => {
    const child = spawn(CLI, [...args]);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    child.once('error', reject);
    child.once('exit', (status) => resolve({ stdout, stderr, status }));
  });
}

/** Pixels of `hex` inside `rect` (exact color: areas and lines are drawn opaque). */
function countColor(png: PNG, hex: string, rect: Rect): number {
  const [r, g, b] = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
  let n = 0;
  for (let y = Math.floor(rect.y); y < rect.y + rect.height; y += 1) {
    for (let x = Math.floor(rect.x); x < rect.x + rect.width; x += 1) {
      const i = (png.width * y + x) * 4;
      if (Math.abs(png.data[i]! - r!) + Math.abs(png.data[i + 1]! - g!) + Math.abs(png.data[i + 2]! - b!) <= 6) n += 1;
    }
  }
  return n;
}

beforeAll(async () => {
  await builtCli();
  cp = await LocalControlPlane.started();
  dir = await mkdtemp(join(tmpdir(), 'nativeip-tune-'));
  await cp.kubectl(['apply', '-f', '-'], {
    input: JSON.stringify({
      apiVersion: 'v1',
      kind: 'List',
      items: [
        { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } },
        { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'default', namespace: NS } },
        ...NODES.map((name) => ({ apiVersion: 'v1', kind: 'Node', metadata: { name } })),
      ],
    }),
  });
}, 400_000);

afterAll(async () => {
  await cp?.stop();
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
}, 60_000);

describe('nativeip tune on a trace recorded from a real API server', () => {
  it('records pod churn, then prints the trade-off table and the recommendation and draws the chart', async () => {
    const trace = join(dir, 'churn.jsonl');
    const recorder = spawn(CLI, ['trace', 'record', '--out', trace, '--kubeconfig', cp.adminKubeconfigPath], { env: { ...process.env, KUBECONFIG: '' } });
    let recorderErr = '';
    recorder.stderr.on('data', (chunk: Buffer) => (recorderErr += chunk.toString('utf8')));
    const recorded = new Promise<number | null>((resolve) => recorder.once('exit', (code) => resolve(code)));
    try {
      await waitFor('the recorder to list the pods', async () => (recorderErr.includes('listing pods…') ? true : undefined), { timeoutMs: 30_000, diagnostics: async () => recorderErr });
      // A burst of 14 pods on tune-a and 4 on tune-b; 8 of them end; 6 more arrive.
      for (let i = 0; i < 18; i += 1) await createPod(`web-${i}`, NODES[i < 14 ? 0 : 1]!);
      await new Promise((resolve) => setTimeout(resolve, 2_000));
      for (let i = 0; i < 8; i += 1) await deletePod(`web-${i}`);
      for (let i = 0; i < 6; i += 1) await createPod(`job-${i}`, NODES[i % 2]!);
      await waitFor(
        'the trace to hold 24 adds and 8 deletions',
        async () => {
          const text = await readFile(trace, 'utf8').catch(() => '');
          return (text.match(/"op":"add"/g) ?? []).length === 24 && (text.match(/"op":"del"/g) ?? []).length === 8 ? true : undefined;
        },
        { timeoutMs: 30_000, diagnostics: async () => `${await readFile(trace, 'utf8').catch(() => '(none)')}\n${recorderErr}` },
      );
    } finally {
      recorder.kill('SIGINT');
    }
    expect(await recorded).toBe(0);
    expect(new Set(traceFromJsonl('churn', await readFile(trace, 'utf8')).events.map((e) => e.node))).toEqual(new Set(NODES));

    const chart = join(dir, 'churn.svg');
    const tune = await runCli(['tune', '--trace', trace, '--instance-type', 'm5.large', '--chart', chart]);
    expect(tune.status, tune.stderr).toBe(0);
    const rows = tune.stdout.split('\n').filter((line) => line.startsWith('| ') && !line.startsWith('| policy'));
    expect(tune.stdout).toContain('| policy | pods waited | wait p50 / p99 | idle address-hours | mutating calls | throttled calls |');
    expect(rows.length).toBeGreaterThanOrEqual(8);
    expect(rows.some((r) => r.startsWith('| nativeip default (adaptive)'))).toBe(true);
    expect(rows.filter((r) => r.includes('← recommended'))).toHaveLength(1);
    expect(rows.filter((r) => r.includes('(reference)') || r.includes('← recommended')).length).toBeGreaterThanOrEqual(1);
    expect(tune.stdout).toMatch(/Recommended/);
    expect(tune.stdout).toContain(`Chart: ${chart}`);
    expect(tune.stderr).toMatch(new RegExp(`tune: ${rows.length}/${rows.length} replayed`));
    for (const row of rows) expect(Number.isInteger(Number(row.split('|')[2]!.trim())), row).toBe(true);

    // The chart, as librsvg draws it: one panel per policy, each showing its pods and its held addresses.
    const png = PNG.sync.read(spawnSync('rsvg-convert', ['--format', 'png', chart], { maxBuffer: 64 * 1024 * 1024 }).stdout);
    const layout = poolChartLayout(rows.length);
    expect([png.width, png.height]).toEqual([layout.width, layout.height]);
    for (const panel of layout.panels) {
      expect(countColor(png, POOL_CHART_COLORS.pods, panel.main)).toBeGreaterThan(50);
      expect(countColor(png, POOL_CHART_COLORS.assigned, panel.main)).toBeGreaterThan(200);
    }

    const json = JSON.parse((await runCli(['tune', '--trace', trace, '--instance-type', 'm5.large', '--chart', chart, '--json'])).stdout) as { policies: Array<{ policy: string; podsWaited: number }>; recommended: Record<string, string> };
    expect(json.policies.map((p) => p.policy)).toEqual(rows.map((r) => r.split('|')[1]!.trim().replace(/ ← recommended| \(reference\)/, '')));
  }, 600_000);
});
