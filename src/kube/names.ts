/** The names nativeip writes into the cluster; the manifests' RBAC and admission policy name the same. */

/** The Node condition nativeip owns. */
export const CONDITION_TYPE = 'NativeipAddressesAvailable';
/** The Node taint nativeip owns (effect NoSchedule; its value is the reason). */
export const TAINT_KEY = 'nativeip.io/addresses-exhausted';
export const TAINT_EFFECT = 'NoSchedule';

/** The NativeipNode custom resource: cluster-scoped, one per Node, named as the Node. */
export const NATIVEIP_NODE = { group: 'nativeip.io', version: 'v1alpha1', plural: 'nativeipnodes', kind: 'NativeipNode' } as const;

/** Who writes: the field manager of every write and the Events' reporting component. */
export const FIELD_MANAGER = 'nativeip';
export const REPORTING_COMPONENT = 'nativeip.io/ipamd';
