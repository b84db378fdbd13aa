import { describe, expect, it } from 'vitest';
import {
  renderInternetNft,
  renderInternetSide,
  renderInternetVpcSide,
  renderNftRuleset,
  renderSyncCommands,
} from '../../src/emulator/fabric/fabric-commands.js';
import { netnsCommand } from '../../src/emulator/fabric/netns-exec.js';

describe('renderSyncCommands', () => {
  it('renders a new node with its primary ENI', () => {
    const commands = renderSyncCommands([
      { kind: 'add-node', instanceId: 'i-1', netns: 'fab-n1' },
      {
        kind: 'add-interface',
        netns: 'fab-n1',
        interfaceId: 'eni-a',
        vpcLink: 'n1e0',
        nodeLink: 'eth0',
        mac: '02:00:00:00:00:0a',
        gateway: '10.0.1.1',
        primary: { address: '10.0.1.10', prefixLength: 24, gateway: '10.0.1.1' },
      },
      { kind: 'add-address', vpcLink: 'n1e0', mac: '02:00:00:00:00:0a', address: '10.0.1.10' },
    ], { mtu: 9001 });
    expect(commands.netnsToAdd).toEqual(['fab-n1']);
    expect(commands.vpcBatch).toEqual([
      'link add n1e0 mtu 9001 type veth peer name eth0 mtu 9001 address 02:00:00:00:00:0a netns fab-n1',
      'link set n1e0 up',
      'addr add 10.0.1.1/32 dev n1e0',
      'ntable change name arp_cache dev n1e0 proxy_delay 0',
      'route replace 10.0.1.10/32 dev n1e0',
      'neigh replace 10.0.1.10 lladdr 02:00:00:00:00:0a dev n1e0 nud permanent',
    ]);
    expect(commands.nodeBatches.get('fab-n1')).toEqual([
      'link set lo up',
      'addr add 10.0.1.10/24 dev eth0',
      'link set eth0 up',
      'route add default via 10.0.1.1 dev eth0',
    ]);
    expect(commands.nftScript).toBe(
      'add element ip nativeip_fabric eni_sources { "n1e0" . 10.0.1.10 }\nadd element ip nativeip_fabric igw_sources { 10.0.1.10 }\n',
    );
    expect(commands.netnsToDelete).toEqual([]);
  });

  it('leaves a secondary ENI without node-side configuration', () => {
    const commands = renderSyncCommands([
      { kind: 'add-interface', netns: 'fab-n1', interfaceId: 'eni-b', vpcLink: 'n1e1', nodeLink: 'eth1', mac: '02:00:00:00:00:0b', gateway: '10.0.1.1', primary: undefined },
    ], { mtu: 9001 });
    expect(commands.nodeBatches.size).toBe(0);
    expect(commands.vpcBatch[0]).toBe('link add n1e1 mtu 9001 type veth peer name eth1 mtu 9001 address 02:00:00:00:00:0b netns fab-n1');
  });

  it('removes source-check entries with the link and deletes the namespace last', () => {
    const commands = renderSyncCommands([
      { kind: 'remove-address', vpcLink: 'n2e0', address: '10.0.1.40' },
      { kind: 'remove-interface', netns: 'fab-n1', interfaceId: 'eni-a', vpcLink: 'n1e0', addresses: ['10.0.1.10', '10.0.1.20'] },
      { kind: 'remove-node', instanceId: 'i-1', netns: 'fab-n1' },
    ], { mtu: 9001 });
    expect(commands.nftScript).toBe(
      'delete element ip nativeip_fabric eni_sources { "n2e0" . 10.0.1.40, "n1e0" . 10.0.1.10, "n1e0" . 10.0.1.20 }\n',
    );
    expect(commands.vpcBatch).toEqual(['neigh del 10.0.1.40 dev n2e0', 'route del 10.0.1.40/32 dev n2e0', 'link del n1e0']);
    expect(commands.netnsToDelete).toEqual(['fab-n1']);
  });

  it('renders nothing for no operations', () => {
    const commands = renderSyncCommands([], { mtu: 9001 });
    expect([commands.nftScript, commands.vpcBatch.length, commands.nodeBatches.size, commands.netnsToAdd.length]).toEqual(['', 0, 0, 0]);
  });

  it('drops and counts forwarded packets not in the source set', () => {
    const ruleset = renderNftRuleset();
    expect(ruleset).toContain('type filter hook forward priority 0; policy accept;');
    expect(ruleset).toContain('iifname . ip saddr @eni_sources accept');
    expect(ruleset).toContain('counter name "dropped" drop');
  });

  it('lets only public sources through the internet gateway, in a second forward chain', () => {
    const ruleset = renderNftRuleset();
    expect(ruleset).toContain('type filter hook forward priority 10; policy accept;');
    expect(ruleset).toContain('oifname "inet" ip saddr != @igw_sources counter name "igw_dropped" drop');
  });

  it('withdraws the public source of a removed device-0 ENI', () => {
    const commands = renderSyncCommands([
      { kind: 'remove-interface', netns: 'fab-n1', interfaceId: 'eni-a', vpcLink: 'n1e0', addresses: ['10.0.1.10'], publicSource: '10.0.1.10' },
    ], { mtu: 9001 });
    expect(commands.nftScript).toBe(
      'delete element ip nativeip_fabric eni_sources { "n1e0" . 10.0.1.10 }\ndelete element ip nativeip_fabric igw_sources { 10.0.1.10 }\n',
    );
  });

  it('wires the internet host behind the gateway and records who it hears from', () => {
    const inet = { netns: 'fab-inet', hostIp: '203.0.113.10', gatewayIp: '203.0.113.1', mtu: 9001 };
    expect(renderInternetVpcSide(inet)).toContain('route replace 203.0.113.10/32 dev inet');
    expect(renderInternetSide(inet)).toContain('route add default via 203.0.113.1 dev eth0');
    const nft = renderInternetNft(inet);
    expect(nft.vpc).toBe('add element ip nativeip_fabric eni_sources { "inet" . 203.0.113.10 }\n');
    expect(nft.internet).toContain('add @seen { ip saddr }');
  });
});

describe('netnsCommand', () => {
  it.each([
    ['fab-n1', ['ip', 'netns', 'exec', 'fab-n1']],
    ['/run/netns/fab-n1', ['ip', 'netns', 'exec', 'fab-n1']],
    ['/proc/42/ns/net', ['nsenter', '--net=/proc/42/ns/net', '--']],
  ])('%s', (netns, argv) => {
    expect(netnsCommand(netns)).toEqual(argv);
  });
});
