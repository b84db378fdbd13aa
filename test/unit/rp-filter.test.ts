import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { defaultRouteInterface, loosenRpFilter } from '../../src/cli/rp-filter.js';
import { parseInstallCniArgs } from '../../src/cli/install-cni.js';

const ROUTES = `Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT
ens5\t0000000A\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0
ens5\t00000000\t0100000A\t0003\t0\t0\t0\t00000000\t0\t0\t0
`;

describe('rp_filter on the primary interface', () => {
  let proc: string;
  beforeEach(async () => {
    proc = await mkdtemp(join(tmpdir(), 'nativeip-proc-'));
    await mkdir(join(proc, 'net'), { recursive: true });
    await mkdir(join(proc, 'sys/net/ipv4/conf/ens5'), { recursive: true });
  });
  afterEach(() => rm(proc, { recursive: true, force: true }));

  it('finds the default route’s interface, and none without a default route', () => {
    expect(defaultRouteInterface(ROUTES)).toBe('ens5');
    expect(defaultRouteInterface(ROUTES.split('\n').slice(0, 2).join('\n'))).toBeUndefined();
  });

  it('loosens strict (1) to 2 and leaves 0 and 2 alone', async () => {
    await writeFile(join(proc, 'net/route'), ROUTES);
    const file = join(proc, 'sys/net/ipv4/conf/ens5/rp_filter');
    await writeFile(file, '1\n');
    expect(await loosenRpFilter(proc)).toEqual({ kind: 'loosened', iface: 'ens5' });
    expect((await readFile(file, 'utf8')).trim()).toBe('2');
    expect(await loosenRpFilter(proc)).toEqual({ kind: 'unchanged', iface: 'ens5', value: '2' });
    await writeFile(file, '0\n');
    expect(await loosenRpFilter(proc)).toEqual({ kind: 'unchanged', iface: 'ens5', value: '0' });
  });

  it('is an install-cni switch, off unless given', () => {
    expect(parseInstallCniArgs(['--rp-filter-loose']).rpFilterLoose).toBe(true);
    expect(parseInstallCniArgs([]).rpFilterLoose).toBeUndefined();
  });
});
