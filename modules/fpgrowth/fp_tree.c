/*
** fp_tree.c: the global FP-tree of a basket column. Items are counted (once per basket) and ranked by count desc,
** each basket becomes its ascending list of frequent ranks, the lists are sorted with a radix sort on a key packing
** their first ranks (ties: a comparison of the rest), and the tree is built in one pass in depth-first preorder.
** Only the ranks that do not fit in a key (the "tails" of long lists) are stored besides the keys.
*/
#include "fp_internal.h"

#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- item dictionary */

/* Maps item ids to dense indices: an offset when the id range is small, else a hash table. */
typedef struct itemmap {
  int dense;
  int64_t base;     /* dense: index = item - base */
  int64_t m;        /* number of indices */
  int32_t *keys;    /* hash: slot keys */
  int32_t *vals;    /* hash: slot -> index, -1 = empty */
  uint64_t mask;
  int32_t *item_of; /* hash: index -> item */
} itemmap;

static inline uint64_t mix32(int32_t x) {
  uint64_t h = (uint32_t)x * 0x9E3779B97F4A7C15ull;
  return h ^ (h >> 31);
}

static inline int64_t imap_get(const itemmap *im, int32_t x) {
  if (im->dense) return (int64_t)x - im->base;
  uint64_t h = mix32(x) & im->mask;
  while (im->vals[h] >= 0) {
    if (im->keys[h] == x) return im->vals[h];
    h = (h + 1) & im->mask;
  }
  return -1;
}

static inline int32_t imap_item(const itemmap *im, int64_t idx) {
  return im->dense ? (int32_t)(im->base + idx) : im->item_of[idx];
}

static void imap_free(itemmap *im) {
  free(im->keys);
  free(im->vals);
  free(im->item_of);
  memset(im, 0, sizeof *im);
}

static int imap_grow(itemmap *im) {
  uint64_t cap = im->mask ? (im->mask + 1) * 2 : 1024;
  int32_t *keys = malloc(cap * sizeof *keys), *vals = malloc(cap * sizeof *vals);
  int32_t *item_of = realloc(im->item_of, cap / 2 * sizeof *item_of);
  if (item_of) im->item_of = item_of;
  if (!keys || !vals || !item_of) {
    free(keys);
    free(vals);
    return -1;
  }
  memset(vals, 0xff, cap * sizeof *vals);
  for (int64_t i = 0; i < im->m; i++) {
    uint64_t h = mix32(item_of[i]) & (cap - 1);
    while (vals[h] >= 0) h = (h + 1) & (cap - 1);
    keys[h] = item_of[i];
    vals[h] = (int32_t)i;
  }
  free(im->keys);
  free(im->vals);
  im->keys = keys;
  im->vals = vals;
  im->mask = cap - 1;
  return 0;
}

/* Builds the dictionary of the items in [lo, hi). */
static fp_status imap_build(itemmap *im, const int32_t *items, int64_t lo, int64_t hi) {
  memset(im, 0, sizeof *im);
  im->dense = 1;
  if (hi <= lo) return FP_OK;
  int32_t mn = items[lo], mx = items[lo];
  for (int64_t i = lo; i < hi; i++) {
    if (items[i] < mn) mn = items[i];
    if (items[i] > mx) mx = items[i];
  }
  int64_t range = (int64_t)mx - mn + 1;
  if (range <= (1 << 20) || range <= (hi - lo) / 8) {
    im->base = mn;
    im->m = range;
    return FP_OK;
  }
  im->dense = 0;
  if (imap_grow(im) != 0) return FP_ENOMEM;
  for (int64_t i = lo; i < hi; i++) {
    uint64_t h = mix32(items[i]) & im->mask;
    while (im->vals[h] >= 0 && im->keys[h] != items[i]) h = (h + 1) & im->mask;
    if (im->vals[h] >= 0) continue;
    if (im->m >= INT32_MAX) return FP_ETOOBIG;
    im->keys[h] = items[i];
    im->vals[h] = (int32_t)im->m;
    im->item_of[im->m++] = items[i];
    if ((uint64_t)im->m * 2 > im->mask && imap_grow(im) != 0) return FP_ENOMEM;
  }
  return FP_OK;
}

/* ---------------------------------------------------------------- per-thread passes over the baskets */

typedef struct __attribute__((packed)) keyed {
  uint64_t key; /* the first `slots` ranks + 1, `bits` each, from the top bit down; 0 = an empty list */
  uint32_t t;   /* basket */
} keyed;

typedef struct prep {
  const fp_lists *b;
  const itemmap *im;
  int64_t lo, hi;          /* baskets of this thread */
  int64_t *counts, *stamp; /* pass 1, per item index */
  int64_t maxraw;          /* pass 1: the longest basket */
  const int32_t *rank_of;  /* pass 2: index -> rank or -1 */
  int32_t *buf;            /* pass 2: room for the longest basket */
  keyed *keys;
  uint32_t *toff;          /* pass 2: per basket, where its tail starts in this thread's tails */
  int32_t *tail;           /* pass 2: the ranks past the key's slots of this thread's baskets */
  int64_t tlen, tcap;
  int bits, slots, failed;
  int64_t total, maxlen;
} prep;

/* Pass 1: in how many baskets each item occurs. */
static void *count_items(void *arg) {
  prep *p = arg;
  const int64_t *off = p->b->offsets;
  const int32_t *it = p->b->items;
  for (int64_t b = p->lo; b < p->hi; b++) {
    if (off[b + 1] - off[b] > p->maxraw) p->maxraw = off[b + 1] - off[b];
    for (int64_t j = off[b]; j < off[b + 1]; j++) {
      int64_t x = imap_get(p->im, it[j]);
      if (p->stamp[x] != b + 1) {
        p->stamp[x] = b + 1;
        p->counts[x]++;
      }
    }
  }
  return NULL;
}

/* Basket b's distinct frequent ranks, ascending, into buf (room for the basket's length); returns how many. */
static int64_t decode(const fp_lists *bk, const itemmap *im, const int32_t *rank_of, int64_t b, int32_t *buf) {
  int64_t len = 0;
  for (int64_t j = bk->offsets[b]; j < bk->offsets[b + 1]; j++) {
    int32_t r = rank_of[imap_get(im, bk->items[j])];
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

static inline uint64_t pack_key(const int32_t *r, int64_t len, int bits, int slots) {
  uint64_t key = 0;
  for (int s = 0; s < slots && s < len; s++) key |= (uint64_t)(r[s] + 1) << (64 - bits * (s + 1));
  return key;
}

/* Pass 2: each basket's sort key, and the ranks that do not fit in it. */
static void *make_keys(void *arg) {
  prep *p = arg;
  for (int64_t b = p->lo; b < p->hi; b++) {
    int64_t len = decode(p->b, p->im, p->rank_of, b, p->buf);
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

/* ---------------------------------------------------------------- ranking */

typedef struct rank_ctx {
  const int64_t *counts;
  const itemmap *im;
} rank_ctx;

/* Frequent items: count desc, then item id asc. */
static int cmp_rank(const void *a, const void *b, void *ctx) {
  const rank_ctx *c = ctx;
  int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
  if (c->counts[x] != c->counts[y]) return c->counts[x] > c->counts[y] ? -1 : 1;
  int32_t ix = imap_item(c->im, x), iy = imap_item(c->im, y);
  return (ix > iy) - (ix < iy);
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
  fp_hint_huge(tmp, (size_t)n * sizeof *tmp);
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
  itemmap im;
  prep ps[FP_MAX_THREADS];
  int64_t *counts;
  int32_t *rank_of, *ranked, *bx, *by, *tails;
  uint32_t *toff;
  int64_t maxraw;
  keyed *keys;
} build_state;

static void build_state_free(build_state *s) {
  imap_free(&s->im);
  for (int t = 0; t < FP_MAX_THREADS; t++) {
    free(s->ps[t].counts);
    free(s->ps[t].stamp);
    free(s->ps[t].buf);
    free(s->ps[t].tail);
  }
  free(s->tails);
  free(s->toff);
  free(s->counts);
  free(s->rank_of);
  free(s->ranked);
  free(s->bx);
  free(s->by);
  free(s->keys);
  free(s);
}

/* Counts the items and ranks the frequent ones; returns k or -status. */
static int64_t rank_items(build_state *s, const fp_lists *b, int nt, int64_t minc, fp_tree *t, int32_t **rank_item) {
  itemmap *im = &s->im;
  int64_t m = im->m ? im->m : 1;
  for (int i = 0; i < nt; i++) {
    prep *p = &s->ps[i];
    p->b = b;
    p->im = im;
    p->lo = b->n * i / nt;
    p->hi = b->n * (i + 1) / nt;
    p->counts = calloc((size_t)m, sizeof *p->counts);
    p->stamp = calloc((size_t)m, sizeof *p->stamp);
    if (!p->counts || !p->stamp) return -FP_ENOMEM;
  }
  fp_parallel(nt, count_items, s->ps, sizeof(prep));
  s->counts = s->ps[0].counts;
  s->ps[0].counts = NULL;
  for (int i = 0; i < nt; i++) {
    if (s->ps[i].maxraw > s->maxraw) s->maxraw = s->ps[i].maxraw;
    for (int64_t x = 0; i > 0 && x < im->m; x++) s->counts[x] += s->ps[i].counts[x];
    free(s->ps[i].counts);
    free(s->ps[i].stamp);
    s->ps[i].counts = s->ps[i].stamp = NULL;
  }
  s->ranked = malloc((size_t)m * sizeof *s->ranked);
  s->rank_of = malloc((size_t)m * sizeof *s->rank_of);
  if (!s->ranked || !s->rank_of) return -FP_ENOMEM;
  int32_t k = 0;
  for (int64_t x = 0; x < im->m; x++) {
    s->rank_of[x] = -1;
    if (s->counts[x] >= minc) s->ranked[k++] = (int32_t)x;
  }
  rank_ctx rc = {s->counts, im};
  qsort_r(s->ranked, (size_t)k, sizeof *s->ranked, cmp_rank, &rc);
  size_t kk = (size_t)k + 1;
  *rank_item = malloc(kk * sizeof **rank_item);
  t->support = malloc(kk * sizeof *t->support);
  t->rank = malloc(kk * sizeof *t->rank);
  if (!*rank_item || !t->support || !t->rank) return -FP_ENOMEM;
  for (int32_t r = 0; r < k; r++) {
    s->rank_of[s->ranked[r]] = r;
    (*rank_item)[r] = imap_item(im, s->ranked[r]);
    t->support[r] = (fp_cnt)s->counts[s->ranked[r]];
    t->rank[r] = r;
  }
  t->nitems = k;
  return k;
}

fp_status fp_tree_build(const fp_lists *b, int64_t minc, int nt, int (*cancelled)(void), fp_tree *t,
                        int32_t **rank_item) {
  memset(t, 0, sizeof *t);
  *rank_item = NULL;
  build_state *s = calloc(1, sizeof *s);
  if (!s) return FP_ENOMEM;
  fp_status st = imap_build(&s->im, b->items, b->n ? b->offsets[0] : 0, b->n ? b->offsets[b->n] : 0);
  int64_t k = st == FP_OK ? rank_items(s, b, nt, minc, t, rank_item) : -(int64_t)st;
  if (k < 0) {
    st = (fp_status)-k;
    goto cleanup;
  }
  if (cancelled && cancelled()) {
    st = FP_ECANCELLED;
    goto cleanup;
  }
  int bits = 1;
  while (bits < 31 && ((int64_t)1 << bits) <= k) bits++;
  int slots = 64 / bits;
  st = FP_ENOMEM;
  size_t room = (size_t)(s->maxraw > k ? s->maxraw : k) + 1;
  s->keys = malloc((size_t)(b->n ? b->n : 1) * sizeof *s->keys);
  s->bx = malloc(room * sizeof *s->bx);
  s->by = malloc(room * sizeof *s->by);
  s->toff = malloc((size_t)(b->n + 1) * sizeof *s->toff);
  if (!s->keys || !s->bx || !s->by || !s->toff) goto cleanup;
  fp_hint_huge(s->keys, (size_t)b->n * sizeof *s->keys);
  int64_t total = 0, maxlen = 0;
  for (int i = 0; i < nt; i++) {
    prep *p = &s->ps[i];
    p->rank_of = s->rank_of;
    p->keys = s->keys;
    p->toff = s->toff;
    p->bits = bits;
    p->slots = slots;
    if (!(p->buf = malloc(room * sizeof *p->buf))) goto cleanup;
  }
  fp_parallel(nt, make_keys, s->ps, sizeof(prep));
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
  fp_hint_huge(t->node, (size_t)(total + 1) * sizeof *t->node);
  t->node[0].parent = 0;
  t->node[0].label = -1;
  t->node[0].count = 0;
  if ((st = insert_sorted(t, s->keys, b->n, &tc, maxlen, s->bx, s->by)) != FP_OK) goto cleanup;
  st = FP_OK;
cleanup:
  build_state_free(s);
  if (st != FP_OK) {
    fp_tree_free(t);
    free(*rank_item);
    *rank_item = NULL;
  }
  return st;
}
