/**
 * A grow that stalls (EC2 holds the assign for two minutes): `nativeip status` says what the grow
 * is doing and for how long, the metrics say a grow is in progress, and SIGTERM does not wait for
 * it — the daemon leaves it recorded and exits while EC2 still holds the request; the next daemon
 * serves pods once EC2 answers again.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClusterNode } from '../../src/demo/emulated-cluster.js';
import { startAwsCluster, type AwsCluster } from '../../src/emulator/aws/cluster.js';
import { renderStatus } from '../../src/cli/daemon-views.js';
import { parseFaultSpec } from '../../src/emulator/faults/index.js';
import { DIST_BIN, e2eSkipReason } from './support/cnitool.js';
import { tearDownCluster } from './support/cluster.js';
import { sampleSum, scrape } from '../support/metrics-text.js';
import { waitFor } from '../support/wait-for.js';

const HOLD_MS = 120_000;
const skip = e2eSkipReason();
if (skip !== undefined) console.warn(`skipping stalled-grow e2e: ${skip}`);

describe.skipIf(skip !== undefined)('a stalled grow', () => {
  let workDir: string;
  let cluster: AwsCluster | undefined;
  const node = (): ClusterNode => cluster!.nodes[0]!;

  beforeAll(async () => {
    workDir = await mkdtemp(join(tmpdir(), 'nativeip-stall-'));
    cluster = await startAwsCluster({
      prefix: 'stl-',
      nodes: 1,
      instanceType: 't3.medium',
      binDir: DIST_BIN,
      workDir,
      emulator: { faults: parseFaultSpec(`latency@AssignPrivateIpAddresses|CreateNetworkInterface,delayMs=${HOLD_MS}`) },
    });
  }, 120_000);

  afterAll(async () => {
    await tearDownCluster(cluster, [], workDir);
    await rm(workDir, { recursive: true, force: true });
  }, 200_000);

  it('nativeip status says what the grow is doing and for how long', async () => {
    const status = await waitFor('the stalled grow to show for 2 s', async () => {
      const s = await cluster!.status(node());
      return s.grow !== undefined && s.grow.forMs >= 2_000 ? s : undefined;
    }, { timeoutMs: 30_000, intervalMs: 250 });
    expect(status.state).toBe('growing');
    expect(status.grow!.doing).toMatch(/^assigning \d+ addresses to eni-/);
    const text = renderStatus(status);
    console.log(text);
    expect(text).toMatch(/growing: {3}assigning \d+ addresses to eni-\S+ \(for \d+\.\d s\)/);
    expect(sampleSum((await scrape(node().metricsAddress)).samples, 'nativeip_grow_in_progress')).toBe(1);
  }, 60_000);

  it('SIGTERM leaves the grow recorded and exits while EC2 still holds it; the next daemon serves once EC2 answers', async () => {
    const started = Date.now();
    await cluster!.stopDaemon(node(), 'SIGTERM');
    const stoppedMs = Date.now() - started;
    console.log(`stopped in ${stoppedMs} ms with the grow held by EC2 for ${HOLD_MS} ms`);
    // EC2 still holds the request: the daemon did not wait for it.
    expect(stoppedMs).toBeLessThan(HOLD_MS);
    const log = await readFile(node().logFile, 'utf8');
    expect(log).toContain('stopping with work under way');
    cluster!.emulator.faults.clear();
    await cluster!.startDaemon(node());
    const ready = await cluster!.waitForPool(node(), 1, 60_000);
    expect(ready.state).toBe('ready');
  }, 200_000);
});
