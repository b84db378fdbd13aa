/** Where kubelet mounts a pod's service-account files; free of client-node, so reading it loads nothing. */
export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';
