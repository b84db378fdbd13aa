/**
 * The cluster agent against a port that keeps what it is told (no API server): writes only while
 * the watches are synced and never on the ADD path, coalesced, and a restarted daemon that finds
 * its predecessor's taint on the Node keeps it under the same hysteresis instead of removing it.
 */
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../src/sim/virtual-clock.js';
import type { NodeAvailability } from '../../src/core/node-availability.js';
import { CloudCallCounter } from '../../src/ipamd/pool/cloud-call-counter.js';
import { ClusterAgent } from '../../src/ipamd/cluster/cluster-agent.js';
import type { ClusterEvents, ClusterNode, ClusterPod, ClusterPort, NativeipNodeStatus, PodWarning } from '../../src/ipamd/cluster/cluster-port.js';
import type { PoolManager } from '../../src/ipamd/pool/pool-manager.js';
import { serviceStatus } from '../../src/ipamd/service/service-status.js';
import { FakeCloud } from '../support/fake-cloud.js';
import { fakePool } from '../support/fake-pool.js';

class RecordingPort implements ClusterPort {
  readonly nodeName = 'node-a';
  isSynced = true;
  clusterNode: ClusterNode | undefined = { name: 'node-a', uid: 'u', capacityPods: 110 };
  readonly availability: NodeAvailability[] = [];
  readonly statuses: NativeipNodeStatus[] = [];
  events: ClusterEvents | undefined;
  start(events: ClusterEvents): void {
    this.events = events;
  }
  async close(): Promise<void> {}
  synced(): boolean {
    return this.isSynced;
  }
  node(): ClusterNode | undefined {
    return this.clusterNode;
  }
  pods(): readonly ClusterPod[] {
    return [];
  }
  async writeAvailability(availability: NodeAvailability): Promise<void> {
    this.availability.push(availability);
  }
  async writeNodeStatus(status: NativeipNodeStatus): Promise<void> {
    this.statuses.push(status);
  }
  async writePodWarning(_warning: PodWarning, existing: string | undefined): Promise<string> {
    return existing ?? 'event-1';
  }
}

/** A node whose 3 interfaces × 2 secondary addresses are all assigned: exhausted (InterfaceLimit). */
async function exhaustedNode(clock: VirtualClock) {
  const { pool } = fakePool({ cloud: new FakeCloud({ maxInterfaces: 3, ipv4PerInterface: 3 }), clock, targets: { warmEniTarget: 1 } });
  await clock.drive(pool.start());
  for (let i = 0; i < 6; i++) await clock.drive(pool.acquire(`pod-${i}`), { stepMs: 100 });
  return pool;
}

function agentOf(port: RecordingPort, pool: PoolManager, clock: VirtualClock): ClusterAgent {
  return new ClusterAgent({
    port,
    pool,
    status: () => serviceStatus(pool, [], clock.now()),
    releaseEndedPods: async () => 0,
    holdLivePodAddresses: () => undefined,
    cloudCalls: new CloudCallCounter(),
    logger: pino({ level: 'silent' }),
    taint: true,
    clock: clock.now,
    tickMs: 60_000,
  });
}

async function tickFor(agent: ClusterAgent, clock: VirtualClock, ms: number): Promise<void> {
  for (let t = 0; t < ms; t += 500) {
    await agent.tick();
    await clock.runUntil(clock.now() + 500);
  }
}

describe('ClusterAgent', () => {
  it('taints an exhausted node once, after the settle time, and writes the same availability only once', async () => {
    const clock = new VirtualClock(1_000_000);
    const pool = await exhaustedNode(clock);
    const port = new RecordingPort();
    const agent = agentOf(port, pool, clock);
    agent.start();
    agent.activate();
    await tickFor(agent, clock, 30_000);
    expect(port.availability.map((a) => a.taint ?? 'none')).toEqual(['none', 'InterfaceLimit']);
    expect(port.availability.at(-1)).toMatchObject({ available: false, reason: 'InterfaceLimit' });
    expect(port.statuses.length).toBeLessThanOrEqual(2);
    await agent.close();
  });

  it('writes nothing while the watches are not synced (API away), and catches up once they are', async () => {
    const clock = new VirtualClock(1_000_000);
    const pool = await exhaustedNode(clock);
    const port = new RecordingPort();
    port.isSynced = false;
    const agent = agentOf(port, pool, clock);
    agent.start();
    agent.activate();
    await tickFor(agent, clock, 20_000);
    expect(port.availability).toEqual([]);
    expect(port.statuses).toEqual([]);
    port.isSynced = true;
    await tickFor(agent, clock, 5_000);
    expect(port.availability.at(-1)?.taint).toBe('InterfaceLimit');
    expect(port.statuses).toHaveLength(1);
    await agent.close();
  });

  it('keeps the taint a predecessor left while the node is still exhausted (no remove-then-set)', async () => {
    const clock = new VirtualClock(1_000_000);
    const pool = await exhaustedNode(clock);
    const port = new RecordingPort();
    port.clusterNode = { name: 'node-a', uid: 'u', capacityPods: 110, taint: 'InterfaceLimit' };
    const agent = agentOf(port, pool, clock);
    agent.start();
    agent.activate();
    port.events!.changed();
    await tickFor(agent, clock, 30_000);
    expect(port.availability.map((a) => a.taint ?? 'none')).toEqual(['InterfaceLimit']);
    await agent.close();
  });

  it('removes a predecessor’s taint from a node that can serve again, after the minimum taint time', async () => {
    const clock = new VirtualClock(1_000_000);
    const pool = await exhaustedNode(clock);
    pool.release('pod-0', { used: false, cooldownMs: 0 });
    const port = new RecordingPort();
    port.clusterNode = { name: 'node-a', uid: 'u', capacityPods: 110, taint: 'InterfaceLimit' };
    const agent = agentOf(port, pool, clock);
    agent.start();
    agent.activate();
    port.events!.changed();
    await tickFor(agent, clock, 30_000);
    expect(port.availability.map((a) => a.taint ?? 'none')).toEqual(['InterfaceLimit', 'none']);
    expect(port.availability.at(-1)).toMatchObject({ available: true });
    await agent.close();
  });
});
