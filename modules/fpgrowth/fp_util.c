/* fp_util.c: scratch memory, result lists, list comparison, hashing and top-k selection shared by the fpgrowth
   core files. */
#include "fp_internal.h"

#include <stdlib.h>
#include <string.h>

int fp_ensure(void **p, int64_t *cap, int64_t n, size_t sz) {
  if (n <= *cap) return 0;
  int64_t c = n + n / 4 + 16;
  free(*p);
  *p = mc_malloc_huge((size_t)c * sz);
  *cap = *p ? c : 0;
  return *p ? 0 : -1;
}

int fp_found_add(fp_found *o, const int32_t *ranks, int len, int64_t count) {
  if (o->n == o->cap) {
    int64_t cap = o->cap ? o->cap * 2 : 4096;
    int32_t *lens = realloc(o->lens, (size_t)cap * sizeof *lens);
    if (lens) o->lens = lens;
    int64_t *counts = realloc(o->counts, (size_t)cap * sizeof *counts);
    if (counts) o->counts = counts;
    if (!lens || !counts) return -1;
    o->cap = cap;
  }
  if (o->nranks + len > o->rcap) {
    int64_t cap = o->rcap ? o->rcap * 2 : 16384;
    while (cap < o->nranks + len) cap *= 2;
    int32_t *r = realloc(o->ranks, (size_t)cap * sizeof *r);
    if (!r) return -1;
    o->ranks = r;
    o->rcap = cap;
  }
  memcpy(o->ranks + o->nranks, ranks, (size_t)len * sizeof *ranks);
  o->nranks += len;
  o->lens[o->n] = len;
  o->counts[o->n++] = count;
  return 0;
}

int fp_lex_cmp(const int32_t *a, int64_t na, const int32_t *b, int64_t nb) {
  int64_t m = na < nb ? na : nb;
  for (int64_t i = 0; i < m; i++)
    if (a[i] != b[i]) return a[i] < b[i] ? -1 : 1;
  return na < nb ? -1 : na > nb;
}

uint64_t fp_hash_items(const int32_t *a, int64_t n) {
  uint64_t h = 0x9E3779B97F4A7C15ull ^ (uint64_t)n;
  for (int64_t i = 0; i < n; i++) {
    h ^= (uint32_t)a[i];
    h *= 0xFF51AFD7ED558CCDull;
    h ^= h >> 29;
  }
  h *= 0xC4CEB9FE1A85EC53ull;
  return h ^ (h >> 32);
}

/* Heap helpers: the heap keeps the worst selected element at the root. */
typedef struct topk {
  int64_t *h;
  int64_t len;
  int (*better)(int64_t, int64_t, const void *);
  const void *ctx;
} topk;

static void sift_down(topk *t, int64_t i) {
  for (;;) {
    int64_t l = 2 * i + 1, r = l + 1, w = i;
    if (l < t->len && t->better(t->h[w], t->h[l], t->ctx)) w = l;
    if (r < t->len && t->better(t->h[w], t->h[r], t->ctx)) w = r;
    if (w == i) return;
    int64_t tmp = t->h[i];
    t->h[i] = t->h[w];
    t->h[w] = tmp;
    i = w;
  }
}

static void sift_up(topk *t, int64_t i) {
  while (i > 0) {
    int64_t p = (i - 1) / 2;
    if (!t->better(t->h[p], t->h[i], t->ctx)) return;
    int64_t tmp = t->h[i];
    t->h[i] = t->h[p];
    t->h[p] = tmp;
    i = p;
  }
}

int64_t fp_top_k(int64_t n, int64_t k, int (*better)(int64_t, int64_t, const void *), const void *ctx,
                 int64_t *out) {
  if (k > n) k = n;
  if (k <= 0) return 0;
  topk t = {out, 0, better, ctx};
  for (int64_t i = 0; i < n; i++) {
    if (t.len < k) {
      t.h[t.len++] = i;
      sift_up(&t, t.len - 1);
    } else if (better(i, t.h[0], ctx)) {
      t.h[0] = i;
      sift_down(&t, 0);
    }
  }
  /* heap sort: repeatedly move the worst to the end */
  for (int64_t end = k - 1; end > 0; end--) {
    int64_t tmp = t.h[0];
    t.h[0] = t.h[end];
    t.h[end] = tmp;
    t.len = end;
    sift_down(&t, 0);
  }
  return k;
}
