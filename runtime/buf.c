/* buf.c: growable byte buffer (see buf.h). */
#include "hugepages.h"
#include "buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

void buf_init(mc_buf *b) {
  b->data = NULL;
  b->len = b->cap = 0;
  b->failed = 0;
}

void buf_free(mc_buf *b) {
  free(b->data);
  buf_init(b);
}

int buf_reserve(mc_buf *b, size_t n) {
  if (b->failed) return -1;
  if (b->len + n <= b->cap) return 0;
  size_t cap = b->cap ? b->cap : 256;
  while (cap < b->len + n) cap *= 2;
  char *p = mc_realloc_huge(b->data, cap);
  if (!p) {
    b->failed = 1;
    return -1;
  }
  b->data = p;
  b->cap = cap;
  return 0;
}

void buf_add(mc_buf *b, const void *p, size_t n) {
  if (n == 0 || buf_reserve(b, n) != 0) return;
  memcpy(b->data + b->len, p, n);
  b->len += n;
}

void buf_addstr(mc_buf *b, const char *s) { buf_add(b, s, strlen(s)); }

void buf_addf(mc_buf *b, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (n < 0 || buf_reserve(b, (size_t)n + 1) != 0) return;
  va_start(ap, fmt);
  vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
  va_end(ap);
  b->len += (size_t)n;
}
