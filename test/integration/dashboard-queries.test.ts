/**
 * Every query of the Grafana dashboard (manifests/monitoring/grafana-dashboard.json) through a real
 * Prometheus's /api/v1/query, with the dashboard's variables as Grafana would substitute them
 * (All nodes): each must parse and evaluate. No target is scraped, so the results are empty; that
 * the queries name only NODE_METRICS' series and labels is test/unit/manifests.test.ts. Needs
 * scripts/install-prometheus.sh (scripts/setup.sh runs it).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { REPO_ROOT } from '../support/repo-root.js';
import { startPrometheus, type PrometheusServer } from '../support/prometheus.js';

interface Panel {
  readonly id?: number;
  readonly type?: string;
  readonly title?: string;
  readonly targets?: readonly { readonly refId?: string; readonly expr?: string }[];
  readonly panels?: readonly Panel[];
}

interface Dashboard {
  readonly panels?: readonly Panel[];
  readonly templating?: { readonly list?: readonly { readonly name?: string; readonly definition?: string }[] };
}

const dashboard = JSON.parse(readFileSync(join(REPO_ROOT, 'manifests', 'monitoring', 'grafana-dashboard.json'), 'utf8')) as Dashboard;

const queries = (dashboard.panels ?? [])
  .flatMap((panel) => [panel, ...(panel.panels ?? [])])
  .flatMap((panel) =>
    (panel.targets ?? []).map((target) => ({ title: panel.title ?? `panel ${String(panel.id)}`, refId: target.refId ?? '?', expr: target.expr ?? '' })),
  );

/** Grafana's substitutions: the node variable at All (`allValue` `.*`), the intervals at a scrape-friendly value. */
const VARIABLES: Readonly<Record<string, string>> = {
  $node: '.*',
  $__rate_interval: '1m',
  $__interval: '1m',
  $__range: '1h',
};

function substitute(expr: string): string {
  let out = expr;
  // Longest first: `$__range` before a hypothetical `$__r`.
  for (const [name, value] of Object.entries(VARIABLES).sort(([a], [b]) => b.length - a.length)) out = out.replaceAll(name, value);
  return out;
}

interface ApiReply {
  readonly status?: string;
  readonly errorType?: string;
  readonly error?: string;
  readonly data?: unknown;
}

describe('the Grafana dashboard against Prometheus', () => {
  let prometheus: PrometheusServer | undefined;

  beforeAll(async () => {
    prometheus = await startPrometheus({ targets: [] });
  });

  afterAll(async () => {
    await prometheus?.stop();
  });

  async function get(path: string): Promise<ApiReply> {
    if (prometheus === undefined) throw new Error('Prometheus did not start');
    const response = await fetch(`${prometheus.url}${path}`, { signal: AbortSignal.timeout(10_000) });
    return (await response.json()) as ApiReply;
  }

  it('has queries to check', () => {
    expect(queries.length).toBeGreaterThanOrEqual(15);
  });

  it.each(queries)('$title, $refId parses and evaluates', async ({ expr }) => {
    const promql = substitute(expr);
    expect(promql, 'a variable the test does not substitute').not.toContain('$');
    const reply = await get(`/api/v1/query?query=${encodeURIComponent(promql)}`);
    expect(reply, `${promql}: ${reply.errorType ?? ''} ${reply.error ?? ''}`).toMatchObject({ status: 'success', data: { resultType: 'vector' } });
  });

  it('the node variable’s query is a valid series selector for the label values API', async () => {
    const node = (dashboard.templating?.list ?? []).find((v) => v.name === 'node');
    const [, metric = '', label = ''] = /^label_values\((\w+),\s*(\w+)\)$/.exec(node?.definition ?? '') ?? [];
    expect([metric, label]).toEqual(['nativeip_build_info', 'instance']);
    const reply = await get(`/api/v1/label/${label}/values?match[]=${encodeURIComponent(metric)}`);
    expect(reply, `${reply.errorType ?? ''} ${reply.error ?? ''}`).toMatchObject({ status: 'success', data: [] });
  });

  it('a query that does not parse fails here (the check above can fail)', async () => {
    const reply = await get(`/api/v1/query?query=${encodeURIComponent('sum by (le) (rate(nativeip_pod_wait_seconds_bucket[1m])')}`);
    expect(reply).toMatchObject({ status: 'error', errorType: 'bad_data' });
  });
});
