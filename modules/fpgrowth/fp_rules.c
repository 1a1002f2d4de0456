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

/* Rule i's counts and measures (one formula for both ways of generating rules, so that they agree to the bit). */
static void set_measures(fp_rules *r, int64_t i, int64_t cs, int64_t ca, int64_t cb, int64_t n) {
  double dn = (double)n, conf = (double)cs / (double)ca, pa = (double)ca / dn, pb = (double)cb / dn;
  r->count[i] = cs;
  r->a_count[i] = ca;
  r->c_count[i] = cb;
  r->support[i] = (double)cs / dn;
  r->confidence[i] = conf;
  r->lift[i] = conf / pb;
  r->leverage[i] = r->support[i] - pa * pb;
  r->conviction[i] = conf >= 1.0 ? INFINITY : (1.0 - pb) / (1.0 - conf);
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
  r->a_off[i] = la;
  r->c_off[i] = lc;
  set_measures(r, i, cs, ca, cb, n);
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

/* ---------------------------------------------------------------- single-item consequents */

/* A rule S \ {S[x]} -> {S[x]} of itemset S. */
typedef struct cand {
  int64_t set, ia; /* the itemset; its antecedent's index */
  int64_t x;
} cand;

/* A sort entry: the lift's bits inverted (ascending = lift descending; lifts are positive), the candidate. */
typedef struct sort_key {
  uint64_t key;
  int64_t c;
} sort_key;

typedef struct cand_ctx {
  const fp_itemsets *s;
  const cand *c;
} cand_ctx;

/* Antecedent of candidate c compared with d's, lexicographically (each is its itemset without one position). */
static int cmp_antecedents(const fp_itemsets *s, const cand *c, const cand *d) {
  const int32_t *x = s->items + s->offsets[c->set], *y = s->items + s->offsets[d->set];
  int64_t nx = s->offsets[c->set + 1] - s->offsets[c->set] - 1, ny = s->offsets[d->set + 1] - s->offsets[d->set] - 1;
  for (int64_t i = 0, j = 0; i < nx && j < ny; i++, j++) {
    int32_t a = x[i + (i >= c->x)], b = y[j + (j >= d->x)];
    if (a != b) return a < b ? -1 : 1;
  }
  return (nx > ny) - (nx < ny);
}

/* Within equal lifts: confidence desc, support desc, antecedent then consequent asc (as cmp_order). */
static int cmp_tie(const void *a, const void *b, void *ctx) {
  const cand_ctx *cc = ctx;
  const fp_itemsets *s = cc->s;
  const cand *c = &cc->c[((const sort_key *)a)->c], *d = &cc->c[((const sort_key *)b)->c];
  int64_t cs = s->counts[c->set], ds = s->counts[d->set];
  double x = (double)cs / (double)s->counts[c->ia], y = (double)ds / (double)s->counts[d->ia];
  if (x != y) return x > y ? -1 : 1;
  if (cs != ds) return cs > ds ? -1 : 1;
  int k = cmp_antecedents(s, c, d);
  if (k) return k;
  int32_t u = s->items[s->offsets[c->set] + c->x], v = s->items[s->offsets[d->set] + d->x];
  return (u > v) - (u < v);
}

/* LSD radix sort of keys by key (digits every key shares are skipped); tmp has room for n. */
static void radix_keys(sort_key *a, sort_key *tmp, int64_t n) {
  sort_key *src = a, *dst = tmp;
  for (int byte = 0; byte < 8; byte++) {
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
    sort_key *sw = src;
    src = dst;
    dst = sw;
  }
  if (src != a) memcpy(a, src, (size_t)n * sizeof *a);
}

/* Allocates the arrays of r for n rules with na antecedent and nc consequent items (huge pages when large: they are
   written once, in order, so their first touch is most of the cost). */
static int rules_alloc(fp_rules *r, int64_t n, int64_t na, int64_t nc) {
  size_t nn = (size_t)(n ? n : 1);
  r->a_off = mc_malloc_huge((nn + 1) * sizeof *r->a_off);
  r->c_off = mc_malloc_huge((nn + 1) * sizeof *r->c_off);
  r->a_items = mc_malloc_huge((size_t)(na ? na : 1) * sizeof *r->a_items);
  r->c_items = mc_malloc_huge((size_t)(nc ? nc : 1) * sizeof *r->c_items);
  r->count = mc_malloc_huge(nn * sizeof *r->count);
  r->a_count = mc_malloc_huge(nn * sizeof *r->a_count);
  r->c_count = mc_malloc_huge(nn * sizeof *r->c_count);
  r->support = mc_malloc_huge(nn * sizeof(double));
  r->confidence = mc_malloc_huge(nn * sizeof(double));
  r->lift = mc_malloc_huge(nn * sizeof(double));
  r->leverage = mc_malloc_huge(nn * sizeof(double));
  r->conviction = mc_malloc_huge(nn * sizeof(double));
  return r->a_off && r->c_off && r->a_items && r->c_items && r->count && r->a_count && r->c_count && r->support &&
                 r->confidence && r->lift && r->leverage && r->conviction
             ? 0
             : -1;
}

/* fp_rules_generate for max_consequent 1: the candidates passing min_confidence in one pass, sorted by a radix sort
   on the lift (ties by comparison), and the rules written once at their final size. */
static fp_status rules_single(const fp_itemsets *s, const fp_rules_opts *o, fp_rules *out) {
  int64_t bound = 0, na = 0, n = 0;
  for (int64_t i = 0; i < s->n; i++) {
    int64_t len = s->offsets[i + 1] - s->offsets[i];
    if (len >= 2) bound += len;
  }
  fp_status st = FP_ENOMEM;
  cand *c = mc_malloc_huge((size_t)(bound ? bound : 1) * sizeof *c);
  sort_key *keys = NULL, *tmp = NULL;
  int32_t *A = NULL;
  if (!c) goto cleanup;
  for (int64_t i = 0; i < s->n; i++) {
    int64_t len = s->offsets[i + 1] - s->offsets[i];
    if (len < 2) continue;
    if ((i & 4095) == 0 && o->cancelled && o->cancelled()) {
      st = FP_ECANCELLED;
      goto cleanup;
    }
    if (!A && !(A = malloc((size_t)s->offsets[s->n] * sizeof *A))) goto cleanup;
    const int32_t *S = s->items + s->offsets[i];
    for (int64_t x = 0; x < len; x++) {
      for (int64_t j = 0, q = 0; j < len; j++)
        if (j != x) A[q++] = S[j];
      int64_t ia = fp_itemsets_find(s, A, len - 1);
      if (ia < 0 || (double)s->counts[i] / (double)s->counts[ia] < o->min_confidence) continue;
      c[n++] = (cand){i, ia, x};
      na += len - 1;
    }
  }
  keys = mc_malloc_huge((size_t)(n ? n : 1) * sizeof *keys);
  tmp = mc_malloc_huge((size_t)(n ? n : 1) * sizeof *tmp);
  if (!keys || !tmp || rules_alloc(out, n, na, n)) goto cleanup;
  for (int64_t k = 0; k < n; k++) { /* the lift, as set_measures computes it */
    int32_t item = s->items[s->offsets[c[k].set] + c[k].x];
    int64_t ib = fp_itemsets_find(s, &item, 1);
    double conf = (double)s->counts[c[k].set] / (double)s->counts[c[k].ia];
    double lift = conf / ((double)s->counts[ib] / (double)s->nbaskets);
    uint64_t bits;
    memcpy(&bits, &lift, sizeof bits);
    keys[k] = (sort_key){~bits, k};
  }
  radix_keys(keys, tmp, n);
  cand_ctx cc = {s, c};
  for (int64_t a = 0, e; a < n; a = e) {
    for (e = a + 1; e < n && keys[e].key == keys[a].key;) e++;
    if (e - a > 1) qsort_r(keys + a, (size_t)(e - a), sizeof *keys, cmp_tie, &cc);
  }
  out->n = n;
  out->a_off[0] = out->c_off[0] = 0;
  for (int64_t k = 0; k < n; k++) {
    const cand *r = &c[keys[k].c];
    const int32_t *S = s->items + s->offsets[r->set];
    int64_t len = s->offsets[r->set + 1] - s->offsets[r->set], at = out->a_off[k];
    for (int64_t j = 0; j < len; j++)
      if (j != r->x) out->a_items[at++] = S[j];
    out->a_off[k + 1] = at;
    out->c_items[k] = S[r->x];
    out->c_off[k + 1] = k + 1;
    int64_t ib = fp_itemsets_find(s, &S[r->x], 1);
    set_measures(out, k, s->counts[r->set], s->counts[r->ia], s->counts[ib], s->nbaskets);
  }
  st = FP_OK;
cleanup:
  free(c);
  free(keys);
  free(tmp);
  free(A);
  return st;
}

fp_status fp_rules_generate(fp_itemsets *s, const fp_rules_opts *o, fp_rules *out) {
  memset(out, 0, sizeof *out);
  out->nbaskets = s->nbaskets;
  if (o->max_consequent < 1 || !(o->min_confidence >= 0)) return FP_EINVAL;
  if (fp_itemsets_index(s) != FP_OK) return FP_ENOMEM;
  if (o->max_consequent == 1) {
    fp_status st = rules_single(s, o, out);
    if (st != FP_OK) {
      fp_rules_free(out);
      out->nbaskets = s->nbaskets;
    }
    return st;
  }
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
