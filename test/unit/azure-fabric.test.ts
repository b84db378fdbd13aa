import { describe, expect, it } from 'vitest';
import { renderSyncCommands, renderVpcHostVpcSide } from '../../src/emulator/fabric/fabric-commands.js';
import { EMPTY_FABRIC_STATE, planSync } from '../../src/emulator/fabric/fabric-plan.js';
import { startAzureEmulator } from '../../src/emulator/azure/index.js';

describe('Azure fabric planning', () => {
  it('wires every NIC of every VM and routes every IP configuration’s address to its NIC', async () => {
    const emulator = await startAzureEmulator({ seed: 9 });
    try {
      const vm = await emulator.createVm({ name: 'n', nics: 2 });
      const foreign = emulator.addForeignConfig(vm.nicIds[0]!, 'someone-else');
      const { ops } = planSync(EMPTY_FABRIC_STATE, emulator.topology(), 'az-');
      const enis = ops.filter((op) => op.kind === 'add-interface');
      expect(enis.map((op) => (op.kind === 'add-interface' ? [op.nodeLink, op.mac, op.primary !== undefined] : []))).toEqual([
        ['eth0', vm.mac, true],
        ['eth1', expect.stringMatching(/^00:0d:3a:/), false],
      ]);
      const routed = ops.flatMap((op) => (op.kind === 'add-address' ? [[op.vpcLink, op.address]] : []));
      expect(routed).toContainEqual(['n1e0', vm.primaryIp]);
      expect(routed).toContainEqual(['n1e0', foreign]);
      expect(routed.filter(([link]) => link === 'n1e1')).toHaveLength(1);
    } finally {
      await emulator.close();
    }
  });

  it('renders links at the MTU it is given (Azure 1500), EC2’s 9001 by default', () => {
    const op = { kind: 'add-interface', netns: 'az-n1', interfaceId: 'nic', vpcLink: 'n1e0', nodeLink: 'eth0', mac: '00:0d:3a:00:00:01', gateway: '10.1.0.1', primary: undefined } as const;
    expect(renderSyncCommands([op], { mtu: 1500 }).vpcBatch[0]).toBe('link add n1e0 mtu 1500 type veth peer name eth0 mtu 1500 address 00:0d:3a:00:00:01 netns az-n1');
    expect(renderSyncCommands([op], { mtu: 9001 }).vpcBatch[0]).toContain('mtu 9001');
    const host = { hostNetns: 'az-vh', vpcLink: 'vh', hostIp: '10.1.255.254', routerIp: '10.1.0.1' };
    expect(renderVpcHostVpcSide({ ...host, mtu: 1500 })[1]).toContain('mtu 1500 type veth peer name eth0 mtu 1500');
  });
});
