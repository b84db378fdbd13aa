/**
 * Ec2Provider against the EC2 emulator with one lost reply (`replyLost`: EC2 applies the request,
 * then the connection drops) on each mutating action the provider uses, with the SDK's own retries
 * off (the provider sees the failure) and on (the SDK repeats the request). A grow and a shrink
 * run as the pool runs them: a failed step is followed by a reconcile (describeNode) and, if the
 * reconcile shows the step did not land, the step again. Afterwards, and after every reconcile:
 * no ENI made twice or left behind, every address EC2 holds for the node is in the snapshot, no
 * error that is not retryable, and the next call of each kind succeeds.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CloudError, type NodeSnapshot } from '../../src/core/types.js';
import { startAwsEmulator, type AwsEmulator, type LaunchedInstance } from '../../src/emulator/aws/index.js';
import { Ec2Provider } from '../../src/providers/aws/index.js';

const MUTATING_ACTIONS = [
  'CreateNetworkInterface',
  'AttachNetworkInterface',
  'ModifyNetworkInterfaceAttribute',
  'AssignPrivateIpAddresses',
  'UnassignPrivateIpAddresses',
  'DetachNetworkInterface',
  'DeleteNetworkInterface',
  // The provider tags at creation (TagSpecifications), never with CreateTags: this rule never fires.
  'CreateTags',
] as const;

/**
 * The lost replies that still reach the pool as a (retryable) error when the SDK does not repeat
 * the request. A create's ENI is found by its token tag and attached by the next create; an
 * assign's addresses are found by the reconcile (an assign is not idempotent and takes no token,
 * so nothing short of the reconcile can tell which addresses it added). Every other lost reply
 * is recognised by one describe and the work goes on.
 */
const REACHES_THE_POOL: ReadonlySet<string> = new Set(['CreateNetworkInterface', 'AssignPrivateIpAddresses']);

function instanceView(emulator: AwsEmulator, instanceId: string) {
  const view = emulator.topology().instances.find((entry) => entry.instanceId === instanceId);
  if (view === undefined) throw new Error(`emulator has no instance ${instanceId}`);
  return view;
}

/** The snapshot says exactly what EC2 holds for the node: interfaces and every secondary address. */
function expectKnowsEverything(snapshot: NodeSnapshot, emulator: AwsEmulator): void {
  const shape = (id: string, deviceIndex: number, ips: readonly string[]) => ({ id, deviceIndex, secondaryIps: [...ips].sort() });
  expect(snapshot.interfaces.map((eni) => shape(eni.id, eni.deviceIndex, eni.secondaryIps))).toEqual(
    instanceView(emulator, snapshot.instanceId).interfaces.map((eni) => shape(eni.eniId, eni.deviceIndex, eni.secondaryIps)),
  );
}

describe('Ec2Provider with a lost EC2 reply on each mutating action', () => {
  let emulator: AwsEmulator;
  let provider: Ec2Provider | undefined;

  beforeAll(async () => {
    emulator = await startAwsEmulator({ subnets: [{ cidr: '10.0.0.0/22' }], seed: 9 });
  });

  afterEach(() => {
    provider?.close();
    provider = undefined;
    emulator.faults.clear();
    emulator.faults.resetFired();
  });

  afterAll(async () => {
    await emulator.close();
  });

  const cases = MUTATING_ACTIONS.flatMap((action) => [1, 3].map((maxAttempts) => ({ action, maxAttempts })));

  it.each(cases)('$action, SDK attempts $maxAttempts: converges after the next reconcile', async ({ action, maxAttempts }) => {
    const node: LaunchedInstance = await emulator.launchInstance({ instanceType: 'm5.large' });
    const p = new Ec2Provider({
      ec2Endpoint: emulator.ec2Url,
      imdsEndpoint: node.imdsUrl,
      credentials: { accessKeyId: 'AKIDEMULATOR', secretAccessKey: 'emulator-secret' },
      clusterName: 'lost-replies',
      maxAttempts,
      requestLimiter: false,
      detachWait: { attempts: 40, initialDelayMs: 5, maxDelayMs: 20 },
    });
    provider = p;
    const errors: CloudError[] = [];
    /** Runs one pool step; on failure the pool backs off and reconciles, so the error must be retryable. */
    const step = async <T>(run: () => Promise<T>): Promise<{ ok: true; value: T } | { ok: false }> => {
      try {
        return { ok: true, value: await run() };
      } catch (error) {
        if (!(error instanceof CloudError)) throw error;
        errors.push(error);
        return { ok: false };
      }
    };
    /** The reconcile: describeNode, after which the provider must know every address EC2 holds. */
    const reconcile = async (): Promise<NodeSnapshot> => {
      const snapshot = await p.describeNode();
      expectKnowsEverything(snapshot, emulator);
      return snapshot;
    };

    await reconcile();
    emulator.resetCounts();
    emulator.faults.add({ kind: 'replyLost', actions: action, count: 1 });
    const ownEnis = () => [
      ...instanceView(emulator, node.instanceId).interfaces.filter((eni) => eni.deviceIndex > 0).map((eni) => eni.eniId),
      ...emulator.topology().detachedInterfaces.map((eni) => eni.eniId),
    ];

    // Grow: a new ENI with 2 addresses, then 2 more on it.
    const created = await step(() => p.createInterface({ deviceIndex: 1, secondaryCount: 2 }));
    let snapshot = await reconcile();
    if (!created.ok && snapshot.interfaces.length === 1) await p.createInterface({ deviceIndex: 1, secondaryCount: 2 });
    snapshot = await reconcile();
    const eni = snapshot.interfaces.find((entry) => entry.deviceIndex === 1);
    expect(eni, 'the ENI is attached at device 1 after the reconcile').toBeDefined();
    expect(ownEnis(), 'exactly one ENI made, none left detached').toEqual([eni!.id]);
    expect(emulator.callCounts()['CreateNetworkInterface'], 'no ENI thrown away and made again').toBe(maxAttempts === 1 || action !== 'CreateNetworkInterface' ? 1 : 2);
    expect(emulator.callCounts()['DeleteNetworkInterface']).toBeUndefined();

    await step(() => p.assignAddresses(eni!.id, 2));
    snapshot = await reconcile();
    const held = snapshot.interfaces.find((entry) => entry.id === eni!.id)!.secondaryIps;
    expect(held.length).toBeGreaterThanOrEqual(4);

    // Shrink: give back every address, then the ENI.
    if (!(await step(() => p.releaseAddresses(eni!.id, held))).ok) {
      snapshot = await reconcile();
      const still = snapshot.interfaces.find((entry) => entry.id === eni!.id)!.secondaryIps;
      if (still.length > 0) await p.releaseAddresses(eni!.id, still);
    }
    snapshot = await reconcile();
    expect(snapshot.interfaces.find((entry) => entry.id === eni!.id)!.secondaryIps).toEqual([]);

    if (!(await step(() => p.deleteInterface(eni!.id))).ok) {
      snapshot = await reconcile();
      if (snapshot.interfaces.some((entry) => entry.id === eni!.id) || ownEnis().length > 0) await p.deleteInterface(eni!.id);
    }
    snapshot = await reconcile();
    expect(snapshot.interfaces.map((entry) => entry.id)).toEqual([node.primaryEni]);
    expect(ownEnis(), 'nothing left behind').toEqual([]);

    // Nothing sticks: the fault fired once (but for CreateTags), every error was retryable, and the
    // next call of each kind succeeds.
    expect(emulator.faults.fired().total).toBe(action === 'CreateTags' ? 0 : 1);
    expect(errors.filter((error) => !error.retryable), 'no error that sticks').toEqual([]);
    expect(errors.map((error) => error.cloudCode)).toEqual(maxAttempts === 1 && REACHES_THE_POOL.has(action) ? ['TimeoutError'] : []);
    const again = await p.createInterface({ deviceIndex: 1, secondaryCount: 1 });
    await p.assignAddresses(again.id, 1);
    await p.deleteInterface(again.id);
    expectKnowsEverything(await p.describeNode(), emulator);
    if (process.env['LOST_REPLIES_LOG'] !== undefined) console.log(action, maxAttempts, errors.map((error) => `${error.code}: ${error.message}`), emulator.callCounts());
  });
});
