/*
 * nativeip-cni: the CNI plugin binary kubelet/containerd execute for every pod.
 *
 * A thin native shim, because process start-up is most of a CNI call: it forwards the runtime's
 * CNI_* environment and stdin to nativeip-ipamd in one `exec` request (length-prefixed JSON over
 * the Unix socket) and prints what the daemon's TypeScript plugin logic (src/cni/plugin) answers.
 * It decides only what must work without the daemon: VERSION, a network config that is not JSON
 * or whose socketPath/timeoutMs is unusable (net-config.c), and the answer when the daemon cannot
 * be reached (DEL succeeds, STATUS says 50, everything else says 11 "try again later").
 * Statically linked: it runs on any Linux host, with no Node.js installed.
 */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "json-scan.h"
#include "net-config.h"

#define PROTOCOL_VERSION 1
#define MAX_FRAME (1024 * 1024)
/* More than any request frame can carry; past it stdin is not even read to the end. */
#define MAX_STDIN (4 * MAX_FRAME)
#define DEFAULT_SOCKET "/run/nativeip/ipamd.sock"
/* Without `timeoutMs`, how long to wait for the daemon's answer. */
#define DEFAULT_DEADLINE_MS 60000L
/* CNI error codes the shim answers itself (src/cni/plugin/cni-error.ts). */
#define CNI_DECODING_FAILURE 6
#define CNI_INVALID_CONFIG 7
#define CNI_TRY_AGAIN_LATER 11
#define CNI_NOT_AVAILABLE 50
#define CNI_INTERNAL 103

_Static_assert(sizeof((struct sockaddr_un *)0)->sun_path == NET_CONFIG_PATH_MAX, "net_config sizes socket paths for sun_path");

typedef struct {
  char *data;
  size_t len, cap;
} buf_t;

static void buf_put(buf_t *b, const char *s, size_t n) {
  if (b->len + n + 1 > b->cap) {
    size_t cap = b->cap == 0 ? 4096 : b->cap;
    while (b->len + n + 1 > cap) cap *= 2;
    char *grown = realloc(b->data, cap);
    if (grown == NULL) {
      perror("nativeip-cni: out of memory");
      exit(1);
    }
    b->data = grown;
    b->cap = cap;
  }
  memcpy(b->data + b->len, s, n);
  b->len += n;
  b->data[b->len] = '\0';
}

static void buf_str(buf_t *b, const char *s) { buf_put(b, s, strlen(s)); }

/* A JSON string literal of `s` (CNI variables are text; control characters are escaped). */
static void buf_json(buf_t *b, const char *s) {
  buf_put(b, "\"", 1);
  for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
    char esc[8];
    if (*p == '"' || *p == '\\') {
      esc[0] = '\\';
      esc[1] = (char)*p;
      buf_put(b, esc, 2);
    } else if (*p < 0x20) {
      snprintf(esc, sizeof esc, "\\u%04x", *p);
      buf_put(b, esc, 6);
    } else {
      buf_put(b, (const char *)p, 1);
    }
  }
  buf_put(b, "\"", 1);
}

static const char B64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static void buf_base64(buf_t *b, const unsigned char *s, size_t n) {
  char out[4];
  for (size_t i = 0; i < n; i += 3) {
    uint32_t v = (uint32_t)s[i] << 16 | (i + 1 < n ? (uint32_t)s[i + 1] << 8 : 0) | (i + 2 < n ? s[i + 2] : 0);
    out[0] = B64[v >> 18 & 63];
    out[1] = B64[v >> 12 & 63];
    out[2] = i + 1 < n ? B64[v >> 6 & 63] : '=';
    out[3] = i + 2 < n ? B64[v & 63] : '=';
    buf_put(b, out, 4);
  }
}

static int b64_value(char c) {
  const char *at = c == '\0' ? NULL : strchr(B64, c);
  return at == NULL ? -1 : (int)(at - B64);
}

/* Decodes base64 in place; returns the decoded length, or -1 on a bad character. */
static long base64_decode(char *s, size_t n) {
  size_t out = 0;
  uint32_t acc = 0;
  int bits = 0;
  for (size_t i = 0; i < n && s[i] != '='; i++) {
    int v = b64_value(s[i]);
    if (v < 0) return -1;
    acc = acc << 6 | (uint32_t)v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      s[out++] = (char)(acc >> bits & 0xff);
    }
  }
  return (long)out;
}

static void error_json(buf_t *out, const char *version, int code, const char *msg, const char *details) {
  buf_str(out, "{\"cniVersion\":");
  buf_json(out, version);
  char num[32];
  snprintf(num, sizeof num, ",\"code\":%d,\"msg\":", code);
  buf_str(out, num);
  buf_json(out, msg);
  if (details != NULL && details[0] != '\0') {
    buf_str(out, ",\"details\":");
    buf_json(out, details);
  }
  buf_str(out, "}\n");
}

/* Prints the CNI error JSON; returns the exit status for it. */
static int fail(const char *version, int code, const char *msg, const char *details) {
  buf_t out = {0};
  error_json(&out, version, code, msg, details);
  fwrite(out.data, 1, out.len, stdout);
  return 1;
}

static void print_version(void) {
  buf_t out = {0};
  buf_str(&out, "{\"cniVersion\":");
  buf_json(&out, NET_CONFIG_VERSIONS[NET_CONFIG_VERSION_COUNT - 1]);
  buf_str(&out, ",\"supportedVersions\":[");
  for (size_t k = 0; k < NET_CONFIG_VERSION_COUNT; k++) {
    if (k > 0) buf_str(&out, ",");
    buf_json(&out, NET_CONFIG_VERSIONS[k]);
  }
  buf_str(&out, "]}\n");
  fwrite(out.data, 1, out.len, stdout);
}

/* send, not write: a daemon that refuses the frame and closes must not kill us with SIGPIPE
   before its refusal (ConnectionLimit) can be read. */
static int write_all(int fd, const char *p, size_t n) {
  while (n > 0) {
    ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return -1;
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

static int read_all(int fd, char *p, size_t n) {
  while (n > 0) {
    ssize_t r = read(fd, p, n);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return -1;
    p += r;
    n -= (size_t)r;
  }
  return 0;
}

/* The reply printed when the deadline passes, prepared before the timer starts. */
static buf_t deadline_reply;

static void on_deadline(int sig) {
  (void)sig;
  if (write(STDOUT_FILENO, deadline_reply.data, deadline_reply.len) < 0) _exit(1);
  _exit(1);
}

static char *decoded_string(const char *json, const json_field *f) {
  char *out = malloc(f->len + 1);
  if (out == NULL) {
    perror("nativeip-cni: out of memory");
    exit(1);
  }
  json_string_decode(json + f->start, f->len, out, f->len + 1);
  return out;
}

/* Prints what the daemon's `exec` reply (a NUL-terminated frame body) says; returns the exit status. */
static int relay(const char *reply, size_t len, const char *version, const char *path) {
  json_field top[] = {{.key = "result"}, {.key = "error"}};
  json_error err;
  json_kind kind = json_scan(reply, len, top, 2, &err);
  if (kind != JSON_OBJECT) {
    char msg[256];
    snprintf(msg, sizeof msg, "failed to decode content: nativeip-ipamd's reply is not a JSON object%s%s",
             kind == JSON_ABSENT ? ": " : "", kind == JSON_ABSENT ? err.problem : "");
    return fail(version, CNI_DECODING_FAILURE, msg, path);
  }
  if (top[1].kind == JSON_OBJECT) {
    const char *body = reply + top[1].start;
    json_field e[] = {{.key = "code"}, {.key = "cniCode"}, {.key = "message"}, {.key = "retryable"}};
    json_scan(body, top[1].len, e, 4, &err);
    const char *code = e[0].kind == JSON_STRING ? decoded_string(body, &e[0]) : "unknown";
    const char *message = e[2].kind == JSON_STRING ? decoded_string(body, &e[2]) : "nativeip-ipamd refused the request";
    char details[256];
    snprintf(details, sizeof details, "nativeip-ipamd error %s%s", code, e[3].kind == JSON_TRUE ? " (retryable)" : "");
    return fail(version, e[1].kind == JSON_NUMBER ? atoi(body + e[1].start) : CNI_INTERNAL, message, details);
  }
  const char *result = reply + top[0].start;
  json_field r[] = {{.key = "stdoutBase64"}, {.key = "exitCode"}};
  if (top[0].kind != JSON_OBJECT || json_scan(result, top[0].len, r, 2, &err) != JSON_OBJECT || r[0].kind != JSON_STRING ||
      r[1].kind != JSON_NUMBER) {
    return fail(version, CNI_INTERNAL, "nativeip-ipamd's exec reply has no stdoutBase64 and exitCode", path);
  }
  char *encoded = decoded_string(result, &r[0]);
  long n = base64_decode(encoded, strlen(encoded));
  if (n < 0) return fail(version, CNI_DECODING_FAILURE, "failed to decode content: the daemon's reply is not base64", path);
  fwrite(encoded, 1, (size_t)n, stdout);
  return atoi(result + r[1].start);
}

int main(void) {
  const char *command = getenv("CNI_COMMAND");
  if (command != NULL && strcmp(command, "VERSION") == 0) {
    print_version();
    return 0;
  }
  const char *latest = NET_CONFIG_VERSIONS[NET_CONFIG_VERSION_COUNT - 1];

  buf_t stdin_buf = {0};
  buf_put(&stdin_buf, "", 0);
  char chunk[65536];
  for (;;) {
    ssize_t r = read(STDIN_FILENO, chunk, sizeof chunk);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    if (stdin_buf.len + (size_t)r > MAX_STDIN) {
      char msg[160];
      snprintf(msg, sizeof msg, "invalid network config: the configuration on stdin is larger than %d bytes", MAX_STDIN);
      return fail(latest, CNI_INVALID_CONFIG, msg, NULL);
    }
    buf_put(&stdin_buf, chunk, (size_t)r);
  }
  net_config cfg;
  net_config_read(stdin_buf.data, stdin_buf.len, &cfg);
  if (cfg.code != 0) return fail(cfg.version, cfg.code, cfg.msg, NULL);
  const char *path = cfg.socket_path[0] != '\0' ? cfg.socket_path : DEFAULT_SOCKET;
  long timeout_ms = cfg.timeout_ms > 0 ? cfg.timeout_ms : DEFAULT_DEADLINE_MS;
  int is_status = command != NULL && strcmp(command, "STATUS") == 0;

  static const char *const names[] = {"CNI_COMMAND", "CNI_CONTAINERID", "CNI_NETNS", "CNI_IFNAME", "CNI_ARGS", "CNI_PATH"};
  buf_t req = {0};
  buf_put(&req, "\0\0\0\0", 4);
  char head[64];
  snprintf(head, sizeof head, "{\"v\":%d,\"id\":%d,\"method\":\"exec\",\"params\":{\"env\":{", PROTOCOL_VERSION, (int)getpid());
  buf_str(&req, head);
  int first = 1;
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
    const char *value = getenv(names[i]);
    if (value == NULL) continue;
    if (!first) buf_str(&req, ",");
    first = 0;
    buf_json(&req, names[i]);
    buf_str(&req, ":");
    buf_json(&req, value);
  }
  buf_str(&req, "},\"stdinBase64\":\"");
  buf_base64(&req, (const unsigned char *)stdin_buf.data, stdin_buf.len);
  buf_str(&req, "\"}}");
  size_t body = req.len - 4;
  if (body > MAX_FRAME) {
    size_t room = (MAX_FRAME - (body - (stdin_buf.len + 2) / 3 * 4)) / 4 * 3;
    char msg[256];
    snprintf(msg, sizeof msg, "invalid network config: the configuration is %zu bytes; nativeip-ipamd takes at most %zu (stdin travels base64-encoded in one %d-byte frame)",
             stdin_buf.len, room, MAX_FRAME);
    return fail(cfg.version, CNI_INVALID_CONFIG, msg, NULL);
  }
  req.data[0] = (char)(body >> 24);
  req.data[1] = (char)(body >> 16);
  req.data[2] = (char)(body >> 8);
  req.data[3] = (char)body;

  char verb[16] = "exec";
  if (command != NULL && command[0] != '\0') {
    size_t k = 0;
    for (; command[k] != '\0' && k < sizeof verb - 1; k++) verb[k] = (char)(command[k] >= 'A' && command[k] <= 'Z' ? command[k] + 32 : command[k]);
    verb[k] = '\0';
  }
  char msg[512];
  snprintf(msg, sizeof msg, "%snativeip-ipamd at %s did not answer %s within %ld ms", is_status ? "plugin not available: " : "try again later: ", path, verb, timeout_ms);
  error_json(&deadline_reply, cfg.version, is_status ? CNI_NOT_AVAILABLE : CNI_TRY_AGAIN_LATER, msg, NULL);
  signal(SIGALRM, on_deadline);
  struct itimerval deadline = {.it_value = {.tv_sec = timeout_ms / 1000, .tv_usec = timeout_ms % 1000 * 1000}};
  setitimer(ITIMER_REAL, &deadline, NULL);

  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_un addr = {.sun_family = AF_UNIX};
  memcpy(addr.sun_path, path, strlen(path) + 1); /* net_config_read checked that it fits */
  if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof addr) != 0) {
    const char *reason = strerror(errno);
    if (command != NULL && strcmp(command, "DEL") == 0) return 0; /* netns teardown removes the veth; the daemon reconciles */
    snprintf(msg, sizeof msg, "%snativeip-ipamd is not reachable at %s: %s", is_status ? "plugin not available: " : "try again later: ", path, reason);
    return fail(cfg.version, is_status ? CNI_NOT_AVAILABLE : CNI_TRY_AGAIN_LATER, msg, reason);
  }
  /* A failed write may still have an answer waiting (the daemon refused the frame): read it. */
  int written = write_all(fd, req.data, req.len);
  unsigned char lenbuf[4];
  if (read_all(fd, (char *)lenbuf, 4) != 0) {
    if (written != 0) return fail(cfg.version, CNI_TRY_AGAIN_LATER, "try again later: nativeip-ipamd closed the connection", path);
    return fail(cfg.version, CNI_TRY_AGAIN_LATER, "try again later: nativeip-ipamd closed the connection before answering", path);
  }
  uint32_t rlen = (uint32_t)lenbuf[0] << 24 | (uint32_t)lenbuf[1] << 16 | (uint32_t)lenbuf[2] << 8 | lenbuf[3];
  if (rlen > MAX_FRAME) return fail(cfg.version, CNI_DECODING_FAILURE, "failed to decode content: the daemon's reply frame is too large", path);
  char *reply = malloc(rlen + 1);
  if (reply == NULL || read_all(fd, reply, rlen) != 0) {
    return fail(cfg.version, CNI_TRY_AGAIN_LATER, "try again later: nativeip-ipamd closed the connection before answering", path);
  }
  reply[rlen] = '\0';
  close(fd);
  return relay(reply, rlen, cfg.version, path);
}
