/* Reads cniVersion, cniVersions, socketPath and timeoutMs from the top level of a network config. */
#include "net-config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json-scan.h"

const char *const NET_CONFIG_VERSIONS[] = {"0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"};
const size_t NET_CONFIG_VERSION_COUNT = sizeof NET_CONFIG_VERSIONS / sizeof NET_CONFIG_VERSIONS[0];

enum { F_VERSION, F_VERSIONS, F_SOCKET, F_TIMEOUT, F_COUNT };

/* The index of a supported version in text[start, start + len) (a string token), or -1. */
static int supported(const char *text, const json_field *f) {
  char version[16];
  size_t n = json_string_decode(text + f->start, f->len, version, sizeof version);
  if (n >= sizeof version) return -1;
  for (size_t k = 0; k < NET_CONFIG_VERSION_COUNT; k++)
    if (strlen(NET_CONFIG_VERSIONS[k]) == n && memcmp(NET_CONFIG_VERSIONS[k], version, n) == 0) return (int)k;
  return -1;
}

static const char *label_version(const char *text, const json_field *fields) {
  int best = -1;
  if (fields[F_VERSION].kind == JSON_STRING) {
    best = supported(text, &fields[F_VERSION]);
  } else if (fields[F_VERSIONS].kind == JSON_ARRAY) {
    const char *array = text + fields[F_VERSIONS].start;
    size_t pos = 0;
    json_field item;
    while (json_array_next(array, fields[F_VERSIONS].len, &pos, &item)) {
      if (item.kind != JSON_STRING) continue;
      item.start += fields[F_VERSIONS].start;
      int k = supported(text, &item);
      if (k > best) best = k;
    }
  }
  return NET_CONFIG_VERSIONS[best >= 0 ? best : (int)NET_CONFIG_VERSION_COUNT - 1];
}

/* A value as the plugin logic shows it in a message: `string "…"`, `number 5`, `an object`. */
static void show(const char *text, const json_field *f, char *out, size_t cap) {
  const char *type = f->kind == JSON_STRING ? "string " : f->kind == JSON_NUMBER ? "number " : "boolean ";
  switch (f->kind) {
    case JSON_OBJECT: snprintf(out, cap, "an object"); return;
    case JSON_ARRAY: snprintf(out, cap, "an array"); return;
    case JSON_NULL: snprintf(out, cap, "null"); return;
    default: break;
  }
  size_t len = f->len, limit = 80;
  const char *more = "";
  if (len > limit) {
    len = limit;
    while (len > 0 && ((unsigned char)text[f->start + len] & 0xC0) == 0x80) len--;
    more = "…";
  }
  snprintf(out, cap, "%s%.*s%s", type, (int)len, text + f->start, more);
}

__attribute__((format(printf, 2, 3))) static void problem(net_config *out, const char *fmt, ...) {
  size_t used = strlen(out->msg);
  if (used >= sizeof out->msg - 1) return;
  if (out->code == 0) {
    out->code = 7;
    used = (size_t)snprintf(out->msg, sizeof out->msg, "invalid network config: ");
  } else {
    used += (size_t)snprintf(out->msg + used, sizeof out->msg - used, "; ");
  }
  if (used >= sizeof out->msg) return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(out->msg + used, sizeof out->msg - used, fmt, ap);
  va_end(ap);
}

static void read_socket_path(const char *text, const json_field *f, net_config *out) {
  char shown[128];
  show(text, f, shown, sizeof shown);
  if (f->kind != JSON_STRING) {
    problem(out, "socketPath: expected an absolute path, got %s", shown);
    return;
  }
  size_t n = json_string_decode(text + f->start, f->len, out->socket_path, sizeof out->socket_path);
  if (out->socket_path[0] != '/') {
    problem(out, "socketPath: expected an absolute path, got %s", shown);
  } else if (n >= sizeof out->socket_path) {
    problem(out, "socketPath: %zu bytes is too long for a Unix socket path (at most %zu)", n, sizeof out->socket_path - 1);
  } else if (strlen(out->socket_path) != n) {
    problem(out, "socketPath: contains a NUL character");
  } else {
    return;
  }
  out->socket_path[0] = '\0';
}

static void read_timeout(const char *text, const json_field *f, net_config *out) {
  /* A JSON number is followed by a delimiter or the end of the text, so strtod stops with it;
   * it reads the same numbers JSON.parse does (1e3 and 1000.0 are the integer 1000). */
  char number[64];
  double ms = 0;
  if (f->kind == JSON_NUMBER && f->len < sizeof number) {
    memcpy(number, text + f->start, f->len);
    number[f->len] = '\0';
    ms = strtod(number, NULL);
  }
  if (ms >= 1 && ms <= (double)NET_CONFIG_MAX_TIMEOUT_MS && ms == (double)(long)ms) {
    out->timeout_ms = (long)ms;
    return;
  }
  char shown[128];
  show(text, f, shown, sizeof shown);
  problem(out, "timeoutMs: expected an integer from 1 to %ld (milliseconds), got %s", NET_CONFIG_MAX_TIMEOUT_MS, shown);
}

static const char *kind_name(json_kind kind) {
  switch (kind) {
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_NUMBER: return "a number";
    case JSON_TRUE:
    case JSON_FALSE: return "a boolean";
    default: return "null";
  }
}

void net_config_read(const char *text, size_t len, net_config *out) {
  memset(out, 0, sizeof *out);
  out->version = NET_CONFIG_VERSIONS[NET_CONFIG_VERSION_COUNT - 1];
  size_t blank = len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0 ? 3 : 0;
  while (blank < len && strchr(" \t\n\r", text[blank]) != NULL && text[blank] != '\0') blank++;
  if (blank == len) {
    out->code = 6;
    snprintf(out->msg, sizeof out->msg, "failed to decode content: stdin is empty; expected the network configuration JSON");
    return;
  }
  json_field fields[F_COUNT] = {{.key = "cniVersion"}, {.key = "cniVersions"}, {.key = "socketPath"}, {.key = "timeoutMs"}};
  json_error err;
  json_kind top = json_scan(text, len, fields, F_COUNT, &err);
  if (top == JSON_ABSENT) {
    out->code = 6;
    snprintf(out->msg, sizeof out->msg, "failed to decode content: invalid JSON at line %zu, column %zu (byte offset %zu): %s", err.line,
             err.column, err.offset, err.problem);
    return;
  }
  if (top != JSON_OBJECT) {
    out->code = 6;
    snprintf(out->msg, sizeof out->msg, "failed to decode content: the network configuration must be a JSON object, got %s", kind_name(top));
    return;
  }
  out->version = label_version(text, fields);
  if (fields[F_SOCKET].kind != JSON_ABSENT) read_socket_path(text, &fields[F_SOCKET], out);
  if (fields[F_TIMEOUT].kind != JSON_ABSENT) read_timeout(text, &fields[F_TIMEOUT], out);
}
