/*
 * Fuzz harness for the plugin shim's JSON scanner (src/cni/shim/json-scan.c) and config reader
 * (src/cni/shim/net-config.c).
 *
 *   libFuzzer:  clang -g -O1 -fsanitize=fuzzer,address,undefined -DLIBFUZZER -Isrc/cni/shim \
 *                 test/fuzz/json-scan-fuzz.c src/cni/shim/json-scan.c src/cni/shim/net-config.c
 *   without it: gcc -g -O1 -fsanitize=address,undefined -Isrc/cni/shim (same files), then
 *     json-scan-fuzz mutate ITERATIONS SEED   deterministic random mutations of built-in seeds
 *     json-scan-fuzz classify                 stdin: inputs, each a 4-byte big-endian length and
 *                                             the bytes; stdout: one line per input, "ok KIND"
 *                                             or "error OFFSET PROBLEM" (json-scan-fuzz.test.ts
 *                                             compares them with JSON.parse)
 *
 * Every input is copied into a heap block of exactly its size, so reading one byte past the end
 * is an AddressSanitizer error. Invariants that do not hold abort the process.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json-scan.h"
#include "net-config.h"

#define CHECK(cond)                                                      \
  do {                                                                   \
    if (!(cond)) {                                                       \
      fprintf(stderr, "invariant failed at line %d: %s\n", __LINE__, #cond); \
      abort();                                                           \
    }                                                                    \
  } while (0)

static void check_string(const char *token, size_t len) {
  size_t n = json_string_decode(token, len, NULL, 0);
  char *exact = malloc(n + 1);
  CHECK(exact != NULL);
  CHECK(json_string_decode(token, len, exact, n + 1) == n);
  char small[4];
  CHECK(json_string_decode(token, len, small, sizeof small) == n);
  CHECK(strlen(small) < sizeof small);
  CHECK(n <= len * 3); /* \uXXXX (6 bytes) decodes to at most 3; a pair (12) to 4 */
  free(exact);
}

/* A value found by the scanner is itself valid JSON of the same kind. */
static void check_value(const char *text, const json_field *f) {
  char *copy = malloc(f->len ? f->len : 1);
  CHECK(copy != NULL);
  memcpy(copy, text + f->start, f->len);
  json_error err;
  CHECK(json_scan(copy, f->len, NULL, 0, &err) == f->kind);
  if (f->kind == JSON_STRING) check_string(copy, f->len);
  if (f->kind == JSON_ARRAY) {
    size_t pos = 0, count = 0;
    json_field item;
    while (json_array_next(copy, f->len, &pos, &item) && count < 64) {
      CHECK(item.start + item.len <= f->len);
      CHECK(item.kind != JSON_ABSENT);
      count++;
    }
  }
  free(copy);
}

static json_kind one_input(const uint8_t *data, size_t size, json_error *err) {
  char *text = malloc(size ? size : 1);
  CHECK(text != NULL);
  memcpy(text, data, size);
  json_field fields[] = {{.key = "cniVersion"}, {.key = "cniVersions"}, {.key = "socketPath"}, {.key = "timeoutMs"}, {.key = "a"}};
  size_t nfields = sizeof fields / sizeof fields[0];
  json_kind kind = json_scan(text, size, fields, nfields, err);
  if (kind == JSON_ABSENT) {
    CHECK(err->offset <= size);
    CHECK(err->line >= 1 && err->column >= 1);
    CHECK(err->problem[0] != '\0');
  } else {
    for (size_t f = 0; f < nfields; f++) {
      if (fields[f].kind == JSON_ABSENT) continue;
      CHECK(kind == JSON_OBJECT);
      CHECK(fields[f].start + fields[f].len <= size);
      check_value(text, &fields[f]);
    }
  }
  net_config cfg;
  net_config_read(text, size, &cfg);
  CHECK(cfg.version != NULL);
  CHECK(strlen(cfg.socket_path) < sizeof cfg.socket_path);
  CHECK(cfg.code == 0 || cfg.msg[0] != '\0');
  CHECK(cfg.code != 0 || kind == JSON_OBJECT);
  CHECK(cfg.timeout_ms >= 0 && cfg.timeout_ms <= NET_CONFIG_MAX_TIMEOUT_MS);
  free(text);
  return kind;
}

#ifdef LIBFUZZER
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  json_error err;
  one_input(data, size, &err);
  return 0;
}
#else

static const char *const SEEDS[] = {
    "{\"cniVersion\":\"1.0.0\",\"name\":\"nativeip\",\"type\":\"nativeip-cni\",\"socketPath\":\"/run/nativeip/ipamd.sock\",\"timeoutMs\":300}",
    "{\"cniVersions\":[\"0.4.0\",\"1.1.0\"],\"prevResult\":{\"socketPath\":\"/nested\",\"ips\":[{\"address\":\"10.0.0.2/32\"}]},\"socketPath\":\"/a\\\"b\\\\c\\u00e9\\ud83d\\ude00\"}",
    "[1,-2.5e+3,0.0,1E-7,true,false,null,\"\\b\\f\\n\\r\\t\\/\",{},[],{\"a\":[{\"a\":{}}]}]",
    "{\"socket\\u0050ath\":\"/x\",\"timeoutMs\":1e3,\"a\":\"\\udc00\\ud800x\"}",
    " \t\r\n\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\" ",
};

/* Fragments that make mutations reach deeper than random bytes do. */
static const char *const TOKENS[] = {"{", "}", "[", "]", ":", ",", "\"", "\\", "\\u", "\\ud83d", "\\udc00", "true", "null", "-0.5e-7",
                                     "\"socketPath\":", "\"timeoutMs\":", "\"cniVersion\":", "\xc3", "\xed\xa0\x80", "\xf4\x90\x80\x80",
                                     "\xef\xbb\xbf", "\x00", "[[[[[[[[", "\"a\":"};

static uint64_t state;

static uint64_t next(void) {
  state ^= state << 13;
  state ^= state >> 7;
  state ^= state << 17;
  return state;
}

static size_t mutate(uint8_t *buf, size_t len, size_t cap) {
  int rounds = 1 + (int)(next() % 4);
  for (int r = 0; r < rounds; r++) {
    size_t at = len ? next() % (len + 1) : 0;
    switch (next() % 5) {
      case 0: /* flip a byte */
        if (len) buf[at % len] ^= (uint8_t)(1u << next() % 8);
        break;
      case 1: /* random byte */
        if (len) buf[at % len] = (uint8_t)next();
        break;
      case 2: { /* delete a range */
        size_t n = len ? next() % (len / 4 + 1) + 1 : 0;
        if (at + n > len) n = len - at;
        memmove(buf + at, buf + at + n, len - at - n);
        len -= n;
        break;
      }
      case 3: { /* insert a token */
        const char *t = TOKENS[next() % (sizeof TOKENS / sizeof TOKENS[0])];
        size_t n = t[0] == '\0' ? 1 : strlen(t);
        if (len + n > cap) break;
        memmove(buf + at + n, buf + at, len - at);
        memcpy(buf + at, t, n);
        len += n;
        break;
      }
      default: { /* duplicate a range */
        if (!len) break;
        size_t from = next() % len, n = next() % (len - from) + 1;
        if (len + n > cap) break;
        memmove(buf + at + n, buf + at, len - at);
        memmove(buf + at, buf + from + (from >= at ? n : 0), n);
        len += n;
        break;
      }
    }
  }
  return len;
}

static int run_mutations(long iterations, uint64_t seed) {
  enum { CAP = 4096 };
  static uint8_t buf[CAP];
  state = seed ? seed : 1;
  long valid = 0;
  size_t nseeds = sizeof SEEDS / sizeof SEEDS[0];
  for (long i = 0; i < iterations; i++) {
    const char *s = SEEDS[i % (long)nseeds];
    size_t len = strlen(s);
    memcpy(buf, s, len);
    /* Mutations pile up on one input for a while before starting again from a seed. */
    for (int round = 0; round < 8; round++) {
      len = mutate(buf, len, CAP);
      json_error err;
      if (one_input(buf, len, &err) != JSON_ABSENT) valid++;
    }
  }
  printf("%ld iterations x 8 inputs, %ld valid\n", iterations, valid);
  return 0;
}

static int classify(void) {
  uint8_t head[4];
  while (fread(head, 1, 4, stdin) == 4) {
    size_t len = (size_t)head[0] << 24 | (size_t)head[1] << 16 | (size_t)head[2] << 8 | head[3];
    uint8_t *data = malloc(len ? len : 1);
    CHECK(data != NULL);
    CHECK(fread(data, 1, len, stdin) == len);
    json_error err;
    json_kind kind = one_input(data, len, &err);
    if (kind == JSON_ABSENT) printf("error %zu %s\n", err.offset, err.problem);
    else printf("ok %d\n", (int)kind);
    free(data);
  }
  return 0;
}

int main(int argc, char **argv) {
  if (argc == 4 && strcmp(argv[1], "mutate") == 0) return run_mutations(atol(argv[2]), strtoull(argv[3], NULL, 10));
  if (argc == 2 && strcmp(argv[1], "classify") == 0) return classify();
  fprintf(stderr, "usage: %s mutate ITERATIONS SEED | classify\n", argv[0]);
  return 2;
}
#endif
