/*
** fpgrowth.c: fp_mine, the entry point of frequent itemset mining (see fpgrowth.h): ranks the items (fp_items.c),
** grows the itemsets on threads by the pair method (fp_pairs.c) when the frequent items are few, else from the
** global FP-tree (fp_tree.c, fp_grow.c), and gathers them in canonical order; plus lookups and top-n over a result.
*/
#include "fpgrowth.h"
#include "fp_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

const char *fp_strerror(fp_status st) {
  switch (st) {
    case FP_OK: return "ok";
    case FP_ENOMEM: return "not enough memory";
    case FP_ELIMIT: return "too many itemsets";
    case FP_ECANCELLED: return "cancelled";
    case FP_EINVAL: return "invalid argument";
    case FP_ETOOBIG: return "input too large";
  }
  return "unknown error";
}

int64_t fp_min_count(double fraction, int64_t n) {
  double x = fraction * (double)n;
  double c = ceil(x - fabs(x) * 1e-12);
  if (!(c >= 1)) return 1; /* also NaN */
  if (c >= 9.2e18) return INT64_MAX;
  return (int64_t)c;
}

/* ---------------------------------------------------------------- canonical result */

typedef struct canon_ctx {
  const int32_t *items;
  const int64_t *off;
  int64_t len;
} canon_ctx;

static int cmp_canon(const void *a, const void *b, void *ctx) {
  const canon_ctx *c = ctx;
  const int32_t *x = c->items + c->off[*(const int64_t *)a], *y = c->items + c->off[*(const int64_t *)b];
  for (int64_t i = 0; i < c->len; i++)
    if (x[i] != y[i]) return x[i] < y[i] ? -1 : 1;
  return 0;
}

/* Gathers the workers' itemsets as item ids into out, in canonical order. */
static fp_status assemble(const fp_found *ws, int nw, const int32_t *rank_item, fp_itemsets *out) {
  int64_t n = 0, nitems = 0, maxlen = 0;
  for (int t = 0; t < nw; t++) {
    n += ws[t].n;
    nitems += ws[t].nranks;
    for (int64_t i = 0; i < ws[t].n; i++)
      if (ws[t].lens[i] > maxlen) maxlen = ws[t].lens[i];
  }
  fp_status st = FP_ENOMEM;
  int64_t *allc = NULL;
  int64_t *toff = malloc((size_t)(n + 1) * sizeof *toff), *idx = malloc((size_t)(n ? n : 1) * sizeof *idx);
  int64_t *bylen = calloc((size_t)maxlen + 2, sizeof *bylen);
  int32_t *titems = malloc((size_t)(nitems ? nitems : 1) * sizeof *titems);
  out->offsets = malloc((size_t)(n + 1) * sizeof *out->offsets);
  out->items = malloc((size_t)(nitems ? nitems : 1) * sizeof *out->items);
  out->counts = malloc((size_t)(n ? n : 1) * sizeof *out->counts);
  if (!toff || !idx || !bylen || !titems || !out->offsets || !out->items || !out->counts) goto cleanup;
  /* concatenate, as sorted item ids */
  int64_t g = 0, p = 0;
  for (int t = 0; t < nw; t++) {
    const fp_found *o = &ws[t];
    int64_t q = 0;
    for (int64_t i = 0; i < o->n; i++, g++) {
      toff[g] = p;
      int32_t *dst = titems + p;
      for (int32_t j = 0; j < o->lens[i]; j++) {
        int32_t v = rank_item[o->ranks[q++]], r = j;
        while (r > 0 && dst[r - 1] > v) {
          dst[r] = dst[r - 1];
          r--;
        }
        dst[r] = v;
      }
      p += o->lens[i];
      bylen[o->lens[i] + 1]++;
    }
  }
  toff[n] = p;
  for (int64_t l = 1; l <= maxlen + 1; l++) bylen[l] += bylen[l - 1];
  g = 0;
  for (int t = 0; t < nw; t++)
    for (int64_t i = 0; i < ws[t].n; i++, g++) idx[bylen[ws[t].lens[i]]++] = g;
  /* bylen[l] is now the end of length l's run */
  for (int64_t l = 1, s = 0; l <= maxlen; l++) {
    int64_t e = bylen[l];
    canon_ctx cc = {titems, toff, l};
    if (e - s > 1) qsort_r(idx + s, (size_t)(e - s), sizeof *idx, cmp_canon, &cc);
    s = e;
  }
  /* counts, per concatenated index */
  allc = malloc((size_t)(n ? n : 1) * sizeof *allc);
  if (!allc) goto cleanup;
  g = 0;
  for (int t = 0; t < nw; t++)
    for (int64_t i = 0; i < ws[t].n; i++) allc[g++] = ws[t].counts[i];
  p = 0;
  for (int64_t i = 0; i < n; i++) {
    int64_t s = idx[i], len = toff[s + 1] - toff[s];
    out->offsets[i] = p;
    memcpy(out->items + p, titems + toff[s], (size_t)len * sizeof *titems);
    out->counts[i] = allc[s];
    p += len;
  }
  out->offsets[n] = p;
  out->n = n;
  st = FP_OK;
cleanup:
  free(allc);
  free(toff);
  free(idx);
  free(bylen);
  free(titems);
  return st;
}

/* ---------------------------------------------------------------- entry point */

fp_status fp_mine(const fp_lists *b, const fp_mine_opts *o, fp_itemsets *out) {
  memset(out, 0, sizeof *out);
  if (!b || !o || b->n < 0 || o->min_count < 1 || o->max_len < 0 || o->max_itemsets < 0 ||
      o->method < FP_METHOD_AUTO || o->method > FP_METHOD_PAIRS)
    return FP_EINVAL;
  out->nbaskets = b->n;
  out->min_count = o->min_count;
  if ((uint64_t)b->n > UINT32_MAX) return FP_ETOOBIG;
  int nt = o->threads < 1 ? 1 : o->threads > FP_MAX_THREADS ? FP_MAX_THREADS : o->threads;
  if (b->n < 4096 * (int64_t)nt) nt = 1;
  fp_mine_opts opts = *o;
  if (opts.min_count > b->n + 1) opts.min_count = b->n + 1; /* nothing is frequent; keeps counts in 32 bits */
  fp_ranking rk;
  fp_found found[FP_MAX_THREADS];
  memset(found, 0, sizeof found);
  fp_status st = fp_rank_items(b, opts.min_count, nt, &rk);
  if (st != FP_OK) return st;
  if (o->cancelled && o->cancelled()) st = FP_ECANCELLED;
  int pairs = o->method == FP_METHOD_PAIRS || (o->method == FP_METHOD_AUTO && fp_pairs_fits(rk.k, nt));
  if (st == FP_OK && pairs && fp_pairs_fits(rk.k, 1)) {
    st = fp_pairs_grow(b, &rk, &opts, nt, found);
    if (st == FP_ETOOBIG && o->method == FP_METHOD_AUTO) { /* a database would be too large: the tree then */
      for (int t = 0; t < nt; t++) fp_found_free(&found[t]);
      pairs = 0;
      st = FP_OK;
    }
  } else {
    pairs = 0;
  }
  if (st == FP_OK && !pairs) {
    fp_tree t0;
    st = fp_tree_build(b, &rk, nt, o->cancelled, &t0);
    if (st == FP_OK) {
      if (t0.nitems < 2 * nt) nt = 1;
      st = fp_grow(&t0, &opts, nt, found);
      fp_tree_free(&t0);
    }
  }
  if (st == FP_OK) st = assemble(found, nt, rk.rank_item, out);
  for (int t = 0; t < FP_MAX_THREADS; t++) fp_found_free(&found[t]);
  fp_ranking_free(&rk);
  if (st != FP_OK) {
    fp_itemsets_free(out);
    out->nbaskets = b->n;
    out->min_count = o->min_count;
  }
  return st;
}

/* ---------------------------------------------------------------- itemsets: index, lookups, top */

void fp_itemsets_free(fp_itemsets *s) {
  if (!s) return;
  free(s->offsets);
  free(s->items);
  free(s->counts);
  free(s->index);
  s->offsets = NULL;
  s->items = NULL;
  s->counts = NULL;
  s->index = NULL;
  s->n = 0;
  s->index_cap = 0;
}

fp_status fp_itemsets_index(fp_itemsets *s) {
  if (s->index) return FP_OK;
  int64_t cap = 16;
  while (cap < 2 * s->n) cap *= 2;
  int64_t *ix = malloc((size_t)cap * sizeof *ix);
  if (!ix) return FP_ENOMEM;
  memset(ix, 0xff, (size_t)cap * sizeof *ix);
  uint64_t mask = (uint64_t)cap - 1;
  for (int64_t i = 0; i < s->n; i++) {
    uint64_t h = fp_hash_items(s->items + s->offsets[i], s->offsets[i + 1] - s->offsets[i]) & mask;
    while (ix[h] >= 0) h = (h + 1) & mask;
    ix[h] = i;
  }
  s->index = ix;
  s->index_cap = cap;
  return FP_OK;
}

int64_t fp_itemsets_find(const fp_itemsets *s, const int32_t *items, int64_t len) {
  if (!s->index) return -1;
  uint64_t mask = (uint64_t)s->index_cap - 1;
  uint64_t h = fp_hash_items(items, len) & mask;
  for (int64_t i; (i = s->index[h]) >= 0; h = (h + 1) & mask) {
    int64_t l = s->offsets[i + 1] - s->offsets[i];
    if (l == len && memcmp(s->items + s->offsets[i], items, (size_t)len * sizeof *items) == 0) return i;
  }
  return -1;
}

static int better_itemset(int64_t a, int64_t b, const void *ctx) {
  const fp_itemsets *s = ctx;
  if (s->counts[a] != s->counts[b]) return s->counts[a] > s->counts[b];
  return fp_lex_cmp(s->items + s->offsets[a], s->offsets[a + 1] - s->offsets[a], s->items + s->offsets[b],
                    s->offsets[b + 1] - s->offsets[b]) < 0;
}

int64_t fp_itemsets_top(const fp_itemsets *s, int64_t n, int64_t *idx) {
  return fp_top_k(s->n, n, better_itemset, s, idx);
}
