/** A CloudProvider that keeps real state in memory: limits, a finite subnet, call counts. */
import { CloudError, type CloudInterface, type CloudProvider, type CreateInterfaceOptions, type NodeSnapshot } from '../../src/core/types.js';

export interface FakeCloudOptions {
  maxInterfaces?: number;
  ipv4PerInterface?: number;
  /** Free addresses in the subnet. */
  subnetFree?: number;
}

interface MutableInterface {
  id: string;
  deviceIndex: number;
  primaryIp: string;
  secondaryIps: string[];
  managed: boolean;
}

export class FakeCloud implements CloudProvider {
  readonly name = 'fake';
  readonly calls: Record<string, number> = {};
  readonly limits: { maxInterfaces: number; ipv4PerInterface: number };
  readonly interfaces: MutableInterface[] = [];
  /** When set, the next mutating call fails with it. */
  failNext: CloudError | undefined;
  #next = 10;
  #subnetFree: number;

  constructor(options: FakeCloudOptions = {}) {
    this.limits = { maxInterfaces: options.maxInterfaces ?? 3, ipv4PerInterface: options.ipv4PerInterface ?? 4 };
    this.#subnetFree = options.subnetFree ?? 200;
    this.interfaces.push({ id: 'eni-0', deviceIndex: 0, primaryIp: this.#address(), secondaryIps: [], managed: false });
  }

  async describeNode(): Promise<NodeSnapshot> {
    this.#count('describeNode');
    return {
      instanceId: 'i-fake',
      instanceType: 'fake.large',
      primaryIp: this.interfaces[0]?.primaryIp ?? '',
      vpcCidrs: ['10.0.0.0/16'],
      limits: this.limits,
      interfaces: this.interfaces.map((i) => this.#view(i)),
    };
  }

  async assignAddresses(interfaceId: string, count: number): Promise<string[]> {
    this.#count('assignAddresses');
    this.#maybeFail();
    const target = this.#find(interfaceId);
    if (target.secondaryIps.length + 1 + count > this.limits.ipv4PerInterface) {
      throw new CloudError('AddressLimit', `interface ${interfaceId} would exceed ${this.limits.ipv4PerInterface} addresses`);
    }
    const added = Array.from({ length: count }, () => this.#address());
    target.secondaryIps.push(...added);
    return added;
  }

  async createInterface(options: CreateInterfaceOptions): Promise<CloudInterface> {
    this.#count('createInterface');
    this.#maybeFail();
    if (this.interfaces.length >= this.limits.maxInterfaces) throw new CloudError('InterfaceLimit', 'attachment limit exceeded');
    const created: MutableInterface = {
      id: `eni-${options.deviceIndex}`,
      deviceIndex: options.deviceIndex,
      primaryIp: this.#address(),
      secondaryIps: Array.from({ length: options.secondaryCount }, () => this.#address()),
      managed: true,
    };
    this.interfaces.push(created);
    return this.#view(created);
  }

  async releaseAddresses(interfaceId: string, addresses: readonly string[]): Promise<void> {
    this.#count('releaseAddresses');
    this.#maybeFail();
    const target = this.#find(interfaceId);
    target.secondaryIps = target.secondaryIps.filter((a) => !addresses.includes(a));
  }

  async deleteInterface(interfaceId: string): Promise<void> {
    this.#count('deleteInterface');
    this.#maybeFail();
    const index = this.interfaces.findIndex((i) => i.id === interfaceId);
    if (index >= 0) this.interfaces.splice(index, 1);
  }

  allSecondaryIps(): string[] {
    return this.interfaces.flatMap((i) => i.secondaryIps);
  }

  #address(): string {
    if (this.#subnetFree <= 0) throw new CloudError('SubnetExhausted', 'subnet subnet-fake has no free addresses', { cloudCode: 'InsufficientFreeAddressesInSubnet' });
    this.#subnetFree -= 1;
    const n = this.#next++;
    return `10.0.${Math.floor(n / 250)}.${n % 250}`;
  }

  #maybeFail(): void {
    const failure = this.failNext;
    this.failNext = undefined;
    if (failure !== undefined) throw failure;
  }

  #find(interfaceId: string): MutableInterface {
    const found = this.interfaces.find((i) => i.id === interfaceId);
    if (found === undefined) throw new CloudError('NotFound', `interface ${interfaceId} not found`);
    return found;
  }

  #count(call: string): void {
    this.calls[call] = (this.calls[call] ?? 0) + 1;
  }

  #view(i: MutableInterface): CloudInterface {
    return {
      id: i.id,
      mac: `02:00:00:00:00:${i.deviceIndex.toString(16).padStart(2, '0')}`,
      deviceIndex: i.deviceIndex,
      subnetId: 'subnet-fake',
      subnetCidr: '10.0.0.0/16',
      primaryIp: i.primaryIp,
      secondaryIps: [...i.secondaryIps],
      managed: i.managed,
    };
  }
}
