/*
** fp_rules.c: association rules from frequent itemsets (see fpgrowth.h for the measures and the canonical order).
** Every consequent B of size 1..max_consequent of every itemset S is tried; the counts of A = S \ B and of B come
** from the itemsets' hash index (every subset of a frequent itemset is frequent, so the lookups always succeed).
*/
#include "fp_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Grows *p (keeping its contents) to hold need elements of size sz; 0 or -1. */
static int grow(void **p, int64_t *cap, int64_t need, size_t sz) {
  if (need <= *cap) return 0;
  int64_t c = *cap ? *cap : 1024;
  while (c < need) c *= 2;
  void *q = realloc(*p, (size_t)c * sz);
  if (!q) return -1;
  *p = q;
  *cap = c;
  return 0;
}

/* Rules as they are found, before sorting. */
typedef struct found_rules {
  fp_rules r;      /* a_off/c_off hold lengths until sorted */
  int64_t cap, acap, ccap, na, nc;
} found_rules;

/* Room for one more rule (the length arrays keep one spare entry for the offsets). */
static int grow_rules(found_rules *f) {
  fp_rules *r = &f->r;
  int64_t cap = f->cap ? f->cap * 2 : 1024;
#define REALLOC_FIELD(p)                                        \
  do {                                                          \
    void *q = realloc((p), (size_t)(cap + 1) * sizeof *(p));    \
    if (!q) return -1;                                          \
    (p) = q;                                                    \
  } while (0)
  REALLOC_FIELD(r->a_off);
  REALLOC_FIELD(r->c_off);
  REALLOC_FIELD(r->count);
  REALLOC_FIELD(r->a_count);
  REALLOC_FIELD(r->c_count);
  REALLOC_FIELD(r->support);
  REALLOC_FIELD(r->confidence);
  REALLOC_FIELD(r->lift);
  REALLOC_FIELD(r->leverage);
  REALLOC_FIELD(r->conviction);
#undef REALLOC_FIELD
  f->cap = cap;
  return 0;
}

static int add_rule(found_rules *f, const int32_t *a, int64_t la, const int32_t *c, int64_t lc, int64_t cs,
                    int64_t ca, int64_t cb, int64_t n) {
  fp_rules *r = &f->r;
  if (r->n == f->cap && grow_rules(f)) return -1;
  if (grow((void **)&r->a_items, &f->acap, f->na + la, sizeof *r->a_items) ||
      grow((void **)&r->c_items, &f->ccap, f->nc + lc, sizeof *r->c_items))
    return -1;
  memcpy(r->a_items + f->na, a, (size_t)la * sizeof *a);
  memcpy(r->c_items + f->nc, c, (size_t)lc * sizeof *c);
  f->na += la;
  f->nc += lc;
  int64_t i = r->n++;
  double dn = (double)n, conf = (double)cs / (double)ca, pa = (double)ca / dn, pb = (double)cb / dn;
  r->a_off[i] = la;
  r->c_off[i] = lc;
  r->count[i] = cs;
  r->a_count[i] = ca;
  r->c_count[i] = cb;
  r->support[i] = (double)cs / dn;
  r->confidence[i] = conf;
  r->lift[i] = conf / pb;
  r->leverage[i] = r->support[i] - pa * pb;
  r->conviction[i] = conf >= 1.0 ? INFINITY : (1.0 - pb) / (1.0 - conf);
  return 0;
}

/* The rules of itemset S (len items) with consequents of exactly m items: combinations in lexicographic order. */
static int rules_of(const fp_itemsets *s, const int32_t *S, int64_t len, int64_t cs, int m, double minconf,
                    found_rules *f, int32_t *pick, int32_t *A, int32_t *B) {
  for (int j = 0; j < m; j++) pick[j] = j;
  for (;;) {
    int64_t la = 0, lb = 0;
    for (int64_t x = 0, j = 0; x < len; x++) {
      if (j < m && pick[j] == x) {
        B[lb++] = S[x];
        j++;
      } else {
        A[la++] = S[x];
      }
    }
    int64_t ia = fp_itemsets_find(s, A, la), ib = fp_itemsets_find(s, B, lb);
    if (ia >= 0 && ib >= 0 && (double)cs / (double)s->counts[ia] >= minconf &&
        add_rule(f, A, la, B, lb, cs, s->counts[ia], s->counts[ib], s->nbaskets))
      return -1;
    int j = m - 1; /* next combination */
    while (j >= 0 && pick[j] == len - m + j) j--;
    if (j < 0) return 0;
    pick[j]++;
    for (int q = j + 1; q < m; q++) pick[q] = pick[q - 1] + 1;
  }
}

static int lex_rule(const fp_rules *r, int64_t a, int64_t b) {
  int c = fp_lex_cmp(r->a_items + r->a_off[a], r->a_off[a + 1] - r->a_off[a], r->a_items + r->a_off[b],
                     r->a_off[b + 1] - r->a_off[b]);
  if (c) return c;
  return fp_lex_cmp(r->c_items + r->c_off[a], r->c_off[a + 1] - r->c_off[a], r->c_items + r->c_off[b],
                    r->c_off[b + 1] - r->c_off[b]);
}

double fp_rules_measure(const fp_rules *r, fp_rule_key key, int64_t i) {
  switch (key) {
    case FP_BY_CONFIDENCE: return r->confidence[i];
    case FP_BY_SUPPORT: return r->support[i];
    case FP_BY_LEVERAGE: return r->leverage[i];
    case FP_BY_CONVICTION: return r->conviction[i];
    case FP_BY_LIFT: break;
  }
  return r->lift[i];
}

typedef struct order_ctx {
  const fp_rules *r;
  fp_rule_key key;
} order_ctx;

/* The rule order: key desc, lift desc, confidence desc, support desc, antecedent asc, consequent asc. */
static int cmp_order(const order_ctx *o, int64_t a, int64_t b) {
  const fp_rules *r = o->r;
  double x = fp_rules_measure(r, o->key, a), y = fp_rules_measure(r, o->key, b);
  if (x != y) return x > y ? -1 : 1;
  if (r->lift[a] != r->lift[b]) return r->lift[a] > r->lift[b] ? -1 : 1;
  if (r->confidence[a] != r->confidence[b]) return r->confidence[a] > r->confidence[b] ? -1 : 1;
  if (r->support[a] != r->support[b]) return r->support[a] > r->support[b] ? -1 : 1;
  return lex_rule(r, a, b);
}

static int cmp_perm(const void *a, const void *b, void *ctx) {
  return cmp_order(ctx, *(const int64_t *)a, *(const int64_t *)b);
}

static int better_rule(int64_t a, int64_t b, const void *ctx) { return cmp_order(ctx, a, b) < 0; }

int64_t fp_rules_top(const fp_rules *r, fp_rule_key key, int64_t n, int64_t *idx) {
  order_ctx o = {r, key};
  return fp_top_k(r->n, n, better_rule, &o, idx);
}

/* Lengths to offsets, then every array permuted into canonical order. */
static fp_status canonical(found_rules *f, fp_rules *out) {
  fp_rules *r = &f->r;
  int64_t n = r->n;
  fp_status st = FP_ENOMEM;
  int64_t *a_off = malloc((size_t)(n + 1) * sizeof *a_off), *c_off = malloc((size_t)(n + 1) * sizeof *c_off);
  int64_t *perm = malloc((size_t)(n ? n : 1) * sizeof *perm);
  if (!a_off || !c_off || !perm) goto cleanup;
  a_off[0] = c_off[0] = 0;
  for (int64_t i = 0; i < n; i++) {
    a_off[i + 1] = a_off[i] + r->a_off[i];
    c_off[i + 1] = c_off[i] + r->c_off[i];
    perm[i] = i;
  }
  free(r->a_off);
  free(r->c_off);
  r->a_off = a_off;
  r->c_off = c_off;
  a_off = c_off = NULL;
  order_ctx o = {r, FP_BY_LIFT};
  qsort_r(perm, (size_t)n, sizeof *perm, cmp_perm, &o);
  memset(out, 0, sizeof *out);
  out->n = n;
  out->nbaskets = r->nbaskets;
  size_t nn = (size_t)(n ? n : 1);
  out->a_off = malloc((nn + 1) * sizeof *out->a_off);
  out->c_off = malloc((nn + 1) * sizeof *out->c_off);
  out->a_items = malloc((size_t)(r->a_off[n] ? r->a_off[n] : 1) * sizeof *out->a_items);
  out->c_items = malloc((size_t)(r->c_off[n] ? r->c_off[n] : 1) * sizeof *out->c_items);
  out->count = malloc(nn * sizeof *out->count);
  out->a_count = malloc(nn * sizeof *out->a_count);
  out->c_count = malloc(nn * sizeof *out->c_count);
  out->support = malloc(nn * sizeof(double));
  out->confidence = malloc(nn * sizeof(double));
  out->lift = malloc(nn * sizeof(double));
  out->leverage = malloc(nn * sizeof(double));
  out->conviction = malloc(nn * sizeof(double));
  if (!out->a_off || !out->c_off || !out->a_items || !out->c_items || !out->count || !out->a_count ||
      !out->c_count || !out->support || !out->confidence || !out->lift || !out->leverage || !out->conviction)
    goto cleanup;
  out->a_off[0] = out->c_off[0] = 0;
  for (int64_t i = 0; i < n; i++) {
    int64_t p = perm[i], la = r->a_off[p + 1] - r->a_off[p], lc = r->c_off[p + 1] - r->c_off[p];
    memcpy(out->a_items + out->a_off[i], r->a_items + r->a_off[p], (size_t)la * sizeof *out->a_items);
    memcpy(out->c_items + out->c_off[i], r->c_items + r->c_off[p], (size_t)lc * sizeof *out->c_items);
    out->a_off[i + 1] = out->a_off[i] + la;
    out->c_off[i + 1] = out->c_off[i] + lc;
    out->count[i] = r->count[p];
    out->a_count[i] = r->a_count[p];
    out->c_count[i] = r->c_count[p];
    out->support[i] = r->support[p];
    out->confidence[i] = r->confidence[p];
    out->lift[i] = r->lift[p];
    out->leverage[i] = r->leverage[p];
    out->conviction[i] = r->conviction[p];
  }
  st = FP_OK;
cleanup:
  free(a_off);
  free(c_off);
  free(perm);
  if (st != FP_OK) fp_rules_free(out);
  return st;
}

fp_status fp_rules_generate(fp_itemsets *s, const fp_rules_opts *o, fp_rules *out) {
  memset(out, 0, sizeof *out);
  out->nbaskets = s->nbaskets;
  if (o->max_consequent < 1 || !(o->min_confidence >= 0)) return FP_EINVAL;
  if (fp_itemsets_index(s) != FP_OK) return FP_ENOMEM;
  int64_t maxlen = 0;
  for (int64_t i = 0; i < s->n; i++)
    if (s->offsets[i + 1] - s->offsets[i] > maxlen) maxlen = s->offsets[i + 1] - s->offsets[i];
  found_rules f;
  memset(&f, 0, sizeof f);
  f.r.nbaskets = s->nbaskets;
  fp_status st = FP_ENOMEM;
  int32_t *pick = malloc((size_t)(maxlen + 1) * sizeof *pick), *A = malloc((size_t)(maxlen + 1) * sizeof *A);
  int32_t *B = malloc((size_t)(maxlen + 1) * sizeof *B);
  if (!pick || !A || !B) goto cleanup;
  for (int64_t i = 0; i < s->n; i++) {
    int64_t len = s->offsets[i + 1] - s->offsets[i];
    if ((i & 4095) == 0 && o->cancelled && o->cancelled()) {
      st = FP_ECANCELLED;
      goto cleanup;
    }
    for (int m = 1; m < len && m <= o->max_consequent; m++)
      if (rules_of(s, s->items + s->offsets[i], len, s->counts[i], m, o->min_confidence, &f, pick, A, B))
        goto cleanup;
  }
  st = canonical(&f, out);
cleanup:
  free(pick);
  free(A);
  free(B);
  fp_rules_free(&f.r);
  if (st != FP_OK) {
    fp_rules_free(out);
    out->nbaskets = s->nbaskets;
  }
  return st;
}

void fp_rules_free(fp_rules *r) {
  if (!r) return;
  free(r->a_off);
  free(r->a_items);
  free(r->c_off);
  free(r->c_items);
  free(r->count);
  free(r->a_count);
  free(r->c_count);
  free(r->support);
  free(r->confidence);
  free(r->lift);
  free(r->leverage);
  free(r->conviction);
  int64_t nb = r->nbaskets;
  memset(r, 0, sizeof *r);
  r->nbaskets = nb;
}
