/** Renders the daemon's STATUS reply for `nativeip status | interfaces | pods`. Pure. */
import type { StatusResult, WarmPoolStatus } from '../rpc/protocol.js';
import { formatTable } from './table.js';

export function renderStatus(s: StatusResult): string {
  const lines = [
    `state:     ${s.state}${s.reason === undefined ? '' : ` (${s.reason})`}`,
    `cloud:     ${s.cloud}`,
    `instance:  ${s.instanceId} (${s.instanceType})${s.maxPods === undefined ? '' : `, max pods ${s.maxPods}`}`,
    `pool:      ${s.pool.total} addresses, ${s.pool.assigned} assigned, ${s.pool.available} available, ${s.pool.coolingDown} cooling down`,
    ...(s.grow === undefined ? [] : [`growing:   ${s.grow.doing} (for ${formatSeconds(s.grow.forMs)})`]),
    ...(s.warmPool === undefined ? [] : [`warm pool: ${renderWarmPool(s.warmPool)}`]),
    `interfaces: ${s.interfaces.length}, pods: ${s.pods.length}`,
  ];
  return lines.join('\n');
}

const POLICY_NAMES: Readonly<Record<WarmPoolStatus['policy'], string>> = {
  adaptive: 'adaptive default',
  eni: 'WARM_ENI_TARGET',
  ip: 'WARM_IP_TARGET / MINIMUM_IP_TARGET',
  prefix: 'prefix delegation',
};

function renderWarmPool(w: WarmPoolStatus): string {
  const name = POLICY_NAMES[w.policy];
  const knobs = Object.entries(w.knobs ?? {}).map(([k, v]) => `${k}=${v}`);
  if (w.low === undefined || w.high === undefined) return knobs.length === 0 ? name : `${name}: ${knobs.join(', ')}`;
  const rate = w.arrivalsPerMinute === undefined ? '' : `, ${w.arrivalsPerMinute} pods/min at the busiest recent rate`;
  const floor = w.startupFloor === undefined ? '' : ` (a new node: at least ${w.startupFloor} for its first minutes)`;
  return `${name}: grows below ${w.low} free addresses, up to ${w.high}${floor}${w.burst === true ? ' (a burst is arriving)' : ''}${rate}`;
}

function formatSeconds(ms: number): string {
  return ms < 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms / 1000)} s`;
}

export function renderInterfaces(s: StatusResult): string {
  return formatTable(
    ['INTERFACE', 'DEVICE', 'SUBNET', 'ADDRESSES', 'ASSIGNED'],
    s.interfaces.map((i) => [i.id, String(i.deviceIndex), i.subnetId, String(i.addresses), String(i.assigned)]),
  );
}

export function renderPods(s: StatusResult): string {
  return formatTable(
    ['POD', 'CONTAINER', 'IFNAME', 'ADDRESS', 'INTERFACE'],
    s.pods.map((p) => [
      p.podNamespace !== undefined && p.podName !== undefined ? `${p.podNamespace}/${p.podName}` : '-',
      p.containerId.slice(0, 12),
      p.ifName,
      p.address,
      p.interfaceId,
    ]),
  );
}
