/**
 * The objects nativeip installs in a cluster (manifests/, and charts/nativeip with its default
 * values), and how kubectl and Helm name and order them, for the tests that apply them to a real
 * API server.
 */

export interface NativeipObject {
  readonly kind: string;
  /** The API group; '' for the core group. */
  readonly group: string;
  readonly name: string;
}

/** Every object of manifests/, in the order `kubectl apply -f manifests/` applies and prints them (file order). */
export const NATIVEIP_OBJECTS: readonly NativeipObject[] = [
  { kind: 'CustomResourceDefinition', group: 'apiextensions.k8s.io', name: 'nativeipnodes.nativeip.io' },
  { kind: 'ServiceAccount', group: '', name: 'nativeip' },
  { kind: 'ClusterRole', group: 'rbac.authorization.k8s.io', name: 'nativeip' },
  { kind: 'ClusterRoleBinding', group: 'rbac.authorization.k8s.io', name: 'nativeip' },
  { kind: 'ValidatingAdmissionPolicy', group: 'admissionregistration.k8s.io', name: 'nativeip-own-node' },
  { kind: 'ValidatingAdmissionPolicyBinding', group: 'admissionregistration.k8s.io', name: 'nativeip-own-node' },
  { kind: 'ValidatingAdmissionPolicy', group: 'admissionregistration.k8s.io', name: 'nativeip-own-nativeipnode' },
  { kind: 'ValidatingAdmissionPolicyBinding', group: 'admissionregistration.k8s.io', name: 'nativeip-own-nativeipnode' },
  { kind: 'DaemonSet', group: 'apps', name: 'nativeip' },
];

/** As `kubectl apply` prints it: `clusterrole.rbac.authorization.k8s.io/nativeip`. */
export function appliedName(object: NativeipObject): string {
  const resource = object.kind.toLowerCase();
  return `${object.group === '' ? resource : `${resource}.${object.group}`}/${object.name}`;
}

/** As `kubectl get`, `label` and `annotate` take it: `clusterrole/nativeip`. */
export function kubectlName(object: NativeipObject): string {
  return `${object.kind.toLowerCase()}/${object.name}`;
}

/**
 * The kinds above in the order Helm installs them: its InstallOrder (pkg/releaseutil/kind_sorter.go)
 * for the kinds it knows, then the kinds it does not know, by name.
 */
const HELM_KIND_ORDER = ['ServiceAccount', 'CustomResourceDefinition', 'ClusterRole', 'ClusterRoleBinding', 'DaemonSet', 'ValidatingAdmissionPolicy', 'ValidatingAdmissionPolicyBinding'];

/** `objects` in the order `helm template` renders and `helm install` applies them: by kind, each kind in the chart's order. */
export function inHelmInstallOrder(objects: readonly NativeipObject[]): NativeipObject[] {
  const rank = (object: NativeipObject): number => {
    const index = HELM_KIND_ORDER.indexOf(object.kind);
    if (index === -1) throw new Error(`no install order known for kind ${object.kind}: add it to HELM_KIND_ORDER`);
    return index;
  };
  return [...objects].sort((a, b) => rank(a) - rank(b));
}
