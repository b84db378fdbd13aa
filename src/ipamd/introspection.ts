/**
 * The introspection API: JSON over HTTP on loopback (INTROSPECTION_BIND_ADDRESS), what the AWS
 * VPC CNI's ipamd serves on 127.0.0.1:61679, in nativeip's terms. Read-only; `nativeip status`
 * keeps working over the socket. Routing and redaction are pure; the daemon passes the views.
 *
 *   /v1/interfaces   interfaces with their addresses (state and pod of each), prefixes, limits
 *   /v1/pods         pods with their addresses and interfaces, and addresses held for live pods
 *   /v1/pool         the warm pool: counts, policy, band, whether it is growing or blocked and why
 *   /v1/config       the effective configuration, secrets redacted
 *   /v1/env-settings the environment variables the daemon reads, as set, secrets redacted
 * Aliases for the AWS VPC CNI's paths: /v1/enis, /v1/ipamd-env-settings.
 */
import type { HttpReply } from './http-endpoint.js';
import { jsonReply } from './http-endpoint.js';
import type { StatusResult } from '../rpc/protocol.js';
import { addressState, type AddressPool } from './pool/plan/address-pool.js';
import type { WarmBand } from './pool/plan/adaptive-target.js';
import type { NodeSnapshot } from '../core/types.js';

export interface IntrospectionViews {
  /** The service's STATUS (pods, held addresses, pool counts, warm-pool policy). */
  readonly status: () => StatusResult;
  readonly pool: () => AddressPool;
  /** Throws before the node has been read. */
  readonly node: () => NodeSnapshot;
  readonly band: () => WarmBand | undefined;
  readonly growing: () => boolean;
  readonly pending: () => number;
  readonly block: () => { readonly reason: string; readonly cause: string } | undefined;
  /** The effective configuration (the daemon's DaemonConfig). */
  readonly config: () => unknown;
  /** Names of the variables the daemon reads, and the process environment. */
  readonly variableNames: () => readonly string[];
  readonly env: () => Readonly<Record<string, string | undefined>>;
  readonly clock: () => number;
}

export const INTROSPECTION_PATHS = ['/v1/interfaces', '/v1/pods', '/v1/pool', '/v1/config', '/v1/env-settings'] as const;

const ALIASES: Readonly<Record<string, string>> = { '/v1/enis': '/v1/interfaces', '/v1/ipamd-env-settings': '/v1/env-settings' };

/** Names whose values are never shown: credentials, tokens, keys. */
const SECRET_NAME = /secret|token|password|passwd|credential|private.?key|access.?key|key$|sas$/i;

export const REDACTED = '<redacted>';

/** Answers one GET. */
export function introspect(path: string, views: IntrospectionViews): HttpReply {
  const route = ALIASES[path] ?? path;
  switch (route) {
    case '/':
    case '/v1':
      return jsonReply({ paths: INTROSPECTION_PATHS, aliases: ALIASES });
    case '/v1/interfaces':
      return notReadYet(views) ?? jsonReply(interfacesView(views));
    case '/v1/pods': {
      const early = notReadYet(views);
      if (early !== undefined) return early;
      const status = views.status();
      return jsonReply({ pods: status.pods, held: status.held ?? [] });
    }
    case '/v1/pool':
      return notReadYet(views) ?? jsonReply(poolView(views));
    case '/v1/config':
      return jsonReply(redact(views.config()));
    case '/v1/env-settings':
      return jsonReply(envSettings(views.variableNames(), views.env()));
    default:
      return jsonReply({ error: `not found: ${path}`, paths: INTROSPECTION_PATHS }, 404);
  }
}

/**
 * A 503 saying why, before the daemon has read its node (nothing to show yet); undefined once it
 * has. Any other failure is the endpoint's to log and answer 500, not passed off as "not yet".
 */
function notReadYet(views: IntrospectionViews): HttpReply | undefined {
  try {
    views.node();
    return undefined;
  } catch (error) {
    return jsonReply({ error: `not available yet: ${error instanceof Error ? error.message : String(error)}` }, 503);
  }
}

function interfacesView(views: IntrospectionViews) {
  const node = views.node();
  const pool = views.pool();
  const now = views.clock();
  return {
    instanceId: node.instanceId,
    instanceType: node.instanceType,
    limits: node.limits,
    interfaces: pool.interfaces().map((pif) => ({
      id: pif.id,
      mac: pif.mac,
      deviceIndex: pif.deviceIndex,
      subnetId: pif.subnetId,
      subnetCidr: pif.subnetCidr,
      primaryIp: pif.primaryIp,
      managed: pif.managed,
      prefixes: pool.prefixesOf(pif.id),
      addresses: pool.addressesOf(pif.id).map((a) => {
        const state = addressState(a, now);
        return {
          address: a.address,
          state,
          ...(a.owner === undefined ? {} : { owner: a.owner }),
          ...(state === 'cooling' ? { coolingForMs: a.coolingUntilMs! - now } : {}),
          ...(a.prefix === undefined ? {} : { prefix: a.prefix }),
        };
      }),
    })),
  };
}

function poolView(views: IntrospectionViews) {
  const status = views.status();
  const band = views.band();
  const block = views.block();
  return {
    state: status.state,
    ...(status.reason === undefined ? {} : { reason: status.reason }),
    counts: status.pool,
    maxPods: status.maxPods,
    warmPool: status.warmPool,
    ...(band === undefined ? {} : { band }),
    growing: views.growing(),
    podsWaiting: views.pending(),
    ...(block === undefined ? {} : { blocked: block }),
    ...(status.unsettled === undefined ? {} : { unsettled: status.unsettled }),
  };
}

/** A copy of `value` with the values of secret-looking keys replaced. */
export function redact(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(redact);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, SECRET_NAME.test(k) && v !== undefined ? REDACTED : redact(v)]));
}

/** The variables the daemon reads, with their values as set (unset ones omitted), secrets redacted. */
export function envSettings(names: readonly string[], env: Readonly<Record<string, string | undefined>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of [...names].sort()) {
    const value = env[name];
    if (value === undefined || value === '') continue;
    out[name] = SECRET_NAME.test(name) ? REDACTED : value;
  }
  return out;
}
