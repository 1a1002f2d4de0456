/*
** fp_pairs.c: growth when the frequent items are few (a shop's hundreds of products), the "pair method".
**
** One pass over the baskets counts every pair of frequent items in a triangular matrix. Item e's partners are the
** items ranked before it (more frequent) that form a frequent pair with it: every frequent itemset whose last item is
** e lies within e's partners plus e. e's conditional database keeps the baskets holding e and at least two of its
** partners (the pairs are counted already), as one bitset per partner over those baskets ("columns").
**
** A second pass sets the columns' bits (for a batch of items, when all would not fit a memory bound); each thread
** fills its own 64-row aligned segment of every column, so no two threads write a word. Each item's columns are then
** mined depth first as in Eclat: the baskets holding prefix + {b, c} are the AND of the bitsets of prefix + {b} and
** prefix + {c}, counted with popcount; frequent ones form the next class. The columns are a few bits per basket and
** item (a fraction of the rows' size), the work is sequential word operations, and big scratch comes from
** mc_malloc_huge (huge pages) and is reused, since fresh memory is expensive.
** Threads split the baskets in the passes and the items when mining, each keeping its own results; fp_mine puts them
** in canonical order.
*/
#include "fp_internal.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

/* Memory bounds: the pair matrices of all threads; the columns of one batch (64 MiB, or half the size of the
   baskets' items when that is more: each batch costs a pass over the baskets, so a fixed bound would make the passes
   grow with the data); the columns of a single item (each mining thread copies those of its item; past the bound,
   fp_mine uses the tree method). So at most about 64 + max(64, input / 2) + threads * 48 MiB beyond the input and
   the output. */
#define PAIRS_MAX_ITEMS 2048
#define PAIRS_MAX_BYTES ((int64_t)64 << 20)
#define BATCH_BYTES ((int64_t)64 << 20)
#define ITEM_MAX_BYTES ((int64_t)48 << 20)
/* Baskets scanned between two polls of the cancel callback. */
#define POLL_BASKETS 16384

static inline int64_t tri(int32_t e) { return (int64_t)e * (e - 1) / 2; }

int fp_pairs_fits(int32_t k, int threads) {
  return k >= 1 && k <= PAIRS_MAX_ITEMS &&
         tri(k) * (int64_t)sizeof(uint32_t) * (threads < 1 ? 1 : threads) <= PAIRS_MAX_BYTES;
}

/* ---------------------------------------------------------------- bitset kernels */

/* The number of bits set in a AND b (n words); kernels picked at run time by what the CPU has. */
typedef int64_t (*and_count_fn)(const uint64_t *a, const uint64_t *b, int64_t n);
/* out = a AND b (n words). */
typedef void (*and_store_fn)(const uint64_t *a, const uint64_t *b, uint64_t *out, int64_t n);

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define FP_X86 1
#include <immintrin.h>
#endif

/* Picked at run time rather than through ifunc clones, whose resolvers run before sanitizer runtimes start. */
static int64_t and_count(const uint64_t *a, const uint64_t *b, int64_t n) {
  int64_t s = 0;
  for (int64_t i = 0; i < n; i++) s += __builtin_popcountll(a[i] & b[i]);
  return s;
}

static void and_store(const uint64_t *a, const uint64_t *b, uint64_t *out, int64_t n) {
  for (int64_t i = 0; i < n; i++) out[i] = a[i] & b[i];
}

#ifdef FP_X86
__attribute__((target("popcnt"))) static int64_t and_count_popcnt(const uint64_t *a, const uint64_t *b, int64_t n) {
  int64_t s = 0;
  for (int64_t i = 0; i < n; i++) s += __builtin_popcountll(a[i] & b[i]);
  return s;
}

__attribute__((target("avx512f,avx512vpopcntdq"))) static int64_t and_count_512(const uint64_t *a, const uint64_t *b,
                                                                               int64_t n) {
  __m512i acc = _mm512_setzero_si512();
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    acc = _mm512_add_epi64(acc, _mm512_popcnt_epi64(_mm512_and_si512(_mm512_loadu_si512((const void *)(a + i)),
                                                                      _mm512_loadu_si512((const void *)(b + i)))));
  int64_t s = _mm512_reduce_add_epi64(acc);
  for (; i < n; i++) s += __builtin_popcountll(a[i] & b[i]);
  return s;
}

__attribute__((target("avx512f"))) static void and_store_512(const uint64_t *a, const uint64_t *b, uint64_t *out,
                                                             int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    _mm512_storeu_si512((void *)(out + i), _mm512_and_si512(_mm512_loadu_si512((const void *)(a + i)),
                                                            _mm512_loadu_si512((const void *)(b + i))));
  for (; i < n; i++) out[i] = a[i] & b[i];
}
#endif

/* The fastest kernels this CPU runs. */
static void pick_kernels(and_count_fn *count, and_store_fn *store) {
  *count = and_count;
  *store = and_store;
#ifdef FP_X86
  __builtin_cpu_init();
  if (__builtin_cpu_supports("popcnt")) *count = and_count_popcnt;
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vpopcntdq")) {
    *count = and_count_512;
    *store = and_store_512;
  }
#endif
}

/* ---------------------------------------------------------------- shared state */

typedef struct shared {
  const fp_lists *b;
  const fp_ranking *rk;
  int32_t k, kw;   /* frequent items; words of a bitset over ranks */
  int nt;
  fp_cnt minc;
  int max_len;
  int64_t max_itemsets;
  int (*cancelled)(void);
  and_count_fn count;
  and_store_fn store;
  int32_t *bit;    /* bit[tri(e) + j], j < e: j's bit among e's partners, or -1 */
  uint64_t *pmask; /* pmask[e * kw ..]: e's partners as a bitset over ranks */
  int64_t *poff;   /* e's partners, ascending ranks: prank[poff[e] .. poff[e+1]) with pair counts pcnt */
  int32_t *prank;
  fp_cnt *pcnt;
  int64_t *occ;    /* occ[t * k + e]: baskets of thread t's share where e has two items ranked before it */
  int32_t *bitem;  /* batch i: items bitem[boff[i] .. boff[i+1]), the largest first */
  int64_t *boff;
  int64_t nbatches;
  unsigned char *bscan; /* per batch: its items have databases (a pass is needed) */
  /* the batch being processed */
  const int32_t *items;
  int32_t nitems;
  int32_t *local;  /* per item: index in the batch, or -1 */
  uint64_t *cols;  /* the batch's columns: item li's at cbase[li], as clen[li] blocks of 64 rows, a block holding a
                      word of each column (set_columns writes a row's bits close together) */
  int64_t ccap;
  int64_t *cbase, *clen;
  atomic_llong next, emitted;
  atomic_int status;
} shared;

static int set_status(shared *S, int st) {
  int expected = FP_OK;
  atomic_compare_exchange_strong(&S->status, &expected, st);
  return st;
}

static int poll_stop(shared *S) {
  int st = atomic_load_explicit(&S->status, memory_order_relaxed);
  if (st != FP_OK) return st;
  if (S->cancelled && S->cancelled()) return set_status(S, FP_ECANCELLED);
  return FP_OK;
}

/* ---------------------------------------------------------------- passes over the baskets */

/* An item of the batch, for one thread: its columns (NULL when not in the batch) and the next row this thread sets. */
typedef struct slot {
  uint64_t *base;
  int64_t row, np; /* np: partners, the words of a block */
  const uint64_t *pmask;
  const int32_t *bit;
} slot;

typedef struct pass {
  shared *S;
  int t;
  int64_t lo, hi;
  uint32_t *tri; /* this thread's pair matrix */
  int32_t *buf;
  uint64_t *set; /* the basket as a bitset over ranks */
  slot *slots;   /* per rank */
} pass;

/* Basket b's distinct frequent ranks, ascending, into buf (through the bitset set, left clear); returns how many. */
static int64_t decode(const shared *S, int64_t b, int32_t *buf, uint64_t *set) {
  const fp_lists *bk = S->b;
  int64_t n = 0;
  for (int64_t j = bk->offsets[b]; j < bk->offsets[b + 1]; j++) {
    int32_t r = fp_items_rank(S->rk, bk->items[j]);
    if (r >= 0) set[r / 64] |= (uint64_t)1 << (r % 64);
  }
  for (int32_t q = 0; q < S->kw; q++) {
    for (uint64_t x = set[q]; x; x &= x - 1) buf[n++] = q * 64 + __builtin_ctzll(x);
    set[q] = 0;
  }
  return n;
}

/* Pass 1: pair counts, and per item the baskets where it has two items ranked before it. */
static void *count_pairs(void *arg) {
  pass *p = arg;
  shared *S = p->S;
  int64_t *occ = S->occ + (int64_t)p->t * S->k;
  memset(p->set, 0, (size_t)S->kw * sizeof *p->set);
  for (int64_t b = p->lo; b < p->hi; b++) {
    if ((b - p->lo) % POLL_BASKETS == 0 && poll_stop(S)) return NULL;
    int64_t n = decode(S, b, p->buf, p->set);
    for (int64_t y = 1; y < n; y++) {
      uint32_t *row = p->tri + tri(p->buf[y]);
      for (int64_t x = 0; x < y; x++) row[p->buf[x]]++;
      if (y >= 2) occ[p->buf[y]]++;
    }
  }
  return NULL;
}

/* Pass 2: the column bits of the batch's items in this thread's baskets. Each item of the batch has a slot per
   thread: where its next row goes. */
static void *set_columns(void *arg) {
  pass *p = arg;
  shared *S = p->S;
  int32_t *buf = p->buf, kw = S->kw;
  uint64_t *set = p->set;
  slot *sl = p->slots;
  memset(set, 0, (size_t)kw * sizeof *set);
  for (int64_t b = p->lo; b < p->hi; b++) {
    if ((b - p->lo) % POLL_BASKETS == 0 && poll_stop(S)) return NULL;
    const fp_lists *bk = S->b;
    for (int64_t j = bk->offsets[b]; j < bk->offsets[b + 1]; j++) {
      int32_t r = fp_items_rank(S->rk, bk->items[j]);
      if (r >= 0) set[r / 64] |= (uint64_t)1 << (r % 64);
    }
    int64_t n = 0;
    for (int32_t q = 0; q < kw; q++)
      for (uint64_t x = set[q]; x; x &= x - 1) buf[n++] = q * 64 + __builtin_ctzll(x);
    for (int64_t y = 2; y < n; y++) { /* e needs two items ranked before it */
      slot *e = &sl[buf[y]];
      if (!e->base) continue;
      const uint64_t *pm = e->pmask;
      int32_t last = buf[y] / 64, two = 0;
      for (int32_t q = 0; q <= last; q++) {
        uint64_t x = set[q] & pm[q];
        two += (x != 0) + ((x & (x - 1)) != 0);
      }
      if (two < 2) continue;
      int64_t row = e->row++;
      uint64_t *blk = e->base + row / 64 * e->np, m = (uint64_t)1 << (row % 64);
      const int32_t *bit = e->bit;
      for (int32_t q = 0; q <= last; q++)
        for (uint64_t x = set[q] & pm[q]; x; x &= x - 1) blk[bit[q * 64 + __builtin_ctzll(x)]] |= m;
    }
    for (int64_t q = 0; q < n; q++) set[buf[q] / 64] = 0;
  }
  return NULL;
}

/* ---------------------------------------------------------------- mining */

/* Scratch of one depth: a class (members' bits, supports and bitsets). */
typedef struct level {
  int32_t *bits;
  fp_cnt *sup;
  int32_t mcap;
  uint64_t *sets;
  int64_t scap;
} level;

typedef struct worker {
  shared *S;
  fp_found *out;
  int32_t *prefix;
  level **lv;
  int nlv;
  uint64_t *cols; /* an item's columns, each contiguous */
  int64_t ccap;
  uint32_t tick;  /* classes started: the cancel callback is polled every 64 */
} worker;

static int emit(worker *w, int len, fp_cnt count) {
  shared *S = w->S;
  if (S->max_itemsets > 0 && atomic_fetch_add_explicit(&S->emitted, 1, memory_order_relaxed) >= S->max_itemsets)
    return set_status(S, FP_ELIMIT);
  if (fp_found_add(w->out, w->prefix, len, count)) return set_status(S, FP_ENOMEM);
  return FP_OK;
}

/* Depth d's scratch (levels never move: deeper calls may add levels). */
static level *get_level(worker *w, int d, int32_t members) {
  if (d >= w->nlv) {
    int n = d + 8;
    level **lv = realloc(w->lv, (size_t)n * sizeof *lv);
    if (!lv) return NULL;
    memset(lv + w->nlv, 0, (size_t)(n - w->nlv) * sizeof *lv);
    w->lv = lv;
    w->nlv = n;
  }
  if (!w->lv[d] && !(w->lv[d] = calloc(1, sizeof(level)))) return NULL;
  level *L = w->lv[d];
  if (members > L->mcap) {
    free(L->bits);
    free(L->sup);
    L->bits = malloc((size_t)members * sizeof *L->bits);
    L->sup = malloc((size_t)members * sizeof *L->sup);
    L->mcap = L->bits && L->sup ? members : 0;
    if (!L->mcap) return NULL;
  }
  return L;
}

/* Mines a class of m members extending prefix[0..d): member i is bit bits[i] (ascending) with the bitset
   sets[i * len ..] of its baskets. For each member i, the members j < i whose AND with i is frequent form i's class:
   they are emitted as prefix + {bits[i], bits[j]} and, two or more, mined one level deeper. */
static int mine_class(worker *w, int d, int32_t m, const int32_t *bits, const uint64_t *sets, int64_t len,
                      const int32_t *ranks) {
  shared *S = w->S;
  level *L = get_level(w, d, m);
  if (!L) return set_status(S, FP_ENOMEM);
  int deeper = !S->max_len || d + 3 <= S->max_len;
  for (int32_t i = 1; i < m; i++) {
    int stop = (w->tick++ & 63) == 0 ? poll_stop(S) : FP_OK;
    if (stop) return stop;
    const uint64_t *si = sets + (int64_t)i * len;
    int32_t cm = 0;
    for (int32_t j = 0; j < i; j++) {
      int64_t c = S->count(si, sets + (int64_t)j * len, len);
      if (c < S->minc) continue;
      L->bits[cm] = j;
      L->sup[cm++] = (fp_cnt)c;
    }
    if (cm == 0) continue;
    w->prefix[d] = ranks[bits[i]];
    for (int32_t c = 0; c < cm; c++) {
      w->prefix[d + 1] = ranks[bits[L->bits[c]]];
      int st = emit(w, d + 2, L->sup[c]);
      if (st) return st;
    }
    if (cm < 2 || !deeper) continue;
    if (fp_ensure((void **)&L->sets, &L->scap, (int64_t)cm * len, sizeof *L->sets)) return set_status(S, FP_ENOMEM);
    for (int32_t c = 0; c < cm; c++) {
      S->store(si, sets + (int64_t)L->bits[c] * len, L->sets + (int64_t)c * len, len);
      L->bits[c] = bits[L->bits[c]];
    }
    int st = mine_class(w, d + 1, cm, L->bits, L->sets, len, ranks);
    if (st) return st;
  }
  return FP_OK;
}

/* Emits {e}, e's pairs and, from e's columns (when it has a database in the batch: li >= 0), every longer itemset
   ending with e. */
static int mine_item(worker *w, int32_t e, int32_t li) {
  shared *S = w->S;
  int32_t np = (int32_t)(S->poff[e + 1] - S->poff[e]);
  const int32_t *ranks = S->prank + S->poff[e];
  w->prefix[0] = e;
  int st = emit(w, 1, S->rk->support[e]);
  for (int32_t i = 0; st == FP_OK && i < np && (!S->max_len || S->max_len >= 2); i++) {
    w->prefix[1] = ranks[i];
    st = emit(w, 2, S->pcnt[S->poff[e] + i]);
  }
  if (st || li < 0) return st;
  level *L = get_level(w, 0, np);
  int64_t len = S->clen[li];
  if (!L || fp_ensure((void **)&w->cols, &w->ccap, np * len, sizeof *w->cols)) return set_status(S, FP_ENOMEM);
  const uint64_t *src = S->cols + S->cbase[li];
  for (int64_t q = 0; q < len; q++, src += np) /* blocks to columns */
    for (int32_t i = 0; i < np; i++) w->cols[i * len + q] = src[i];
  for (int32_t i = 0; i < np; i++) L->bits[i] = i;
  return mine_class(w, 1, np, L->bits, w->cols, len, ranks);
}

/* Mining threads: take the batch's items until none is left. */
static void *mine_items(void *arg) {
  worker *w = arg;
  shared *S = w->S;
  for (;;) {
    int64_t i = atomic_fetch_add(&S->next, 1);
    if (i >= S->nitems || poll_stop(S)) break;
    if (mine_item(w, S->items[i], S->local[S->items[i]])) break;
  }
  return NULL;
}

static void worker_free(worker *w) {
  free(w->prefix);
  free(w->cols);
  for (int d = 0; d < w->nlv; d++) {
    level *L = w->lv[d];
    if (!L) continue;
    free(L->bits);
    free(L->sup);
    free(L->sets);
    free(L);
  }
  free(w->lv);
}

/* ---------------------------------------------------------------- plan */

typedef struct size_ctx {
  const int64_t *size;
} size_ctx;

/* Items by size desc, then rank asc. */
static int cmp_size(const void *a, const void *b, void *ctx) {
  const int64_t *size = ((const size_ctx *)ctx)->size;
  int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
  if (size[x] != size[y]) return size[x] > size[y] ? -1 : 1;
  return (x > y) - (x < y);
}

/* Words of the columns of item e (each thread's segment rounded to 64 rows). */
static int64_t column_words(const shared *S, int32_t e) {
  int64_t words = 0;
  for (int t = 0; t < S->nt; t++) words += (S->occ[(int64_t)t * S->k + e] + 63) / 64;
  return words;
}

/* Partners and bit numbers from the pair counts (the matrix is overwritten with the bits), and the batches: the items
   without a database in one, the others packed within batch_bytes, each batch's largest items first. FP_ETOOBIG when
   an item's columns would pass ITEM_MAX_BYTES. */
static fp_status plan(shared *S, uint32_t *pairs, int64_t batch_bytes) {
  int32_t k = S->k;
  int64_t np = 0;
  for (int64_t i = 0; i < tri(k); i++) np += pairs[i] >= S->minc;
  S->bit = (int32_t *)pairs;
  S->poff = malloc(((size_t)k + 1) * sizeof *S->poff);
  S->prank = malloc((size_t)(np ? np : 1) * sizeof *S->prank);
  S->pcnt = malloc((size_t)(np ? np : 1) * sizeof *S->pcnt);
  S->pmask = calloc((size_t)k * (size_t)S->kw + 1, sizeof *S->pmask);
  S->bitem = malloc(((size_t)k + 1) * sizeof *S->bitem);
  S->boff = malloc(((size_t)k + 2) * sizeof *S->boff);
  S->bscan = malloc((size_t)k + 2);
  int64_t *size = malloc(((size_t)k + 1) * sizeof *size);
  size_ctx sc = {size};
  fp_status st = FP_ENOMEM;
  if (!S->poff || !S->prank || !S->pcnt || !S->pmask || !S->bitem || !S->boff || !S->bscan || !size) goto cleanup;
  np = 0;
  int64_t nodb = 0;
  for (int32_t e = 0; e < k; e++) {
    S->poff[e] = np;
    int32_t nb = 0;
    uint32_t *row = pairs + tri(e);
    for (int32_t j = 0; j < e; j++) {
      if (row[j] >= S->minc) {
        S->prank[np] = j;
        S->pcnt[np++] = row[j];
        S->pmask[(int64_t)e * S->kw + j / 64] |= (uint64_t)1 << (j % 64);
        ((int32_t *)row)[j] = nb++;
      } else {
        ((int32_t *)row)[j] = -1;
      }
    }
    size[e] = 0;
    if (nb >= 2 && (!S->max_len || S->max_len >= 3)) size[e] = nb * column_words(S, e);
    st = FP_ETOOBIG;
    if (size[e] * (int64_t)sizeof(uint64_t) > ITEM_MAX_BYTES) goto cleanup;
    if (size[e] == 0) S->bitem[nodb++] = e;
  }
  S->poff[k] = np;
  /* the batches */
  int64_t nbat = 0, at = nodb;
  S->boff[0] = 0;
  if (nodb > 0) {
    S->bscan[nbat] = 0;
    S->boff[++nbat] = nodb;
  }
  for (int32_t e = 0; e < k; e++)
    if (size[e] > 0) S->bitem[at++] = e;
  qsort_r(S->bitem + nodb, (size_t)(at - nodb), sizeof *S->bitem, cmp_size, &sc);
  int64_t bytes = 0;
  for (int64_t i = nodb; i < at; i++) {
    int64_t need = size[S->bitem[i]] * (int64_t)sizeof(uint64_t);
    if (i > S->boff[nbat] && bytes + need > batch_bytes) {
      S->bscan[nbat] = 1;
      S->boff[++nbat] = i;
      bytes = 0;
    }
    bytes += need;
  }
  if (at > S->boff[nbat]) {
    S->bscan[nbat] = 1;
    S->boff[++nbat] = at;
  }
  S->nbatches = nbat;
  st = FP_OK;
cleanup:
  free(size);
  return st;
}

/* ---------------------------------------------------------------- entry point */

/* Lays out and fills the columns of batch i (pass 2): thread t's rows of an item start at a multiple of 64 after
   the earlier threads' (so no two threads write a word). */
static fp_status batch_columns(shared *S, pass *ps, int64_t i) {
  int nt = S->nt;
  int64_t words = 0;
  for (int32_t li = 0; li < S->nitems; li++) {
    int32_t e = S->items[li];
    S->local[e] = S->bscan[i] ? li : -1;
    S->cbase[li] = words;
    S->clen[li] = column_words(S, e);
    words += (S->poff[e + 1] - S->poff[e]) * S->clen[li];
  }
  if (!S->bscan[i]) return FP_OK;
  if (fp_ensure((void **)&S->cols, &S->ccap, words, sizeof *S->cols)) return FP_ENOMEM;
  memset(S->cols, 0, (size_t)words * sizeof *S->cols);
  for (int t = 0; t < nt; t++) {
    slot *sl = ps[t].slots;
    memset(sl, 0, (size_t)S->k * sizeof *sl);
    for (int32_t li = 0; li < S->nitems; li++) {
      int32_t e = S->items[li];
      int64_t row = 0;
      for (int u = 0; u < t; u++) row += (S->occ[(int64_t)u * S->k + e] + 63) / 64 * 64;
      sl[e] = (slot){S->cols + S->cbase[li], row, S->poff[e + 1] - S->poff[e], S->pmask + (int64_t)e * S->kw,
                     S->bit + tri(e)};
    }
  }
  mc_parallel(nt, set_columns, ps, sizeof *ps);
  return (fp_status)atomic_load(&S->status);
}

static void pass_free(pass *p) {
  free(p->tri);
  free(p->buf);
  free(p->set);
  free(p->slots);
}

fp_status fp_pairs_grow(const fp_lists *b, const fp_ranking *rk, const fp_mine_opts *o, int nt, fp_found *found) {
  shared S;
  memset(&S, 0, sizeof S);
  S.b = b;
  S.rk = rk;
  S.k = rk->k;
  S.kw = (rk->k + 63) / 64;
  S.nt = nt;
  S.minc = (fp_cnt)o->min_count;
  S.max_len = o->max_len;
  S.max_itemsets = o->max_itemsets;
  S.cancelled = o->cancelled;
  pick_kernels(&S.count, &S.store);
  atomic_init(&S.next, 0);
  atomic_init(&S.emitted, 0);
  atomic_init(&S.status, FP_OK);
  pass ps[FP_MAX_THREADS];
  worker ws[FP_MAX_THREADS];
  memset(ps, 0, sizeof ps);
  memset(ws, 0, sizeof ws);
  fp_status st = FP_ENOMEM;
  int32_t k = rk->k;
  size_t ntri = (size_t)(tri(k) ? tri(k) : 1), room = (size_t)rk->maxraw + 1, kk = (size_t)k + 2;
  S.occ = calloc((size_t)nt * kk, sizeof *S.occ);
  S.local = malloc(kk * sizeof *S.local);
  S.cbase = malloc(kk * sizeof *S.cbase);
  S.clen = malloc(kk * sizeof *S.clen);
  if (!S.occ || !S.local || !S.cbase || !S.clen) goto cleanup;
  for (size_t e = 0; e < kk; e++) S.local[e] = -1;
  for (int t = 0; t < nt; t++) {
    pass *p = &ps[t];
    p->S = &S;
    p->t = t;
    p->lo = b->n * t / nt;
    p->hi = b->n * (t + 1) / nt;
    p->tri = calloc(ntri, sizeof *p->tri);
    p->buf = malloc((room > kk ? room : kk) * sizeof *p->buf);
    p->set = malloc(((size_t)S.kw + 1) * sizeof *p->set);
    p->slots = malloc(kk * sizeof *p->slots);
    ws[t].S = &S;
    ws[t].out = &found[t];
    ws[t].prefix = malloc(kk * sizeof *ws[t].prefix);
    if (!p->tri || !p->buf || !p->set || !p->slots || !ws[t].prefix) goto cleanup;
  }
  if (!S.max_len || S.max_len >= 2) mc_parallel(nt, count_pairs, ps, sizeof *ps);
  if ((st = (fp_status)atomic_load(&S.status)) != FP_OK) goto cleanup;
  for (int t = 1; t < nt; t++) {
    for (size_t i = 0; i < ntri; i++) ps[0].tri[i] += ps[t].tri[i];
    free(ps[t].tri);
    ps[t].tri = NULL;
  }
  int64_t batch_bytes = b->offsets[b->n] * (int64_t)sizeof(int32_t) / 2;
  if (batch_bytes < BATCH_BYTES) batch_bytes = BATCH_BYTES;
  if ((st = plan(&S, ps[0].tri, o->batch_bytes > 0 ? o->batch_bytes : batch_bytes)) != FP_OK) goto cleanup;
  for (int64_t i = 0; i < S.nbatches; i++) {
    S.items = S.bitem + S.boff[i];
    S.nitems = (int32_t)(S.boff[i + 1] - S.boff[i]);
    if ((st = batch_columns(&S, ps, i)) != FP_OK) goto cleanup;
    atomic_store(&S.next, 0);
    mc_parallel(nt, mine_items, ws, sizeof *ws);
    if ((st = (fp_status)atomic_load(&S.status)) != FP_OK) goto cleanup;
    for (int32_t li = 0; li < S.nitems; li++) S.local[S.items[li]] = -1;
  }
  st = FP_OK;
cleanup:
  for (int t = 0; t < nt; t++) {
    pass_free(&ps[t]);
    worker_free(&ws[t]);
  }
  free(S.occ);
  free(S.local);
  free(S.cbase);
  free(S.clen);
  free(S.cols);
  free(S.poff);
  free(S.prank);
  free(S.pcnt);
  free(S.pmask);
  free(S.bitem);
  free(S.boff);
  free(S.bscan);
  return st;
}
