/**
 * The Datapath on the real kernel, over rtnetlink. Long-lived sockets in the host namespace;
 * a short-lived one inside a pod's namespace per addPod / checkPod; host links are deleted by a
 * worker thread (LinkReaper) so the kernel's slow veth deletion never stalls the event loop.
 */
import { sleep } from '../../core/sleep.js';
import { randomBytes } from 'node:crypto';
import {
  DatapathError,
  type Datapath,
  type HostInterfaceSpec,
  type PodNetworkResult,
  type PodFromRuleSpec,
  type PodLeftoverQuery,
  type PodNetworkSpec,
  type PodTeardownSpec,
} from './types.js';
import { findPodLeftovers, findPodRoutes, podRouteAddresses, type KernelPodRoute } from './leftovers.js';
import { rewritePodFromRules, syncNodePortRule, type HostRuleAccess } from './host-rules-netlink.js';
import { describe, planInterface, planPod, planPodTeardown, type PlanObject } from './plan.js';
import { applyHostPlan, applyPodPlan, deleteMatchingRules, removeAll, type Removal } from './apply.js';
import { diffPlan, type PodSideState } from './check.js';
import { describeFailure } from './errno.js';
import { localMac, normalizeMac } from './mac.js';
import type { KernelLink, NamespaceState } from './kernel-state.js';
import { LinkReaper } from './link-reaper.js';
import { SILENT_LOGGER } from '../../core/silent-logger.js';
import type { DatapathLogger } from './logger.js';
import { NetnsError, withNetns } from './netns.js';
import { SerialQueue } from '../../core/serial-queue.js';
import {
  closeSocket,
  deleteAddress,
  deleteLinkByName,
  deleteRoute,
  deleteRule,
  listAddresses,
  listLinks,
  listNeighbours,
  listRoutes,
  listRules,
  openSocket,
  ROUTE_PROTOCOL,
  type RtNetlinkSocket,
} from './rtnl.js';

export interface NetlinkDatapathOptions {
  /**
   * Network namespace to treat as the host (the test fabric runs the daemon in the root namespace
   * and a node as a namespace). Default: the daemon's own namespace.
   */
  readonly hostNetnsPath?: string;
  readonly logger?: DatapathLogger;
  /** Poll interval while setupInterface waits for a link to appear. Default 100 ms. */
  readonly linkPollMs?: number;
}

const DEFAULT_ATTACH_TIMEOUT_MS = 30_000;


/** NetnsError messages already say what is wrong with the path; others get errno text. */
function reason(err: unknown): string {
  return err instanceof NetnsError ? err.message : describeFailure(err);
}

function randomMacs(): { host: string; pod: string } {
  const bytes = randomBytes(12);
  return { host: localMac(bytes.subarray(0, 6)), pod: localMac(bytes.subarray(6, 12)) };
}

/**
 * Two host sockets: requests (pipelined, concurrent across pods) on one, dumps (one at a time)
 * on the other, so a dump never shares its socket with another reply (see SerialQueue).
 */
export class NetlinkDatapath implements Datapath {
  readonly #host: RtNetlinkSocket;
  readonly #hostDumps: RtNetlinkSocket;
  readonly #reaper: LinkReaper;
  readonly #dumpQueue = new SerialQueue();
  readonly #logger: DatapathLogger;
  readonly #linkPollMs: number;
  #closed = false;

  private constructor(host: RtNetlinkSocket, hostDumps: RtNetlinkSocket, reaper: LinkReaper, logger: DatapathLogger, linkPollMs: number) {
    this.#host = host;
    this.#hostDumps = hostDumps;
    this.#reaper = reaper;
    this.#logger = logger;
    this.#linkPollMs = linkPollMs;
  }

  /**
   * Opens the host rtnetlink sockets and starts the link-deletion worker, inside `hostNetnsPath`
   * when given. Throws a DatapathError naming the namespace when it cannot be entered.
   */
  static async open(options: NetlinkDatapathOptions = {}): Promise<NetlinkDatapath> {
    const { hostNetnsPath } = options;
    const openPair = (): [RtNetlinkSocket, RtNetlinkSocket] => {
      const first = openSocket();
      try {
        return [first, openSocket()];
      } catch (err) {
        closeSocket(first);
        throw err;
      }
    };
    let sockets: [RtNetlinkSocket, RtNetlinkSocket];
    try {
      sockets = hostNetnsPath === undefined ? openPair() : withNetns(hostNetnsPath, openPair);
    } catch (err) {
      const where = hostNetnsPath === undefined ? '' : ` in ${hostNetnsPath}`;
      throw new DatapathError(`open host netlink socket${where}`, reason(err), { cause: err });
    }
    let reaper: LinkReaper;
    try {
      reaper = await LinkReaper.start(hostNetnsPath === undefined ? {} : { hostNetnsPath });
    } catch (err) {
      for (const sock of sockets) closeSocket(sock);
      throw new DatapathError('start the link deletion worker', reason(err), { cause: err });
    }
    return new NetlinkDatapath(sockets[0], sockets[1], reaper, options.logger ?? SILENT_LOGGER, options.linkPollMs ?? 100);
  }

  async addPod(spec: PodNetworkSpec): Promise<PodNetworkResult> {
    this.#assertOpen();
    const macs = randomMacs();
    let plan: PlanObject[];
    try {
      plan = planPod(spec, macs);
    } catch (err) {
      throw new DatapathError('plan pod', describeFailure(err), { cause: err });
    }
    const started = performance.now();
    await applyPodPlan(this.#host, plan, this.#logger);
    this.#logger.debug({ hostVeth: spec.hostVethName, address: spec.address, ms: +(performance.now() - started).toFixed(2) }, 'pod datapath added');
    return {
      hostVeth: { name: spec.hostVethName, mac: macs.host },
      podInterface: { name: spec.podIfName, mac: macs.pod },
    };
  }

  async delPod(spec: PodTeardownSpec): Promise<void> {
    this.#assertOpen();
    let teardown: ReturnType<typeof planPodTeardown>;
    try {
      teardown = planPodTeardown(spec);
    } catch (err) {
      throw new DatapathError('plan pod teardown', describeFailure(err), { cause: err });
    }
    const { route, rules } = teardown;
    await removeAll([
      { what: describe(route), run: () => deleteRoute(this.#host, route, { ours: true }) },
      { what: `host veth ${spec.hostVethName}`, run: () => this.#deleteLink(spec.hostVethName) },
      ...rules.map((rule) => ({ what: describe(rule), run: () => deleteMatchingRules(this.#host, rule) })),
    ]);
    this.#logger.debug({ hostVeth: spec.hostVethName, address: spec.address }, 'pod datapath deleted');
  }

  async checkPod(spec: PodNetworkSpec): Promise<string[]> {
    this.#assertOpen();
    const host = await this.#dumpQueue.run(() => this.#readNamespace(this.#hostDumps, true)).catch((err: unknown) => {
      throw new DatapathError('read host state', describeFailure(err), { cause: err });
    });
    let pod: PodSideState;
    let podSock: RtNetlinkSocket | undefined;
    try {
      podSock = withNetns(spec.netnsPath, openSocket);
      pod = { state: await this.#readNamespace(podSock, false) };
    } catch (err) {
      pod = { unavailable: `pod netns ${spec.netnsPath} cannot be read: ${reason(err)}` };
    } finally {
      if (podSock) closeSocket(podSock);
    }
    const hostMac = host.links.find((l) => l.name === spec.hostVethName)?.mac;
    const podMac = 'state' in pod ? pod.state.links.find((l) => l.name === spec.podIfName)?.mac : undefined;
    const zero = '00:00:00:00:00:00';
    try {
      return diffPlan(planPod(spec, { host: hostMac || zero, pod: podMac || zero }), host, pod);
    } catch (err) {
      throw new DatapathError('plan pod', describeFailure(err), { cause: err });
    }
  }

  async setupInterface(spec: HostInterfaceSpec, options: { timeoutMs?: number } = {}): Promise<void> {
    this.#assertOpen();
    const timeoutMs = options.timeoutMs ?? DEFAULT_ATTACH_TIMEOUT_MS;
    const mac = normalizeMac(spec.mac);
    const link = await this.#waitForLink(mac, timeoutMs);
    let plan: PlanObject[];
    try {
      plan = planInterface(spec, link.name);
    } catch (err) {
      throw new DatapathError('plan interface', describeFailure(err), { cause: err });
    }
    await applyHostPlan(this.#host, plan, new Map([[link.name, link.index]]));
    this.#logger.debug({ mac, dev: link.name, table: spec.routeTable }, 'interface set up');
  }

  async teardownInterface(spec: HostInterfaceSpec): Promise<void> {
    this.#assertOpen();
    const mac = normalizeMac(spec.mac);
    const link = await this.#findLink(mac);
    // With the link gone (already detached) its routes are gone; the rule and address remain to clear.
    let plan: PlanObject[];
    try {
      plan = planInterface(spec, link?.name ?? 'detached');
    } catch (err) {
      throw new DatapathError('plan interface', describeFailure(err), { cause: err });
    }
    const removals: Removal[] = [];
    for (const obj of plan.reverse()) {
      if (obj.kind === 'rule') removals.push({ what: describe(obj), run: () => deleteRule(this.#host, obj) });
      if (obj.kind === 'route') removals.push({ what: describe(obj), run: () => deleteRoute(this.#host, obj, {}) });
      if (obj.kind === 'address' && link) {
        removals.push({ what: describe(obj), run: () => deleteAddress(this.#host, link.index, obj.address, obj.prefixLen) });
      }
    }
    await removeAll(removals);
    this.#logger.debug({ mac, dev: link?.name, table: spec.routeTable }, 'interface torn down');
  }

  async listHostVeths(prefix: string): Promise<string[]> {
    this.#assertOpen();
    try {
      const links = await this.#dumpQueue.run(() => listLinks(this.#hostDumps));
      return links
        .filter((l) => l.kind === 'veth' && l.name.startsWith(prefix))
        .map((l) => l.name)
        .sort();
    } catch (err) {
      throw new DatapathError('list host links', describeFailure(err), { cause: err });
    }
  }

  async listPodRoutes(vethPrefix: string): Promise<KernelPodRoute[]> {
    this.#assertOpen();
    try {
      const { links, routes } = await this.#dumpQueue.run(async () => ({ links: await listLinks(this.#hostDumps), routes: await listRoutes(this.#hostDumps) }));
      return findPodRoutes({ links, routes }, vethPrefix);
    } catch (err) {
      throw new DatapathError('list pod routes', describeFailure(err), { cause: err });
    }
  }

  async removePodLeftovers(query: PodLeftoverQuery): Promise<string[]> {
    this.#assertOpen();
    // Rules before addresses: an interface's from-rule is created after its address, so a rule
    // seen here has its address in the later dump (and is recognised as the interface's).
    const host = await this.#dumpQueue
      .run(async () => {
        const rules = await listRules(this.#hostDumps);
        const links = await listLinks(this.#hostDumps);
        const addresses = await listAddresses(this.#hostDumps);
        const routes = await listRoutes(this.#hostDumps);
        return { rules, links, addresses, routes };
      })
      .catch((err: unknown) => {
        throw new DatapathError('read host state', describeFailure(err), { cause: err });
      });
    const found = findPodLeftovers(host, query.vethPrefix, ROUTE_PROTOCOL, query.inUse());
    const removals: Removal[] = [
      ...found.veths.map((name) => ({ what: `host veth ${name}`, run: () => this.#deleteLink(name) })),
      ...found.routes.map((route) => ({ what: describe(route), run: () => deleteRoute(this.#host, route, { ours: true }) })),
      ...found.rules.map((rule) => ({ what: describe(rule), run: () => deleteRule(this.#host, rule) })),
    ];
    if (query.dryRun === true) return removals.map((r) => r.what);
    await removeAll(removals);
    const removed = removals.map((r) => r.what);
    if (removed.length > 0) this.#logger.debug({ removed }, 'removed pod leftovers');
    return removed;
  }

  async syncNodePortRule(mark: number | undefined): Promise<void> {
    this.#assertOpen();
    const changed = await syncNodePortRule(this.#ruleAccess(), mark);
    if (changed.length > 0) this.#logger.debug({ changed }, 'node-port rule synced');
  }

  async rewritePodFromRules(pods: () => readonly PodFromRuleSpec[]): Promise<number> {
    this.#assertOpen();
    return rewritePodFromRules(this.#ruleAccess(), pods);
  }

  #ruleAccess(): HostRuleAccess {
    return {
      sock: this.#host,
      readRules: () => this.#dumpQueue.run(() => listRules(this.#hostDumps)),
      readRoutedPods: () => this.#dumpQueue.run(async () => podRouteAddresses(await listRoutes(this.#hostDumps), ROUTE_PROTOCOL)),
    };
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    closeSocket(this.#host);
    closeSocket(this.#hostDumps);
    this.#reaper.close();
  }

  /** Through the worker; on this thread's socket only if the worker has died. */
  async #deleteLink(name: string): Promise<void> {
    if (!this.#reaper.alive) return deleteLinkByName(this.#host, name);
    try {
      await this.#reaper.deleteLink(name);
    } catch (err) {
      if (this.#reaper.alive || this.#closed) throw err;
      this.#logger.warn({ err, link: name }, 'link deletion worker is gone; deleting on the main thread');
      await deleteLinkByName(this.#host, name);
    }
  }

  #assertOpen(): void {
    if (this.#closed) throw new DatapathError('use datapath', 'the datapath is closed');
  }

  async #findLink(mac: string): Promise<KernelLink | undefined> {
    try {
      const links = await this.#dumpQueue.run(() => listLinks(this.#hostDumps));
      return links.find((l) => l.mac === mac);
    } catch (err) {
      throw new DatapathError('list host links', describeFailure(err), { cause: err });
    }
  }

  async #waitForLink(mac: string, timeoutMs: number): Promise<KernelLink> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const link = await this.#findLink(mac);
      if (link) return link;
      const left = deadline - performance.now();
      if (left <= 0) throw new DatapathError(`find link ${mac}`, `no link with MAC ${mac} appeared within ${timeoutMs} ms`);
      await sleep(Math.min(this.#linkPollMs, left));
    }
  }

  async #readNamespace(sock: RtNetlinkSocket, withRules: boolean): Promise<NamespaceState> {
    // Sequential: one dump at a time per socket.
    const links = await listLinks(sock);
    const addresses = await listAddresses(sock);
    const routes = await listRoutes(sock);
    const rules = withRules ? await listRules(sock) : [];
    const neighbours = await listNeighbours(sock);
    return { links, addresses, routes, rules, neighbours };
  }
}
