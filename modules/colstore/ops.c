/*
** ops.c: grouping, sorting, taking, filtering, joining, date parts and list operations (see ops.h).
** Keys are turned into dense codes: small integer ranges (dates, stores, products, customer ids) index arrays
** directly; wide ranges and floats are ranked by sorting their distinct values. Nothing here allocates memory
** that outlives a call except the returned columns.
*/
#include "ops.h"

#include "buf.h"
#include "hugepages.h"
#include "json.h"
#include "parallel.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int cmp_i32_fwd(const void *a, const void *b) {
  int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
  return (x > y) - (x < y);
}

/* Largest direct array (entries) a key range may use before codes fall back to ranking. */
#define DENSE_LIMIT (1 << 24)

/* Work split across threads: at most this many parts, and only above this many elements. */
#define MAX_PARTS 16
#define PARALLEL_MIN_ELEMENTS ((int64_t)1 << 16)

/* ---- dense codes for one key ---- */

typedef struct keycodes {
  const cs_column *col;
  int is_list;     /* codes come from list items */
  int mode;        /* 0: value - min; 1: rank via sorted distinct values; 2: string rank table */
  int64_t min;
  int64_t ncodes;
  double *uniq;    /* mode 1: sorted distinct values */
  int32_t *rank;   /* mode 2: dictionary code -> rank in byte order */
} keycodes;

static double elem_value(const cs_column *c, int is_list, int64_t r, int64_t e) {
  if (is_list) return (double)c->items[e];
  return cs_column_get_f64(c, r);
}

/* Sorts a short array in place (insertion sort; qsort for long ones). */
static void sort_small_i32(int32_t *a, size_t n) {
  if (n > 32) {
    qsort(a, n, sizeof(int32_t), cmp_i32_fwd);
    return;
  }
  for (size_t i = 1; i < n; i++) {
    int32_t x = a[i];
    size_t j = i;
    while (j > 0 && a[j - 1] > x) a[j] = a[j - 1], j--;
    a[j] = x;
  }
}

static int cmp_i32(const void *a, const void *b) {
  int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
  return (x > y) - (x < y);
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static int cmp_codes_by_string(const void *a, const void *b, void *col) {
  return strcmp(cs_column_str(col, *(const int32_t *)a), cs_column_str(col, *(const int32_t *)b));
}

/* Prepares codes for column c (is_list: its items). Returns 0, or -1 when out of memory. */
static int keycodes_init(keycodes *k, const cs_column *c, int is_list) {
  memset(k, 0, sizeof *k);
  k->col = c;
  k->is_list = is_list;
  if (c->type == CS_STRING && !is_list) {
    k->mode = 2;
    k->ncodes = c->ndict;
    int32_t *order = malloc(sizeof(int32_t) * (size_t)(c->ndict + 1));
    k->rank = malloc(sizeof(int32_t) * (size_t)(c->ndict + 1));
    if (!order || !k->rank) {
      free(order);
      return -1;
    }
    for (int32_t i = 0; i < c->ndict; i++) order[i] = i;
    qsort_r(order, (size_t)c->ndict, sizeof(int32_t), cmp_codes_by_string, (void *)c);
    for (int32_t i = 0; i < c->ndict; i++) k->rank[order[i]] = i;
    free(order);
    return 0;
  }
  int64_t m = is_list ? cs_column_nitems(c) : c->n;
  if (m == 0) {
    k->ncodes = 1;
    return 0;
  }
  if (c->type != CS_FLOAT64) {
    int64_t lo, hi;
    cs_column_range((cs_column *)c, &lo, &hi); /* cached in the column: columns are immutable */
    if ((uint64_t)hi - (uint64_t)lo < (uint64_t)DENSE_LIMIT) {
      k->min = lo;
      k->ncodes = hi - lo + 1;
      return 0;
    }
  }
  k->mode = 1;
  k->uniq = malloc(sizeof(double) * (size_t)m);
  if (!k->uniq) return -1;
  for (int64_t i = 0; i < m; i++)
    k->uniq[i] = is_list ? (double)c->items[i] : cs_column_get_f64(c, i);
  qsort(k->uniq, (size_t)m, sizeof(double), cmp_double);
  int64_t u = 0;
  for (int64_t i = 0; i < m; i++)
    if (i == 0 || k->uniq[i] != k->uniq[u - 1]) k->uniq[u++] = k->uniq[i];
  k->ncodes = u;
  return 0;
}

static void keycodes_free(keycodes *k) {
  free(k->uniq);
  free(k->rank);
}

static inline int64_t key_code(const keycodes *k, int64_t r, int64_t e) {
  const cs_column *c = k->col;
  if (k->mode == 0) {
    if (k->is_list) return (int64_t)c->items[e] - k->min;
    return (c->type == CS_INT64 ? c->v.i64[r] : c->v.i32[r]) - k->min;
  }
  if (k->mode == 2) return k->rank[c->v.i32[r]];
  double v = elem_value(c, k->is_list, r, e);
  int64_t lo = 0, hi = k->ncodes - 1;
  while (lo < hi) {
    int64_t mid = (lo + hi) / 2;
    if (k->uniq[mid] < v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/* ---- radix sort ---- */

#define RADIX_BITS 11
/* Wide composite keys of up to this many elements are grouped by sorting their codes (four arrays of 8 bytes per
   element while it runs), more by a hash map. */
#define RADIX_GROUP_ELEMENTS ((int64_t)1 << 22)

/* Sorts the pairs (key[i], val[i]), i < n, by the low `bits` bits of key: a least-significant-digit radix sort,
   stable, so pairs with equal keys keep their order. 0, or -1 when out of memory. */
static int radix_sort_pairs(uint64_t *key, int64_t *val, int64_t n, int bits) {
  uint64_t *key2 = mc_malloc_huge(sizeof(uint64_t) * (size_t)(n > 0 ? n : 1));
  int64_t *val2 = mc_malloc_huge(sizeof(int64_t) * (size_t)(n > 0 ? n : 1));
  if (!key2 || !val2) {
    free(key2), free(val2);
    return -1;
  }
  uint64_t *kfrom = key, *kto = key2;
  int64_t *from = val, *to = val2;
  for (int shift = 0; shift < bits; shift += RADIX_BITS) {
    int64_t count[1 << RADIX_BITS] = {0};
    const uint64_t mask = (1 << RADIX_BITS) - 1;
    for (int64_t i = 0; i < n; i++) count[(kfrom[i] >> shift) & mask]++;
    for (int64_t d = 0, at = 0; d <= (int64_t)mask; d++) {
      int64_t c = count[d];
      count[d] = at, at += c;
    }
    for (int64_t i = 0; i < n; i++) {
      int64_t at = count[(kfrom[i] >> shift) & mask]++;
      kto[at] = kfrom[i], to[at] = from[i];
    }
    uint64_t *kt = kfrom;
    kfrom = kto, kto = kt;
    int64_t *t = from;
    from = to, to = t;
  }
  if (kfrom != key) {
    memcpy(key, kfrom, sizeof(uint64_t) * (size_t)n);
    memcpy(val, from, sizeof(int64_t) * (size_t)n);
  }
  free(key2), free(val2);
  return 0;
}

/* ---- grouping ---- */

typedef struct grouping {
  const cs_column *list; /* the exploded list column, or NULL */
  int64_t n;             /* rows */
  int64_t m;             /* elements */
  int32_t *gid;          /* group of each element */
  int64_t ngroups;
  int64_t *rep_row, *rep_elem; /* first element of each group (general path) */
  int64_t *key;                /* dense path: each group's composite key code */
  const keycodes *kc;          /* dense path: the keys' codes, and the weight of each in the composite code */
  uint64_t *stride;
  int64_t *count;              /* elements per group */
} grouping;

#define FOR_ELEMENTS(g, r, e, ...)                                               \
  for (int64_t r = 0; r < (g)->n; r++) {                                         \
    int64_t e##_lo = (g)->list ? (g)->list->offsets[r] : r;                      \
    int64_t e##_hi = (g)->list ? (g)->list->offsets[r + 1] : r + 1;              \
    for (int64_t e = e##_lo; e < e##_hi; e++) { __VA_ARGS__ }                         \
  }

/* Open-addressing map from 64-bit composite keys to provisional group ids (wide composite keys only). */
typedef struct u64map {
  uint64_t *keys;
  int32_t *ids; /* id + 1; 0 = empty */
  size_t cap;
  int64_t n;
} u64map;

static int u64map_put(u64map *h, uint64_t key, int32_t *id) {
  if ((size_t)(h->n + 1) * 2 > h->cap) {
    size_t cap = h->cap ? h->cap * 2 : 1024;
    uint64_t *keys = malloc(sizeof(uint64_t) * cap);
    int32_t *ids = calloc(cap, sizeof(int32_t));
    if (!keys || !ids) {
      free(keys);
      free(ids);
      return -1;
    }
    for (size_t i = 0; i < h->cap; i++) {
      if (!h->ids[i]) continue;
      size_t j = (size_t)(h->keys[i] * 0x9E3779B97F4A7C15ull >> 20) & (cap - 1);
      while (ids[j]) j = (j + 1) & (cap - 1);
      keys[j] = h->keys[i];
      ids[j] = h->ids[i];
    }
    free(h->keys);
    free(h->ids);
    h->keys = keys;
    h->ids = ids;
    h->cap = cap;
  }
  size_t j = (size_t)(key * 0x9E3779B97F4A7C15ull >> 20) & (h->cap - 1);
  while (h->ids[j]) {
    if (h->keys[j] == key) {
      *id = h->ids[j] - 1;
      return 0;
    }
    j = (j + 1) & (h->cap - 1);
  }
  h->keys[j] = key;
  h->ids[j] = (int32_t)++h->n;
  *id = (int32_t)(h->n - 1);
  return 0;
}

static int cmp_by_key(const void *a, const void *b, void *keys) {
  uint64_t x = ((uint64_t *)keys)[*(const int32_t *)a], y = ((uint64_t *)keys)[*(const int32_t *)b];
  return (x > y) - (x < y);
}

/* Binds code (uint64_t) to the key code (value - min) of elements lo .. hi-1 for one integer key: each storage
   layout gets its own loop, so the hot loop has no type test. */
#define FOR_DENSE_CODES(k, lo, hi, e, code, ...)                                                       \
  do {                                                                                           \
    const cs_column *c_ = (k)->col;                                                              \
    int64_t lo_ = (k)->min;                                                                      \
    if ((k)->is_list) {                                                                          \
      for (int64_t e = (lo); e < (hi); e++) {                                                        \
        uint64_t code = (uint64_t)((int64_t)c_->items[e] - lo_);                                 \
        __VA_ARGS__                                                                              \
      }                                                                                          \
    } else if (c_->type == CS_INT64) {                                                           \
      for (int64_t e = (lo); e < (hi); e++) {                                                        \
        uint64_t code = (uint64_t)(c_->v.i64[e] - lo_);                                          \
        __VA_ARGS__                                                                              \
      }                                                                                          \
    } else {                                                                                     \
      for (int64_t e = (lo); e < (hi); e++) {                                                        \
        uint64_t code = (uint64_t)((int64_t)c_->v.i32[e] - lo_);                                 \
        __VA_ARGS__                                                                              \
      }                                                                                          \
    }                                                                                            \
  } while (0)

/* Population count without relying on the POPCNT instruction (not in the x86-64 baseline Debian builds for). */
static inline int64_t popcount64(uint64_t x) {
  x -= (x >> 1) & 0x5555555555555555ull;
  x = (x & 0x3333333333333333ull) + ((x >> 2) & 0x3333333333333333ull);
  x = (x + (x >> 4)) & 0x0F0F0F0F0F0F0F0Full;
  return (int64_t)((x * 0x0101010101010101ull) >> 56);
}

/* How many elements ahead per-group tables that outgrow the cache are prefetched. */
#define AHEAD 16

/* Key ranges up to this many codes map codes to groups with a direct array (256 KB: stays in cache). */
#define DENSE_SLOT_CODES ((int64_t)1 << 16)

/* Binds code to each element's composite key code when every key is an integer range (mode 0): a single key
   streams through FOR_DENSE_CODES; several combine each row's scalar keys once, then add the list key's items. */
#define FOR_KEY_CODES(g, kc, nkeys, stride, e, code, ...)                                                \
  do {                                                                                                  \
    if ((nkeys) == 1) {                                                                                 \
      FOR_DENSE_CODES(&(kc)[0], 0, (g)->m, e, code, __VA_ARGS__);                                          \
      break;                                                                                            \
    }                                                                                                   \
    int li_ = -1;                                                                                       \
    for (int i_ = 0; i_ < (nkeys); i_++)                                                                \
      if ((kc)[i_].is_list) li_ = i_;                                                                   \
    for (int64_t r_ = 0; r_ < (g)->n; r_++) {                                                           \
      uint64_t base_ = 0;                                                                               \
      for (int i_ = 0; i_ < (nkeys); i_++)                                                              \
        if (i_ != li_) base_ += (uint64_t)key_code(&(kc)[i_], r_, r_) * (stride)[i_];                   \
      if (li_ < 0) {                                                                                    \
        int64_t e = r_;                                                                                 \
        uint64_t code = base_;                                                                          \
        (void)e;                                                                                        \
        __VA_ARGS__                                                                                     \
        continue;                                                                                       \
      }                                                                                                 \
      const cs_column *l_ = (kc)[li_].col;                                                              \
      for (int64_t e = l_->offsets[r_]; e < l_->offsets[r_ + 1]; e++) {                                 \
        uint64_t code = base_ + (uint64_t)((int64_t)l_->items[e] - (kc)[li_].min) * (stride)[li_];      \
        __VA_ARGS__                                                                                     \
      }                                                                                                 \
    }                                                                                                   \
  } while (0)

/* One part of a counting pass: elements e0 .. e1-1 of a single key, counted into its own histogram. */
typedef struct histogram_part {
  const keycodes *k;
  int64_t e0, e1;
  int64_t *hist;
} histogram_part;

static void *histogram_part_run(void *arg) {
  histogram_part *p = arg;
  int64_t *hist = p->hist;
  FOR_DENSE_CODES(p->k, p->e0, p->e1, e, code, { hist[code]++; });
  return NULL;
}

/* Grouping that only counts, over a small key range: one pass counting each code (a single key's elements split
   across threads, each with its own histogram), and the groups are the codes that occur, in order. */
static int dense_histogram(grouping *g, const keycodes *kc, int nkeys, const uint64_t *stride, int64_t span,
                           int nthreads) {
  histogram_part parts[MAX_PARTS];
  int nparts = nthreads < 1 ? 1 : nthreads > MAX_PARTS ? MAX_PARTS : nthreads;
  if (nkeys > 1 || g->m < PARALLEL_MIN_ELEMENTS) nparts = 1;
  int64_t *hist = calloc((size_t)(span * nparts), sizeof(int64_t)), ng = 0;
  if (!hist) return -1;
  if (nkeys == 1) {
    for (int i = 0; i < nparts; i++)
      parts[i] = (histogram_part){.k = &kc[0], .e0 = g->m * i / nparts, .e1 = g->m * (i + 1) / nparts,
                                  .hist = hist + span * i};
    mc_parallel(nparts, histogram_part_run, parts, sizeof parts[0]);
  } else {
    FOR_KEY_CODES(g, kc, nkeys, stride, e, code, { hist[code]++; });
  }
  for (int64_t c = 0; c < span; c++) {
    for (int i = 1; i < nparts; i++) hist[c] += hist[span * i + c];
    ng += hist[c] > 0;
  }
  g->ngroups = ng;
  g->count = malloc(sizeof(int64_t) * ((size_t)ng + 1));
  g->key = malloc(sizeof(int64_t) * ((size_t)ng + 1));
  if (!g->count || !g->key) {
    free(hist);
    return -1;
  }
  for (int64_t c = 0, i = 0; c < span; c++)
    if (hist[c] > 0) g->count[i] = hist[c], g->key[i++] = c;
  free(hist);
  return 0;
}

/* One part of a single-key dense grouping: elements e0 .. e1-1. Phase 1 marks the codes that occur in the part's
   own bitmap; phase 2 writes each element's group id (when wanted) and counts into the part's own counters. */
typedef struct dense_part {
  const keycodes *k;
  int64_t e0, e1;
  int phase;
  uint64_t *bits;      /* phase 1: this part's bitmap; phase 2: the merged one, read only */
  const int64_t *rank; /* phase 2, large ranges: groups before each bitmap word */
  const int32_t *slot; /* phase 2, small ranges: each code's group */
  int32_t *gid;        /* phase 2, shared: each part writes only its own elements (NULL: not wanted) */
  int64_t *count;      /* phase 2: this part's counters */
} dense_part;

#define RANK_OF(code) (rank[(code) >> 6] + popcount64(bits[(code) >> 6] & (((uint64_t)1 << ((code) & 63)) - 1)))

/* Counting into a count[] that outgrows the cache (many groups): element i's counter is prefetched and bumped AHEAD
   elements later, keeping several misses in flight; count_ahead_drain bumps the last AHEAD of n elements. */
static inline void count_ahead(int64_t *count, int64_t *pending, int64_t i, int64_t id) {
  __builtin_prefetch(&count[id], 1);
  if (i >= AHEAD) count[pending[i % AHEAD]]++;
  pending[i % AHEAD] = id;
}

static void count_ahead_drain(int64_t *count, const int64_t *pending, int64_t n) {
  for (int64_t i = n > AHEAD ? n - AHEAD : 0; i < n; i++) count[pending[i % AHEAD]]++;
}

static void *dense_part_run(void *arg) {
  dense_part *p = arg;
  uint64_t *bits = p->bits;
  if (p->phase == 1) {
    FOR_DENSE_CODES(p->k, p->e0, p->e1, e, code, { bits[code >> 6] |= (uint64_t)1 << (code & 63); });
    return NULL;
  }
  const int64_t *rank = p->rank;
  const int32_t *slot = p->slot;
  int32_t *gid = p->gid;
  int64_t *count = p->count, e0 = p->e0;
  if (slot) { /* small ranges come here only when group ids are wanted (a count alone is a histogram) */
    FOR_DENSE_CODES(p->k, e0, p->e1, e, code, { count[gid[e] = slot[code]]++; });
    return NULL;
  }
  int64_t pending[AHEAD];
  FOR_DENSE_CODES(p->k, e0, p->e1, e, code, {
    int64_t id = RANK_OF(code);
    if (gid) gid[e] = (int32_t)id;
    count_ahead(count, pending, e - e0, id);
  });
  count_ahead_drain(count, pending, p->e1 - e0);
  return NULL;
}

/* Grouping by integer keys whose combined range is small, the common case (customers, products, dates, stores,
   store x product). The codes that occur are marked in a bitmap, and a group's id is its code's rank among them: read from a direct array when
   the range is small, else computed from per-word prefix counts plus a popcount, so the lookup tables stay small
   (a quarter of a megabyte for a million ids) and in cache while the elements stream by. Group ids per element
   are only written when an aggregate needs them (a count does not). A single key's elements are split across
   threads for both passes (dense_part_run); bitmaps and counters are merged after each. */
static int grouping_build_dense(grouping *g, const keycodes *kc, int nkeys, int64_t span, int need_gid,
                                int nthreads) {
  int64_t words = (span + 63) / 64, ng = 0;
  int use_slots = span <= DENSE_SLOT_CODES, rc = -1, single = nkeys == 1;
  uint64_t *bits = NULL, *stride = malloc(sizeof(uint64_t) * (size_t)nkeys);
  int64_t *rank = NULL;
  int32_t *slot = NULL;
  /* a single key splits its elements into parts, one per thread, each with its own bitmap and counters */
  int nparts = !single || g->m < PARALLEL_MIN_ELEMENTS || nthreads < 2 ? 1 : nthreads > MAX_PARTS ? MAX_PARTS : nthreads;
  dense_part parts[MAX_PARTS];
  uint64_t *part_bits[MAX_PARTS] = {0};
  int64_t *part_count[MAX_PARTS] = {0};
  g->kc = kc;
  g->stride = stride;
  if (!stride) return -1;
  for (int i = nkeys - 1; i >= 0; i--) stride[i] = i == nkeys - 1 ? 1 : stride[i + 1] * (uint64_t)kc[i + 1].ncodes;
  if (use_slots && !need_gid) return dense_histogram(g, kc, nkeys, stride, span, nthreads);
  bits = calloc((size_t)words + 1, sizeof(uint64_t));
  if (use_slots) slot = malloc(sizeof(int32_t) * (size_t)span);
  else rank = malloc(sizeof(int64_t) * ((size_t)words + 1));
  if (!bits || (use_slots ? !slot : !rank)) goto done;
  if (single) {
    for (int i = 0; i < nparts; i++) {
      if (i && !(part_bits[i] = calloc((size_t)words + 1, sizeof(uint64_t)))) goto done;
      parts[i] = (dense_part){.k = &kc[0], .e0 = g->m * i / nparts, .e1 = g->m * (i + 1) / nparts, .phase = 1,
                              .bits = i ? part_bits[i] : bits};
    }
    mc_parallel(nparts, dense_part_run, parts, sizeof parts[0]);
    for (int i = 1; i < nparts; i++)
      for (int64_t w = 0; w < words; w++) bits[w] |= part_bits[i][w];
  } else {
    FOR_KEY_CODES(g, kc, nkeys, stride, e, code, { bits[code >> 6] |= (uint64_t)1 << (code & 63); });
  }
  for (int64_t w = 0; w < words; w++) {
    if (!use_slots) rank[w] = ng, ng += popcount64(bits[w]);
    else
      for (uint64_t x = bits[w]; x; x &= x - 1) slot[w * 64 + __builtin_ctzll(x)] = (int32_t)(ng++);
  }
  g->ngroups = ng;
  g->count = calloc((size_t)ng + 1, sizeof(int64_t));
  g->key = malloc(sizeof(int64_t) * ((size_t)ng + 1));
  if (need_gid) g->gid = mc_malloc_huge(sizeof(int32_t) * (size_t)g->m);
  if (!g->count || !g->key || (need_gid && !g->gid)) goto done;
  int64_t *count = g->count;
  int32_t *gid = g->gid;
  if (single) {
    for (int i = 0; i < nparts; i++) {
      if (i && !(part_count[i] = calloc((size_t)ng + 1, sizeof(int64_t)))) goto done;
      parts[i].phase = 2, parts[i].bits = bits, parts[i].rank = rank, parts[i].slot = use_slots ? slot : NULL;
      parts[i].gid = gid, parts[i].count = i ? part_count[i] : count;
    }
    mc_parallel(nparts, dense_part_run, parts, sizeof parts[0]);
    for (int i = 1; i < nparts; i++)
      for (int64_t k = 0; k < ng; k++) count[k] += part_count[i][k];
  } else if (use_slots) { /* (small ranges without group ids took the counting path above) */
    FOR_KEY_CODES(g, kc, nkeys, stride, e, code, { count[gid[e] = slot[code]]++; });
  } else {
    int64_t pending[AHEAD];
    FOR_KEY_CODES(g, kc, nkeys, stride, e, code, {
      int64_t id = RANK_OF(code);
      if (gid) gid[e] = (int32_t)id;
      count_ahead(count, pending, e, id);
    });
    count_ahead_drain(count, pending, g->m);
  }
  int64_t i = 0;
  for (int64_t w = 0; w < words; w++)
    for (uint64_t x = bits[w]; x; x &= x - 1) g->key[i++] = w * 64 + __builtin_ctzll(x);
  rc = 0;
done:
  free(bits);
  free(rank);
  free(slot);
  for (int p = 1; p < nparts; p++) free(part_bits[p]), free(part_count[p]);
  return rc;
}
#undef RANK_OF

/* Assigns group ids in ascending composite-key order (need_gid: an aggregate needs each element's group). */
static int grouping_build(grouping *g, keycodes *kc, int nkeys, int need_gid, int nthreads, char *err,
                          size_t errlen) {
  uint64_t span = 1;
  int wide = 0, all_ranges = 1;
  for (int i = 0; i < nkeys; i++) {
    if (kc[i].ncodes > 0 && span > UINT64_MAX / 4 / (uint64_t)kc[i].ncodes) {
      snprintf(err, errlen, "group_by: too many key combinations");
      return -1;
    }
    span *= (uint64_t)(kc[i].ncodes > 0 ? kc[i].ncodes : 1);
    all_ranges &= kc[i].mode == 0;
  }
  if (all_ranges && span <= (uint64_t)DENSE_LIMIT) {
    if (grouping_build_dense(g, kc, nkeys, (int64_t)span, need_gid, nthreads) == 0) return 0;
    snprintf(err, errlen, "group_by: out of memory");
    return -1;
  }
  if (span > (uint64_t)DENSE_LIMIT && span > (uint64_t)g->m) wide = 1;
  g->gid = mc_malloc_huge(sizeof(int32_t) * (size_t)g->m);
  if (!g->gid) goto oom;
#define COMPOSITE(r, e)                                                   \
  ({                                                                      \
    uint64_t c_ = 0;                                                      \
    for (int i_ = 0; i_ < nkeys; i_++)                                    \
      c_ = c_ * (uint64_t)kc[i_].ncodes + (uint64_t)key_code(&kc[i_], r, e); \
    c_;                                                                   \
  })
  if (!wide) {
    /* pass 1: each element's composite code (it fits int32 here) and which codes occur; pass 2: renumber */
    int32_t *slot = calloc((size_t)span, sizeof(int32_t));
    if (!slot) goto oom;
    FOR_ELEMENTS(g, r, e, {
      int32_t code = (int32_t)COMPOSITE(r, e);
      g->gid[e] = code;
      slot[code] = 1;
    })
    int64_t ng = 0;
    for (uint64_t s = 0; s < span; s++)
      if (slot[s]) slot[s] = (int32_t)ng++;
    g->ngroups = ng;
    for (int64_t e = 0; e < g->m; e++) g->gid[e] = slot[g->gid[e]];
    free(slot);
  } else if (g->m <= RADIX_GROUP_ELEMENTS) {
    /* sort the elements' composite codes (a radix sort: linear) and number the distinct ones in order */
    uint64_t *code = mc_malloc_huge(sizeof(uint64_t) * (size_t)(g->m + 1));
    int64_t *elem = mc_malloc_huge(sizeof(int64_t) * (size_t)(g->m + 1));
    if (!code || !elem) {
      free(code), free(elem);
      goto oom;
    }
    FOR_ELEMENTS(g, r, e, {
      code[e] = COMPOSITE(r, e);
      elem[e] = e;
    })
    if (radix_sort_pairs(code, elem, g->m, 64 - __builtin_clzll(span - 1)) != 0) {
      free(code), free(elem);
      goto oom;
    }
    int64_t ng = 0;
    for (int64_t i = 0; i < g->m; i++) {
      ng += i == 0 || code[i] != code[i - 1];
      g->gid[elem[i]] = (int32_t)(ng - 1);
    }
    g->ngroups = ng;
    free(code), free(elem);
  } else {
    u64map h = {0};
    FOR_ELEMENTS(g, r, e, {
      int32_t id;
      if (u64map_put(&h, COMPOSITE(r, e), &id) != 0) {
        free(h.keys), free(h.ids);
        goto oom;
      }
      g->gid[e] = id;
    })
    /* provisional ids are in first-seen order: renumber by key */
    int64_t ng = h.n;
    uint64_t *keyof = malloc(sizeof(uint64_t) * (size_t)(ng + 1));
    int32_t *order = malloc(sizeof(int32_t) * (size_t)(ng + 1)), *newid = malloc(sizeof(int32_t) * (size_t)(ng + 1));
    if (!keyof || !order || !newid) {
      free(keyof), free(order), free(newid), free(h.keys), free(h.ids);
      goto oom;
    }
    for (size_t i = 0; i < h.cap; i++)
      if (h.ids[i]) keyof[h.ids[i] - 1] = h.keys[i];
    for (int64_t i = 0; i < ng; i++) order[i] = (int32_t)i;
    qsort_r(order, (size_t)ng, sizeof(int32_t), cmp_by_key, keyof);
    for (int64_t i = 0; i < ng; i++) newid[order[i]] = (int32_t)i;
    for (int64_t e = 0; e < g->m; e++) g->gid[e] = newid[g->gid[e]];
    g->ngroups = ng;
    free(keyof), free(order), free(newid), free(h.keys), free(h.ids);
  }
#undef COMPOSITE
  g->rep_row = malloc(sizeof(int64_t) * (size_t)(g->ngroups + 1));
  g->rep_elem = malloc(sizeof(int64_t) * (size_t)(g->ngroups + 1));
  g->count = calloc((size_t)(g->ngroups + 1), sizeof(int64_t));
  if (!g->rep_row || !g->rep_elem || !g->count) goto oom;
  FOR_ELEMENTS(g, r, e, {
    int32_t id = g->gid[e];
    if (g->count[id]++ == 0) {
      g->rep_row[id] = r;
      g->rep_elem[id] = e;
    }
  })
  return 0;
oom:
  snprintf(err, errlen, "group_by: out of memory");
  return -1;
}

static void grouping_free(grouping *g) {
  free(g->gid);
  free(g->rep_row);
  free(g->rep_elem);
  free(g->key);
  free(g->stride);
  free(g->count);
}

/* The key column of the result: each group's key value, in the key's type. */
static cs_column *key_output(const grouping *g, int index, const cs_column *key) {
  int is_list = key == g->list;
  cs_type t = is_list ? CS_INT32 : key->type;
  cs_column *out = cs_column_new(t, g->ngroups);
  if (!out) return NULL;
  for (int64_t i = 0; i < g->ngroups && g->key; i++) {
    const keycodes *k = &g->kc[index];
    int64_t v = k->min + (int64_t)(((uint64_t)g->key[i] / g->stride[index]) % (uint64_t)k->ncodes);
    if (t == CS_INT64) out->v.i64[i] = v;
    else out->v.i32[i] = (int32_t)v; /* int32, date, list items (a float key is never dense) */
  }
  for (int64_t i = 0; i < g->ngroups && !g->key; i++) {
    int64_t r = g->rep_row[i], e = g->rep_elem[i];
    if (is_list) out->v.i32[i] = key->items[e];
    else if (t == CS_INT64) out->v.i64[i] = key->v.i64[r];
    else if (t == CS_FLOAT64) out->v.f64[i] = key->v.f64[r];
    else out->v.i32[i] = key->v.i32[r];
  }
  if (t == CS_STRING) { /* share the dictionary by copying it */
    size_t chars = (size_t)key->dict_off[key->ndict];
    int64_t *off = malloc(sizeof(int64_t) * (size_t)(key->ndict + 1));
    char *pool = malloc(chars + 1);
    if (!off || !pool) {
      free(off), free(pool);
      cs_column_release(out);
      return NULL;
    }
    memcpy(off, key->dict_off, sizeof(int64_t) * (size_t)(key->ndict + 1));
    memcpy(pool, key->dict_chars, chars);
    cs_column_set_dict(out, key->ndict, off, pool);
  }
  return out;
}

/* Iterates the elements an aggregate over column c sees, binding k (its group), r (its row) and e (its element):
   the grouping's elements (rows, or the items of a list key), or, for a list column aggregated under scalar keys,
   that list's items, each in its row's group. */
#define FOR_AGG(g, c, k, r, e, ...)                                                   \
  if ((c) && (c)->type == CS_LIST && (c) != (g)->list) {                              \
    for (int64_t r = 0; r < (g)->n; r++) {                                            \
      int32_t k = (g)->gid[r];                                                        \
      for (int64_t e = (c)->offsets[r]; e < (c)->offsets[r + 1]; e++) { __VA_ARGS__ } \
    }                                                                                 \
  } else if (!(g)->list) {                                                            \
    for (int64_t r = 0; r < (g)->n; r++) {                                            \
      const int64_t e = r;                                                            \
      int32_t k = (g)->gid[r];                                                        \
      (void)e;                                                                        \
      __VA_ARGS__                                                                     \
    }                                                                                 \
  } else {                                                                            \
    FOR_ELEMENTS(g, r, e, { int32_t k = (g)->gid[e]; __VA_ARGS__ })                   \
  }

/* FOR_AGG (binding k, r and e) with v bound to each element's value as an int64_t, one loop per storage layout (no
   type test inside). */
#define FOR_AGG_INT(g, c, k, r, e, v, ...)                                                  \
  do {                                                                                      \
    if ((c)->type == CS_LIST) {                                                             \
      FOR_AGG(g, c, k, r, e, { int64_t v = (c)->items[e]; __VA_ARGS__ })                    \
    } else if ((c)->type == CS_INT64) {                                                     \
      FOR_AGG(g, c, k, r, e, { int64_t v = (c)->v.i64[r]; __VA_ARGS__ })                    \
    } else {                                                                                \
      FOR_AGG(g, c, k, r, e, { int64_t v = (c)->v.i32[r]; __VA_ARGS__ })                    \
    }                                                                                       \
  } while (0)

/* Inside FOR_AGG: prefetches, for writing, the entry of per-group array a that the element AHEAD places on will
   update (group ids are per element under a list key, else per row). */
#define PREFETCH_GROUP_ENTRY(g, r, e, a)                                              \
  do {                                                                                \
    int64_t i_ = ((g)->list ? (e) : (r)) + AHEAD;                                     \
    if (i_ < ((g)->list ? (g)->m : (g)->n)) __builtin_prefetch(&(a)[(g)->gid[i_]], 1); \
  } while (0)

static int64_t agg_elements(const grouping *g, const cs_column *c) {
  return c && c->type == CS_LIST && c != g->list ? cs_column_nitems(c) : g->m;
}

/* sum/min/max/mean of column c per group: one tight loop per kind and value type. */
static cs_column *agg_numeric(const grouping *g, cs_agg_kind kind, const cs_column *c) {
  cs_type in = c->type == CS_LIST ? CS_INT32 : c->type;
  int is_float = in == CS_FLOAT64, extreme = kind == CS_AGG_MIN || kind == CS_AGG_MAX;
  int want_max = kind == CS_AGG_MAX;
  cs_type out_type = kind == CS_AGG_MEAN ? CS_FLOAT64
                   : kind == CS_AGG_SUM ? (is_float ? CS_FLOAT64 : CS_INT64)
                   : in;
  size_t ng = (size_t)g->ngroups + 1;
  cs_column *out = cs_column_new(out_type, g->ngroups);
  int64_t *cnt = calloc(ng, sizeof(int64_t)), *isum = NULL, *iext = NULL;
  double *fsum = NULL, *fext = NULL;
  if (is_float) fsum = calloc(ng, sizeof(double)), fext = extreme ? malloc(ng * sizeof(double)) : NULL;
  else isum = calloc(ng, sizeof(int64_t)), iext = extreme ? malloc(ng * sizeof(int64_t)) : NULL;
  if (!out || !cnt || (is_float ? !fsum || (extreme && !fext) : !isum || (extreme && !iext))) goto fail;
  if (is_float && extreme) {
    FOR_AGG(g, c, k, r, e, {
      double v = c->v.f64[r];
      PREFETCH_GROUP_ENTRY(g, r, e, cnt);
      PREFETCH_GROUP_ENTRY(g, r, e, fext);
      if (cnt[k]++ == 0 || (want_max ? v > fext[k] : v < fext[k])) fext[k] = v;
    })
  } else if (is_float) {
    FOR_AGG(g, c, k, r, e, {
      PREFETCH_GROUP_ENTRY(g, r, e, cnt);
      PREFETCH_GROUP_ENTRY(g, r, e, fsum);
      fsum[k] += c->v.f64[r];
      cnt[k]++;
    })
  } else if (extreme) {
    FOR_AGG_INT(g, c, k, r, e, v, {
      PREFETCH_GROUP_ENTRY(g, r, e, cnt);
      PREFETCH_GROUP_ENTRY(g, r, e, iext);
      if (cnt[k]++ == 0 || (want_max ? v > iext[k] : v < iext[k])) iext[k] = v;
    });
  } else if (kind == CS_AGG_MEAN) {
    FOR_AGG_INT(g, c, k, r, e, v, {
      PREFETCH_GROUP_ENTRY(g, r, e, cnt);
      PREFETCH_GROUP_ENTRY(g, r, e, isum);
      isum[k] += v;
      cnt[k]++;
    });
  } else {
    FOR_AGG_INT(g, c, k, r, e, v, {
      PREFETCH_GROUP_ENTRY(g, r, e, isum);
      isum[k] += v;
    });
  }
  for (int64_t k = 0; k < g->ngroups; k++) {
    if (kind == CS_AGG_MEAN) out->v.f64[k] = cnt[k] ? (is_float ? fsum[k] : (double)isum[k]) / (double)cnt[k] : 0.0;
    else if (kind == CS_AGG_SUM && is_float) out->v.f64[k] = fsum[k];
    else if (kind == CS_AGG_SUM) out->v.i64[k] = isum[k];
    /* a group whose list items were all empty has no min/max: report 0 */
    else if (is_float) out->v.f64[k] = cnt[k] ? fext[k] : 0;
    else if (in == CS_INT64) out->v.i64[k] = cnt[k] ? iext[k] : 0;
    else out->v.i32[k] = cnt[k] ? (int32_t)iext[k] : 0;
  }
  free(cnt), free(isum), free(iext), free(fsum), free(fext);
  return out;
fail:
  free(cnt), free(isum), free(iext), free(fsum), free(fext);
  cs_column_release(out);
  return NULL;
}

/* A groups x values bitmap up to this size always beats sorting the elements by group. */
#define DISTINCT_BITMAP_BYTES ((int64_t)256 << 20)
/* A bitmap up to this size stays in cache, whatever the order of the rows. */
#define CACHED_BITMAP_BYTES ((int64_t)1 << 20)

/* One part of distinct_bitmap: the groups g0 .. g1-1. Every part reads all the elements but marks only its own
   groups' rows of the bitmap, then counts them (phase 1) or lists their values (phase 2, at the offsets that the
   counts gave), so parts never write the same memory. */
typedef struct bitmap_part {
  const grouping *g;
  const cs_column *c;
  const keycodes *kc;
  uint64_t *bits;
  int64_t words, g0, g1;
  int phase, collect;
  cs_column *out;
} bitmap_part;

#define PREFETCH_ROWS 32
static void *bitmap_part_run(void *arg) {
  bitmap_part *p = arg;
  const grouping *g = p->g;
  const cs_column *c = p->c;
  const keycodes *kc = p->kc;
  uint64_t *bits = p->bits;
  int64_t words = p->words, g0 = p->g0, g1 = p->g1;
  if (p->phase == 1) {
#define MARK(k, v) (bits[(uint64_t)(k) * (uint64_t)words + ((v) >> 6)] |= (uint64_t)1 << ((v) & 63))
    if (c->type == CS_LIST && c != g->list) { /* products per customer: skip other parts' rows whole */
      for (int64_t r = 0; r < g->n; r++) {
        int64_t k = g->gid[r];
        if (r + PREFETCH_ROWS < g->n) {
          int64_t kf = g->gid[r + PREFETCH_ROWS];
          if (kf >= g0 && kf < g1) __builtin_prefetch(&bits[(uint64_t)kf * (uint64_t)words], 1);
        }
        if (k < g0 || k >= g1) continue;
        for (int64_t e = c->offsets[r]; e < c->offsets[r + 1]; e++) MARK(k, (uint64_t)key_code(kc, r, e));
      }
    } else {
      FOR_AGG(g, c, k, r, e, {
        if (k < g0 || k >= g1) continue;
        uint64_t v = (uint64_t)key_code(kc, r, e);
        MARK(k, v);
      })
    }
#undef MARK
    for (int64_t k = g0; k < g1; k++) {
      int64_t d = 0;
      for (int64_t w = 0; w < words; w++) d += popcount64(bits[k * words + w]);
      if (p->collect) p->out->offsets[k + 1] = d;
      else p->out->v.i64[k] = d;
    }
    return NULL;
  }
  int32_t *items = p->out->items;
  for (int64_t k = g0; k < g1; k++) {
    int64_t at = p->out->offsets[k];
    for (int64_t w = 0; w < words; w++)
      for (uint64_t x = bits[k * words + w]; x; x &= x - 1) {
        int64_t code = w * 64 + __builtin_ctzll(x);
        items[at++] = (int32_t)(kc->mode == 1 ? (int64_t)kc->uniq[code] : kc->min + code);
      }
  }
  return NULL;
}

/* count/collect distinct with one bitmap row per group: a pass over the elements, no per-element arrays. Rows come
   out in value order, so collected lists need no sorting. Groups are split into parts, one per thread. */
static cs_column *distinct_bitmap(const grouping *g, const cs_column *c, const keycodes *kc, int collect,
                                  int nthreads) {
  int64_t nv = kc->ncodes, words = (nv + 63) / 64, ng = g->ngroups;
  uint64_t *bits = mc_calloc_huge((size_t)(ng * words + 1), sizeof(uint64_t));
  cs_column *out = cs_column_new(collect ? CS_LIST : CS_INT64, ng);
  bitmap_part parts[MAX_PARTS];
  int nparts = nthreads < 1 ? 1 : nthreads > MAX_PARTS ? MAX_PARTS : nthreads;
  if (!bits || !out) goto fail;
  if (agg_elements(g, c) < PARALLEL_MIN_ELEMENTS || ng < nparts) nparts = 1;
  for (int i = 0; i < nparts; i++)
    parts[i] = (bitmap_part){.g = g, .c = c, .kc = kc, .bits = bits, .words = words, .g0 = ng * i / nparts,
                             .g1 = ng * (i + 1) / nparts, .phase = 1, .collect = collect, .out = out};
  mc_parallel(nparts, bitmap_part_run, parts, sizeof parts[0]);
  if (collect) {
    out->offsets[0] = 0;
    for (int64_t k = 0; k < ng; k++) out->offsets[k + 1] += out->offsets[k];
    int32_t *items = mc_malloc_huge(sizeof(int32_t) * (size_t)out->offsets[ng]);
    if (!items) goto fail;
    cs_column_set_items(out, items);
    for (int i = 0; i < nparts; i++) parts[i].phase = 2;
    mc_parallel(nparts, bitmap_part_run, parts, sizeof parts[0]);
  }
  free(bits);
  return out;
fail:
  free(bits);
  cs_column_release(out);
  return NULL;
}

/* count/collect distinct when the elements are rows (scalar keys, the common case: products per customer). The
   rows are ordered by group (a counting sort), then each group's values are marked in one bitmap over the value
   codes, which stays in cache, noted as first seen and cleared again. Collected lists come out sorted: by sorting
   the few values of a group, or by scanning the bitmap words when it holds many. The groups are split into
   contiguous parts, one per thread, each writing only its own groups: results do not depend on the threads. */
typedef struct distinct_part {
  const cs_column *c; /* the aggregated column: a scalar column, or a list whose items are the values */
  const keycodes *kc;
  const int64_t *start; /* group k's rows are order[start[k] .. start[k+1]) */
  const int32_t *order;
  int collect;
  int64_t g0, g1;     /* this part's groups */
  int64_t *ndistinct; /* per group, shared (each part writes its own) */
  int32_t *items;     /* collect: this part's values, group after group */
  int64_t nitems, cap;
  int failed;
} distinct_part;

static int grow_i32(int32_t **a, int64_t *cap, int64_t need) {
  if (need <= *cap) return 0;
  int64_t n = *cap > 0 ? *cap : 256;
  while (n < need) n *= 2;
  int32_t *b = mc_realloc_huge(*a, sizeof(int32_t) * (size_t)n);
  if (!b) return -1;
  *a = b, *cap = n;
  return 0;
}

static void *distinct_part_run(void *arg) {
  distinct_part *p = arg;
  const keycodes *kc = p->kc;
  const cs_column *c = p->c;
  int is_list = c->type == CS_LIST;
  int64_t words = (kc->ncodes + 63) / 64, seen_cap = 0;
  uint64_t *bits = calloc((size_t)words + 1, sizeof(uint64_t));
  int32_t *seen = NULL;
  if (!bits || grow_i32(&seen, &seen_cap, 256) != 0) goto fail;
  for (int64_t k = p->g0; k < p->g1; k++) {
    int64_t nseen = 0;
    for (int64_t i = p->start[k]; i < p->start[k + 1]; i++) {
      int64_t r = p->order[i], lo = is_list ? c->offsets[r] : r, hi = is_list ? c->offsets[r + 1] : r + 1;
      if (nseen + (hi - lo) > seen_cap && grow_i32(&seen, &seen_cap, nseen + (hi - lo)) != 0) goto fail;
      for (int64_t e = lo; e < hi; e++) {
        uint64_t code = (uint64_t)key_code(kc, r, e), bit = (uint64_t)1 << (code & 63);
        if (bits[code >> 6] & bit) continue;
        bits[code >> 6] |= bit;
        seen[nseen++] = (int32_t)code;
      }
    }
    p->ndistinct[k] = nseen;
    int few = nseen * 16 < words; /* sorting a handful beats scanning every word */
    if (p->collect && nseen) {
      if (grow_i32(&p->items, &p->cap, p->nitems + nseen) != 0) goto fail;
      int32_t *dst = p->items + p->nitems;
      if (few) {
        sort_small_i32(seen, (size_t)nseen);
        for (int64_t i = 0; i < nseen; i++) dst[i] = seen[i];
      } else {
        int64_t j = 0;
        for (int64_t w = 0; w < words; w++)
          for (uint64_t x = bits[w]; x; x &= x - 1) dst[j++] = (int32_t)(w * 64 + __builtin_ctzll(x));
      }
      for (int64_t i = 0; i < nseen; i++)
        dst[i] = (int32_t)(kc->mode == 1 ? (int64_t)kc->uniq[dst[i]] : kc->min + dst[i]);
      p->nitems += nseen;
    }
    if (few)
      for (int64_t i = 0; i < nseen; i++) bits[(uint64_t)seen[i] >> 6] = 0;
    else
      memset(bits, 0, sizeof(uint64_t) * (size_t)words);
  }
  free(bits), free(seen);
  return NULL;
fail:
  free(bits), free(seen);
  p->failed = 1;
  return NULL;
}

static cs_column *distinct_by_rows(const grouping *g, const cs_column *c, const keycodes *kc, int collect,
                                   int nthreads) {
  int64_t ng = g->ngroups, n = g->n;
  int64_t *start = malloc(sizeof(int64_t) * (size_t)(ng + 1)), *cursor = malloc(sizeof(int64_t) * (size_t)(ng + 1));
  int32_t *order = mc_malloc_huge(sizeof(int32_t) * (size_t)n);
  cs_column *out = cs_column_new(collect ? CS_LIST : CS_INT64, ng);
  int64_t *ndistinct = malloc(sizeof(int64_t) * (size_t)(ng + 1));
  distinct_part parts[MAX_PARTS];
  int nparts = nthreads < 1 ? 1 : nthreads > MAX_PARTS ? MAX_PARTS : nthreads;
  memset(parts, 0, sizeof parts);
  if (!start || !cursor || !order || !out || !ndistinct) goto fail;
  start[0] = 0;
  for (int64_t k = 0; k < ng; k++) start[k + 1] = start[k] + g->count[k];
  memcpy(cursor, start, sizeof(int64_t) * (size_t)(ng + 1));
  for (int64_t r = 0; r < n; r++) order[cursor[g->gid[r]]++] = (int32_t)r;
  if (agg_elements(g, c) < PARALLEL_MIN_ELEMENTS) nparts = 1;
  /* contiguous parts of about equal rows */
  int64_t first = 0;
  for (int i = 0; i < nparts; i++) {
    parts[i] = (distinct_part){.c = c, .kc = kc, .start = start, .order = order, .collect = collect,
                               .ndistinct = ndistinct, .g0 = first};
    while (first < ng && (i == nparts - 1 || start[first] < n * (i + 1) / nparts)) first++;
    parts[i].g1 = first;
  }
  mc_parallel(nparts, distinct_part_run, parts, sizeof parts[0]);
  for (int i = 0; i < nparts; i++)
    if (parts[i].failed) goto fail;
  if (collect) {
    int64_t total = 0;
    for (int i = 0; i < nparts; i++) total += parts[i].nitems;
    int32_t *items = mc_malloc_huge(sizeof(int32_t) * (size_t)total);
    if (!items) goto fail;
    cs_column_set_items(out, items);
    for (int i = 0; i < nparts; i++) {
      if (parts[i].nitems) memcpy(items, parts[i].items, sizeof(int32_t) * (size_t)parts[i].nitems);
      items += parts[i].nitems;
    }
    out->offsets[0] = 0;
    for (int64_t k = 0; k < ng; k++) out->offsets[k + 1] = out->offsets[k] + ndistinct[k];
  } else {
    memcpy(out->v.i64, ndistinct, sizeof(int64_t) * (size_t)ng);
  }
  for (int i = 0; i < nparts; i++) free(parts[i].items);
  free(start), free(cursor), free(order), free(ndistinct);
  return out;
fail:
  for (int i = 0; i < nparts; i++) free(parts[i].items);
  free(start), free(cursor), free(order), free(ndistinct);
  cs_column_release(out);
  return NULL;
}

/* Number of runs of equal groups in row order (elements are rows). */
static int64_t group_runs(const grouping *g) {
  int64_t runs = g->n > 0;
  for (int64_t r = 1; r < g->n; r++) runs += g->gid[r] != g->gid[r - 1];
  return runs;
}

/* count_distinct / collect_distinct of column c per group. Rows in long runs of one group (baskets by date: the
   files are in date order) are visited group by group with one small bitmap (distinct_by_rows); otherwise a bitmap
   row per group when it is small enough (distinct_bitmap); otherwise rows group by group when elements are rows,
   and as a last resort value codes, a counting sort of the elements by group and one stamp array over the values. */
static cs_column *agg_distinct(const grouping *g, const cs_column *c, int collect, int nthreads) {
  int64_t m = agg_elements(g, c), nv = 0, *values = NULL, *start = NULL, at = 0;
  int32_t *code = NULL, *ekey = NULL, *sorted = NULL, *stamp = NULL;
  cs_column *out = NULL;
  keycodes kc;
  if (keycodes_init(&kc, c, c->type == CS_LIST) != 0) return NULL;
  int64_t bitmap_bytes = g->ngroups * ((kc.ncodes + 63) / 64) * 8;
  int by_rows = !g->list && kc.mode != 2 && g->n <= INT32_MAX;
  if (by_rows && bitmap_bytes > CACHED_BITMAP_BYTES && group_runs(g) * 8 <= g->n) {
    out = distinct_by_rows(g, c, &kc, collect, nthreads);
    keycodes_free(&kc);
    return out;
  }
  /* a bitmap row per group when it is smaller than the sort path's three arrays of m elements (or 256 MB) */
  if (kc.mode != 2 && (bitmap_bytes <= DISTINCT_BITMAP_BYTES || bitmap_bytes <= 12 * m)) {
    out = distinct_bitmap(g, c, &kc, collect, nthreads);
    keycodes_free(&kc);
    return out;
  }
  if (by_rows) {
    out = distinct_by_rows(g, c, &kc, collect, nthreads);
    keycodes_free(&kc);
    return out;
  }
  code = mc_malloc_huge(sizeof(int32_t) * (size_t)m);
  ekey = mc_malloc_huge(sizeof(int32_t) * (size_t)m);
  start = calloc((size_t)g->ngroups + 2, sizeof(int64_t));
  if (!code || !ekey || !start) goto done;
  {
    int64_t i = 0;
    FOR_AGG(g, c, k, r, e, {
      code[i] = (int32_t)key_code(&kc, r, e);
      ekey[i++] = k;
      start[k + 2]++;
    })
  }
  nv = kc.ncodes;
  if (collect) {
    values = malloc(sizeof(int64_t) * (size_t)(nv > 0 ? nv : 1));
    if (!values) goto done;
    for (int64_t i = 0; i < nv; i++) values[i] = kc.mode == 1 ? (int64_t)kc.uniq[i] : kc.min + i;
  }
  /* counting sort of element codes by group: start[k+1] .. start[k+2] after the prefix sums */
  for (int64_t k = 0; k < g->ngroups; k++) start[k + 2] += start[k + 1];
  sorted = mc_malloc_huge(sizeof(int32_t) * (size_t)m);
  stamp = malloc(sizeof(int32_t) * (size_t)(nv > 0 ? nv : 1));
  if (!sorted || !stamp) goto done;
  for (int64_t i = 0; i < m; i++) sorted[start[ekey[i] + 1]++] = code[i];
  /* now start[k] .. start[k+1] holds group k's codes */
  for (int64_t i = 0; i < nv; i++) stamp[i] = -1;
  out = cs_column_new(collect ? CS_LIST : CS_INT64, g->ngroups);
  if (!out) goto done;
  int32_t *items = NULL;
  if (collect) {
    int64_t total = 0;
    for (int64_t k = 0; k < g->ngroups; k++)
      for (int64_t i = start[k]; i < start[k + 1]; i++)
        if (stamp[sorted[i]] != (int32_t)k) stamp[sorted[i]] = (int32_t)k, total++;
    for (int64_t i = 0; i < nv; i++) stamp[i] = -1;
    items = mc_malloc_huge(sizeof(int32_t) * (size_t)total);
    if (!items) {
      cs_column_release(out);
      out = NULL;
      goto done;
    }
    cs_column_set_items(out, items);
  }
  for (int64_t k = 0; k < g->ngroups; k++) {
    int64_t distinct = 0, first = at;
    for (int64_t i = start[k]; i < start[k + 1]; i++) {
      int32_t v = sorted[i];
      if (stamp[v] == (int32_t)k) continue;
      stamp[v] = (int32_t)k;
      distinct++;
      if (collect) items[at++] = (int32_t)values[v];
    }
    if (collect) {
      sort_small_i32(items + first, (size_t)(at - first));
      out->offsets[k + 1] = at;
    } else {
      out->v.i64[k] = distinct;
    }
  }
done:
  keycodes_free(&kc);
  free(code), free(ekey), free(values), free(start), free(sorted), free(stamp);
  return out;
}

int cs_group_by(const cs_column *const *keys, int nkeys, const cs_agg *aggs, int naggs, int nthreads,
                cs_column **out, char *err, size_t errlen) {
  grouping g = {0};
  keycodes *kc = calloc((size_t)(nkeys > 0 ? nkeys : 1), sizeof(keycodes));
  int rc = -1, nout = 0;
  if (!kc) {
    snprintf(err, errlen, "group_by: out of memory");
    return -1;
  }
  if (nkeys < 1) {
    snprintf(err, errlen, "group_by: at least one key expected");
    goto done;
  }
  /* a list key expands the rows into its items; at most one list may be a key */
  for (int i = 0; i < nkeys; i++) {
    if (keys[i]->type != CS_LIST) continue;
    if (g.list && g.list != keys[i]) {
      snprintf(err, errlen, "group_by: at most one list column may be a key");
      goto done;
    }
    g.list = keys[i];
  }
  for (int a = 0; a < naggs; a++)
    if (g.list && aggs[a].col && aggs[a].col->type == CS_LIST && aggs[a].col != g.list) {
      snprintf(err, errlen, "group_by: cannot aggregate a second list column while grouping by a list key");
      goto done;
    }
  g.n = keys[0]->n;
  g.m = g.list ? cs_column_nitems(g.list) : g.n;
  for (int i = 0; i < nkeys; i++)
    if (keycodes_init(&kc[i], keys[i], keys[i] == g.list) != 0) {
      snprintf(err, errlen, "group_by: out of memory");
      goto done;
    }
  int need_gid = 0;
  for (int a = 0; a < naggs; a++) need_gid |= aggs[a].kind != CS_AGG_COUNT;
  if (grouping_build(&g, kc, nkeys, need_gid, nthreads, err, errlen) != 0) goto done;
  for (int i = 0; i < nkeys; i++, nout++)
    if (!(out[i] = key_output(&g, i, keys[i]))) goto oom;
  for (int a = 0; a < naggs; a++, nout++) {
    cs_column *col = NULL;
    switch (aggs[a].kind) {
      case CS_AGG_COUNT:
        if ((col = cs_column_new(CS_INT64, g.ngroups)))
          memcpy(col->v.i64, g.count, sizeof(int64_t) * (size_t)g.ngroups);
        break;
      case CS_AGG_COUNT_DISTINCT: col = agg_distinct(&g, aggs[a].col, 0, nthreads); break;
      case CS_AGG_COLLECT_DISTINCT: col = agg_distinct(&g, aggs[a].col, 1, nthreads); break;
      default: col = agg_numeric(&g, aggs[a].kind, aggs[a].col);
    }
    if (!col) goto oom;
    out[nkeys + a] = col;
  }
  rc = 0;
  goto done;
oom:
  snprintf(err, errlen, "group_by: out of memory");
  for (int i = 0; i < nout; i++) cs_column_release(out[i]);
done:
  for (int i = 0; i < nkeys; i++) keycodes_free(&kc[i]);
  free(kc);
  grouping_free(&g);
  return rc;
}

/* ---- sorting (stable: a radix sort of packed integer keys, else a merge sort of row indices) ---- */

typedef struct sortctx {
  const cs_column *const *cols;
  const int *desc;
  int ncols;
} sortctx;

static int compare_rows(const sortctx *s, int64_t a, int64_t b) {
  for (int i = 0; i < s->ncols; i++) {
    const cs_column *c = s->cols[i];
    int r;
    switch (c->type) {
      case CS_INT64: r = (c->v.i64[a] > c->v.i64[b]) - (c->v.i64[a] < c->v.i64[b]); break;
      case CS_FLOAT64: r = (c->v.f64[a] > c->v.f64[b]) - (c->v.f64[a] < c->v.f64[b]); break;
      case CS_STRING: r = strcmp(cs_column_str(c, c->v.i32[a]), cs_column_str(c, c->v.i32[b])); break;
      case CS_LIST: { /* lexicographic on items */
        int64_t i0 = c->offsets[a], i1 = c->offsets[a + 1], j0 = c->offsets[b], j1 = c->offsets[b + 1];
        r = 0;
        for (; i0 < i1 && j0 < j1 && !r; i0++, j0++) r = (c->items[i0] > c->items[j0]) - (c->items[i0] < c->items[j0]);
        if (!r) r = ((i1 - i0) > (j1 - j0)) - ((i1 - i0) < (j1 - j0));
        break;
      }
      default: r = (c->v.i32[a] > c->v.i32[b]) - (c->v.i32[a] < c->v.i32[b]);
    }
    if (r) return s->desc[i] ? -r : r;
  }
  return (a > b) - (a < b);
}

static void merge_sort(const sortctx *s, int64_t *a, int64_t *tmp, int64_t n) {
  if (n < 16) { /* insertion sort for short runs */
    for (int64_t i = 1; i < n; i++) {
      int64_t x = a[i], j = i;
      while (j > 0 && compare_rows(s, a[j - 1], x) > 0) a[j] = a[j - 1], j--;
      a[j] = x;
    }
    return;
  }
  int64_t h = n / 2;
  merge_sort(s, a, tmp, h);
  merge_sort(s, a + h, tmp, n - h);
  if (compare_rows(s, a[h - 1], a[h]) <= 0) return;
  memcpy(tmp, a, sizeof(int64_t) * (size_t)h);
  int64_t i = 0, j = h, k = 0;
  while (i < h && j < n) a[k++] = compare_rows(s, tmp[i], a[j]) <= 0 ? tmp[i++] : a[j++];
  while (i < h) a[k++] = tmp[i++];
}

/* Integer sort keys whose ranges fit 64 bits together (counts, ids, dates: the common case) sort in linear time:
   each row's columns are packed into one unsigned key, first column in the high bits, a descending column's values
   mirrored, and a least-significant-digit radix sort, stable, keeps rows with equal keys in row order, exactly the
   order of merge_sort. Below this many rows the merge sort is as fast. */
#define RADIX_MIN_ROWS 4096

static int is_integer_type(cs_type t) {
  return t == CS_INT32 || t == CS_INT64 || t == CS_DATE;
}

static int64_t int_at(const cs_column *c, int64_t r) {
  return c->type == CS_INT64 ? c->v.i64[r] : c->v.i32[r];
}

/* 0 sorted, 1 not applicable (other types, or keys wider than 64 bits), -1 out of memory */
static int radix_sort_perm(const cs_column *const *cols, const int *desc, int ncols, int64_t n, int64_t *perm) {
  int64_t lo[8], hi[8];
  int width[8], total = 0;
  if (ncols > 8) return 1;
  for (int i = 0; i < ncols; i++) {
    if (!is_integer_type(cols[i]->type)) return 1;
    lo[i] = hi[i] = int_at(cols[i], 0);
    for (int64_t r = 1; r < n; r++) {
      int64_t v = int_at(cols[i], r);
      if (v < lo[i]) lo[i] = v;
      if (v > hi[i]) hi[i] = v;
    }
    uint64_t range = (uint64_t)hi[i] - (uint64_t)lo[i];
    width[i] = range ? 64 - __builtin_clzll(range) : 0;
    total += width[i];
  }
  if (total > 64) return 1;
  uint64_t *key = mc_malloc_huge(sizeof(uint64_t) * (size_t)n);
  if (!key) return -1;
  for (int64_t r = 0; r < n; r++) key[r] = 0, perm[r] = r;
  for (int i = 0; i < ncols; i++) {
    if (!width[i]) continue;
    for (int64_t r = 0; r < n; r++) {
      int64_t v = int_at(cols[i], r);
      uint64_t code = desc[i] ? (uint64_t)hi[i] - (uint64_t)v : (uint64_t)v - (uint64_t)lo[i];
      key[r] = (width[i] < 64 ? key[r] << width[i] : 0) | code;
    }
  }
  int rc = radix_sort_pairs(key, perm, n, total);
  free(key);
  return rc;
}

int cs_sort_perm(const cs_column *const *cols, const int *desc, int ncols, int64_t n, int64_t *perm) {
  sortctx s = {cols, desc, ncols};
  if (n >= RADIX_MIN_ROWS) {
    int rc = radix_sort_perm(cols, desc, ncols, n, perm);
    if (rc <= 0) return rc;
  }
  int64_t *tmp = malloc(sizeof(int64_t) * (size_t)(n / 2 + 1));
  if (!tmp) return -1;
  for (int64_t i = 0; i < n; i++) perm[i] = i;
  merge_sort(&s, perm, tmp, n);
  free(tmp);
  return 0;
}

/* Restores the heap property below position i of a heap of k rows whose root is the row that sorts last. */
static void sift_down_last(const sortctx *s, int64_t *h, int64_t k, int64_t i) {
  for (;;) {
    int64_t l = 2 * i + 1, r = l + 1, m = i;
    if (l < k && compare_rows(s, h[l], h[m]) > 0) m = l;
    if (r < k && compare_rows(s, h[r], h[m]) > 0) m = r;
    if (m == i) return;
    int64_t t = h[i];
    h[i] = h[m], h[m] = t;
    i = m;
  }
}

int cs_top_perm(const cs_column *const *cols, const int *desc, int ncols, int64_t n, int64_t k, int64_t *perm) {
  if (k >= n || k * 16 > n) return cs_sort_perm(cols, desc, ncols, n, perm);
  sortctx s = {cols, desc, ncols};
  int64_t size = 0;
  /* a heap of the best k rows so far, the one that sorts last on top: a row enters only if it sorts before it */
  for (int64_t r = 0; r < n; r++) {
    if (size < k) {
      int64_t i = size++;
      perm[i] = r;
      while (i > 0 && compare_rows(&s, perm[(i - 1) / 2], perm[i]) < 0) {
        int64_t p = (i - 1) / 2, t = perm[p];
        perm[p] = perm[i], perm[i] = t;
        i = p;
      }
    } else if (k > 0 && compare_rows(&s, r, perm[0]) < 0) {
      perm[0] = r;
      sift_down_last(&s, perm, k, 0);
    }
  }
  for (int64_t end = size - 1; end > 0; end--) { /* heap sort: the last-sorting row goes to the end */
    int64_t t = perm[0];
    perm[0] = perm[end], perm[end] = t;
    sift_down_last(&s, perm, end, 0);
  }
  return 0;
}

/* ---- taking rows ---- */

static int copy_dict(cs_column *dst, const cs_column *src) {
  size_t chars = (size_t)src->dict_off[src->ndict];
  int64_t *off = malloc(sizeof(int64_t) * (size_t)(src->ndict + 1));
  char *pool = malloc(chars + 1);
  if (!off || !pool) {
    free(off), free(pool);
    return -1;
  }
  memcpy(off, src->dict_off, sizeof(int64_t) * (size_t)(src->ndict + 1));
  memcpy(pool, src->dict_chars, chars);
  cs_column_set_dict(dst, src->ndict, off, pool);
  return 0;
}

cs_column *cs_column_take(const cs_column *c, const int64_t *idx, int64_t k) {
  cs_column *out = cs_column_new(c->type, k);
  if (!out) return NULL;
  switch (c->type) {
    case CS_INT64: for (int64_t i = 0; i < k; i++) out->v.i64[i] = c->v.i64[idx[i]]; break;
    case CS_FLOAT64: for (int64_t i = 0; i < k; i++) out->v.f64[i] = c->v.f64[idx[i]]; break;
    case CS_LIST: {
      int64_t total = 0;
      for (int64_t i = 0; i < k; i++) total += c->offsets[idx[i] + 1] - c->offsets[idx[i]];
      int32_t *items = malloc(sizeof(int32_t) * (size_t)(total > 0 ? total : 1));
      if (!items) {
        cs_column_release(out);
        return NULL;
      }
      cs_column_set_items(out, items);
      int64_t at = 0;
      for (int64_t i = 0; i < k; i++) {
        int64_t lo = c->offsets[idx[i]], len = c->offsets[idx[i] + 1] - lo;
        memcpy(items + at, c->items + lo, sizeof(int32_t) * (size_t)len);
        at += len;
        out->offsets[i + 1] = at;
      }
      break;
    }
    default: for (int64_t i = 0; i < k; i++) out->v.i32[i] = c->v.i32[idx[i]];
  }
  if (c->type == CS_STRING && copy_dict(out, c) != 0) {
    cs_column_release(out);
    return NULL;
  }
  return out;
}

/* ---- filtering ---- */

static int in_set(const double *set, int64_t n, double v) { /* set is sorted */
  int64_t lo = 0, hi = n;
  while (lo < hi) {
    int64_t mid = (lo + hi) / 2;
    if (set[mid] < v) lo = mid + 1;
    else hi = mid;
  }
  return lo < n && set[lo] == v;
}

int64_t cs_filter_rows(const cs_cond *conds, int nconds, int64_t n, int64_t *idx) {
  int64_t k = 0;
  for (int64_t r = 0; r < n; r++) {
    int ok = 1;
    for (int i = 0; i < nconds && ok; i++) {
      const cs_cond *c = &conds[i];
      double v = cs_column_get_f64(c->col, r);
      switch (c->op) {
        case CS_EQ: ok = v == c->value; break;
        case CS_NE: ok = v != c->value; break;
        case CS_LT: ok = v < c->value; break;
        case CS_LE: ok = v <= c->value; break;
        case CS_GT: ok = v > c->value; break;
        case CS_GE: ok = v >= c->value; break;
        case CS_IN: ok = in_set(c->set, c->nset, v); break;
        case CS_NOT_IN: ok = !in_set(c->set, c->nset, v); break;
      }
    }
    if (ok) idx[k++] = r;
  }
  return k;
}

/* ---- joining ---- */

static int cmp_right_rows(const void *a, const void *b, void *right) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  double vx = cs_column_get_f64(right, x), vy = cs_column_get_f64(right, y);
  if (vx != vy) return vx < vy ? -1 : 1;
  return (x > y) - (x < y);
}

int64_t cs_join_pairs(const cs_column *left, const cs_column *right, int64_t **lidx, int64_t **ridx) {
  int64_t nr = right->n, total = 0;
  int64_t *order = malloc(sizeof(int64_t) * (size_t)(nr > 0 ? nr : 1));
  if (!order) return -1;
  for (int64_t i = 0; i < nr; i++) order[i] = i;
  qsort_r(order, (size_t)nr, sizeof(int64_t), cmp_right_rows, (void *)right);
  int64_t *first = malloc(sizeof(int64_t) * (size_t)(left->n > 0 ? left->n : 1));
  int64_t *cnt = malloc(sizeof(int64_t) * (size_t)(left->n > 0 ? left->n : 1));
  if (!first || !cnt) {
    free(order), free(first), free(cnt);
    return -1;
  }
  for (int64_t r = 0; r < left->n; r++) {
    double v = cs_column_get_f64(left, r);
    int64_t lo = 0, hi = nr;
    while (lo < hi) {
      int64_t mid = (lo + hi) / 2;
      if (cs_column_get_f64(right, order[mid]) < v) lo = mid + 1;
      else hi = mid;
    }
    int64_t end = lo;
    while (end < nr && cs_column_get_f64(right, order[end]) == v) end++;
    first[r] = lo;
    cnt[r] = end - lo;
    total += end - lo;
  }
  *lidx = malloc(sizeof(int64_t) * (size_t)(total > 0 ? total : 1));
  *ridx = malloc(sizeof(int64_t) * (size_t)(total > 0 ? total : 1));
  if (!*lidx || !*ridx) {
    free(*lidx), free(*ridx), free(order), free(first), free(cnt);
    return -1;
  }
  int64_t k = 0;
  for (int64_t r = 0; r < left->n; r++)
    for (int64_t j = 0; j < cnt[r]; j++) {
      (*lidx)[k] = r;
      (*ridx)[k++] = order[first[r] + j];
    }
  free(order), free(first), free(cnt);
  return total;
}

/* ---- date parts ---- */

cs_column *cs_date_part(const cs_column *dates, cs_datepart part) {
  cs_column *out = cs_column_new(CS_INT32, dates->n);
  if (!out) return NULL;
  for (int64_t i = 0; i < dates->n; i++) {
    int32_t d = dates->v.i32[i];
    int y, m, dd, iy, iw;
    switch (part) {
      case CS_DAY_OF_WEEK: out->v.i32[i] = cs_day_of_week(d); break;
      case CS_ISO_YEAR: cs_iso_week(d, &iy, &iw), out->v.i32[i] = iy; break;
      case CS_ISO_WEEK: cs_iso_week(d, &iy, &iw), out->v.i32[i] = iw; break;
      default:
        cs_civil_from_days(d, &y, &m, &dd);
        out->v.i32[i] = part == CS_YEAR ? y : part == CS_MONTH ? m : dd;
    }
  }
  return out;
}

/* ---- lists ---- */

cs_column *cs_list_lengths(const cs_column *list) {
  cs_column *out = cs_column_new(CS_INT32, list->n);
  if (!out) return NULL;
  for (int64_t i = 0; i < list->n; i++) out->v.i32[i] = (int32_t)(list->offsets[i + 1] - list->offsets[i]);
  return out;
}

cs_column *cs_list_explode(const cs_column *list) {
  int64_t m = cs_column_nitems(list);
  cs_column *out = cs_column_new(CS_INT32, m);
  if (!out) return NULL;
  if (m) memcpy(out->v.i32, list->items, sizeof(int32_t) * (size_t)m);
  return out;
}

int64_t *cs_list_item_rows(const cs_column *list) {
  int64_t m = cs_column_nitems(list);
  int64_t *rows = mc_malloc_huge(sizeof(int64_t) * (size_t)m);
  if (!rows) return NULL;
  for (int64_t r = 0; r < list->n; r++)
    for (int64_t e = list->offsets[r]; e < list->offsets[r + 1]; e++) rows[e] = r;
  return rows;
}

/* Item range of a list column (lo..hi); returns 0 if it has no items. */
static int item_range(const cs_column *list, int32_t *lo, int32_t *hi) {
  int64_t a, b;
  if (!cs_column_range((cs_column *)list, &a, &b)) return 0;
  *lo = (int32_t)a, *hi = (int32_t)b;
  return 1;
}

cs_column *cs_list_distinct_lengths(const cs_column *list) {
  cs_column *out = cs_column_new(CS_INT32, list->n);
  if (!out) return NULL;
  int32_t lo = 0, hi = 0;
  int dense = item_range(list, &lo, &hi) && (int64_t)hi - lo < DENSE_LIMIT;
  int64_t *stamp = dense ? malloc(sizeof(int64_t) * ((size_t)((int64_t)hi - lo) + 1)) : NULL;
  if (dense && !stamp) {
    cs_column_release(out);
    return NULL;
  }
  if (stamp)
    for (int64_t i = 0; i <= (int64_t)hi - lo; i++) stamp[i] = -1;
  int32_t *scratch = NULL;
  size_t scap = 0;
  for (int64_t r = 0; r < list->n; r++) {
    int64_t a = list->offsets[r], b = list->offsets[r + 1], d = 0;
    if (stamp) {
      for (int64_t e = a; e < b; e++) {
        int64_t v = (int64_t)list->items[e] - lo;
        if (stamp[v] != r) stamp[v] = r, d++;
      }
    } else if (b > a) {
      if ((size_t)(b - a) > scap) {
        int32_t *s = realloc(scratch, sizeof(int32_t) * (size_t)(b - a));
        if (!s) {
          free(scratch), free(stamp);
          cs_column_release(out);
          return NULL;
        }
        scratch = s, scap = (size_t)(b - a);
      }
      memcpy(scratch, list->items + a, sizeof(int32_t) * (size_t)(b - a));
      qsort(scratch, (size_t)(b - a), sizeof(int32_t), cmp_i32);
      d = 1;
      for (int64_t i = 1; i < b - a; i++) d += scratch[i] != scratch[i - 1];
    }
    out->v.i32[r] = (int32_t)d;
  }
  free(scratch), free(stamp);
  return out;
}

/* One part of a remap: rows r0 .. r1-1. When the values span at most 64 (categories), a row's values are the bits
   of the OR of its keys' masks, read out in ascending order; otherwise they are deduplicated with a stamp array over
   the value range and only the distinct ones are sorted. The part's values go to its own buffer and offsets[r + 1]
   gets the part-relative end of row r. */
typedef struct remap_part {
  const cs_column *list;
  const int64_t *start; /* key k's values are mapped[start[k] .. start[k+1]) */
  const int32_t *mapped;
  const uint64_t *mask; /* values within 64 of each other: key k's values as bits (v - vlo), else NULL */
  int64_t klo, range, vlo, vrange;
  int64_t r0, r1;
  int64_t *offsets;     /* the output's offsets (each part writes its own rows) */
  int32_t *lengths;     /* or, when only the counts are wanted, the number of values of each row */
  int32_t *items;
  int64_t nitems, cap;
  int failed;
} remap_part;

static void *remap_part_run(void *arg) {
  remap_part *p = arg;
  const cs_column *list = p->list;
  int64_t *stamp = malloc(sizeof(int64_t) * (size_t)(p->vrange > 0 ? p->vrange : 1)), rowcap = 0;
  int32_t *row = NULL;
  if (!stamp || grow_i32(&row, &rowcap, 1024) != 0) goto fail;
  for (int64_t i = 0; i < p->vrange; i++) stamp[i] = -1;
  for (int64_t r = p->r0; r < p->r1 && p->mask; r++) { /* few values (categories): a row is one OR of masks */
    uint64_t bits = 0;
    for (int64_t e = list->offsets[r]; e < list->offsets[r + 1]; e++) {
      int64_t k = (int64_t)list->items[e] - p->klo;
      if (k >= 0 && k < p->range) bits |= p->mask[k];
    }
    int64_t nrow = popcount64(bits);
    if (p->lengths) {
      p->lengths[r] = (int32_t)nrow;
      continue;
    }
    if (nrow && grow_i32(&p->items, &p->cap, p->nitems + nrow) != 0) goto fail;
    for (; bits; bits &= bits - 1) p->items[p->nitems++] = (int32_t)(p->vlo + __builtin_ctzll(bits));
    p->offsets[r + 1] = p->nitems;
  }
  for (int64_t r = p->r0; r < p->r1 && !p->mask; r++) {
    int64_t nrow = 0;
    for (int64_t e = list->offsets[r]; e < list->offsets[r + 1]; e++) {
      int64_t k = (int64_t)list->items[e] - p->klo;
      if (k < 0 || k >= p->range) continue;
      for (int64_t j = p->start[k]; j < p->start[k + 1]; j++) {
        int32_t v = p->mapped[j];
        if (stamp[v - p->vlo] == r) continue;
        stamp[v - p->vlo] = r;
        if (p->lengths) {
          nrow++;
          continue;
        }
        if (nrow == rowcap && grow_i32(&row, &rowcap, nrow + 1) != 0) goto fail;
        row[nrow++] = v;
      }
    }
    if (p->lengths) {
      p->lengths[r] = (int32_t)nrow;
      continue;
    }
    sort_small_i32(row, (size_t)nrow);
    if (nrow && grow_i32(&p->items, &p->cap, p->nitems + nrow) != 0) goto fail;
    if (nrow) memcpy(p->items + p->nitems, row, sizeof(int32_t) * (size_t)nrow);
    p->nitems += nrow;
    p->offsets[r + 1] = p->nitems;
  }
  free(stamp), free(row);
  return NULL;
fail:
  free(stamp), free(row);
  p->failed = 1;
  return NULL;
}

/* cs_list_remap, or with count_only cs_list_remap_lengths. */
static cs_column *remap(const cs_column *list, const cs_column *keys, const cs_column *values, int nthreads,
                        int count_only, char *err, size_t errlen) {
  /* CSR of key -> values over the key range, then the rows in contiguous parts, one per thread */
  int64_t np = keys->n;
  cs_column *out = NULL;
  int64_t *start = NULL, *cursor = NULL;
  int32_t *mapped = NULL;
  uint64_t *mask = NULL;
  remap_part parts[MAX_PARTS];
  int nparts = nthreads < 1 ? 1 : nthreads > MAX_PARTS ? MAX_PARTS : nthreads;
  memset(parts, 0, sizeof parts);
  /* only keys within the list's item range matter (a catalog of millions of products, baskets of hundreds) */
  int32_t ilo = 0, ihi = -1, klo = 0, khi = -1, vlo = 0, vhi = -1;
  if (!item_range(list, &ilo, &ihi)) ilo = 1, ihi = 0;
  int any = 0;
  for (int64_t i = 0; i < np; i++) {
    int32_t k = keys->v.i32[i], v = values->v.i32[i];
    if (k < ilo || k > ihi) continue;
    if (!any || k < klo) klo = k;
    if (!any || k > khi) khi = k;
    if (!any || v < vlo) vlo = v;
    if (!any || v > vhi) vhi = v;
    any = 1;
  }
  if (!any) klo = 0, khi = -1, vlo = 0, vhi = -1;
  int64_t range = (int64_t)khi - klo + 1, vrange = (int64_t)vhi - vlo + 1;
  if (range > DENSE_LIMIT || vrange > DENSE_LIMIT) {
    snprintf(err, errlen, "remap: key or value range too wide (at most %d)", DENSE_LIMIT);
    return NULL;
  }
  start = calloc((size_t)range + 2, sizeof(int64_t));
  cursor = malloc(sizeof(int64_t) * ((size_t)range + 2));
  mapped = malloc(sizeof(int32_t) * (size_t)(np > 0 ? np : 1));
  if (!start || !cursor || !mapped) goto oom;
  for (int64_t i = 0; i < np; i++)
    if (keys->v.i32[i] >= klo && keys->v.i32[i] <= khi) start[keys->v.i32[i] - klo + 1]++;
  for (int64_t k = 0; k < range; k++) start[k + 1] += start[k];
  memcpy(cursor, start, sizeof(int64_t) * ((size_t)range + 1));
  for (int64_t i = 0; i < np; i++)
    if (keys->v.i32[i] >= klo && keys->v.i32[i] <= khi) mapped[cursor[keys->v.i32[i] - klo]++] = values->v.i32[i];
  if (vrange <= 64) {
    if (!(mask = calloc((size_t)range + 1, sizeof(uint64_t)))) goto oom;
    for (int64_t k = 0; k < range; k++)
      for (int64_t j = start[k]; j < start[k + 1]; j++) mask[k] |= (uint64_t)1 << (mapped[j] - vlo);
  }
  out = cs_column_new(count_only ? CS_INT32 : CS_LIST, list->n);
  if (!out) goto oom;
  if (cs_column_nitems(list) < PARALLEL_MIN_ELEMENTS) nparts = 1;
  for (int i = 0; i < nparts; i++)
    parts[i] = (remap_part){.list = list, .start = start, .mapped = mapped, .mask = mask, .klo = klo, .range = range,
                            .vlo = vlo, .vrange = vrange, .r0 = list->n * i / nparts, .r1 = list->n * (i + 1) / nparts,
                            .offsets = out->offsets, .lengths = count_only ? out->v.i32 : NULL};
  mc_parallel(nparts, remap_part_run, parts, sizeof parts[0]);
  int64_t total = 0;
  for (int i = 0; i < nparts; i++) {
    if (parts[i].failed) goto oom;
    total += parts[i].nitems;
  }
  if (count_only) {
    free(start), free(cursor), free(mapped), free(mask);
    return out;
  }
  int32_t *items = mc_malloc_huge(sizeof(int32_t) * (size_t)total);
  if (!items) goto oom;
  cs_column_set_items(out, items);
  out->offsets[0] = 0;
  int64_t base = 0;
  for (int i = 0; i < nparts; i++) {
    if (parts[i].nitems) memcpy(items + base, parts[i].items, sizeof(int32_t) * (size_t)parts[i].nitems);
    for (int64_t r = parts[i].r0; r < parts[i].r1; r++) out->offsets[r + 1] += base;
    base += parts[i].nitems;
  }
  for (int i = 0; i < nparts; i++) free(parts[i].items);
  free(start), free(cursor), free(mapped), free(mask);
  return out;
oom:
  snprintf(err, errlen, "remap: out of memory");
  for (int i = 0; i < nparts; i++) free(parts[i].items);
  free(start), free(cursor), free(mapped), free(mask);
  cs_column_release(out);
  return NULL;
}

cs_column *cs_list_remap(const cs_column *list, const cs_column *keys, const cs_column *values, int nthreads,
                         char *err, size_t errlen) {
  return remap(list, keys, values, nthreads, 0, err, errlen);
}

cs_column *cs_list_remap_lengths(const cs_column *list, const cs_column *keys, const cs_column *values, int nthreads,
                                 char *err, size_t errlen) {
  return remap(list, keys, values, nthreads, 1, err, errlen);
}

/* ---- sampling ---- */

static uint64_t splitmix64(uint64_t *s) {
  uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

static int cmp_i64(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return (x > y) - (x < y);
}

int64_t cs_sample_rows(int64_t nrows, const cs_column *strata, int64_t n, uint64_t seed, int64_t *idx) {
  if (n >= nrows) {
    for (int64_t i = 0; i < nrows; i++) idx[i] = i;
    return nrows;
  }
  /* strata: rows grouped by stratum value (counting sort over the value range) */
  int32_t lo = 0, hi = 0;
  for (int64_t i = 0; strata && i < nrows; i++) {
    if (i == 0 || strata->v.i32[i] < lo) lo = strata->v.i32[i];
    if (i == 0 || strata->v.i32[i] > hi) hi = strata->v.i32[i];
  }
  int64_t ns = strata ? (int64_t)hi - lo + 1 : 1;
  if (ns > DENSE_LIMIT) return -1;
  int64_t *start = calloc((size_t)ns + 1, sizeof(int64_t)), *want = calloc((size_t)ns, sizeof(int64_t));
  int64_t *rows = malloc(sizeof(int64_t) * (size_t)(nrows > 0 ? nrows : 1));
  double *frac = calloc((size_t)ns, sizeof(double));
  if (!start || !want || !rows || !frac) {
    free(start), free(want), free(rows), free(frac);
    return -1;
  }
  for (int64_t i = 0; i < nrows; i++) start[(strata ? strata->v.i32[i] - lo : 0) + 1]++;
  for (int64_t s = 0; s < ns; s++) start[s + 1] += start[s];
  {
    int64_t *cur = malloc(sizeof(int64_t) * (size_t)ns);
    if (!cur) {
      free(start), free(want), free(rows), free(frac);
      return -1;
    }
    memcpy(cur, start, sizeof(int64_t) * (size_t)ns);
    for (int64_t i = 0; i < nrows; i++) rows[cur[strata ? strata->v.i32[i] - lo : 0]++] = i;
    free(cur);
  }
  /* proportional allocation with largest remainders, at least one per non-empty stratum when n allows */
  int64_t given = 0, nonempty = 0;
  for (int64_t s = 0; s < ns; s++) nonempty += start[s + 1] > start[s];
  for (int64_t s = 0; s < ns; s++) {
    int64_t size = start[s + 1] - start[s];
    if (!size) continue;
    double exact = (double)n * (double)size / (double)nrows;
    want[s] = (int64_t)exact;
    if (want[s] == 0 && n >= nonempty) want[s] = 1;
    if (want[s] > size) want[s] = size;
    frac[s] = exact - (double)(int64_t)exact;
    given += want[s];
  }
  while (given < n) { /* hand out the rest by largest remainder (lowest stratum first on ties) */
    int64_t best = -1;
    for (int64_t s = 0; s < ns; s++)
      if (want[s] < start[s + 1] - start[s] && (best < 0 || frac[s] > frac[best])) best = s;
    if (best < 0) break;
    want[best]++, frac[best] = -1, given++;
  }
  /* partial Fisher-Yates inside each stratum */
  uint64_t state = seed;
  int64_t k = 0;
  for (int64_t s = 0; s < ns; s++) {
    int64_t *r = rows + start[s], size = start[s + 1] - start[s];
    for (int64_t i = 0; i < want[s]; i++) {
      int64_t j = i + (int64_t)(splitmix64(&state) % (uint64_t)(size - i));
      int64_t t = r[i];
      r[i] = r[j], r[j] = t;
      idx[k++] = r[i];
    }
  }
  qsort(idx, (size_t)k, sizeof(int64_t), cmp_i64);
  free(start), free(want), free(rows), free(frac);
  return k;
}

/* ---- CSV writing ---- */

static void csv_field(mc_buf *b, const char *s, size_t len) {
  if (!memchr(s, ',', len) && !memchr(s, '"', len) && !memchr(s, '\n', len) && !memchr(s, '\r', len)) {
    buf_add(b, s, len);
    return;
  }
  buf_addc(b, '"');
  for (size_t i = 0; i < len; i++) {
    if (s[i] == '"') buf_addc(b, '"');
    buf_addc(b, s[i]);
  }
  buf_addc(b, '"');
}

void cs_table_write_csv(const cs_table *t, mc_buf *b) {
  for (int c = 0; c < t->ncols; c++) {
    if (c) buf_addc(b, ',');
    csv_field(b, t->names[c], strlen(t->names[c]));
  }
  buf_addc(b, '\n');
  int64_t n = t->n < 0 ? 0 : t->n;
  char tmp[JSON_DOUBLE_MAX];
  for (int64_t r = 0; r < n; r++) {
    for (int c = 0; c < t->ncols; c++) {
      const cs_column *col = t->cols[c];
      if (c) buf_addc(b, ',');
      switch (col->type) {
        case CS_INT32: json_add_int(b, col->v.i32[r]); break;
        case CS_INT64: json_add_int(b, col->v.i64[r]); break;
        case CS_FLOAT64: {
          int len = json_format_double(col->v.f64[r], tmp);
          if (len > 0) buf_add(b, tmp, (size_t)len);
          break;
        }
        case CS_DATE:
          cs_format_date(col->v.i32[r], tmp);
          buf_add(b, tmp, 10);
          break;
        case CS_STRING: {
          const char *s = cs_column_str(col, col->v.i32[r]);
          csv_field(b, s, strlen(s));
          break;
        }
        case CS_LIST:
          for (int64_t e = col->offsets[r]; e < col->offsets[r + 1]; e++) {
            if (e > col->offsets[r]) buf_addc(b, ' ');
            json_add_int(b, col->items[e]);
          }
          break;
      }
    }
    buf_addc(b, '\n');
  }
}
