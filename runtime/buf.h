/*
** buf.h: a growable byte buffer used by the JSON writer, the CSV rejects writer and the report builder.
** Allocation failure is sticky: the buffer remembers it and buf_ok() reports it once at the end.
*/
#ifndef MERCADO_BUF_H
#define MERCADO_BUF_H

#include <stddef.h>
#include <string.h>

typedef struct mc_buf {
  char *data;
  size_t len;
  size_t cap;
  int failed;
} mc_buf;

void buf_init(mc_buf *b);
void buf_free(mc_buf *b);
/* Ensures room for n more bytes; returns 0 on success, -1 (and marks the buffer failed) when out of memory. */
int buf_reserve(mc_buf *b, size_t n);
void buf_add(mc_buf *b, const void *p, size_t n);
void buf_addstr(mc_buf *b, const char *s);
void buf_addf(mc_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static inline void buf_addc(mc_buf *b, char c) {
  if (b->len < b->cap || buf_reserve(b, 1) == 0) b->data[b->len++] = c;
}
static inline int buf_ok(const mc_buf *b) { return !b->failed; }

#endif
