/** Renders the daemon's STATUS reply for `nativeip status | interfaces | pods`. Pure. */
import type { StatusResult } from '../rpc/protocol.js';
import { formatTable } from './table.js';

export function renderStatus(s: StatusResult): string {
  const lines = [
    `state:     ${s.state}${s.reason === undefined ? '' : ` (${s.reason})`}`,
    `cloud:     ${s.cloud}`,
    `instance:  ${s.instanceId} (${s.instanceType})${s.maxPods === undefined ? '' : `, max pods ${s.maxPods}`}`,
    `pool:      ${s.pool.total} addresses, ${s.pool.assigned} assigned, ${s.pool.available} available, ${s.pool.coolingDown} cooling down`,
    `interfaces: ${s.interfaces.length}, pods: ${s.pods.length}`,
  ];
  return lines.join('\n');
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
