/*
** fp_tree.c: the global FP-tree of a basket column (the method for many frequent items, see fpgrowth.c). Given the
** ranks of the frequent items (fp_items.c), each basket becomes its ascending list of frequent ranks, the lists are
** sorted with a radix sort on a key packing their first ranks (ties: a comparison of the rest), and the tree is built
** in one pass in depth-first preorder. Only the ranks that do not fit in a key (the "tails" of long lists) are stored
** besides the keys.
*/
#include "fp_internal.h"

#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- per-thread passes over the baskets */

typedef struct __attribute__((packed)) keyed {
  uint64_t key; /* the first `slots` ranks + 1, `bits` each, from the top bit down; 0 = an empty list */
  uint32_t t;   /* basket */
} keyed;

typedef struct prep {
  const fp_lists *b;
  const fp_ranking *rk;
  int64_t lo, hi;          /* baskets of this thread */
  int32_t *buf;            /* room for the longest basket */
  keyed *keys;
  uint32_t *toff;          /* pass 2: per basket, where its tail starts in this thread's tails */
  int32_t *tail;           /* pass 2: the ranks past the key's slots of this thread's baskets */
  int64_t tlen, tcap;
  int bits, slots, failed;
  int64_t total, maxlen;
} prep;

static inline uint64_t pack_key(const int32_t *r, int64_t len, int bits, int slots) {
  uint64_t key = 0;
  for (int s = 0; s < slots && s < len; s++) key |= (uint64_t)(r[s] + 1) << (64 - bits * (s + 1));
  return key;
}

/* Each basket's sort key, and the ranks that do not fit in it. */
static void *make_keys(void *arg) {
  prep *p = arg;
  for (int64_t b = p->lo; b < p->hi; b++) {
    int64_t len = fp_items_decode(p->b, p->rk, b, p->buf);
    p->keys[b].key = pack_key(p->buf, len, p->bits, p->slots);
    p->keys[b].t = (uint32_t)b;
    p->toff[b] = (uint32_t)p->tlen;
    p->total += len;
    if (len > p->maxlen) p->maxlen = len;
    if (len <= p->slots) continue;
    if (p->tlen + len > p->tcap) {
      int64_t cap = (p->tcap + len) * 2;
      int32_t *t = realloc(p->tail, (size_t)cap * sizeof *t);
      if (!t) {
        p->failed = 1;
        return NULL;
      }
      p->tail = t;
      p->tcap = cap;
    }
    memcpy(p->tail + p->tlen, p->buf + p->slots, (size_t)(len - p->slots) * sizeof *p->buf);
    p->tlen += len - p->slots;
  }
  return NULL;
}

/* ---------------------------------------------------------------- sorting */

typedef struct tail_ctx {
  const int32_t *tails;  /* the ranks past the key's slots, per basket: */
  const uint32_t *toff;  /* tails[toff[t] .. toff[t+1]) */
  int bits, slots;
} tail_ctx;

static int cmp_key(const void *a, const void *b) {
  uint64_t x = ((const keyed *)a)->key, y = ((const keyed *)b)->key;
  return (x > y) - (x < y);
}

/* Sorts a run of lists sharing their first level*slots ranks (and all longer than that) by the following ranks:
   the keys are replaced by the next slots' packed ranks, sorted, runs of equal keys sorted one level deeper, and the
   run's common key restored. */
static void sort_tails(keyed *a, int64_t n, int level, const tail_ctx *tc) {
  uint64_t common = a[0].key, lastslot = ((uint64_t)1 << tc->bits) - 1;
  int64_t skip = (int64_t)(level - 1) * tc->slots;
  for (int64_t i = 0; i < n; i++) {
    uint32_t t = a[i].t;
    a[i].key = pack_key(tc->tails + tc->toff[t] + skip, (int64_t)(tc->toff[t + 1] - tc->toff[t]) - skip, tc->bits,
                        tc->slots);
  }
  qsort(a, (size_t)n, sizeof *a, cmp_key);
  for (int64_t s = 0; s < n;) {
    int64_t e = s + 1;
    while (e < n && a[e].key == a[s].key) e++;
    if (e - s > 1 && (a[s].key & (lastslot << (64 - tc->bits * tc->slots))) != 0)
      sort_tails(a + s, e - s, level + 1, tc);
    s = e;
  }
  for (int64_t i = 0; i < n; i++) a[i].key = common;
}

/* Radix sort on the keys (skipping digits all keys share), then the runs of equal full keys by their tails. */
static fp_status sort_keys(keyed *a, int64_t n, const tail_ctx *tc) {
  int bits = tc->bits, slots = tc->slots;
  keyed *tmp = malloc((size_t)(n ? n : 1) * sizeof *tmp), *src = a, *dst = tmp;
  if (!tmp) return FP_ENOMEM;
  mc_hint_huge(tmp, (size_t)n * sizeof *tmp);
  for (int byte = (64 - bits * slots) / 8; byte < 8; byte++) {
    int64_t hist[256];
    memset(hist, 0, sizeof hist);
    for (int64_t i = 0; i < n; i++) hist[(src[i].key >> (8 * byte)) & 255]++;
    int64_t sum = 0, same = 0;
    for (int d = 0; d < 256; d++) {
      same |= hist[d] == n;
      int64_t c = hist[d];
      hist[d] = sum;
      sum += c;
    }
    if (same) continue;
    for (int64_t i = 0; i < n; i++) dst[hist[(src[i].key >> (8 * byte)) & 255]++] = src[i];
    keyed *sw = src;
    src = dst;
    dst = sw;
  }
  if (src != a) memcpy(a, src, (size_t)n * sizeof *a);
  free(tmp);
  uint64_t lastslot = ((uint64_t)1 << bits) - 1;
  for (int64_t s = 0; s < n;) {
    int64_t e = s + 1;
    while (e < n && a[e].key == a[s].key) e++;
    if (e - s > 1 && ((a[s].key >> (64 - bits * slots)) & lastslot) != 0) sort_tails(a + s, e - s, 1, tc);
    s = e;
  }
  return FP_OK;
}

/* ---------------------------------------------------------------- trees */

void fp_tree_free(fp_tree *t) {
  free(t->node);
  free(t->support);
  free(t->rank);
  memset(t, 0, sizeof *t);
}

/* Inserts the sorted lists in order: each shares a prefix with the previous one (the path kept in `path`). */
static fp_status insert_sorted(fp_tree *t, const keyed *keys, int64_t n, const tail_ctx *tc, int64_t maxlen,
                               int32_t *prev, int32_t *cur) {
  int bits = tc->bits, slots = tc->slots;
  int32_t *path = malloc((size_t)(maxlen + 1) * sizeof *path);
  if (!path) return FP_ENOMEM;
  int64_t prevlen = 0;
  int32_t nn = 1;
  fp_node *node = t->node;
  uint64_t lastslot = ((uint64_t)1 << bits) - 1;
  for (int64_t i = 0; i < n; i++) {
    uint64_t key = keys[i].key;
    if (key == 0) continue;
    int64_t len = 0;
    for (; len < slots && ((key >> (64 - bits * (len + 1))) & lastslot); len++)
      cur[len] = (int32_t)((key >> (64 - bits * (len + 1))) & lastslot) - 1;
    if (len == slots) { /* and the rest */
      uint32_t t = keys[i].t, tl = tc->toff[t + 1] - tc->toff[t];
      memcpy(cur + len, tc->tails + tc->toff[t], (size_t)tl * sizeof *cur);
      len += tl;
    }
    int64_t d = 0;
    while (d < len && d < prevlen && cur[d] == prev[d]) node[path[d++]].count++;
    for (; d < len; d++) {
      node[nn].parent = d ? path[d - 1] : 0;
      node[nn].label = cur[d];
      node[nn].count = 1;
      path[d] = nn++;
    }
    int32_t *sw = prev;
    prev = cur;
    cur = sw;
    prevlen = len;
  }
  free(path);
  t->nnodes = nn;
  fp_node *shrunk = realloc(t->node, (size_t)nn * sizeof *shrunk);
  if (shrunk) t->node = shrunk;
  return FP_OK;
}

typedef struct build_state {
  prep ps[FP_MAX_THREADS];
  int32_t *bx, *by, *tails;
  uint32_t *toff;
  keyed *keys;
} build_state;

static void build_state_free(build_state *s) {
  for (int t = 0; t < FP_MAX_THREADS; t++) {
    free(s->ps[t].buf);
    free(s->ps[t].tail);
  }
  free(s->tails);
  free(s->toff);
  free(s->bx);
  free(s->by);
  free(s->keys);
  free(s);
}

fp_status fp_tree_build(const fp_lists *b, const fp_ranking *rk, int nt, int (*cancelled)(void), fp_tree *t) {
  memset(t, 0, sizeof *t);
  build_state *s = calloc(1, sizeof *s);
  if (!s) return FP_ENOMEM;
  fp_status st = FP_ENOMEM;
  int32_t k = rk->k;
  size_t kk = (size_t)k + 1;
  t->support = malloc(kk * sizeof *t->support);
  t->rank = malloc(kk * sizeof *t->rank);
  if (!t->support || !t->rank) goto cleanup;
  for (int32_t r = 0; r < k; r++) {
    t->support[r] = rk->support[r];
    t->rank[r] = r;
  }
  t->nitems = k;
  int bits = 1;
  while (bits < 31 && ((int64_t)1 << bits) <= k) bits++;
  int slots = 64 / bits;
  size_t room = (size_t)(rk->maxraw > k ? rk->maxraw : k) + 1;
  s->keys = malloc((size_t)(b->n ? b->n : 1) * sizeof *s->keys);
  s->bx = malloc(room * sizeof *s->bx);
  s->by = malloc(room * sizeof *s->by);
  s->toff = malloc((size_t)(b->n + 1) * sizeof *s->toff);
  if (!s->keys || !s->bx || !s->by || !s->toff) goto cleanup;
  mc_hint_huge(s->keys, (size_t)b->n * sizeof *s->keys);
  int64_t total = 0, maxlen = 0;
  for (int i = 0; i < nt; i++) {
    prep *p = &s->ps[i];
    p->b = b;
    p->rk = rk;
    p->lo = b->n * i / nt;
    p->hi = b->n * (i + 1) / nt;
    p->keys = s->keys;
    p->toff = s->toff;
    p->bits = bits;
    p->slots = slots;
    if (!(p->buf = malloc(room * sizeof *p->buf))) goto cleanup;
  }
  mc_parallel(nt, make_keys, s->ps, sizeof(prep));
  int64_t ntail = 0;
  for (int i = 0; i < nt; i++) {
    if (s->ps[i].failed) goto cleanup;
    total += s->ps[i].total;
    ntail += s->ps[i].tlen;
    if (s->ps[i].maxlen > maxlen) maxlen = s->ps[i].maxlen;
  }
  st = FP_ETOOBIG;
  if (total >= INT32_MAX) goto cleanup;
  st = FP_ENOMEM;
  if (!(s->tails = malloc((size_t)(ntail ? ntail : 1) * sizeof *s->tails))) goto cleanup;
  int64_t base = 0;
  for (int i = 0; i < nt; i++) { /* one tail array, offsets rebased */
    prep *p = &s->ps[i];
    if (p->tlen) memcpy(s->tails + base, p->tail, (size_t)p->tlen * sizeof *p->tail);
    for (int64_t j = p->lo; j < p->hi; j++) s->toff[j] += (uint32_t)base;
    base += p->tlen;
    free(p->tail);
    p->tail = NULL;
  }
  s->toff[b->n] = (uint32_t)ntail;
  tail_ctx tc = {s->tails, s->toff, bits, slots};
  if ((st = sort_keys(s->keys, b->n, &tc)) != FP_OK) goto cleanup;
  if (cancelled && cancelled()) {
    st = FP_ECANCELLED;
    goto cleanup;
  }
  st = FP_ENOMEM;
  t->node = malloc((size_t)(total + 1) * sizeof *t->node);
  if (!t->node) goto cleanup;
  mc_hint_huge(t->node, (size_t)(total + 1) * sizeof *t->node);
  t->node[0].parent = 0;
  t->node[0].label = -1;
  t->node[0].count = 0;
  if ((st = insert_sorted(t, s->keys, b->n, &tc, maxlen, s->bx, s->by)) != FP_OK) goto cleanup;
  st = FP_OK;
cleanup:
  build_state_free(s);
  if (st != FP_OK) fp_tree_free(t);
  return st;
}
