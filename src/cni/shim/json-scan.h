/*
 * A strict JSON scanner (RFC 8259) for the plugin shim: it validates a whole document without
 * allocating and reports where the members of the top-level object it was asked for are.
 */
#ifndef NATIVEIP_JSON_SCAN_H
#define NATIVEIP_JSON_SCAN_H

#include <stddef.h>

/* Containers nested deeper than this are refused (the plugin logic's limit too). */
#define JSON_MAX_DEPTH 512

typedef enum {
  JSON_ABSENT = 0,
  JSON_OBJECT,
  JSON_ARRAY,
  JSON_STRING,
  JSON_NUMBER,
  JSON_TRUE,
  JSON_FALSE,
  JSON_NULL,
} json_kind;

/* A member of the top-level object to capture. The caller sets `key`; json_scan sets the rest. */
typedef struct {
  const char *key;
  /* JSON_ABSENT when the object has no such member. */
  json_kind kind;
  /* Where the value's text is: a string's span includes its quotes. The last duplicate wins, as
   * with JSON.parse. */
  size_t start, len;
} json_field;

typedef struct {
  /* Bytes from the start of the text. */
  size_t offset;
  /* 1-based; the column counts characters (UTF-8 sequences), not bytes. */
  size_t line, column;
  /* What is wrong there, e.g. "expected ':' after a property name, found '}'". */
  char problem[112];
} json_error;

/*
 * Validates text[0, len) as one JSON text; a leading UTF-8 byte order mark is skipped (RFC 8259
 * section 8.1 allows that). The text need not be NUL-terminated and may contain NUL bytes (which
 * are errors). Returns the kind of the top-level value, or JSON_ABSENT with *err filled in. When
 * the top-level value is an object, fields[0, nfields) are filled in from its members.
 */
json_kind json_scan(const char *text, size_t len, json_field *fields, size_t nfields, json_error *err);

/*
 * Decodes a string token found by json_scan (quotes included) to UTF-8 in out[0, cap), always
 * NUL-terminated when cap > 0. \uXXXX escapes become UTF-8; a surrogate pair becomes one
 * character and an unpaired surrogate U+FFFD (as Node.js encodes it). Returns the decoded length,
 * which may exceed cap - 1 (then the output is cut short) and may count NUL characters.
 */
size_t json_string_decode(const char *token, size_t len, char *out, size_t cap);

/*
 * Steps through the elements of an array token found by json_scan: start with *pos = 0; each call
 * returns 1 and sets item->kind, start and len (relative to `array`), or 0 after the last.
 */
int json_array_next(const char *array, size_t len, size_t *pos, json_field *item);

#endif
