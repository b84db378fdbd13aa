/*
 * What the plugin shim needs from the network configuration on stdin, checked the way the plugin
 * logic (src/cni/plugin/config.ts) checks it, so a broken config is refused before the daemon is
 * contacted and with the same CNI code.
 */
#ifndef NATIVEIP_NET_CONFIG_H
#define NATIVEIP_NET_CONFIG_H

#include <stddef.h>

/* The CNI spec versions the plugin speaks, oldest first; keep in step with
 * src/cni/plugin/versions.ts (test/integration/cni-shim.test.ts compares them). */
extern const char *const NET_CONFIG_VERSIONS[];
extern const size_t NET_CONFIG_VERSION_COUNT;

/* Room for a Unix socket path (sizeof sockaddr_un.sun_path on Linux), NUL included. */
#define NET_CONFIG_PATH_MAX 108

/* Bounds of `timeoutMs`, as in src/cni/plugin/config.ts. */
#define NET_CONFIG_MAX_TIMEOUT_MS 600000L

typedef struct {
  /* The version to label replies with: the config's `cniVersion` when supported, else the
   * highest supported entry of `cniVersions`, else the latest version. */
  const char *version;
  /* The top-level `socketPath`; empty when the config has none. */
  char socket_path[NET_CONFIG_PATH_MAX];
  /* The top-level `timeoutMs`; 0 when the config has none. */
  long timeout_ms;
  /* 0 when the config is usable; else the CNI error code (6 decoding failure, 7 invalid
   * network config) and its message. */
  int code;
  char msg[768];
} net_config;

/* Reads the network configuration in text[0, len). Never fails: problems land in out->code. */
void net_config_read(const char *text, size_t len, net_config *out);

#endif
