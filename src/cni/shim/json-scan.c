/*
 * A strict JSON scanner (RFC 8259). Recursive descent over a byte span: no allocation, no
 * reliance on a terminating NUL, and the same problem wording as the plugin logic's
 * src/cni/plugin/json-syntax.ts, so the shim and the daemon describe a broken config alike.
 */
#include "json-scan.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

typedef struct {
  const unsigned char *s;
  size_t n, i;
  /* Members of the top-level object to capture; NULL when stepping through an array. */
  json_field *fields;
  size_t nfields;
  json_error *err;
} scan_t;

static int value(scan_t *sc, int depth, json_kind *kind);

static void position(const unsigned char *s, size_t at, json_error *err) {
  size_t line = 1, column = 1;
  for (size_t k = 0; k < at; k++) {
    if (s[k] == '\n') {
      line++;
      column = 1;
    } else if ((s[k] & 0xC0) != 0x80) {
      column++;
    }
  }
  err->offset = at;
  err->line = line;
  err->column = column;
}

__attribute__((format(printf, 3, 4))) static int fail(scan_t *sc, size_t at, const char *fmt, ...) {
  position(sc->s, at, sc->err);
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(sc->err->problem, sizeof sc->err->problem, fmt, ap);
  va_end(ap);
  return 0;
}

/* What is at the scan position, for "found …". */
static void describe(const scan_t *sc, char *out, size_t cap) {
  if (sc->i >= sc->n) {
    snprintf(out, cap, "the end of the input");
    return;
  }
  unsigned c = sc->s[sc->i];
  if (c < 0x20 || c == 0x7f) snprintf(out, cap, "U+%04X", c);
  else if (c >= 0x80) snprintf(out, cap, "byte 0x%02X", c);
  else snprintf(out, cap, "'%c'", (char)c);
}

static int expected(scan_t *sc, const char *what) {
  char found[24];
  describe(sc, found, sizeof found);
  return fail(sc, sc->i, "expected %s, found %s", what, found);
}

static void ws(scan_t *sc) {
  while (sc->i < sc->n) {
    unsigned char c = sc->s[sc->i];
    if (c != ' ' && c != '\t' && c != '\n' && c != '\r') return;
    sc->i++;
  }
}

static int hex_digit(unsigned char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* The value of four hex digits at p, or -1. */
static long hex4(const unsigned char *p) {
  long v = 0;
  for (int k = 0; k < 4; k++) {
    int d = hex_digit(p[k]);
    if (d < 0) return -1;
    v = v << 4 | d;
  }
  return v;
}

/* The length of the well-formed UTF-8 sequence at p (RFC 3629: no overlong forms, no
 * surrogates, nothing above U+10FFFF), or 0. */
static size_t utf8_length(const unsigned char *p, size_t avail) {
  unsigned c = p[0];
  unsigned lo = 0x80, hi = 0xBF;
  size_t k;
  if (c >= 0xC2 && c <= 0xDF) {
    k = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    k = 3;
    if (c == 0xE0) lo = 0xA0;
    if (c == 0xED) hi = 0x9F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    k = 4;
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F;
  } else {
    return 0;
  }
  if (avail < k || p[1] < lo || p[1] > hi) return 0;
  for (size_t j = 2; j < k; j++)
    if ((p[j] & 0xC0) != 0x80) return 0;
  return k;
}

static int string_(scan_t *sc) {
  const unsigned char *s = sc->s;
  size_t i = sc->i + 1;
  for (;;) {
    if (i >= sc->n) return fail(sc, i, "unterminated string");
    unsigned c = s[i];
    if (c == '"') {
      sc->i = i + 1;
      return 1;
    }
    if (c >= 0x20 && c < 0x80 && c != '\\') {
      i++;
    } else if (c < 0x20) {
      return fail(sc, i, "control character U+%04X in a string (escape it)", c);
    } else if (c == '\\') {
      if (i + 1 >= sc->n) return fail(sc, i, "invalid escape at the end of the input");
      unsigned e = s[i + 1];
      if (e == 'u') {
        if (sc->n - i < 6 || hex4(s + i + 2) < 0) return fail(sc, i, "invalid \\u escape (needs 4 hex digits)");
        i += 6;
      } else if (e == '"' || e == '\\' || e == '/' || e == 'b' || e == 'f' || e == 'n' || e == 'r' || e == 't') {
        i += 2;
      } else if (e > 0x20 && e < 0x7f) {
        return fail(sc, i, "invalid escape '\\%c'", (char)e);
      } else {
        return fail(sc, i, "invalid escape: a backslash before byte 0x%02X", e);
      }
    } else {
      size_t k = utf8_length(s + i, sc->n - i);
      if (k == 0) return fail(sc, i, "invalid UTF-8 (byte 0x%02X) in a string", c);
      i += k;
    }
  }
}

static int digits(scan_t *sc, const char *what) {
  if (sc->i >= sc->n || sc->s[sc->i] < '0' || sc->s[sc->i] > '9') return expected(sc, what);
  while (sc->i < sc->n && sc->s[sc->i] >= '0' && sc->s[sc->i] <= '9') sc->i++;
  return 1;
}

static int number(scan_t *sc) {
  if (sc->s[sc->i] == '-') sc->i++;
  if (sc->i < sc->n && sc->s[sc->i] == '0') sc->i++;
  else if (!digits(sc, "a digit")) return 0;
  if (sc->i < sc->n && sc->s[sc->i] == '.') {
    sc->i++;
    if (!digits(sc, "a digit after '.'")) return 0;
  }
  if (sc->i < sc->n && (sc->s[sc->i] == 'e' || sc->s[sc->i] == 'E')) {
    sc->i++;
    if (sc->i < sc->n && (sc->s[sc->i] == '+' || sc->s[sc->i] == '-')) sc->i++;
    if (!digits(sc, "a digit in the exponent")) return 0;
  }
  return 1;
}

static int literal(scan_t *sc, const char *word, const char *quoted) {
  for (const char *w = word; *w != '\0'; w++) {
    if (sc->i >= sc->n || sc->s[sc->i] != (unsigned char)*w) return expected(sc, quoted);
    sc->i++;
  }
  return 1;
}

/* Records a member of the top-level object when its name is one of the wanted keys. */
static void capture(scan_t *sc, size_t key_start, size_t key_len, json_kind kind, size_t start) {
  char name[64];
  size_t n = json_string_decode((const char *)sc->s + key_start, key_len, name, sizeof name);
  if (n >= sizeof name) return;
  for (size_t f = 0; f < sc->nfields; f++) {
    json_field *field = &sc->fields[f];
    if (strlen(field->key) == n && memcmp(field->key, name, n) == 0) {
      field->kind = kind;
      field->start = start;
      field->len = sc->i - start;
    }
  }
}

static int object(scan_t *sc, int depth) {
  if (depth > JSON_MAX_DEPTH) return fail(sc, sc->i, "nesting deeper than %d", JSON_MAX_DEPTH);
  int top = depth == 1 && sc->fields != NULL;
  sc->i++;
  ws(sc);
  if (sc->i < sc->n && sc->s[sc->i] == '}') {
    sc->i++;
    return 1;
  }
  for (;;) {
    ws(sc);
    if (sc->i >= sc->n || sc->s[sc->i] != '"') return expected(sc, "a double-quoted property name");
    size_t key_start = sc->i;
    if (!string_(sc)) return 0;
    size_t key_len = sc->i - key_start;
    ws(sc);
    if (sc->i >= sc->n || sc->s[sc->i] != ':') return expected(sc, "':' after a property name");
    sc->i++;
    ws(sc);
    size_t start = sc->i;
    json_kind kind = JSON_ABSENT;
    if (!value(sc, depth, &kind)) return 0;
    if (top) capture(sc, key_start, key_len, kind, start);
    ws(sc);
    if (sc->i < sc->n && sc->s[sc->i] == ',') {
      sc->i++;
      continue;
    }
    if (sc->i < sc->n && sc->s[sc->i] == '}') {
      sc->i++;
      return 1;
    }
    return expected(sc, "',' or '}' after a property value");
  }
}

static int array(scan_t *sc, int depth) {
  if (depth > JSON_MAX_DEPTH) return fail(sc, sc->i, "nesting deeper than %d", JSON_MAX_DEPTH);
  sc->i++;
  ws(sc);
  if (sc->i < sc->n && sc->s[sc->i] == ']') {
    sc->i++;
    return 1;
  }
  for (;;) {
    json_kind kind;
    if (!value(sc, depth, &kind)) return 0;
    ws(sc);
    if (sc->i < sc->n && sc->s[sc->i] == ',') {
      sc->i++;
      continue;
    }
    if (sc->i < sc->n && sc->s[sc->i] == ']') {
      sc->i++;
      return 1;
    }
    return expected(sc, "',' or ']' after an array element");
  }
}

/* One value at the scan position; `depth` is the number of containers around it. */
static int value(scan_t *sc, int depth, json_kind *kind) {
  ws(sc);
  if (sc->i >= sc->n) return expected(sc, "a value");
  switch (sc->s[sc->i]) {
    case '{':
      *kind = JSON_OBJECT;
      return object(sc, depth + 1);
    case '[':
      *kind = JSON_ARRAY;
      return array(sc, depth + 1);
    case '"':
      *kind = JSON_STRING;
      return string_(sc);
    case 't':
      *kind = JSON_TRUE;
      return literal(sc, "true", "'true'");
    case 'f':
      *kind = JSON_FALSE;
      return literal(sc, "false", "'false'");
    case 'n':
      *kind = JSON_NULL;
      return literal(sc, "null", "'null'");
    default:
      *kind = JSON_NUMBER;
      if (sc->s[sc->i] == '-' || (sc->s[sc->i] >= '0' && sc->s[sc->i] <= '9')) return number(sc);
      return expected(sc, "a value");
  }
}

json_kind json_scan(const char *text, size_t len, json_field *fields, size_t nfields, json_error *err) {
  for (size_t f = 0; f < nfields; f++) {
    fields[f].kind = JSON_ABSENT;
    fields[f].start = fields[f].len = 0;
  }
  scan_t sc = {(const unsigned char *)text, len, 0, fields, nfields, err};
  if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0) sc.i = 3;
  json_kind kind = JSON_ABSENT;
  if (!value(&sc, 0, &kind)) return JSON_ABSENT;
  ws(&sc);
  if (sc.i < sc.n) {
    char found[24];
    describe(&sc, found, sizeof found);
    fail(&sc, sc.i, "unexpected %s after the JSON value", found);
    return JSON_ABSENT;
  }
  return kind;
}

size_t json_string_decode(const char *token, size_t len, char *out, size_t cap) {
  const unsigned char *s = (const unsigned char *)token;
  size_t o = 0;
#define PUT(b)                            \
  do {                                    \
    if (o + 1 < cap) out[o] = (char)(b);  \
    o++;                                  \
  } while (0)
  for (size_t i = 1; i + 1 < len;) {
    unsigned c = s[i];
    if (c != '\\') {
      PUT(c);
      i++;
      continue;
    }
    unsigned e = s[i + 1];
    i += 2;
    switch (e) {
      case 'b': PUT('\b'); break;
      case 'f': PUT('\f'); break;
      case 'n': PUT('\n'); break;
      case 'r': PUT('\r'); break;
      case 't': PUT('\t'); break;
      case 'u': {
        long cp = hex4(s + i);
        i += 4;
        if (cp >= 0xD800 && cp <= 0xDBFF && i + 6 < len && s[i] == '\\' && s[i + 1] == 'u') {
          long low = hex4(s + i + 2);
          if (low >= 0xDC00 && low <= 0xDFFF) {
            cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
            i += 6;
          }
        }
        if (cp < 0 || (cp >= 0xD800 && cp <= 0xDFFF)) cp = 0xFFFD;
        if (cp < 0x80) {
          PUT(cp);
        } else if (cp < 0x800) {
          PUT(0xC0 | cp >> 6);
          PUT(0x80 | (cp & 0x3F));
        } else if (cp < 0x10000) {
          PUT(0xE0 | cp >> 12);
          PUT(0x80 | (cp >> 6 & 0x3F));
          PUT(0x80 | (cp & 0x3F));
        } else {
          PUT(0xF0 | cp >> 18);
          PUT(0x80 | (cp >> 12 & 0x3F));
          PUT(0x80 | (cp >> 6 & 0x3F));
          PUT(0x80 | (cp & 0x3F));
        }
        break;
      }
      default: PUT(e); break;
    }
  }
#undef PUT
  if (cap > 0) out[o < cap ? o : cap - 1] = '\0';
  return o;
}

int json_array_next(const char *array, size_t len, size_t *pos, json_field *item) {
  json_error ignored;
  scan_t sc = {(const unsigned char *)array, len, *pos == 0 ? 1 : *pos, NULL, 0, &ignored};
  ws(&sc);
  if (sc.i >= len || array[sc.i] == ']') return 0;
  if (array[sc.i] == ',') sc.i++;
  ws(&sc);
  item->start = sc.i;
  if (!value(&sc, 1, &item->kind)) return 0;
  item->len = sc.i - item->start;
  *pos = sc.i;
  return 1;
}
