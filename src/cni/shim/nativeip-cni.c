/*
 * nativeip-cni: the CNI plugin binary kubelet/containerd execute for every pod.
 *
 * A thin native shim, because process start-up is most of a CNI call: it forwards the runtime's
 * CNI_* environment and stdin to nativeip-ipamd in one `exec` request (length-prefixed JSON over
 * the Unix socket) and prints what the daemon's TypeScript plugin logic (src/cni/plugin) answers.
 * It decides only what must work without the daemon: VERSION, and the answer when the daemon
 * cannot be reached (DEL succeeds, STATUS says 50, everything else says 11 "try again later").
 * Statically linked: it runs on any Linux host, with no Node.js installed.
 */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define PROTOCOL_VERSION 1
#define MAX_FRAME (1024 * 1024)
#define DEFAULT_SOCKET "/run/nativeip/ipamd.sock"
#define DEADLINE_SECONDS 60
/* Keep in step with src/cni/plugin/versions.ts (a unit test compares them). */
#define SUPPORTED_VERSIONS "[\"0.3.0\",\"0.3.1\",\"0.4.0\",\"1.0.0\",\"1.1.0\"]"
#define LATEST_VERSION "1.1.0"

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

/* The string value of the first `"key": "…"` in a JSON text (no escapes in the value), or NULL. */
static char *json_string_field(const char *json, const char *key) {
  char pattern[64];
  snprintf(pattern, sizeof pattern, "\"%s\"", key);
  const char *at = strstr(json, pattern);
  if (at == NULL) return NULL;
  at += strlen(pattern);
  while (*at == ' ' || *at == '\t' || *at == '\n' || *at == '\r') at++;
  if (*at++ != ':') return NULL;
  while (*at == ' ' || *at == '\t' || *at == '\n' || *at == '\r') at++;
  if (*at++ != '"') return NULL;
  const char *end = strchr(at, '"');
  if (end == NULL) return NULL;
  return strndup(at, (size_t)(end - at));
}


/* A JSON syntax check (RFC 8259), used when the daemon cannot be reached: malformed input is
 * still reported as "failed to decode content" (code 6), as the daemon-side plugin would. */
typedef struct {
  const char *p;
  int depth;
} json_t;

static void ws(json_t *j) {
  while (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r') j->p++;
}

static int value(json_t *j);

static int string_(json_t *j) {
  if (*j->p != '"') return 0;
  for (j->p++; *j->p != '"'; j->p++) {
    if ((unsigned char)*j->p < 0x20) return 0;
    if (*j->p == '\\') {
      j->p++;
      if (*j->p == 'u') {
        for (int i = 1; i <= 4; i++)
          if (strchr("0123456789abcdefABCDEF", j->p[i]) == NULL || j->p[i] == '\0') return 0;
        j->p += 4;
      } else if (*j->p == '\0' || strchr("\"\\/bfnrt", *j->p) == NULL) {
        return 0;
      }
    }
  }
  j->p++;
  return 1;
}

static int number(json_t *j) {
  const char *start = j->p;
  if (*j->p == '-') j->p++;
  if (*j->p == '0') j->p++;
  else if (*j->p >= '1' && *j->p <= '9') while (*j->p >= '0' && *j->p <= '9') j->p++;
  else return 0;
  if (*j->p == '.') {
    j->p++;
    if (!(*j->p >= '0' && *j->p <= '9')) return 0;
    while (*j->p >= '0' && *j->p <= '9') j->p++;
  }
  if (*j->p == 'e' || *j->p == 'E') {
    j->p++;
    if (*j->p == '+' || *j->p == '-') j->p++;
    if (!(*j->p >= '0' && *j->p <= '9')) return 0;
    while (*j->p >= '0' && *j->p <= '9') j->p++;
  }
  return j->p > start;
}

static int literal(json_t *j, const char *word) {
  size_t n = strlen(word);
  if (strncmp(j->p, word, n) != 0) return 0;
  j->p += n;
  return 1;
}

static int container(json_t *j, char open, char close) {
  if (++j->depth > 512) return 0;
  j->p++;
  ws(j);
  if (*j->p == close) {
    j->p++;
    j->depth--;
    return 1;
  }
  for (;;) {
    if (open == '{') {
      if (!string_(j)) return 0;
      ws(j);
      if (*j->p++ != ':') return 0;
    }
    if (!value(j)) return 0;
    ws(j);
    if (*j->p == ',') {
      j->p++;
      ws(j);
      continue;
    }
    if (*j->p++ != close) return 0;
    j->depth--;
    return 1;
  }
}

static int value(json_t *j) {
  ws(j);
  switch (*j->p) {
    case '{': return container(j, '{', '}');
    case '[': return container(j, '[', ']');
    case '"': return string_(j);
    case 't': return literal(j, "true");
    case 'f': return literal(j, "false");
    case 'n': return literal(j, "null");
    default: return number(j);
  }
}

/* Offset of the first syntax error, or -1 when `text` is one valid JSON object. */
static long json_error_offset(const char *text) {
  json_t j = {text, 0};
  ws(&j);
  if (*j.p != '{' || !value(&j)) return (long)(j.p - text);
  ws(&j);
  return *j.p == '\0' ? -1 : (long)(j.p - text);
}

static void print_error(const char *version, int code, const char *msg, const char *details) {
  buf_t out = {0};
  buf_str(&out, "{\"cniVersion\":");
  buf_json(&out, version);
  char num[32];
  snprintf(num, sizeof num, ",\"code\":%d,\"msg\":", code);
  buf_str(&out, num);
  buf_json(&out, msg);
  buf_str(&out, ",\"details\":");
  buf_json(&out, details);
  buf_str(&out, "}\n");
  fwrite(out.data, 1, out.len, stdout);
}

static int write_all(int fd, const char *p, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, p, n);
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

static void on_deadline(int sig) {
  (void)sig;
  static const char msg[] = "{\"cniVersion\":\"" LATEST_VERSION "\",\"code\":11,\"msg\":\"try again later: nativeip-ipamd did not answer within 60 s\"}\n";
  if (write(STDOUT_FILENO, msg, sizeof msg - 1) < 0) _exit(1);
  _exit(1);
}

int main(void) {
  const char *command = getenv("CNI_COMMAND");
  if (command != NULL && strcmp(command, "VERSION") == 0) {
    printf("{\"cniVersion\":\"%s\",\"supportedVersions\":%s}\n", LATEST_VERSION, SUPPORTED_VERSIONS);
    return 0;
  }

  buf_t stdin_buf = {0};
  char chunk[65536];
  for (;;) {
    ssize_t r = read(STDIN_FILENO, chunk, sizeof chunk);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    buf_put(&stdin_buf, chunk, (size_t)r);
    if (stdin_buf.len > MAX_FRAME / 2) break;
  }
  const char *text = stdin_buf.data == NULL ? "" : stdin_buf.data;
  char *version = json_string_field(text, "cniVersion");
  const char *reply_version = version != NULL ? version : LATEST_VERSION;
  char *socket_path = json_string_field(text, "socketPath");
  const char *path = socket_path != NULL && socket_path[0] != '\0' ? socket_path : DEFAULT_SOCKET;

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
  uint32_t len = (uint32_t)(req.len - 4);
  req.data[0] = (char)(len >> 24);
  req.data[1] = (char)(len >> 16);
  req.data[2] = (char)(len >> 8);
  req.data[3] = (char)len;

  signal(SIGALRM, on_deadline);
  alarm(DEADLINE_SECONDS);

  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_un addr = {.sun_family = AF_UNIX};
  if (strlen(path) >= sizeof addr.sun_path) {
    print_error(reply_version, 7, "invalid network config: socketPath is too long", path);
    return 1;
  }
  strcpy(addr.sun_path, path);
  if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof addr) != 0) {
    const char *reason = strerror(errno);
    long bad = json_error_offset(text);
    if (bad >= 0) {
      char msg[160];
      snprintf(msg, sizeof msg, "failed to decode content: invalid JSON at offset %ld", bad);
      print_error(reply_version, 6, msg, "the network configuration on stdin is not a JSON object");
      return 1;
    }
    if (command != NULL && strcmp(command, "DEL") == 0) return 0; /* netns teardown removes the veth; the daemon reconciles */
    char msg[512];
    snprintf(msg, sizeof msg, "%snativeip-ipamd is not reachable at %s: %s",
             command != NULL && strcmp(command, "STATUS") == 0 ? "plugin not available: " : "try again later: ", path, reason);
    print_error(reply_version, command != NULL && strcmp(command, "STATUS") == 0 ? 50 : 11, msg, reason);
    return 1;
  }
  if (write_all(fd, req.data, req.len) != 0) {
    print_error(reply_version, 11, "try again later: nativeip-ipamd closed the connection", path);
    return 1;
  }
  unsigned char lenbuf[4];
  if (read_all(fd, (char *)lenbuf, 4) != 0) {
    print_error(reply_version, 11, "try again later: nativeip-ipamd closed the connection before answering", path);
    return 1;
  }
  uint32_t rlen = (uint32_t)lenbuf[0] << 24 | (uint32_t)lenbuf[1] << 16 | (uint32_t)lenbuf[2] << 8 | lenbuf[3];
  if (rlen > MAX_FRAME) {
    print_error(reply_version, 6, "failed to decode content: the daemon's reply frame is too large", path);
    return 1;
  }
  char *reply = malloc(rlen + 1);
  if (reply == NULL || read_all(fd, reply, rlen) != 0) {
    print_error(reply_version, 11, "try again later: nativeip-ipamd closed the connection before answering", path);
    return 1;
  }
  reply[rlen] = '\0';
  close(fd);

  char *encoded = json_string_field(reply, "stdoutBase64");
  char *code_at = strstr(reply, "\"exitCode\":");
  if (encoded == NULL || code_at == NULL) {
    char *message = json_string_field(reply, "message");
    print_error(reply_version, 999, "nativeip-ipamd refused the request", message != NULL ? message : reply);
    return 1;
  }
  int exit_code = atoi(code_at + strlen("\"exitCode\":"));
  long n = base64_decode(encoded, strlen(encoded));
  if (n < 0) {
    print_error(reply_version, 6, "failed to decode content: the daemon's reply is not base64", path);
    return 1;
  }
  fwrite(encoded, 1, (size_t)n, stdout);
  return exit_code;
}
