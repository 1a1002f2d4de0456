/*
** fuzz_json.c: libFuzzer target for the JSON writer's core. Doubles (from the input's bytes) must print in at
** most JSON_DOUBLE_MAX bytes and read back bit-identical; strings must come out as valid JSON strings: quoted,
** no raw control characters, valid UTF-8.
*/
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int valid_utf8(const unsigned char *s, size_t n) {
  for (size_t i = 0; i < n;) {
    unsigned c = s[i];
    int len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (!len || i + (size_t)len > n) return 0;
    for (int k = 1; k < len; k++)
      if ((s[i + (size_t)k] & 0xC0) != 0x80) return 0;
    i += (size_t)len;
  }
  return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  for (size_t off = 0; off + 8 <= size; off += 8) {
    double x;
    memcpy(&x, data + off, 8);
    char out[JSON_DOUBLE_MAX];
    int n = json_format_double(x, out);
    if (!isfinite(x)) {
      if (n != -1) abort();
      continue;
    }
    if (n <= 0 || n >= JSON_DOUBLE_MAX || strtod(out, NULL) != x) abort();
  }
  mc_buf b;
  buf_init(&b);
  json_add_string(&b, (const char *)data, size);
  if (b.len < 2 || b.data[0] != '"' || b.data[b.len - 1] != '"') abort();
  for (size_t i = 1; i + 1 < b.len; i++) {
    if ((unsigned char)b.data[i] < 0x20) abort();
    if (b.data[i] == '"' && b.data[i - 1] != '\\') abort();
  }
  if (!valid_utf8((const unsigned char *)b.data, b.len)) abort();
  buf_free(&b);
  return 0;
}
