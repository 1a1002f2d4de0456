/*
** fp_cache.c: a binary file holding mined itemsets and their rules, so a run over unchanged data with unchanged
** parameters skips mining. The file starts with a magic, a format version and the caller's key (a fingerprint of
** the data and every parameter); a file with another key, version or a wrong size is a miss, never an error.
** Layout (little-endian, native sizes): header, then the arrays of fp_itemsets and fp_rules in declaration order.
*/
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "fpgrowth.h"
#include "fsutil.h"

#define FP_CACHE_MAGIC "MERCADOFPCACHE01"
#define FP_CACHE_KEY 64

typedef struct cache_header {
  char magic[16];
  char key[FP_CACHE_KEY];
  int64_t s_n, s_nbaskets, s_min_count, s_items;
  int64_t r_n, r_nbaskets, r_a_items, r_c_items;
} cache_header;

static void put(mc_buf *b, const void *p, size_t n) { buf_add(b, p, n); }

int fp_cache_write(const char *path, const char *key, const fp_itemsets *s, const fp_rules *r, char *err,
                   size_t errlen) {
  cache_header h;
  memset(&h, 0, sizeof h);
  memcpy(h.magic, FP_CACHE_MAGIC, 16);
  snprintf(h.key, sizeof h.key, "%s", key);
  h.s_n = s->n, h.s_nbaskets = s->nbaskets, h.s_min_count = s->min_count, h.s_items = s->offsets[s->n];
  h.r_n = r->n, h.r_nbaskets = r->nbaskets, h.r_a_items = r->a_off[r->n], h.r_c_items = r->c_off[r->n];
  mc_buf b;
  buf_init(&b);
  put(&b, &h, sizeof h);
  put(&b, s->offsets, sizeof(int64_t) * (size_t)(s->n + 1));
  put(&b, s->items, sizeof(int32_t) * (size_t)h.s_items);
  put(&b, s->counts, sizeof(int64_t) * (size_t)s->n);
  put(&b, r->a_off, sizeof(int64_t) * (size_t)(r->n + 1));
  put(&b, r->a_items, sizeof(int32_t) * (size_t)h.r_a_items);
  put(&b, r->c_off, sizeof(int64_t) * (size_t)(r->n + 1));
  put(&b, r->c_items, sizeof(int32_t) * (size_t)h.r_c_items);
  const int64_t *i64[3] = {r->count, r->a_count, r->c_count};
  for (int k = 0; k < 3; k++) put(&b, i64[k], sizeof(int64_t) * (size_t)r->n);
  const double *f64[5] = {r->support, r->confidence, r->lift, r->leverage, r->conviction};
  for (int k = 0; k < 5; k++) put(&b, f64[k], sizeof(double) * (size_t)r->n);
  int rc = -1;
  if (!buf_ok(&b)) snprintf(err, errlen, "out of memory writing %s", path);
  else rc = fs_write_atomic_nosync(path, b.data, b.len, err, errlen);
  buf_free(&b);
  return rc;
}

/* Copies n bytes from the cursor into a new allocation; NULL (and *ok = 0) if the file is too short. */
static void *take(const char **p, const char *end, size_t n, int *ok) {
  if (!*ok || (size_t)(end - *p) < n) {
    *ok = 0;
    return NULL;
  }
  void *out = malloc(n ? n : 1);
  if (!out) {
    *ok = 0;
    return NULL;
  }
  memcpy(out, *p, n);
  *p += n;
  return out;
}

int fp_cache_read(const char *path, const char *key, fp_itemsets *s, fp_rules *r) {
  memset(s, 0, sizeof *s);
  memset(r, 0, sizeof *r);
  FILE *f = fopen(path, "rb");
  if (!f) return -1;
  char *data = NULL;
  size_t len = 0, cap = 0;
  for (;;) {
    if (len == cap) {
      cap = cap ? cap * 2 : 1 << 20;
      char *more = realloc(data, cap);
      if (!more) {
        free(data);
        fclose(f);
        return -1;
      }
      data = more;
    }
    size_t got = fread(data + len, 1, cap - len, f);
    len += got;
    if (got == 0) break;
  }
  fclose(f);
  cache_header h;
  int ok = len >= sizeof h;
  if (ok) memcpy(&h, data, sizeof h);
  ok = ok && memcmp(h.magic, FP_CACHE_MAGIC, 16) == 0 && strncmp(h.key, key, FP_CACHE_KEY - 1) == 0 &&
       h.s_n >= 0 && h.r_n >= 0 && h.s_items >= 0 && h.r_a_items >= 0 && h.r_c_items >= 0;
  const char *p = data + sizeof h, *end = data + len;
  if (ok) {
    s->n = h.s_n, s->nbaskets = h.s_nbaskets, s->min_count = h.s_min_count;
    s->offsets = take(&p, end, sizeof(int64_t) * (size_t)(h.s_n + 1), &ok);
    s->items = take(&p, end, sizeof(int32_t) * (size_t)h.s_items, &ok);
    s->counts = take(&p, end, sizeof(int64_t) * (size_t)h.s_n, &ok);
    r->n = h.r_n, r->nbaskets = h.r_nbaskets;
    r->a_off = take(&p, end, sizeof(int64_t) * (size_t)(h.r_n + 1), &ok);
    r->a_items = take(&p, end, sizeof(int32_t) * (size_t)h.r_a_items, &ok);
    r->c_off = take(&p, end, sizeof(int64_t) * (size_t)(h.r_n + 1), &ok);
    r->c_items = take(&p, end, sizeof(int32_t) * (size_t)h.r_c_items, &ok);
    r->count = take(&p, end, sizeof(int64_t) * (size_t)h.r_n, &ok);
    r->a_count = take(&p, end, sizeof(int64_t) * (size_t)h.r_n, &ok);
    r->c_count = take(&p, end, sizeof(int64_t) * (size_t)h.r_n, &ok);
    r->support = take(&p, end, sizeof(double) * (size_t)h.r_n, &ok);
    r->confidence = take(&p, end, sizeof(double) * (size_t)h.r_n, &ok);
    r->lift = take(&p, end, sizeof(double) * (size_t)h.r_n, &ok);
    r->leverage = take(&p, end, sizeof(double) * (size_t)h.r_n, &ok);
    r->conviction = take(&p, end, sizeof(double) * (size_t)h.r_n, &ok);
    ok = ok && p == end && s->offsets[h.s_n] == h.s_items && r->a_off[h.r_n] == h.r_a_items &&
         r->c_off[h.r_n] == h.r_c_items;
  }
  free(data);
  if (!ok) {
    fp_itemsets_free(s);
    fp_rules_free(r);
    return -1;
  }
  return 0;
}
