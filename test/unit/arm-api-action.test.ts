import { describe, expect, it } from 'vitest';
import { armApiAction } from '../../src/providers/azure/arm-gateway.js';

const base = 'https://management.azure.com/subscriptions/s1/resourceGroups/rg';

describe('armApiAction (the api label of a request to ARM)', () => {
  it.each([
    ['PUT', `${base}/providers/Microsoft.Network/networkInterfaces/nic-1?api-version=2024-05-01`, 'PUT networkInterfaces'],
    ['GET', `${base}/providers/Microsoft.Compute/virtualMachines/vm-1?api-version=2024-07-01`, 'GET virtualMachines'],
    ['GET', `${base}/providers/Microsoft.Compute/virtualMachineScaleSets/ss/virtualMachines/3/networkInterfaces/nic`, 'GET networkInterfaces'],
    ['GET', 'https://management.azure.com/subscriptions/s1/providers/Microsoft.Network/locations/eastus/operations/op-1', 'GET operations'],
    ['GET', `${base}/providers/Microsoft.Network/networkInterfaces?api-version=1`, 'GET networkInterfaces'],
    ['GET', 'https://management.azure.com/subscriptions/s1', 'GET subscriptions'],
  ])('%s %s → %s', (method, url, action) => {
    expect(armApiAction(method, url)).toBe(action);
  });
});
