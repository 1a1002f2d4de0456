/*
** test_fpgrowth.c: unit tests of the fpgrowth core against independent computations (exhaustive subset counting,
** a level-wise Apriori, the FP-Growth paper's example, a public market-basket set, naive rules and recommendations,
** the runtime's number formatter and Python's repr). The mining tests run once per growth method (FP-tree and pair
** method), which must also agree with each other on dense data. Plus a benchmark mode:
**   test_fpgrowth                       run the tests (prints "N passed, N failed")
**   test_fpgrowth --fixtures DIR        also run the tests that read tests/fixtures/fpgrowth
**   test_fpgrowth --bench [N] [--threads T] [--min-support S] [--min-confidence C] [--method tree|pairs]
**                 [--write FILE]        mine N synthetic baskets (default 1108987) and time each step
*/
#include "fpgrowth.h"
#include "json.h"

#include <math.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int passed, failed;

#define CHECK(cond, ...)                                       \
  do {                                                         \
    if (cond) passed++;                                        \
    else {                                                     \
      failed++;                                                \
      fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond); \
      fprintf(stderr, __VA_ARGS__);                            \
      fputc('\n', stderr);                                     \
    }                                                          \
  } while (0)

static void *xmalloc(size_t n) {
  void *p = malloc(n ? n : 1);
  if (!p) {
    fprintf(stderr, "out of memory\n");
    exit(2);
  }
  return p;
}

/* ---------------------------------------------------------------- random numbers (splitmix64) */

static uint64_t rng_next(uint64_t *s) {
  uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

static double rng_unit(uint64_t *s) { return (double)(rng_next(s) >> 11) * (1.0 / 9007199254740992.0); }

static int64_t rng_below(uint64_t *s, int64_t n) { return (int64_t)(rng_unit(s) * (double)n); }

/* ---------------------------------------------------------------- basket sets */

typedef struct baskets {
  int64_t n, cap, nitems, icap;
  int64_t *off;
  int32_t *items;
} baskets;

static void bk_init(baskets *b) {
  memset(b, 0, sizeof *b);
  b->cap = 16;
  b->icap = 64;
  b->off = xmalloc((size_t)(b->cap + 1) * sizeof *b->off);
  b->items = xmalloc((size_t)b->icap * sizeof *b->items);
  b->off[0] = 0;
}

static void bk_add(baskets *b, const int32_t *items, int64_t len) {
  if (b->n == b->cap) {
    b->cap *= 2;
    b->off = realloc(b->off, (size_t)(b->cap + 1) * sizeof *b->off);
  }
  while (b->nitems + len > b->icap) {
    b->icap *= 2;
    b->items = realloc(b->items, (size_t)b->icap * sizeof *b->items);
  }
  if (!b->off || !b->items) exit(2);
  if (len) memcpy(b->items + b->nitems, items, (size_t)len * sizeof *items);
  b->nitems += len;
  b->off[++b->n] = b->nitems;
}

static void bk_free(baskets *b) {
  free(b->off);
  free(b->items);
}

static fp_lists bk_lists(const baskets *b) {
  fp_lists l = {b->n, b->off, b->items};
  return l;
}

/* ---------------------------------------------------------------- exhaustive reference */

/* Reference itemsets over a universe of u <= 20 distinct item ids (sorted): count[mask] for every subset, by
   summing each basket's mask over its supersets (or, with naive set, by testing every basket). */
typedef struct reference {
  int u;
  int32_t univ[20];
  int64_t *count; /* 2^u */
} reference;

static int univ_index(const reference *r, int32_t x) {
  for (int i = 0; i < r->u; i++)
    if (r->univ[i] == x) return i;
  return -1;
}

static void ref_build(reference *r, const baskets *b, int naive) {
  r->u = 0;
  int32_t tmp[20];
  for (int64_t j = 0; j < b->nitems; j++) {
    int32_t x = b->items[j];
    int found = 0;
    for (int i = 0; i < r->u; i++) found |= tmp[i] == x;
    if (!found) tmp[r->u++] = x;
  }
  for (int i = 0; i < r->u; i++) /* sort the universe */
    for (int j = i + 1; j < r->u; j++)
      if (tmp[j] < tmp[i]) {
        int32_t t = tmp[i];
        tmp[i] = tmp[j];
        tmp[j] = t;
      }
  memcpy(r->univ, tmp, sizeof tmp);
  size_t full = (size_t)1 << r->u;
  r->count = calloc(full, sizeof *r->count);
  uint32_t *masks = xmalloc((size_t)b->n * sizeof *masks);
  for (int64_t t = 0; t < b->n; t++) {
    masks[t] = 0;
    for (int64_t j = b->off[t]; j < b->off[t + 1]; j++) masks[t] |= 1u << univ_index(r, b->items[j]);
  }
  if (naive) {
    for (size_t s = 1; s < full; s++)
      for (int64_t t = 0; t < b->n; t++) r->count[s] += (masks[t] & s) == s;
  } else {
    for (int64_t t = 0; t < b->n; t++) r->count[masks[t]]++;
    for (int i = 0; i < r->u; i++)
      for (size_t s = 0; s < full; s++)
        if (!(s & ((size_t)1 << i))) r->count[s] += r->count[s | ((size_t)1 << i)];
  }
  free(masks);
}

static int popcount(uint64_t x) { return __builtin_popcountll(x); }

/* Compares a mining result with the reference: same itemsets, same order (size, then items asc), same counts. */
static int ref_compare(const reference *r, const fp_itemsets *s, int64_t minc, int max_len, const char *what) {
  size_t full = (size_t)1 << r->u;
  /* canonical order of the reference: by size, then lexicographic on the sorted universe indices (the universe
     is sorted, so index order is item order) */
  int64_t expect = 0;
  for (size_t m = 1; m < full; m++)
    if (r->count[m] >= minc && (!max_len || popcount(m) <= max_len)) expect++;
  if (s->n != expect) {
    CHECK(s->n == expect, "%s: %lld itemsets, expected %lld", what, (long long)s->n, (long long)expect);
    return 0;
  }
  int ok = 1;
  int32_t prev[20];
  int64_t prevlen = 0;
  for (int64_t i = 0; i < s->n && ok; i++) {
    int64_t len = s->offsets[i + 1] - s->offsets[i];
    const int32_t *it = s->items + s->offsets[i];
    uint64_t mask = 0;
    for (int64_t j = 0; j < len; j++) {
      int x = univ_index(r, it[j]);
      if (x < 0 || (j > 0 && it[j] <= it[j - 1])) ok = 0;
      else mask |= 1ull << x;
    }
    if (!ok) {
      CHECK(ok, "%s: itemset %lld not sorted/distinct or has an unknown item", what, (long long)i);
      break;
    }
    if (s->counts[i] != r->count[mask] || r->count[mask] < minc) {
      CHECK(0, "%s: itemset %lld count %lld, expected %lld", what, (long long)i, (long long)s->counts[i],
            (long long)r->count[mask]);
      ok = 0;
      break;
    }
    if (i > 0) {
      int order = len > prevlen;
      if (len == prevlen) {
        int64_t j = 0;
        while (j < len && prev[j] == it[j]) j++;
        order = j < len && prev[j] < it[j];
      }
      if (!order) {
        CHECK(order, "%s: itemset %lld out of canonical order", what, (long long)i);
        ok = 0;
        break;
      }
    }
    memcpy(prev, it, (size_t)len * sizeof *it);
    prevlen = len;
  }
  if (ok) passed++;
  return ok;
}

static int same_itemsets(const fp_itemsets *a, const fp_itemsets *b) {
  if (a->n != b->n) return 0;
  return memcmp(a->offsets, b->offsets, (size_t)(a->n + 1) * sizeof *a->offsets) == 0 &&
         memcmp(a->items, b->items, (size_t)a->offsets[a->n] * sizeof *a->items) == 0 &&
         memcmp(a->counts, b->counts, (size_t)a->n * sizeof *a->counts) == 0;
}

/* Random baskets over u distinct ids (some negative or large), with duplicates and empty baskets. */
static void random_baskets(baskets *b, uint64_t *rng, int64_t n, int u, int maxlen) {
  int32_t ids[20];
  for (int i = 0; i < u; i++) ids[i] = (int32_t)(rng_below(rng, 3) == 0 ? (int64_t)rng_next(rng) % 1000000 - 500000
                                                                        : i * 7 + 1);
  for (int i = 0; i < u; i++) /* make them distinct */
    for (int j = 0; j < i; j++)
      if (ids[j] == ids[i]) ids[i] += 1000003 * (i + 1);
  double *w = xmalloc((size_t)u * sizeof *w);
  for (int i = 0; i < u; i++) w[i] = 1.0 / (1 + i * rng_unit(rng));
  double wsum = 0;
  for (int i = 0; i < u; i++) wsum += w[i];
  int32_t tmp[64];
  for (int64_t t = 0; t < n; t++) {
    int len = (int)rng_below(rng, maxlen + 1);
    for (int j = 0; j < len; j++) {
      double x = rng_unit(rng) * wsum;
      int i = 0;
      while (i < u - 1 && x >= w[i]) x -= w[i++];
      tmp[j] = ids[i];
    }
    bk_add(b, tmp, len);
  }
  free(w);
}

/* The growth method the mining tests use (main runs them once per method). */
static fp_method test_method = FP_METHOD_AUTO;

static fp_status mine(const baskets *b, int64_t minc, int max_len, int threads, fp_itemsets *out) {
  fp_lists l = bk_lists(b);
  fp_mine_opts o = {.min_count = minc, .max_len = max_len, .threads = threads, .method = test_method};
  return fp_mine(&l, &o, out);
}

static void test_random_small(void) {
  uint64_t rng = 12345;
  for (int seed = 0; seed < 400; seed++) {
    baskets b;
    bk_init(&b);
    int u = 3 + (int)rng_below(&rng, 10);
    int64_t n = 1 + rng_below(&rng, 120);
    random_baskets(&b, &rng, n, u, 1 + (int)rng_below(&rng, 12));
    reference r;
    ref_build(&r, &b, 1);
    int64_t minc = 1 + rng_below(&rng, n / 3 + 1);
    int max_len = seed % 5 == 0 ? 2 + seed % 3 : 0;
    fp_itemsets s;
    fp_status st = mine(&b, minc, max_len, 1 + seed % 3, &s);
    char what[64];
    snprintf(what, sizeof what, "random seed %d", seed);
    CHECK(st == FP_OK, "%s: status %s", what, fp_strerror(st));
    if (st == FP_OK) ref_compare(&r, &s, minc, max_len, what);
    CHECK(s.nbaskets == n, "%s: nbaskets", what);
    fp_itemsets_free(&s);
    free(r.count);
    bk_free(&b);
  }
}

/* Larger data: several threads must give byte-identical results, equal to the superset-sum reference. */
static void test_random_threads(void) {
  uint64_t rng = 777;
  for (int seed = 0; seed < 6; seed++) {
    baskets b;
    bk_init(&b);
    int u = 14 + seed % 5;
    random_baskets(&b, &rng, 40000 + seed * 3000, u, 14);
    reference r;
    ref_build(&r, &b, 0);
    int64_t minc = 20 + seed * 37;
    fp_itemsets s1, s2, s4;
    CHECK(mine(&b, minc, 0, 1, &s1) == FP_OK, "1 thread");
    CHECK(mine(&b, minc, 0, 2, &s2) == FP_OK, "2 threads");
    CHECK(mine(&b, minc, 0, 4, &s4) == FP_OK, "4 threads");
    char what[64];
    snprintf(what, sizeof what, "threads seed %d", seed);
    ref_compare(&r, &s1, minc, 0, what);
    CHECK(same_itemsets(&s1, &s2) && same_itemsets(&s1, &s4), "%s: thread counts disagree", what);
    fp_itemsets_free(&s1);
    fp_itemsets_free(&s2);
    fp_itemsets_free(&s4);
    free(r.count);
    bk_free(&b);
  }
}

/* Han, Pei and Yin (SIGMOD 2000), table 1, minimum support 3: the paper lists the frequent patterns per item. */
static void test_paper_example(void) {
  const char *tx[] = {"facdgimp", "abcflmo", "bfhjo", "bcksp", "afcelpmn"};
  baskets b;
  bk_init(&b);
  for (int t = 0; t < 5; t++) {
    int32_t items[16];
    int len = 0;
    for (const char *c = tx[t]; *c; c++) items[len++] = *c - 'a' + 1;
    bk_add(&b, items, len);
  }
  /* the paper: f:4 c:4 a:3 b:3 m:3 p:3; p: cp:3; m: fm cm am fcm fam cam fcam :3; a: fa ca fca :3; c: fc:3 */
  const char *expect[] = {"a3", "b3", "c4", "f4", "m3", "p3", "ac3", "af3", "am3", "cf3", "cm3", "cp3", "fm3",
                          "acf3", "acm3", "afm3", "cfm3", "acfm3"};
  int nexp = (int)(sizeof expect / sizeof *expect);
  for (int threads = 1; threads <= 2; threads++) {
    fp_itemsets s;
    CHECK(mine(&b, 3, 0, threads, &s) == FP_OK, "paper example");
    CHECK(s.n == nexp, "paper example: %lld itemsets, expected %d", (long long)s.n, nexp);
    for (int i = 0; i < nexp && i < s.n; i++) {
      char got[32];
      int p = 0;
      for (int64_t j = s.offsets[i]; j < s.offsets[i + 1]; j++) got[p++] = (char)('a' + s.items[j] - 1);
      p += snprintf(got + p, sizeof got - (size_t)p, "%lld", (long long)s.counts[i]);
      CHECK(strcmp(got, expect[i]) == 0, "paper example itemset %d: %s, expected %s", i, got, expect[i]);
    }
    fp_itemsets_free(&s);
  }
  bk_free(&b);
}

static void test_edges(void) {
  fp_itemsets s;
  baskets b;
  /* no baskets */
  bk_init(&b);
  CHECK(mine(&b, 1, 0, 2, &s) == FP_OK && s.n == 0 && s.offsets[0] == 0, "no baskets");
  fp_itemsets_free(&s);
  /* only empty baskets */
  for (int i = 0; i < 5; i++) bk_add(&b, NULL, 0);
  CHECK(mine(&b, 1, 0, 1, &s) == FP_OK && s.n == 0, "empty baskets");
  fp_itemsets_free(&s);
  bk_free(&b);
  /* a single basket with duplicates: every subset of its 4 distinct items, count 1 */
  bk_init(&b);
  int32_t one[] = {9, 3, 9, 5, 3, 3, -2};
  bk_add(&b, one, 7);
  CHECK(mine(&b, fp_min_count(1.0, b.n), 0, 1, &s) == FP_OK && s.n == 15, "single basket: %lld", (long long)s.n);
  int ok = 1;
  for (int64_t i = 0; i < s.n; i++) ok &= s.counts[i] == 1;
  CHECK(ok && s.items[0] == -2 && s.items[s.offsets[14]] == -2 && s.offsets[15] - s.offsets[14] == 4,
        "single basket itemsets");
  fp_itemsets_free(&s);
  bk_free(&b);
  /* all-identical baskets of 12 items: the tree is one path, 4095 itemsets all with count N */
  bk_init(&b);
  int32_t same[12];
  for (int i = 0; i < 12; i++) same[i] = 100 - i * 3;
  for (int t = 0; t < 9000; t++) bk_add(&b, same, 12);
  CHECK(mine(&b, fp_min_count(1.0, b.n), 0, 2, &s) == FP_OK && s.n == 4095, "identical: %lld", (long long)s.n);
  ok = 1;
  for (int64_t i = 0; i < s.n; i++) ok &= s.counts[i] == 9000;
  CHECK(ok, "identical baskets: counts");
  fp_itemsets_free(&s);
  CHECK(mine(&b, 9000, 3, 2, &s) == FP_OK && s.n == 12 + 66 + 220, "identical, max_len 3: %lld", (long long)s.n);
  fp_itemsets_free(&s);
  /* min_support 1.0 with one basket missing an item: that item drops out */
  int32_t fewer[] = {100, 97};
  bk_add(&b, fewer, 2);
  CHECK(mine(&b, fp_min_count(1.0, b.n), 0, 2, &s) == FP_OK && s.n == 3 && s.counts[0] == 9001,
        "min_support 1.0: %lld", (long long)s.n);
  fp_itemsets_free(&s);
  /* the safety bound */
  CHECK(mine(&b, 5, 0, 2, &s) == FP_OK && s.n == 4095, "below the bound");
  int64_t n = s.n;
  fp_itemsets_free(&s);
  fp_lists l = bk_lists(&b);
  fp_mine_opts o = {.min_count = 5, .max_itemsets = n, .threads = 2};
  CHECK(fp_mine(&l, &o, &s) == FP_OK && s.n == n, "exactly at the bound");
  fp_itemsets_free(&s);
  o.max_itemsets = n - 1;
  CHECK(fp_mine(&l, &o, &s) == FP_ELIMIT && s.n == 0 && s.offsets == NULL, "past the bound");
  fp_itemsets_free(&s);
  o.max_itemsets = 0;
  o.min_count = 0;
  CHECK(fp_mine(&l, &o, &s) == FP_EINVAL, "min_count 0");
  bk_free(&b);
}

static atomic_int cancel_after;
static int polls;
static int cancel_cb(void) { return atomic_fetch_sub(&cancel_after, 1) <= 0; }
static int count_cb(void) { return ++polls, 0; }

/* Cancelling at the polls in turn (every one when they are few, else about 60 spread over the run, the first and
   last included): every stop is clean (no itemsets, FP_ECANCELLED), and a run never asked to stop is complete. */
static void test_cancel(void) {
  baskets b;
  bk_init(&b);
  uint64_t rng = 99;
  random_baskets(&b, &rng, 20000, 16, 10);
  fp_lists l = bk_lists(&b);
  for (int method = FP_METHOD_TREE; method <= FP_METHOD_PAIRS; method++) {
    fp_itemsets full;
    polls = 0;
    fp_mine_opts o = {.min_count = 3, .threads = 1, .cancelled = count_cb, .method = (fp_method)method};
    CHECK(fp_mine(&l, &o, &full) == FP_OK && full.n > 0, "cancel: a full run");
    int n = polls, ok = n > 3;
    int step = n > 60 ? n / 60 : 1;
    for (int threads = 1; threads <= 2; threads++)
      for (int at = 0; at < n && ok; at = at + step < n - 1 || at == n - 1 ? at + step : n - 1) {
        fp_itemsets s;
        atomic_store(&cancel_after, at);
        o.cancelled = cancel_cb;
        o.threads = threads;
        fp_status st = fp_mine(&l, &o, &s);
        /* with two threads the polls are split, so a late stop may come after the work is done */
        ok = (st == FP_ECANCELLED && s.n == 0 && !s.offsets) ||
             (threads == 2 && st == FP_OK && same_itemsets(&s, &full));
        if (!ok) fprintf(stderr, "cancel at poll %d of %d, %d threads: %s\n", at, n, threads, fp_strerror(st));
        fp_itemsets_free(&s);
      }
    CHECK(ok, "cancel at every poll, method %d (%d polls)", method, n);
    fp_itemsets_free(&full);
  }
  bk_free(&b);
}

static void test_min_count(void) {
  CHECK(fp_min_count(0.1, 30) == 3, "0.1 of 30: %lld", (long long)fp_min_count(0.1, 30));
  CHECK(fp_min_count(0.005, 1108987) == 5545, "0.005 of 1108987");
  CHECK(fp_min_count(0.05, 1108987) == 55450, "0.05 of 1108987");
  CHECK(fp_min_count(1.0, 7) == 7, "1.0 of 7");
  CHECK(fp_min_count(0.0, 7) == 1, "0 of 7");
  CHECK(fp_min_count(1e-300, 7) == 1, "tiny");
  CHECK(fp_min_count(0.3, 10) == 3 && fp_min_count(0.31, 10) == 4, "0.3 and 0.31 of 10");
}

/* Itemset lookups and top-n, checked against linear scans. */
static void test_lookup_top(void) {
  baskets b;
  bk_init(&b);
  uint64_t rng = 4242;
  random_baskets(&b, &rng, 3000, 12, 9);
  fp_itemsets s;
  CHECK(mine(&b, 10, 0, 1, &s) == FP_OK, "lookup data");
  CHECK(fp_itemsets_index(&s) == FP_OK, "index");
  int ok = 1;
  for (int64_t i = 0; i < s.n; i++)
    ok &= fp_itemsets_find(&s, s.items + s.offsets[i], s.offsets[i + 1] - s.offsets[i]) == i;
  CHECK(ok, "every itemset is found at its index");
  int32_t absent[] = {-999999999};
  CHECK(fp_itemsets_find(&s, absent, 1) == -1, "absent itemset");
  int64_t top[50];
  int64_t k = fp_itemsets_top(&s, 50, top);
  CHECK(k == (s.n < 50 ? s.n : 50), "top size");
  /* reference: repeated linear scans for the best remaining itemset */
  char *taken = calloc((size_t)s.n, 1);
  for (int64_t r = 0; r < k; r++) {
    int64_t best = -1;
    for (int64_t i = 0; i < s.n; i++) {
      if (taken[i]) continue;
      if (best < 0 || s.counts[i] > s.counts[best]) best = i;
      else if (s.counts[i] == s.counts[best]) {
        int64_t li = s.offsets[i + 1] - s.offsets[i], lb = s.offsets[best + 1] - s.offsets[best], j = 0;
        const int32_t *x = s.items + s.offsets[i], *y = s.items + s.offsets[best];
        while (j < li && j < lb && x[j] == y[j]) j++;
        if ((j < li && j < lb && x[j] < y[j]) || (j == li && li < lb)) best = i;
      }
    }
    taken[best] = 1;
    ok &= top[r] == best;
  }
  CHECK(ok, "top order");
  free(taken);
  fp_itemsets_free(&s);
  fp_itemsets_free(&s); /* idempotent */
  bk_free(&b);
}


/* ---------------------------------------------------------------- rules */

/* A rule of the reference: masks over the universe and measures from the exhaustive counts. */
typedef struct ref_rule {
  uint32_t a, b;
  int64_t cs, ca, cb;
  double support, confidence, lift, leverage, conviction;
} ref_rule;

static void mask_items(const reference *r, uint32_t m, int32_t *out, int64_t *n) {
  *n = 0;
  for (int i = 0; i < r->u; i++)
    if (m & (1u << i)) out[(*n)++] = r->univ[i];
}

static int cmp_ref_rule(const void *x, const void *y, void *ctx) {
  const reference *r = ctx;
  const ref_rule *p = x, *q = y;
  if (p->lift != q->lift) return p->lift > q->lift ? -1 : 1;
  if (p->confidence != q->confidence) return p->confidence > q->confidence ? -1 : 1;
  if (p->support != q->support) return p->support > q->support ? -1 : 1;
  int32_t ia[20], ib[20];
  int64_t na, nb;
  mask_items(r, p->a, ia, &na);
  mask_items(r, q->a, ib, &nb);
  for (int64_t i = 0; i < na && i < nb; i++)
    if (ia[i] != ib[i]) return ia[i] < ib[i] ? -1 : 1;
  if (na != nb) return na < nb ? -1 : 1;
  mask_items(r, p->b, ia, &na);
  mask_items(r, q->b, ib, &nb);
  for (int64_t i = 0; i < na && i < nb; i++)
    if (ia[i] != ib[i]) return ia[i] < ib[i] ? -1 : 1;
  return na < nb ? -1 : na > nb;
}

/* Every rule from the exhaustive counts, in the documented order. */
static ref_rule *ref_rules(const reference *r, int64_t n, int64_t minc, double minconf, int maxc, int64_t *nr) {
  size_t full = (size_t)1 << r->u;
  int64_t cap = 64, k = 0;
  ref_rule *out = xmalloc((size_t)cap * sizeof *out);
  for (uint32_t s = 1; s < full; s++) {
    if (r->count[s] < minc || popcount(s) < 2) continue;
    for (uint32_t b = (s - 1) & s; b > 0; b = (b - 1) & s) { /* proper non-empty subsets */
      if (popcount(b) > maxc) continue;
      uint32_t a = s & ~b;
      double conf = (double)r->count[s] / (double)r->count[a];
      if (conf < minconf) continue;
      if (k == cap) out = realloc(out, (size_t)(cap *= 2) * sizeof *out);
      double dn = (double)n, pa = (double)r->count[a] / dn, pb = (double)r->count[b] / dn;
      ref_rule x = {a, b, r->count[s], r->count[a], r->count[b], (double)r->count[s] / dn, conf, conf / pb, 0, 0};
      x.leverage = x.support - pa * pb;
      x.conviction = conf == 1.0 ? INFINITY : (1.0 - pb) / (1.0 - conf);
      out[k++] = x;
    }
  }
  qsort_r(out, (size_t)k, sizeof *out, cmp_ref_rule, (void *)r);
  *nr = k;
  return out;
}

static int rule_matches(const reference *r, const fp_rules *got, int64_t i, const ref_rule *x) {
  int32_t ia[20];
  int64_t na;
  mask_items(r, x->a, ia, &na);
  if (got->a_off[i + 1] - got->a_off[i] != na || memcmp(got->a_items + got->a_off[i], ia, (size_t)na * 4)) return 0;
  mask_items(r, x->b, ia, &na);
  if (got->c_off[i + 1] - got->c_off[i] != na || memcmp(got->c_items + got->c_off[i], ia, (size_t)na * 4)) return 0;
  return got->count[i] == x->cs && got->a_count[i] == x->ca && got->c_count[i] == x->cb &&
         got->support[i] == x->support && got->confidence[i] == x->confidence && got->lift[i] == x->lift &&
         got->leverage[i] == x->leverage && got->conviction[i] == x->conviction;
}

static void test_rules(void) {
  uint64_t rng = 31337;
  int convictions_inf = 0;
  for (int seed = 0; seed < 150; seed++) {
    baskets b;
    bk_init(&b);
    int u = 3 + (int)rng_below(&rng, 8);
    int64_t n = 5 + rng_below(&rng, 150);
    random_baskets(&b, &rng, n, u, 1 + (int)rng_below(&rng, 8));
    reference r;
    ref_build(&r, &b, 1);
    int64_t minc = 1 + rng_below(&rng, n / 4 + 1);
    double minconf = seed % 7 == 0 ? 0.0 : rng_unit(&rng);
    int maxc = seed % 3 == 0 ? 1 + (int)rng_below(&rng, 4) : 1;
    fp_itemsets s;
    fp_rules got;
    CHECK(mine(&b, minc, 0, 1, &s) == FP_OK, "rules: mine");
    fp_rules_opts ro = {.min_confidence = minconf, .max_consequent = maxc};
    fp_status st = fp_rules_generate(&s, &ro, &got);
    CHECK(st == FP_OK, "rules seed %d: %s", seed, fp_strerror(st));
    int64_t nexp;
    ref_rule *exp = ref_rules(&r, n, minc, minconf, maxc, &nexp);
    CHECK(got.n == nexp, "rules seed %d: %lld rules, expected %lld", seed, (long long)got.n, (long long)nexp);
    int ok = got.n == nexp;
    for (int64_t i = 0; ok && i < nexp; i++) {
      ok = rule_matches(&r, &got, i, &exp[i]);
      convictions_inf += isinf(got.conviction[i]);
    }
    CHECK(ok, "rules seed %d: rules differ from the reference (order or measures)", seed);
    /* top by confidence against the reference order re-sorted by confidence (stable on the lift order, so the tie
       rule "lift, confidence, support, antecedent, consequent" follows) */
    int64_t top[30];
    int64_t k = fp_rules_top(&got, FP_BY_CONFIDENCE, 30, top);
    int ok2 = k == (nexp < 30 ? nexp : 30);
    for (int64_t i = 0; ok2 && i < k; i++) {
      int64_t best = -1;
      for (int64_t j = 0; j < got.n; j++) {
        int taken = 0;
        for (int64_t q = 0; q < i; q++) taken |= top[q] == j;
        if (!taken && (best < 0 || got.confidence[j] > got.confidence[best])) best = j;
      }
      ok2 = top[i] == best;
    }
    CHECK(ok2, "rules seed %d: top by confidence", seed);
    free(exp);
    fp_rules_free(&got);
    fp_rules_free(&got);
    fp_itemsets_free(&s);
    free(r.count);
    bk_free(&b);
  }
  CHECK(convictions_inf > 0, "no rule with confidence 1 was tested");
}

/* ---------------------------------------------------------------- recommendations */

typedef struct ref_rec {
  int32_t product;
  int64_t rule;
} ref_rec;

static int rule_better(const fp_rules *r, int64_t a, int64_t b) {
  double sa = r->lift[a] * r->confidence[a], sb = r->lift[b] * r->confidence[b];
  if (sa != sb) return sa > sb;
  if (r->confidence[a] != r->confidence[b]) return r->confidence[a] > r->confidence[b];
  if (r->support[a] != r->support[b]) return r->support[a] > r->support[b];
  return a < b;
}

static int contains(const int32_t *set, int64_t n, int32_t x) {
  for (int64_t i = 0; i < n; i++)
    if (set[i] == x) return 1;
  return 0;
}

/* Naive recommendations of one customer: every rule checked, candidates ranked by selection. */
static int64_t ref_recommend(const fp_rules *r, int64_t nr, const int32_t *own, int64_t nown, int top, ref_rec *out) {
  ref_rec cand[4096];
  int64_t nc = 0;
  for (int64_t q = 0; q < nr; q++) {
    int ok = 1;
    for (int64_t a = r->a_off[q]; ok && a < r->a_off[q + 1]; a++) ok = contains(own, nown, r->a_items[a]);
    if (!ok) continue;
    for (int64_t t = r->c_off[q]; t < r->c_off[q + 1]; t++) {
      int32_t y = r->c_items[t];
      if (contains(own, nown, y)) continue;
      int64_t i = 0;
      while (i < nc && cand[i].product != y) i++;
      if (i == nc) cand[nc++] = (ref_rec){y, q};
      else if (rule_better(r, q, cand[i].rule)) cand[i].rule = q;
    }
  }
  int64_t k = 0;
  for (; k < top && k < nc; k++) { /* selection: score desc, product asc */
    int64_t best = k;
    for (int64_t i = k + 1; i < nc; i++) {
      double si = r->lift[cand[i].rule] * r->confidence[cand[i].rule];
      double sb = r->lift[cand[best].rule] * r->confidence[cand[best].rule];
      if (si > sb || (si == sb && cand[i].product < cand[best].product)) best = i;
    }
    ref_rec t = cand[k];
    cand[k] = cand[best];
    cand[best] = t;
    out[k] = cand[k];
  }
  return k;
}

static void test_recommend(void) {
  uint64_t rng = 2024;
  int64_t rows = 0, sources = 0, small = 0, large = 0;
  /* seeds 12 and up have thousands of rules (customers' rules are found another way past about a thousand) */
  for (int seed = 0; seed < 15; seed++) {
    baskets b, owned;
    bk_init(&b);
    bk_init(&owned);
    random_baskets(&b, &rng, 3000, seed < 12 ? 10 + seed % 6 : 16, 8);
    fp_itemsets s;
    fp_rules r;
    CHECK(mine(&b, seed < 12 ? 30 + seed * 5 : 4 + seed, 0, 2, &s) == FP_OK, "recommend: mine");
    fp_rules_opts ro = {.min_confidence = 0.1 * (seed % 4), .max_consequent = 1 + seed % 2};
    CHECK(fp_rules_generate(&s, &ro, &r) == FP_OK, "recommend: rules");
    /* customers: unsorted lists with duplicates, some empty, over the same items */
    random_baskets(&owned, &rng, 5000, 10 + seed % 6, 12);
    fp_lists ol = bk_lists(&owned);
    int top = 1 + seed % 6;
    int64_t max_rules = seed >= 12 ? (seed == 14 ? r.n / 2 + 1 : 0) : seed % 3 == 0 ? 0 : 1 + rng_below(&rng, r.n + 1);
    int64_t nr = max_rules > 0 && max_rules < r.n ? max_rules : r.n;
    small += nr <= 1000;
    large += nr > 2000;
    fp_recs got[3];
    for (int t = 0; t < 3; t++) {
      fp_rec_opts o = {.top = top, .max_rules = max_rules, .threads = 1 + t};
      CHECK(fp_recommend_customers(&r, &ol, &o, &got[t]) == FP_OK, "recommend_customers");
    }
    int ok = 1;
    int64_t row = 0;
    for (int64_t c = 0; c < owned.n && ok; c++) {
      ref_rec exp[64];
      int64_t k = ref_recommend(&r, nr, owned.items + owned.off[c], owned.off[c + 1] - owned.off[c], top, exp);
      for (int64_t i = 0; i < k && ok; i++, row++) {
        ok = row < got[0].n && got[0].row[row] == c && got[0].rank[row] == i + 1 &&
             got[0].product[row] == exp[i].product && got[0].rule[row] == exp[i].rule;
        if (!ok)
          fprintf(stderr, "customer %lld rank %lld: got product %d rule %lld, expected %d rule %lld\n",
                  (long long)c, (long long)i + 1, row < got[0].n ? got[0].product[row] : -1,
                  row < got[0].n ? (long long)got[0].rule[row] : -1LL, exp[i].product, (long long)exp[i].rule);
      }
    }
    CHECK(ok && row == got[0].n, "recommend seed %d: customers differ from the naive reference", seed);
    for (int t = 1; t < 3; t++) {
      int same = got[t].n == got[0].n;
      for (int64_t i = 0; same && i < got[0].n; i++)
        same = got[t].row[i] == got[0].row[i] && got[t].product[i] == got[0].product[i] &&
               got[t].rule[i] == got[0].rule[i] && got[t].rank[i] == got[0].rank[i];
      CHECK(same, "recommend seed %d: %d threads differ", seed, t + 1);
    }
    rows += got[0].n;
    for (int t = 0; t < 3; t++) fp_recs_free(&got[t]);
    /* products: naive best rule per (a, b), ranked per source */
    fp_product_recs pr;
    fp_rec_opts po = {.top = top, .max_rules = max_rules};
    CHECK(fp_recommend_products(&r, &po, &pr) == FP_OK, "recommend_products");
    int okp = 1;
    int64_t prev_n = INT64_MAX;
    int32_t prev_src = INT32_MIN;
    for (int64_t i = 0; okp && i < pr.nsources; i++) {
      int32_t a = pr.sources[i];
      int64_t n = pr.rec_off[i + 1] - pr.rec_off[i];
      okp = n < prev_n || (n == prev_n && a > prev_src); /* sources: count desc, id asc */
      prev_n = n;
      prev_src = a;
      /* reference for source a */
      ref_rec cand[4096];
      int64_t nc = 0;
      for (int64_t q = 0; q < nr; q++) {
        if (!contains(r.a_items + r.a_off[q], r.a_off[q + 1] - r.a_off[q], a)) continue;
        for (int64_t t = r.c_off[q]; t < r.c_off[q + 1]; t++) {
          int64_t j = 0;
          while (j < nc && cand[j].product != r.c_items[t]) j++;
          if (j == nc) cand[nc++] = (ref_rec){r.c_items[t], q};
          else if (rule_better(&r, q, cand[j].rule)) cand[j].rule = q;
        }
      }
      okp = okp && n == (nc < top ? nc : top);
      for (int64_t k = 0; okp && k < n; k++) {
        int64_t best = k;
        for (int64_t j = k + 1; j < nc; j++) {
          int64_t x = cand[j].rule, y = cand[best].rule;
          double sx = r.lift[x] * r.confidence[x], sy = r.lift[y] * r.confidence[y];
          int bt = sx != sy                                ? sx > sy
                   : r.confidence[x] != r.confidence[y] ? r.confidence[x] > r.confidence[y]
                   : r.support[x] != r.support[y]       ? r.support[x] > r.support[y]
                                                        : cand[j].product < cand[best].product;
          if (bt) best = j;
        }
        ref_rec t = cand[k];
        cand[k] = cand[best];
        cand[best] = t;
        okp = pr.product[pr.rec_off[i] + k] == cand[k].product && pr.rule[pr.rec_off[i] + k] == cand[k].rule;
      }
    }
    /* every antecedent item of the used rules is a source */
    int64_t nsrc = 0;
    int32_t seen[64];
    for (int64_t q = 0; q < nr; q++)
      for (int64_t j = r.a_off[q]; j < r.a_off[q + 1]; j++)
        if (!contains(seen, nsrc, r.a_items[j])) seen[nsrc++] = r.a_items[j];
    CHECK(okp && nsrc == pr.nsources, "recommend_products seed %d differs from the naive reference", seed);
    sources += pr.nsources;
    fp_product_recs_free(&pr);
    fp_rules_free(&r);
    fp_itemsets_free(&s);
    bk_free(&b);
    bk_free(&owned);
  }
  CHECK(rows > 1000 && sources > 10 && small > 3 && large > 1,
        "recommendation tests produced %lld rows, %lld sources, %lld small and %lld large rule sets", (long long)rows,
        (long long)sources, (long long)small, (long long)large);
}

/* ---------------------------------------------------------------- fixtures */

static int read_baskets(const char *path, baskets *b) {
  FILE *f = fopen(path, "r");
  if (!f) return -1;
  bk_init(b);
  char line[8192];
  int32_t items[1024];
  while (fgets(line, sizeof line, f)) {
    int len = 0;
    char *p = line, *end;
    for (;;) {
      long v = strtol(p, &end, 10);
      if (end == p) break;
      items[len++] = (int32_t)v;
      p = end;
    }
    bk_add(b, items, len);
  }
  fclose(f);
  return 0;
}

/* Level-wise Apriori with bitset counting: an independent second method for data with many items. */
static int64_t apriori_count(const baskets *b, int64_t minc, int64_t *nlevels, int maxlevels) {
  int32_t maxid = 0;
  for (int64_t j = 0; j < b->nitems; j++)
    if (b->items[j] > maxid) maxid = b->items[j];
  int words = (int)((b->n + 63) / 64);
  int nid = maxid + 1;
  uint64_t *bits = calloc((size_t)nid * (size_t)words, sizeof *bits);
  for (int64_t t = 0; t < b->n; t++)
    for (int64_t j = b->off[t]; j < b->off[t + 1]; j++)
      bits[(size_t)b->items[j] * (size_t)words + (size_t)(t / 64)] |= 1ull << (t % 64);
  /* level k: a list of itemsets (k ids each, ascending) */
  int32_t *cur = NULL;
  int64_t ncur = 0, total = 0;
  cur = xmalloc((size_t)nid * sizeof *cur);
  for (int32_t i = 0; i < nid; i++) {
    int64_t c = 0;
    for (int w = 0; w < words; w++) c += popcount(bits[(size_t)i * (size_t)words + (size_t)w]);
    if (c >= minc) cur[ncur++] = i;
  }
  uint64_t *acc = xmalloc((size_t)words * sizeof *acc);
  for (int k = 1; ncur > 0 && k <= maxlevels; k++) {
    nlevels[k] = ncur;
    total += ncur;
    /* join itemsets sharing the first k-1 ids */
    int64_t cap = 1024, nnext = 0;
    int32_t *next = xmalloc((size_t)cap * (size_t)(k + 1) * sizeof *next);
    for (int64_t x = 0; x < ncur; x++)
      for (int64_t y = x + 1; y < ncur; y++) {
        const int32_t *a = cur + x * k, *c = cur + y * k;
        if (k > 1 && memcmp(a, c, (size_t)(k - 1) * sizeof *a) != 0) break;
        for (int w = 0; w < words; w++) acc[w] = ~0ull;
        for (int j = 0; j < k; j++)
          for (int w = 0; w < words; w++) acc[w] &= bits[(size_t)a[j] * (size_t)words + (size_t)w];
        int64_t cnt = 0;
        for (int w = 0; w < words; w++) cnt += popcount(acc[w] & bits[(size_t)c[k - 1] * (size_t)words + (size_t)w]);
        if (cnt < minc) continue;
        if (nnext == cap) {
          cap *= 2;
          next = realloc(next, (size_t)cap * (size_t)(k + 1) * sizeof *next);
        }
        memcpy(next + nnext * (k + 1), a, (size_t)k * sizeof *a);
        next[nnext * (k + 1) + k] = c[k - 1];
        nnext++;
      }
    free(cur);
    cur = next;
    ncur = nnext;
  }
  free(cur);
  free(acc);
  free(bits);
  return total;
}

/* json_format_double (Ryu) against json_format_double_search (a printf/strtod search for the shortest round trip) on
   random bit patterns, ratios like supports and confidences, decimal literals and their neighbours, subnormals. At an
   exact power of two the lower half-gap is narrower and the search can miss a shorter rendering: there the result must
   read back exactly and be no longer, and a few are checked against Python 3's repr (math.ldexp(1.0, e)). */
static void test_format(void) {
  uint64_t rng = 7;
  int64_t tested = 0, bad = 0;
  char a[40], b[40];
  for (int64_t i = 0; i < 1500000; i++) {
    double x;
    uint64_t bits = rng_next(&rng);
    int kind = (int)(i % 4);
    if (kind == 0) memcpy(&x, &bits, sizeof x);
    else if (kind == 1) x = (double)(bits % 2000000 + 1) / (double)(rng_next(&rng) % 2000000 + 1);
    else if (kind == 2) x = (double)(bits % 1108987) / 1108987.0 * (1 + (double)(rng_next(&rng) % 100));
    else {
      bits &= (((uint64_t)1 << 52) - 1); /* subnormal */
      memcpy(&x, &bits, sizeof x);
    }
    if (i % 3 == 0) x = nextafter(x, 0);
    uint64_t m;
    memcpy(&m, &x, sizeof m);
    int na = json_format_double_search(x, a), nb = json_format_double(x, b);
    tested++;
    if ((m & (((uint64_t)1 << 52) - 1)) == 0 && na > 0) { /* a power of two */
      bad += !(nb > 0 && nb <= na && strtod(b, NULL) == x);
      continue;
    }
    if (na != nb || (na > 0 && memcmp(a, b, (size_t)na) != 0)) {
      if (bad++ < 5) fprintf(stderr, "format %a: json %s, fp %s\n", x, a, b);
    }
  }
  for (int e = -325; e <= 310; e++)
    for (int d = 1; d <= 99; d += 7) {
      char lit[32];
      snprintf(lit, sizeof lit, "%de%d", d, e);
      double x = strtod(lit, NULL);
      const double xs[3] = {x, nextafter(x, 0), nextafter(x, INFINITY)};
      for (int k = 0; k < 3; k++) {
        uint64_t m;
        memcpy(&m, &xs[k], sizeof m);
        if ((m & (((uint64_t)1 << 52) - 1)) == 0) continue;
        int na = json_format_double_search(xs[k], a), nb = json_format_double(xs[k], b);
        tested++;
        bad += na != nb || (na > 0 && memcmp(a, b, (size_t)na) != 0);
      }
    }
  for (int e = -1074; e <= 1023; e++) {
    double x = ldexp(1.0, e);
    int na = json_format_double_search(x, a), nb = json_format_double(x, b);
    tested++;
    bad += !(nb > 0 && nb <= na && strtod(b, NULL) == x);
  }
  CHECK(bad == 0, "json_format_double: %lld of %lld differ", (long long)bad, (long long)tested);
  const struct {
    double x;
    const char *repr;
  } known[] = {{ldexp(1.0, -1017), "7.120236347223045e-307"}, {ldexp(1.0, -140), "7.174648137343064e-43"},
               {ldexp(1.0, -296), "7.854549544476363e-90"}, {0.1, "0.1"}, {1e16, "1e+16"}, {1e15, "1000000000000000.0"},
               {1e-4, "0.0001"}, {9.9999e-5, "9.9999e-05"}, {5e-324, "5e-324"}, {-0.0, "-0.0"}, {0.0, "0.0"},
               {1.7976931348623157e308, "1.7976931348623157e+308"}, {123456789012345678.0, "1.2345678901234568e+17"},
               {2.0 / 3.0, "0.6666666666666666"}, {100.0, "100.0"}};
  int ok = 1;
  for (size_t i = 0; i < sizeof known / sizeof known[0]; i++) {
    int n = json_format_double(known[i].x, b);
    if (n != (int)strlen(known[i].repr) || strcmp(b, known[i].repr) != 0) {
      fprintf(stderr, "format: %s expected, got %s\n", known[i].repr, b);
      ok = 0;
    }
  }
  ok &= json_format_double(NAN, b) == -1 && json_format_double(-INFINITY, b) == -1;
  CHECK(ok, "json_format_double: Python repr values");
}

/* The cache file: what is read back equals what was written; another key, a truncated or a padded file is a miss. */
static void test_cache(void) {
  baskets b;
  bk_init(&b);
  uint64_t rng = 515;
  random_baskets(&b, &rng, 2000, 12, 8);
  fp_itemsets s, s2;
  fp_rules r, r2;
  fp_rules_opts ro = {.min_confidence = 0.1, .max_consequent = 2};
  CHECK(mine(&b, 20, 0, 1, &s) == FP_OK && fp_rules_generate(&s, &ro, &r) == FP_OK && r.n > 10, "cache: rules");
  char path[] = "/tmp/test_fpgrowth_cacheXXXXXX", err[256];
  int fd = mkstemp(path);
  if (fd >= 0) close(fd);
  CHECK(fd >= 0 && fp_cache_write(path, "key-1", &s, &r, err, sizeof err) == 0, "cache: write");
  int ok = fp_cache_read(path, "key-1", &s2, &r2) == 0 && same_itemsets(&s, &s2) && s2.nbaskets == s.nbaskets &&
           s2.min_count == s.min_count && r2.n == r.n && r2.nbaskets == r.nbaskets;
  for (int64_t i = 0; ok && i < r.n; i++)
    ok = r2.a_off[i + 1] == r.a_off[i + 1] && r2.c_off[i + 1] == r.c_off[i + 1] && r2.count[i] == r.count[i] &&
         r2.a_count[i] == r.a_count[i] && r2.c_count[i] == r.c_count[i] && r2.support[i] == r.support[i] &&
         r2.confidence[i] == r.confidence[i] && r2.lift[i] == r.lift[i] && r2.leverage[i] == r.leverage[i] &&
         r2.conviction[i] == r.conviction[i];
  ok = ok && memcmp(r2.a_items, r.a_items, (size_t)r.a_off[r.n] * sizeof *r.a_items) == 0 &&
       memcmp(r2.c_items, r.c_items, (size_t)r.c_off[r.n] * sizeof *r.c_items) == 0;
  CHECK(ok, "cache: read back equal");
  fp_itemsets_free(&s2);
  fp_rules_free(&r2);
  CHECK(fp_cache_read(path, "key-2", &s2, &r2) == -1 && !s2.offsets && !r2.a_off, "cache: another key");
  FILE *f = fopen(path, "r+b");
  fseek(f, 0, SEEK_END);
  long size = ftell(f);
  fputc(0, f); /* padded */
  fclose(f);
  CHECK(fp_cache_read(path, "key-1", &s2, &r2) == -1, "cache: padded file");
  CHECK(truncate(path, size - 3) == 0 && fp_cache_read(path, "key-1", &s2, &r2) == -1 && !s2.offsets,
        "cache: truncated file");
  CHECK(fp_cache_read("/nonexistent/dir/x.bin", "key-1", &s2, &r2) == -1, "cache: missing file");
  unlink(path);
  fp_rules_free(&r);
  fp_itemsets_free(&s);
  bk_free(&b);
}

/* Dense baskets over 150 items (more than 64 items and more than 64 partners per item: multi-word bitsets and
   blocks in the pair method), with groups of 8 items bought together (itemsets of up to 8 items): both methods must
   give the same itemsets and counts, the numbers per size must match Apriori's, for any thread count and with the
   pair method's databases built in one batch or in many. */
static void test_dense(void) {
  baskets b;
  bk_init(&b);
  uint64_t rng = 4242;
  int32_t group[6][8], items[160];
  for (int g = 0; g < 6; g++)
    for (int j = 0; j < 8; j++) group[g][j] = 1 + (int32_t)rng_below(&rng, 100);
  char in[151];
  for (int64_t t = 0; t < 3000; t++) {
    memset(in, 0, sizeof in);
    for (int i = 1; i <= 150; i++) in[i] = rng_unit(&rng) < 0.22;
    if (rng_unit(&rng) < 0.6) {
      int g = (int)rng_below(&rng, 6);
      for (int j = 0; j < 8; j++) in[group[g][j]] |= rng_unit(&rng) < 0.9;
    }
    int k = 0;
    for (int i = 150; i >= 1; i--)
      if (in[i]) items[k++] = i;
    bk_add(&b, items, k);
  }
  int64_t minc = 120, levels[32] = {0}, got[32] = {0};
  int64_t total = apriori_count(&b, minc, levels, 30);
  fp_lists l = bk_lists(&b);
  fp_itemsets ref;
  fp_mine_opts o = {.min_count = minc, .threads = 1, .method = FP_METHOD_TREE};
  CHECK(fp_mine(&l, &o, &ref) == FP_OK, "dense: tree");
  for (int64_t i = 0; i < ref.n; i++) got[ref.offsets[i + 1] - ref.offsets[i]]++;
  CHECK(ref.n == total && memcmp(levels, got, sizeof got) == 0 && levels[8] > 0,
        "dense: %lld itemsets (%lld of 8 items), Apriori %lld", (long long)ref.n, (long long)got[8], (long long)total);
  const int64_t batches[] = {0, 1, 20000};
  for (int t = 1; t <= 3; t++)
    for (int k = 0; k < 3; k++) {
      fp_itemsets s;
      o = (fp_mine_opts){.min_count = minc, .threads = t, .method = FP_METHOD_PAIRS, .batch_bytes = batches[k]};
      CHECK(fp_mine(&l, &o, &s) == FP_OK && same_itemsets(&s, &ref), "dense: pair method, %d threads, batch %lld", t,
            (long long)batches[k]);
      fp_itemsets_free(&s);
    }
  /* max_len cuts the same way */
  fp_itemsets a, c;
  o = (fp_mine_opts){.min_count = minc, .max_len = 3, .threads = 2, .method = FP_METHOD_TREE};
  fp_mine_opts o2 = o;
  o2.method = FP_METHOD_PAIRS;
  CHECK(fp_mine(&l, &o, &a) == FP_OK && fp_mine(&l, &o2, &c) == FP_OK && same_itemsets(&a, &c) &&
            a.n == levels[1] + levels[2] + levels[3],
        "dense: max_len 3");
  fp_itemsets_free(&a);
  fp_itemsets_free(&c);
  fp_itemsets_free(&ref);
  bk_free(&b);
}

static void test_supermarket(const char *dir) {
  char path[1024];
  snprintf(path, sizeof path, "%s/supermarket.baskets", dir);
  baskets b;
  if (read_baskets(path, &b) != 0) {
    CHECK(0, "cannot read %s", path);
    return;
  }
  CHECK(b.n == 4627 && b.nitems == 85762, "supermarket: %lld baskets, %lld items", (long long)b.n,
        (long long)b.nitems);
  /* independently verified counts (awk over the original ARFF; see the fixture's README) */
  snprintf(path, sizeof path, "%s/supermarket_counts.txt", dir);
  FILE *f = fopen(path, "r");
  CHECK(f != NULL, "cannot read %s", path);
  fp_itemsets s;
  double frac = 0.1;
  int64_t minc = fp_min_count(frac, b.n);
  CHECK(mine(&b, minc, 0, 2, &s) == FP_OK, "supermarket mine");
  CHECK(fp_itemsets_index(&s) == FP_OK, "supermarket index");
  int nlines = 0;
  char line[512];
  while (f && fgets(line, sizeof line, f)) {
    if (line[0] == '#') continue;
    int32_t items[32];
    int len = 0;
    char *p = line, *end;
    long long want = strtoll(p, &end, 10);
    p = end;
    for (;;) {
      long v = strtol(p, &end, 10);
      if (end == p) break;
      items[len++] = (int32_t)v;
      p = end;
    }
    int64_t i = fp_itemsets_find(&s, items, len);
    CHECK(i >= 0 && s.counts[i] == want, "supermarket line %d: count %lld, expected %lld", nlines,
          i >= 0 ? (long long)s.counts[i] : -1LL, want);
    nlines++;
  }
  if (f) fclose(f);
  CHECK(nlines >= 20, "supermarket: %d verified counts", nlines);
  /* the whole result against Apriori: itemset totals per size */
  int64_t levels[64] = {0}, mine_levels[64] = {0};
  int64_t total = apriori_count(&b, minc, levels, 60);
  for (int64_t i = 0; i < s.n; i++) mine_levels[s.offsets[i + 1] - s.offsets[i]]++;
  CHECK(total == s.n, "supermarket: %lld itemsets, Apriori %lld", (long long)s.n, (long long)total);
  CHECK(memcmp(levels, mine_levels, sizeof levels) == 0, "supermarket: itemsets per size differ from Apriori");
  fp_itemsets_free(&s);
  bk_free(&b);
}

/* ---------------------------------------------------------------- benchmark data */

/* Synthetic shop: 449 products with Zipf-like popularity, baskets of mean size about 9.55 (1..128), most built
   around a "mission" (a group of products bought together). Deterministic for a seed. */
static void synth_baskets(baskets *b, int64_t n, uint64_t seed) {
  enum { NP = 449, NM = 80 };
  uint64_t rng = seed;
  double w[NP], cw[NP], total = 0;
  for (int i = 0; i < NP; i++) {
    w[i] = 1.0 / pow(i + 15.0, 1.4); /* calibrated: about 28,500 itemsets at 0.005 */
    total += w[i];
    cw[i] = total;
  }
  int32_t mission[NM][12];
  int mlen[NM];
  for (int m = 0; m < NM; m++) {
    mlen[m] = 4 + (int)rng_below(&rng, 8);
    for (int j = 0; j < mlen[m]; j++) {
      double x = rng_unit(&rng) * cw[159];
      int lo = 0, hi = 159;
      while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (cw[mid] < x) lo = mid + 1;
        else hi = mid;
      }
      mission[m][j] = lo + 1;
    }
  }
  int32_t items[128];
  char seen[NP + 1];
  for (int64_t t = 0; t < n; t++) {
    /* size: 1 + geometric, mean about 9.55, capped at 128 */
    double u = rng_unit(&rng);
    int len = 1 + (int)floor(log(1.0 - u) / log(1.0 - 1.0 / 9.4));
    if (len > 128) len = 128;
    memset(seen, 0, sizeof seen);
    int m = rng_unit(&rng) < 0.75 ? (int)floor(NM * pow(rng_unit(&rng), 1.6)) : -1;
    int k = 0, tries = 0;
    while (k < len && tries < 4 * len + 20) {
      tries++;
      int32_t p;
      if (m >= 0 && rng_unit(&rng) < 0.2) p = mission[m][rng_below(&rng, mlen[m])];
      else {
        double x = rng_unit(&rng) * total;
        int lo = 0, hi = NP - 1;
        while (lo < hi) {
          int mid = (lo + hi) / 2;
          if (cw[mid] < x) lo = mid + 1;
          else hi = mid;
        }
        p = lo + 1;
      }
      if (seen[p]) continue;
      seen[p] = 1;
      items[k++] = p;
    }
    bk_add(b, items, k);
  }
}

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int bench(int argc, char **argv) {
  int64_t n = 1108987;
  int threads = 2;
  double minsup = 0.005, minconf = 0.2;
  const char *write = NULL;
  fp_method method = FP_METHOD_AUTO;
  for (int i = 2; i < argc; i++) {
    if (!strcmp(argv[i], "--threads") && i + 1 < argc) threads = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--min-support") && i + 1 < argc) minsup = atof(argv[++i]);
    else if (!strcmp(argv[i], "--min-confidence") && i + 1 < argc) minconf = atof(argv[++i]);
    else if (!strcmp(argv[i], "--write") && i + 1 < argc) write = argv[++i];
    else if (!strcmp(argv[i], "--method") && i + 1 < argc) method = !strcmp(argv[++i], "tree") ? FP_METHOD_TREE : FP_METHOD_PAIRS;
    else n = atoll(argv[i]);
  }
  (void)minconf;
  baskets b;
  bk_init(&b);
  double t0 = now();
  synth_baskets(&b, n, 42);
  double t1 = now();
  printf("generated %lld baskets, %lld items (mean %.2f) in %.3f s\n", (long long)b.n, (long long)b.nitems,
         (double)b.nitems / (double)b.n, t1 - t0);
  if (write) {
    FILE *f = fopen(write, "w");
    for (int64_t t = 0; f && t < b.n; t++) {
      for (int64_t j = b.off[t]; j < b.off[t + 1]; j++) fprintf(f, j > b.off[t] ? " %d" : "%d", b.items[j]);
      fputc('\n', f);
    }
    if (f) fclose(f);
  }
  fp_lists l = bk_lists(&b);
  fp_mine_opts o = {.min_count = fp_min_count(minsup, b.n), .threads = threads, .max_itemsets = 10000000,
                    .method = method};
  fp_itemsets s;
  t0 = now();
  fp_status st = fp_mine(&l, &o, &s);
  t1 = now();
  printf("mine: %s, %lld itemsets (min count %lld) in %.3f s with %d threads\n", fp_strerror(st), (long long)s.n,
         (long long)o.min_count, t1 - t0, threads);
  double tmine = t1 - t0;
  int64_t bylen[64] = {0};
  for (int64_t i = 0; i < s.n; i++) bylen[s.offsets[i + 1] - s.offsets[i]]++;
  for (int i = 1; i < 64; i++)
    if (bylen[i]) printf("  size %d: %lld\n", i, (long long)bylen[i]);
  fp_rules r;
  fp_rules_opts ro = {.min_confidence = minconf, .max_consequent = 1};
  t0 = now();
  fp_status rs = fp_rules_generate(&s, &ro, &r);
  t1 = now();
  printf("rules: %s, %lld rules (min confidence %g) in %.3f s; mine + rules %.3f s\n", fp_strerror(rs),
         (long long)r.n, minconf, t1 - t0, tmine + t1 - t0);
  /* customers: each basket belongs to one of 131186 customers (skewed), owned = distinct sorted products */
  enum { NC = 131186 };
  int64_t *cnt = calloc(NC + 1, sizeof *cnt), *pos = malloc((NC + 1) * sizeof *pos);
  int32_t *cust = xmalloc((size_t)b.n * sizeof *cust);
  uint64_t rng = 7;
  for (int64_t t = 0; t < b.n; t++) {
    cust[t] = (int32_t)floor(NC * pow(rng_unit(&rng), 1.3));
    cnt[cust[t] + 1] += b.off[t + 1] - b.off[t];
  }
  for (int c = 0; c < NC; c++) cnt[c + 1] += cnt[c];
  memcpy(pos, cnt, (NC + 1) * sizeof *pos);
  int32_t *all = xmalloc((size_t)b.nitems * sizeof *all);
  for (int64_t t = 0; t < b.n; t++)
    for (int64_t j = b.off[t]; j < b.off[t + 1]; j++) all[pos[cust[t]]++] = b.items[j];
  baskets owned;
  bk_init(&owned);
  char *seen = calloc(1024, 1);
  int32_t *tmp = xmalloc(1024 * sizeof *tmp);
  for (int c = 0; c < NC; c++) {
    int64_t k = 0;
    for (int64_t j = cnt[c]; j < cnt[c + 1]; j++)
      if (!seen[all[j]]) {
        seen[all[j]] = 1;
        tmp[k++] = all[j];
      }
    for (int64_t j = 0; j < k; j++) seen[tmp[j]] = 0;
    for (int64_t i = 1; i < k; i++) /* insertion sort */
      for (int64_t j = i; j > 0 && tmp[j - 1] > tmp[j]; j--) {
        int32_t x = tmp[j];
        tmp[j] = tmp[j - 1];
        tmp[j - 1] = x;
      }
    bk_add(&owned, tmp, k);
  }
  printf("customers: %d, mean %.1f distinct products\n", NC, (double)owned.nitems / NC);
  fp_lists ol = bk_lists(&owned);
  for (int v = 0; v < 2; v++) {
    fp_rec_opts ropt = {.top = 5, .max_rules = v ? 300 : 0, .threads = threads};
    fp_recs recs;
    t0 = now();
    fp_status cs = fp_recommend_customers(&r, &ol, &ropt, &recs);
    t1 = now();
    printf("recommend_customers (max_rules %s): %s, %lld rows in %.3f s\n", v ? "300" : "all", fp_strerror(cs),
           (long long)recs.n, t1 - t0);
    fp_recs_free(&recs);
  }
  fp_rec_opts popt = {.top = 5, .threads = threads};
  fp_product_recs pr;
  t0 = now();
  fp_status ps = fp_recommend_products(&r, &popt, &pr);
  t1 = now();
  printf("recommend_products (all rules): %s, %lld sources in %.3f s\n", fp_strerror(ps), (long long)pr.nsources,
         t1 - t0);
  fp_product_recs_free(&pr);
  free(cnt);
  free(pos);
  free(cust);
  free(all);
  free(seen);
  free(tmp);
  bk_free(&owned);
  fp_rules_free(&r);
  fp_itemsets_free(&s);
  bk_free(&b);
  return st == FP_OK ? 0 : 1;
}

int main(int argc, char **argv) {
  if (argc > 1 && !strcmp(argv[1], "--bench")) return bench(argc, argv);
  test_min_count();
  test_cancel();
  test_dense();
  test_format();
  /* the mining tests, once per growth method (the automatic choice takes the pair method on these small data) */
  for (int m = FP_METHOD_TREE; m <= FP_METHOD_PAIRS; m++) {
    test_method = (fp_method)m;
    test_paper_example();
    test_edges();
    test_lookup_top();
    test_random_small();
    test_random_threads();
    if (argc > 2 && !strcmp(argv[1], "--fixtures")) test_supermarket(argv[2]);
  }
  test_method = FP_METHOD_AUTO;
  test_cache();
  test_rules();
  test_recommend();
  printf("%d passed, %d failed\n", passed, failed);
  return failed ? 1 : 0;
}
