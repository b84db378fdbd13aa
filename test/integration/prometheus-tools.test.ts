/**
 * The real Prometheus of test/support/prometheus.ts: promtool's verdict on an exposition, and a
 * server scraping a target on 127.0.0.1 and answering PromQL. Needs scripts/install-prometheus.sh
 * (scripts/setup.sh runs it): without the binaries these tests fail, naming the script.
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { REPO_ROOT } from '../support/repo-root.js';
import { checkMetrics, PROMETHEUS_VERSION, prometheusBinary, startPrometheus, type PrometheusServer } from '../support/prometheus.js';

const valid = [
  '# HELP demo_pods Pods on the node.',
  '# TYPE demo_pods gauge',
  'demo_pods 7',
  '# HELP demo_requests_total Requests served.',
  '# TYPE demo_requests_total counter',
  'demo_requests_total{method="add"} 3',
  '',
].join('\n');

describe('Prometheus tools', () => {
  it('is the version scripts/install-prometheus.sh builds', () => {
    const script = readFileSync(join(REPO_ROOT, 'scripts', 'install-prometheus.sh'), 'utf8');
    expect(/^PROMETHEUS_VERSION=(\S+)$/m.exec(script)?.[1]).toBe(PROMETHEUS_VERSION);
  });

  it('has been built (else: run scripts/setup.sh)', () => {
    prometheusBinary('prometheus');
    prometheusBinary('promtool');
  });

  it('promtool check metrics accepts a valid exposition', async () => {
    const result = await checkMetrics(valid);
    expect(result, result.output).toMatchObject({ ok: true, exitCode: 0 });
  });

  it('promtool check metrics names the lint problems of a bad one', async () => {
    const result = await checkMetrics(['# TYPE demo_requests counter', 'demo_requests 3', ''].join('\n'));
    expect(result.ok).toBe(false);
    expect(result.exitCode).toBe(3);
    expect(result.output).toContain('demo_requests counter metrics should have "_total" suffix');
    expect(result.output).toContain('demo_requests no help text');
  });

  it('promtool check metrics rejects text that does not parse', async () => {
    const result = await checkMetrics('demo_pods{ 7\n');
    expect(result.ok).toBe(false);
    expect(result.output).toContain('text format parsing error');
  });
});

describe('Prometheus server', () => {
  let target: Server | undefined;
  let prometheus: PrometheusServer | undefined;

  beforeAll(async () => {
    const server = createServer((request, response) => {
      if (request.url !== '/metrics') {
        response.writeHead(404).end();
        return;
      }
      // Prometheus 3 refuses a scrape without a Content-Type naming the format.
      response.writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4; charset=utf-8' }).end(valid);
    });
    target = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', resolve);
    });
    const { port } = server.address() as AddressInfo;
    prometheus = await startPrometheus({ targets: [`127.0.0.1:${port}`], scrapeIntervalMs: 1000 });
  });

  afterAll(async () => {
    await prometheus?.stop();
    const server = target;
    if (server !== undefined) await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('scrapes the target and answers the PromQL query demo_pods with 7', async () => {
    if (prometheus === undefined) throw new Error('Prometheus did not start');
    const samples = await prometheus.waitForQuery('demo_pods', (result) => result.length > 0, 45_000);
    expect(samples).toHaveLength(1);
    expect(samples[0]?.value).toBe(7);
    expect(samples[0]?.metric).toMatchObject({ __name__: 'demo_pods', job: 'nativeip-test' });
    // The scrape's own series say the target is up.
    const up = await prometheus.query('up');
    expect(up.map((sample) => sample.value)).toEqual([1]);
  });
});
