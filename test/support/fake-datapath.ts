/** A Datapath that records pods and interfaces in memory, with the real one's idempotence rules. */
import type { Datapath, HostInterfaceSpec, PodNetworkResult, PodNetworkSpec, PodTeardownSpec } from '../../src/ipamd/datapath/types.js';
import { DatapathError } from '../../src/ipamd/datapath/types.js';

export class FakeDatapath implements Datapath {
  readonly pods = new Map<string, PodNetworkSpec>();
  readonly interfaces = new Map<string, HostInterfaceSpec>();
  failNextAdd = false;
  /** Whether host veths keep the alias ADD writes (a real kernel does; false: veths an older version made). */
  keepsAliases = true;

  async setupInterface(spec: HostInterfaceSpec): Promise<void> {
    this.interfaces.set(spec.mac, spec);
  }
  async teardownInterface(spec: HostInterfaceSpec): Promise<void> {
    this.interfaces.delete(spec.mac);
  }
  async addPod(spec: PodNetworkSpec): Promise<PodNetworkResult> {
    if (this.failNextAdd) {
      this.failNextAdd = false;
      throw new DatapathError('create veth', 'simulated failure');
    }
    if (this.pods.has(spec.hostVethName)) throw new DatapathError('create veth', `${spec.hostVethName} exists`);
    // The kernel refuses a second /32 route to the same address (EEXIST).
    const routed = [...this.pods.values()].find((p) => p.address === spec.address);
    if (routed !== undefined) throw new DatapathError('add route', `${spec.address}/32 already routes to ${routed.hostVethName} (EEXIST)`);
    this.pods.set(spec.hostVethName, spec);
    return { hostVeth: { name: spec.hostVethName, mac: '02:aa:00:00:00:01' }, podInterface: { name: spec.podIfName, mac: '02:bb:00:00:00:01' } };
  }
  async delPod(spec: PodTeardownSpec): Promise<void> {
    this.pods.delete(spec.hostVethName);
  }
  /** The kernel's side of a namespace ending: the veth pair, and the /32 route on it, go with it. */
  endNamespace(netnsPath: string): void {
    for (const [name, pod] of this.pods) if (pod.netnsPath === netnsPath) this.pods.delete(name);
  }
  async checkPod(spec: PodNetworkSpec): Promise<string[]> {
    const pod = this.pods.get(spec.hostVethName);
    if (pod === undefined) return [`host veth ${spec.hostVethName} missing`];
    return pod.address === spec.address ? [] : [`pod has ${pod.address}, expected ${spec.address}`];
  }
  async listHostVeths(prefix: string): Promise<string[]> {
    return [...this.pods.keys()].filter((n) => n.startsWith(prefix));
  }
  async listPodRoutes(prefix: string): Promise<{ address: string; hostVeth: string }[]> {
    return [...this.pods.values()]
      .filter((p) => p.hostVethName.startsWith(prefix))
      .map((p) => ({ address: p.address, hostVeth: p.hostVethName, ...(this.keepsAliases && p.hostAlias !== undefined ? { alias: p.hostAlias } : {}) }));
  }
  close(): void {}
}
