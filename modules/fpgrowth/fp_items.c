/*
** fp_items.c: the first pass of mining, shared by both growth methods: a dictionary of the item ids of a basket
** column (an offset when their range is small, else a hash), the number of baskets holding each item (counted on
** threads, once per basket) and the ranks of the frequent items (count desc, then item id asc).
*/
#include "fp_internal.h"

#include <stdlib.h>
#include <string.h>

static inline uint64_t mix32(int32_t x) {
  uint64_t h = (uint32_t)x * 0x9E3779B97F4A7C15ull;
  return h ^ (h >> 31);
}

int64_t fp_items_index_slow(const fp_ranking *rk, int32_t x) {
  uint64_t h = mix32(x) & rk->mask;
  while (rk->vals[h] >= 0) {
    if (rk->keys[h] == x) return rk->vals[h];
    h = (h + 1) & rk->mask;
  }
  return -1;
}

static inline int32_t item_at(const fp_ranking *rk, int64_t idx) {
  return rk->dense ? (int32_t)(rk->base + idx) : rk->item_of[idx];
}

void fp_ranking_free(fp_ranking *rk) {
  free(rk->keys);
  free(rk->vals);
  free(rk->item_of);
  free(rk->rank_of);
  free(rk->rank_item);
  free(rk->support);
  memset(rk, 0, sizeof *rk);
}

static int map_grow(fp_ranking *rk) {
  uint64_t cap = rk->mask ? (rk->mask + 1) * 2 : 1024;
  int32_t *keys = malloc(cap * sizeof *keys), *vals = malloc(cap * sizeof *vals);
  int32_t *item_of = realloc(rk->item_of, cap / 2 * sizeof *item_of);
  if (item_of) rk->item_of = item_of;
  if (!keys || !vals || !item_of) {
    free(keys);
    free(vals);
    return -1;
  }
  memset(vals, 0xff, cap * sizeof *vals);
  for (int64_t i = 0; i < rk->m; i++) {
    uint64_t h = mix32(item_of[i]) & (cap - 1);
    while (vals[h] >= 0) h = (h + 1) & (cap - 1);
    keys[h] = item_of[i];
    vals[h] = (int32_t)i;
  }
  free(rk->keys);
  free(rk->vals);
  rk->keys = keys;
  rk->vals = vals;
  rk->mask = cap - 1;
  return 0;
}

/* The dictionary of the items in [lo, hi). */
static fp_status map_build(fp_ranking *rk, const int32_t *items, int64_t lo, int64_t hi) {
  rk->dense = 1;
  if (hi <= lo) return FP_OK;
  int32_t mn = items[lo], mx = items[lo];
  for (int64_t i = lo; i < hi; i++) {
    if (items[i] < mn) mn = items[i];
    if (items[i] > mx) mx = items[i];
  }
  int64_t range = (int64_t)mx - mn + 1;
  if (range <= (1 << 20) || range <= (hi - lo) / 8) {
    rk->base = mn;
    rk->m = range;
    return FP_OK;
  }
  rk->dense = 0;
  if (map_grow(rk) != 0) return FP_ENOMEM;
  for (int64_t i = lo; i < hi; i++) {
    uint64_t h = mix32(items[i]) & rk->mask;
    while (rk->vals[h] >= 0 && rk->keys[h] != items[i]) h = (h + 1) & rk->mask;
    if (rk->vals[h] >= 0) continue;
    if (rk->m >= INT32_MAX) return FP_ETOOBIG;
    rk->keys[h] = items[i];
    rk->vals[h] = (int32_t)rk->m;
    rk->item_of[rk->m++] = items[i];
    if ((uint64_t)rk->m * 2 > rk->mask && map_grow(rk) != 0) return FP_ENOMEM;
  }
  return FP_OK;
}

typedef struct counter {
  const fp_lists *b;
  const fp_ranking *rk;
  int64_t lo, hi;          /* baskets of this thread */
  int64_t *counts, *stamp; /* per dictionary index */
  int64_t maxraw;
} counter;

/* In how many baskets of [lo, hi) each item occurs. */
static void *count_items(void *arg) {
  counter *p = arg;
  const int64_t *off = p->b->offsets;
  const int32_t *it = p->b->items;
  for (int64_t b = p->lo; b < p->hi; b++) {
    if (off[b + 1] - off[b] > p->maxraw) p->maxraw = off[b + 1] - off[b];
    for (int64_t j = off[b]; j < off[b + 1]; j++) {
      int64_t x = fp_items_index(p->rk, it[j]);
      if (p->stamp[x] != b + 1) {
        p->stamp[x] = b + 1;
        p->counts[x]++;
      }
    }
  }
  return NULL;
}

typedef struct rank_ctx {
  const int64_t *counts;
  const fp_ranking *rk;
} rank_ctx;

/* Frequent items: count desc, then item id asc. */
static int cmp_rank(const void *a, const void *b, void *ctx) {
  const rank_ctx *c = ctx;
  int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
  if (c->counts[x] != c->counts[y]) return c->counts[x] > c->counts[y] ? -1 : 1;
  int32_t ix = item_at(c->rk, x), iy = item_at(c->rk, y);
  return (ix > iy) - (ix < iy);
}

fp_status fp_rank_items(const fp_lists *b, int64_t minc, int nt, fp_ranking *rk) {
  memset(rk, 0, sizeof *rk);
  counter cs[FP_MAX_THREADS];
  memset(cs, 0, sizeof cs);
  int64_t *counts = NULL;
  int32_t *ranked = NULL;
  fp_status st = map_build(rk, b->items, b->n ? b->offsets[0] : 0, b->n ? b->offsets[b->n] : 0);
  if (st != FP_OK) goto cleanup;
  st = FP_ENOMEM;
  int64_t m = rk->m ? rk->m : 1;
  for (int i = 0; i < nt; i++) {
    counter *p = &cs[i];
    p->b = b;
    p->rk = rk;
    p->lo = b->n * i / nt;
    p->hi = b->n * (i + 1) / nt;
    p->counts = calloc((size_t)m, sizeof *p->counts);
    p->stamp = calloc((size_t)m, sizeof *p->stamp);
    if (!p->counts || !p->stamp) goto cleanup;
  }
  mc_parallel(nt, count_items, cs, sizeof *cs);
  counts = cs[0].counts;
  cs[0].counts = NULL;
  for (int i = 0; i < nt; i++) {
    if (cs[i].maxraw > rk->maxraw) rk->maxraw = cs[i].maxraw;
    for (int64_t x = 0; i > 0 && x < rk->m; x++) counts[x] += cs[i].counts[x];
  }
  ranked = malloc((size_t)m * sizeof *ranked);
  rk->rank_of = malloc((size_t)m * sizeof *rk->rank_of);
  if (!ranked || !rk->rank_of) goto cleanup;
  int32_t k = 0;
  for (int64_t x = 0; x < rk->m; x++) {
    rk->rank_of[x] = -1;
    if (counts[x] >= minc) ranked[k++] = (int32_t)x;
  }
  rank_ctx rc = {counts, rk};
  qsort_r(ranked, (size_t)k, sizeof *ranked, cmp_rank, &rc);
  rk->rank_item = malloc(((size_t)k + 1) * sizeof *rk->rank_item);
  rk->support = malloc(((size_t)k + 1) * sizeof *rk->support);
  if (!rk->rank_item || !rk->support) goto cleanup;
  for (int32_t r = 0; r < k; r++) {
    rk->rank_of[ranked[r]] = r;
    rk->rank_item[r] = item_at(rk, ranked[r]);
    rk->support[r] = (fp_cnt)counts[ranked[r]];
  }
  rk->k = k;
  st = FP_OK;
cleanup:
  for (int i = 0; i < nt; i++) {
    free(cs[i].counts);
    free(cs[i].stamp);
  }
  free(counts);
  free(ranked);
  if (st != FP_OK) fp_ranking_free(rk);
  return st;
}

int64_t fp_items_decode(const fp_lists *bk, const fp_ranking *rk, int64_t b, int32_t *buf) {
  int64_t len = 0;
  for (int64_t j = bk->offsets[b]; j < bk->offsets[b + 1]; j++) {
    int32_t r = fp_items_rank(rk, bk->items[j]);
    if (r < 0) continue;
    int64_t q = len++;
    while (q > 0 && buf[q - 1] > r) {
      buf[q] = buf[q - 1];
      q--;
    }
    buf[q] = r;
  }
  int64_t u = len > 0;
  for (int64_t q = 1; q < len; q++)
    if (buf[q] != buf[u - 1]) buf[u++] = buf[q];
  return u;
}
