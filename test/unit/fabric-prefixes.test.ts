import { describe, expect, it } from 'vitest';
import { renderNftRuleset, renderSyncCommands } from '../../src/emulator/fabric/fabric-commands.js';
import { EMPTY_FABRIC_STATE, planSync, type FabricTopology, type FabricTopologyInterface } from '../../src/emulator/fabric/fabric-plan.js';

function eni(deviceIndex: number, primaryIp: string, prefixes?: string[]): FabricTopologyInterface {
  return {
    interfaceId: `eni-${deviceIndex}`,
    mac: `02:00:00:00:00:0${deviceIndex}`,
    deviceIndex,
    subnetCidr: '10.0.0.0/20',
    gateway: '10.0.0.1',
    primaryIp,
    secondaryIps: [],
    ...(prefixes === undefined ? {} : { prefixes }),
  };
}

function topo(interfaces: FabricTopologyInterface[]): FabricTopology {
  return { networkCidr: '10.0.0.0/16', instances: [{ instanceId: 'i-1', interfaces }] };
}

describe('planSync with delegated prefixes', () => {
  it('routes each prefix of a new ENI as a whole, via the ENI primary address', () => {
    const { ops, next } = planSync(EMPTY_FABRIC_STATE, topo([eni(0, '10.0.0.10', ['10.0.0.48/28', '10.0.0.16/28'])]), 'fab-');
    expect(ops.filter((o) => o.kind === 'add-prefix')).toEqual([
      { kind: 'add-prefix', vpcLink: 'n1e0', via: '10.0.0.10', prefix: '10.0.0.16/28' },
      { kind: 'add-prefix', vpcLink: 'n1e0', via: '10.0.0.10', prefix: '10.0.0.48/28' },
    ]);
    expect(next.nodes.get('i-1')?.interfaces.get('eni-0')?.prefixes).toEqual(['10.0.0.16/28', '10.0.0.48/28']);
  });

  it('adds and removes prefixes on a wired ENI, removals first, and is then a no-op', () => {
    const before = planSync(EMPTY_FABRIC_STATE, topo([eni(0, '10.0.0.10'), eni(1, '10.0.0.11', ['10.0.0.16/28'])]), 'fab-').next;
    const after = topo([eni(0, '10.0.0.10'), eni(1, '10.0.0.11', ['10.0.0.32/28'])]);
    const { ops, next } = planSync(before, after, 'fab-');
    expect(ops).toEqual([
      { kind: 'remove-prefix', vpcLink: 'n1e1', prefix: '10.0.0.16/28' },
      { kind: 'add-prefix', vpcLink: 'n1e1', via: '10.0.0.11', prefix: '10.0.0.32/28' },
    ]);
    expect(planSync(next, after, 'fab-').ops).toEqual([]);
  });

  it('takes the prefixes source-check entries away with a detached ENI', () => {
    const before = planSync(EMPTY_FABRIC_STATE, topo([eni(0, '10.0.0.10'), eni(1, '10.0.0.11', ['10.0.0.16/28'])]), 'fab-').next;
    const { ops } = planSync(before, topo([eni(0, '10.0.0.10')]), 'fab-');
    expect(ops).toEqual([
      { kind: 'remove-interface', netns: 'fab-n1', interfaceId: 'eni-1', vpcLink: 'n1e1', addresses: ['10.0.0.11'], prefixes: ['10.0.0.16/28'] },
    ]);
  });
});

describe('renderSyncCommands with delegated prefixes', () => {
  it('routes the /28 to the ENI link and lets its addresses through from that link only', () => {
    const commands = renderSyncCommands([{ kind: 'add-prefix', vpcLink: 'n1e1', via: '10.0.0.11', prefix: '10.0.0.16/28' }], { mtu: 9001 });
    expect(commands.vpcBatch).toEqual(['route replace 10.0.0.16/28 via 10.0.0.11 dev n1e1 onlink']);
    expect(commands.nftScript).toBe('add element ip nativeip_fabric eni_prefixes { "n1e1" . 10.0.0.16/28 }\n');
  });

  it('withdraws the route and the source-check interval', () => {
    const commands = renderSyncCommands([
      { kind: 'remove-prefix', vpcLink: 'n1e1', prefix: '10.0.0.16/28' },
      { kind: 'remove-interface', netns: 'fab-n1', interfaceId: 'eni-2', vpcLink: 'n1e2', addresses: ['10.0.0.12'], prefixes: ['10.0.0.64/28'] },
    ], { mtu: 9001 });
    expect(commands.vpcBatch).toEqual(['route del 10.0.0.16/28 dev n1e1', 'link del n1e2']);
    expect(commands.nftScript).toBe(
      'delete element ip nativeip_fabric eni_sources { "n1e2" . 10.0.0.12 }\n' +
        'delete element ip nativeip_fabric eni_prefixes { "n1e1" . 10.0.0.16/28, "n1e2" . 10.0.0.64/28 }\n',
    );
  });

  it('accepts sources in an interval set keyed by the arriving link, before the counted drop', () => {
    const ruleset = renderNftRuleset();
    expect(ruleset).toContain('set eni_prefixes { type ifname . ipv4_addr; flags interval; }');
    expect(ruleset.indexOf('iifname . ip saddr @eni_prefixes accept')).toBeGreaterThan(0);
    expect(ruleset.indexOf('iifname . ip saddr @eni_prefixes accept')).toBeLessThan(ruleset.indexOf('counter name "dropped" drop'));
  });
});
