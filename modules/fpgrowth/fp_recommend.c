/*
** fp_recommend.c: recommendations from association rules (see fpgrowth.h).
** The items of the rules used get compact indices and the rules a "best first" order (score = lift * confidence desc,
** confidence desc, support desc, index asc; a radix sort on the score), so a product's best rule is its matching
** rule that comes first.
** Customers, few rules (up to SCAN_RULES over at most 64 * SCAN_WORDS items, as the flows use: 300): antecedents and
** consequents are bitsets, and a customer scans the rules best first, keeping each new consequent it does not own,
** until the top products are settled (`top` of them, and a rule of a lower score than the top-th's).
** Customers, many rules: the rules are filed under each consequent item, and their antecedents form a trie. A customer
** first merges, best first (a heap), the consequent files of the products it does not own, checking antecedents
** against a stamped "owned" array, stopping once the top products are settled; when that does not settle within a
** few steps, a depth-first walk of the trie restricted to owned products visits exactly the antecedents the customer
** has and keeps the best rule per product. Customers are split among threads in contiguous ranges written straight
** into the output (sized for `top` rows a customer) and closed up in order, so the result does not depend on the
** thread count.
** Products: the rules' positions filed under each antecedent item; each source walks its positions best first,
** keeping each new target, until its top targets are settled.
*/
#include "fp_internal.h"

#include <stdlib.h>
#include <string.h>

/* Steps of the best-first merge before a customer falls back to the trie walk. */
#define CONSEQUENT_STEPS 512
/* Up to this many rules with antecedents over at most 64 * SCAN_WORDS items, a customer's rules are found by
   scanning all of them best first. */
#define SCAN_RULES 1024
#define SCAN_WORDS 8
/* Rows of a customer recommendation table: customers * min(top, products) must stay below (FP_ETOOBIG). */
#define MAX_REC_ROWS ((int64_t)1 << 27)

/* ---------------------------------------------------------------- best-first order */

typedef struct score_key {
  uint64_t key; /* the score's bits inverted: ascending = score descending (scores are positive) */
  int64_t q;
} score_key;

typedef struct tie_ctx {
  const fp_rules *r;
} tie_ctx;

/* Within equal scores: confidence desc, support desc, index asc. */
static int cmp_tie(const void *a, const void *b, void *ctx) {
  const fp_rules *r = ((const tie_ctx *)ctx)->r;
  int64_t x = ((const score_key *)a)->q, y = ((const score_key *)b)->q;
  if (r->confidence[x] != r->confidence[y]) return r->confidence[x] > r->confidence[y] ? -1 : 1;
  if (r->support[x] != r->support[y]) return r->support[x] > r->support[y] ? -1 : 1;
  return (x > y) - (x < y);
}

/* score[q] = lift * confidence of rules q < nr, and order[] = the rules best first, the order in which a product's
   rules compete: higher score, then confidence, then support, then lower rule index. An LSD radix sort on the score,
   the runs of equal scores sorted by comparison. */
static fp_status best_order(const fp_rules *r, int64_t nr, double *score, int64_t *order) {
  score_key *k = mc_malloc_huge((size_t)(nr ? nr : 1) * sizeof *k), *t = mc_malloc_huge((size_t)(nr ? nr : 1) * sizeof *t);
  if (!k || !t) {
    free(k);
    free(t);
    return FP_ENOMEM;
  }
  for (int64_t q = 0; q < nr; q++) {
    score[q] = r->lift[q] * r->confidence[q];
    uint64_t bits;
    memcpy(&bits, &score[q], sizeof bits);
    k[q] = (score_key){~bits, q};
  }
  score_key *src = k, *dst = t;
  for (int byte = 0; byte < 8; byte++) {
    int64_t hist[256];
    memset(hist, 0, sizeof hist);
    for (int64_t i = 0; i < nr; i++) hist[(src[i].key >> (8 * byte)) & 255]++;
    int64_t sum = 0, same = 0;
    for (int d = 0; d < 256; d++) {
      same |= hist[d] == nr;
      int64_t c = hist[d];
      hist[d] = sum;
      sum += c;
    }
    if (same) continue;
    for (int64_t i = 0; i < nr; i++) dst[hist[(src[i].key >> (8 * byte)) & 255]++] = src[i];
    score_key *sw = src;
    src = dst;
    dst = sw;
  }
  tie_ctx tc = {r};
  for (int64_t a = 0, e; a < nr; a = e) {
    for (e = a + 1; e < nr && src[e].key == src[a].key;) e++;
    if (e - a > 1) qsort_r(src + a, (size_t)(e - a), sizeof *src, cmp_tie, &tc);
  }
  for (int64_t i = 0; i < nr; i++) order[i] = src[i].q;
  free(k);
  free(t);
  return FP_OK;
}

/* ---------------------------------------------------------------- rule index */

typedef struct rule_index {
  int64_t nr;              /* rules used */
  int32_t *u;              /* compact index -> item, ascending */
  int64_t nu;
  int32_t *dense;          /* item - base -> compact index or -1, when the range is small */
  int64_t base, range;
  int32_t *a_items, *c_items; /* compact, CSR with the rules' offsets */
  int64_t *order;          /* rules used, best first */
  int64_t *coff, *cpos;    /* positions filed under each compact consequent item, ascending */
  /* antecedent trie: node 0 is the empty antecedent; children by first-child / next-sibling, ascending items */
  int32_t *titem, *tkid, *tnext;
  int64_t *troff, *trpos;  /* rules (positions) whose antecedent is node v: trpos[troff[v] .. troff[v+1]) */
  int64_t tn;
  double *score;
  /* scan mode (few rules over few items): antecedents and consequents as bitsets of aw words over the compact
     items, by position */
  uint64_t *amask, *cmask;
  double *pscore; /* by position */
  int aw;
} rule_index;

static int cmp_i32(const void *a, const void *b) {
  int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
  return (x > y) - (x < y);
}

static inline int32_t compact(const rule_index *x, int32_t item) {
  if (x->dense) {
    int64_t d = (int64_t)item - x->base;
    return d >= 0 && d < x->range ? x->dense[d] : -1;
  }
  int64_t lo = 0, hi = x->nu;
  while (lo < hi) {
    int64_t mid = (lo + hi) / 2;
    if (x->u[mid] < item) lo = mid + 1;
    else hi = mid;
  }
  return lo < x->nu && x->u[lo] == item ? (int32_t)lo : -1;
}

static void rindex_free(rule_index *x) {
  free(x->u);
  free(x->dense);
  free(x->a_items);
  free(x->c_items);
  free(x->order);
  free(x->coff);
  free(x->cpos);
  free(x->titem);
  free(x->tkid);
  free(x->tnext);
  free(x->troff);
  free(x->trpos);
  free(x->score);
  free(x->amask);
  free(x->cmask);
  free(x->pscore);
  memset(x, 0, sizeof *x);
}

typedef struct ante_ctx {
  const fp_rules *r;
  const rule_index *x;
} ante_ctx;

/* Positions by antecedent (compact items, lexicographic), then position. */
static int cmp_ante(const void *a, const void *b, void *ctx) {
  const ante_ctx *c = ctx;
  int64_t p = *(const int64_t *)a, q = *(const int64_t *)b, rp = c->x->order[p], rq = c->x->order[q];
  const fp_rules *r = c->r;
  int d = fp_lex_cmp(c->x->a_items + r->a_off[rp], r->a_off[rp + 1] - r->a_off[rp], c->x->a_items + r->a_off[rq],
                     r->a_off[rq + 1] - r->a_off[rq]);
  return d ? d : (p > q) - (p < q);
}

/* The antecedent trie, inserted in lexicographic order (so each node's children come in ascending items). */
static fp_status build_trie(rule_index *x, const fp_rules *r, int64_t nr) {
  int64_t na = r->a_off[nr], maxlen = 1;
  for (int64_t q = 0; q < nr; q++)
    if (r->a_off[q + 1] - r->a_off[q] > maxlen) maxlen = r->a_off[q + 1] - r->a_off[q];
  size_t cap = (size_t)na + 1;
  x->trpos = malloc((size_t)(nr + 1) * sizeof *x->trpos);
  x->titem = malloc(cap * sizeof *x->titem);
  x->tkid = malloc(cap * sizeof *x->tkid);
  x->tnext = malloc(cap * sizeof *x->tnext);
  x->troff = malloc((cap + 1) * sizeof *x->troff);
  int32_t *path = malloc((size_t)(maxlen + 1) * sizeof *path), *last = malloc((size_t)(maxlen + 1) * sizeof *last);
  if (!x->trpos || !x->titem || !x->tkid || !x->tnext || !x->troff || !path || !last) {
    free(path);
    free(last);
    return FP_ENOMEM;
  }
  for (int64_t p = 0; p < nr; p++) x->trpos[p] = p;
  ante_ctx ac = {r, x};
  qsort_r(x->trpos, (size_t)nr, sizeof *x->trpos, cmp_ante, &ac);
  x->titem[0] = -1;
  x->tkid[0] = x->tnext[0] = -1;
  x->troff[0] = 0;
  int64_t tn = 1, plen = 0;
  const int32_t *prev = NULL;
  int64_t prevlen = 0;
  for (int64_t k = 0; k < nr; k++) {
    int64_t q = x->order[x->trpos[k]], len = r->a_off[q + 1] - r->a_off[q];
    const int32_t *a = x->a_items + r->a_off[q];
    if (prev && len == prevlen && memcmp(a, prev, (size_t)len * sizeof *a) == 0) continue; /* same node */
    int64_t d = 0;
    while (d < len && d < prevlen && d < plen && a[d] == prev[d]) d++;
    plen = d;
    for (; d < len; d++) { /* new nodes along the path; a parent's last child is remembered in last[] */
      int32_t parent = d ? path[d - 1] : 0, v = (int32_t)tn++;
      x->titem[v] = a[d];
      x->tkid[v] = x->tnext[v] = -1;
      if (x->tkid[parent] < 0) x->tkid[parent] = v;
      else x->tnext[last[d]] = v;
      last[d] = v;
      if (d + 1 <= maxlen) last[d + 1] = -1;
      path[d] = v;
      plen = d + 1;
    }
    prev = a;
    prevlen = len;
  }
  x->tn = tn;
  /* rules per node: walk the sorted positions again, matching nodes in creation order */
  memset(x->troff, 0, (size_t)(tn + 1) * sizeof *x->troff);
  int64_t v = 0;
  prev = NULL;
  prevlen = 0;
  int64_t *node_of = malloc((size_t)(nr + 1) * sizeof *node_of);
  if (!node_of) {
    free(path);
    free(last);
    return FP_ENOMEM;
  }
  for (int64_t k = 0; k < nr; k++) {
    int64_t q = x->order[x->trpos[k]], len = r->a_off[q + 1] - r->a_off[q];
    const int32_t *a = x->a_items + r->a_off[q];
    if (!prev || len != prevlen || memcmp(a, prev, (size_t)len * sizeof *a) != 0) {
      /* the node of this antecedent: descend from the root */
      v = 0;
      for (int64_t d = 0; d < len; d++) {
        int32_t c = x->tkid[v];
        while (x->titem[c] != a[d]) c = x->tnext[c];
        v = c;
      }
    }
    node_of[k] = v;
    x->troff[v + 1]++;
    prev = a;
    prevlen = len;
  }
  for (int64_t i = 0; i < tn; i++) x->troff[i + 1] += x->troff[i];
  /* positions stay sorted within a node: trpos is sorted by (antecedent, position) */
  int64_t *cursor = malloc((size_t)(tn + 1) * sizeof *cursor), *tmp = malloc((size_t)(nr + 1) * sizeof *tmp);
  if (!cursor || !tmp) {
    free(cursor);
    free(tmp);
    free(node_of);
    free(path);
    free(last);
    return FP_ENOMEM;
  }
  memcpy(cursor, x->troff, (size_t)(tn + 1) * sizeof *cursor);
  for (int64_t k = 0; k < nr; k++) tmp[cursor[node_of[k]]++] = x->trpos[k];
  memcpy(x->trpos, tmp, (size_t)nr * sizeof *tmp);
  free(cursor);
  free(tmp);
  free(node_of);
  free(path);
  free(last);
  return FP_OK;
}

/* The compact items of the first nr rules, their antecedents and consequents in compact items, scores and the
   best-first order. */
static fp_status rindex_items(rule_index *x, const fp_rules *r, int64_t nr) {
  memset(x, 0, sizeof *x);
  x->nr = nr;
  int64_t na = r->a_off[nr], nc = r->c_off[nr];
  x->u = malloc((size_t)(na + nc + 1) * sizeof *x->u);
  x->a_items = malloc((size_t)(na + 1) * sizeof *x->a_items);
  x->c_items = malloc((size_t)(nc + 1) * sizeof *x->c_items);
  x->score = malloc((size_t)(nr + 1) * sizeof *x->score);
  x->order = malloc((size_t)(nr + 1) * sizeof *x->order);
  if (!x->u || !x->a_items || !x->c_items || !x->score || !x->order) return FP_ENOMEM;
  /* the distinct items: marked in a dense table when their range is small, else sorted */
  int32_t lo = INT32_MAX, hi = INT32_MIN;
  for (int64_t i = 0; i < na + nc; i++) {
    int32_t v = i < na ? r->a_items[i] : r->c_items[i - na];
    lo = v < lo ? v : lo;
    hi = v > hi ? v : hi;
  }
  if (na + nc > 0 && (int64_t)hi - lo < (1 << 22)) {
    x->base = lo;
    x->range = (int64_t)hi - lo + 1;
    if (!(x->dense = malloc((size_t)x->range * sizeof *x->dense))) return FP_ENOMEM;
    memset(x->dense, 0xff, (size_t)x->range * sizeof *x->dense);
    for (int64_t i = 0; i < na + nc; i++) x->dense[(i < na ? r->a_items[i] : r->c_items[i - na]) - lo] = 0;
    for (int64_t d = 0; d < x->range; d++)
      if (x->dense[d] == 0) {
        x->dense[d] = (int32_t)x->nu;
        x->u[x->nu++] = (int32_t)(lo + d);
      }
  } else {
    memcpy(x->u, r->a_items, (size_t)na * sizeof *x->u);
    memcpy(x->u + na, r->c_items, (size_t)nc * sizeof *x->u);
    qsort(x->u, (size_t)(na + nc), sizeof *x->u, cmp_i32);
    for (int64_t i = 0; i < na + nc; i++)
      if (x->nu == 0 || x->u[x->nu - 1] != x->u[i]) x->u[x->nu++] = x->u[i];
  }
  for (int64_t i = 0; i < na; i++) x->a_items[i] = compact(x, r->a_items[i]);
  for (int64_t i = 0; i < nc; i++) x->c_items[i] = compact(x, r->c_items[i]);
  return best_order(r, nr, x->score, x->order);
}

/* The bitsets of scan mode, unless the rules or their items are too many for it (*scan = 0). */
static fp_status scan_masks(rule_index *x, const fp_rules *r, int64_t nr, int *scan) {
  *scan = 0;
  x->aw = (int)((x->nu + 63) / 64);
  if (nr > SCAN_RULES || x->aw > SCAN_WORDS) return FP_OK;
  if (x->aw < 1) x->aw = 1;
  size_t words = (size_t)(nr ? nr : 1) * (size_t)x->aw;
  x->amask = calloc(words, sizeof *x->amask);
  x->cmask = calloc(words, sizeof *x->cmask);
  x->pscore = malloc((size_t)(nr ? nr : 1) * sizeof *x->pscore);
  if (!x->amask || !x->cmask || !x->pscore) return FP_ENOMEM;
  for (int64_t p = 0; p < nr; p++) {
    int64_t q = x->order[p];
    x->pscore[p] = x->score[q];
    for (int64_t i = r->a_off[q]; i < r->a_off[q + 1]; i++)
      x->amask[p * x->aw + x->a_items[i] / 64] |= (uint64_t)1 << (x->a_items[i] % 64);
    for (int64_t i = r->c_off[q]; i < r->c_off[q + 1]; i++)
      x->cmask[p * x->aw + x->c_items[i] / 64] |= (uint64_t)1 << (x->c_items[i] % 64);
  }
  *scan = 1;
  return FP_OK;
}

/* rindex_items, plus the masks of scan mode, or for many rules the antecedent trie and the consequent files. */
static fp_status rindex_build(rule_index *x, const fp_rules *r, int64_t nr) {
  fp_status st = rindex_items(x, r, nr);
  int scan = 0;
  if (st == FP_OK) st = scan_masks(x, r, nr, &scan);
  if (st != FP_OK || scan) return st;
  int64_t nc = r->c_off[nr];
  if (build_trie(x, r, nr) != FP_OK) return FP_ENOMEM;
  x->coff = calloc((size_t)x->nu + 1, sizeof *x->coff);
  x->cpos = malloc((size_t)(nc + 1) * sizeof *x->cpos);
  if (!x->coff || !x->cpos) return FP_ENOMEM;
  for (int64_t i = 0; i < nc; i++) x->coff[x->c_items[i] + 1]++;
  for (int64_t i = 0; i < x->nu; i++) x->coff[i + 1] += x->coff[i];
  for (int64_t p = 0; p < nr; p++) {
    int64_t q = x->order[p];
    for (int64_t t = r->c_off[q]; t < r->c_off[q + 1]; t++) x->cpos[x->coff[x->c_items[t]]++] = p;
  }
  for (int64_t i = x->nu; i > 0; i--) x->coff[i] = x->coff[i - 1];
  x->coff[0] = 0;
  return FP_OK;
}

/* ---------------------------------------------------------------- customers */

typedef struct cust_job {
  const fp_rules *r;
  const rule_index *x;
  const fp_lists *owned;
  const fp_rec_opts *o;
  int64_t lo, hi;
  fp_recs *out; /* rows from at = lo * top on */
  int64_t at, n;
  int status;
} cust_job;

static void put_rec(cust_job *j, int64_t row, int32_t rank, int32_t product, int64_t q) {
  fp_recs *o = j->out;
  int64_t i = j->at + j->n++;
  o->row[i] = row;
  o->rank[i] = rank;
  o->product[i] = product;
  o->rule[i] = q;
}

typedef struct cand_ctx {
  const rule_index *x;
  const int64_t *best;
} cand_ctx;

/* Candidates: score desc, then product id asc. */
static int cmp_cand(const void *a, const void *b, void *ctx) {
  const cand_ctx *c = ctx;
  int32_t p = *(const int32_t *)a, q = *(const int32_t *)b;
  double sp = c->x->score[c->x->order[c->best[p]]], sq = c->x->score[c->x->order[c->best[q]]];
  if (sp != sq) return sp > sq ? -1 : 1;
  return (c->x->u[p] > c->x->u[q]) - (c->x->u[p] < c->x->u[q]);
}

/* Sorts the candidates by cmp_cand (an insertion sort when they are few, as usual). */
static void sort_cands(int32_t *cand, int64_t n, const cand_ctx *cc) {
  if (n > 32) {
    qsort_r(cand, (size_t)n, sizeof *cand, cmp_cand, (void *)cc);
    return;
  }
  for (int64_t i = 1; i < n; i++) {
    int32_t v = cand[i];
    int64_t j = i;
    while (j > 0 && cmp_cand(&v, &cand[j - 1], (void *)cc) < 0) {
      cand[j] = cand[j - 1];
      j--;
    }
    cand[j] = v;
  }
}

/* A cursor into one product's consequent file. */
typedef struct cursor {
  int64_t pos, at, end; /* current position in `order`; its index in cpos; the file's end */
  int32_t item;
} cursor;

static void heap_down(cursor *h, int64_t n, int64_t i) {
  for (;;) {
    int64_t l = 2 * i + 1, r = l + 1, m = i;
    if (l < n && h[l].pos < h[m].pos) m = l;
    if (r < n && h[r].pos < h[m].pos) m = r;
    if (m == i) return;
    cursor t = h[i];
    h[i] = h[m];
    h[m] = t;
    i = m;
  }
}

typedef struct scratch {
  int64_t *mark, *bstamp, *best; /* per compact item: owned stamp, candidate stamp, best position */
  int32_t *own, *cand, *tstack;
  int64_t nown; /* own[0 .. nown): the customer's products, compact */
  cursor *heap;
} scratch;

static int owns(const rule_index *x, const fp_rules *r, const int64_t *mark, int64_t stamp, int64_t q) {
  for (int64_t a = r->a_off[q]; a < r->a_off[q + 1]; a++)
    if (mark[x->a_items[a]] != stamp) return 0;
  return 1;
}

/* Best-first merge of the consequent files of the products not owned; returns the number of candidates, or -1 when
   more than `budget` rules were looked at before the top products were settled. */
static int64_t by_consequents(const rule_index *x, const fp_rules *r, scratch *w, int64_t stamp, int64_t top,
                              int64_t budget) {
  int64_t nh = 0, ncand = 0, steps = 0;
  for (int32_t y = 0; y < x->nu; y++)
    if (w->mark[y] != stamp && x->coff[y] < x->coff[y + 1])
      w->heap[nh++] = (cursor){x->cpos[x->coff[y]], x->coff[y], x->coff[y + 1], y};
  for (int64_t i = nh / 2 - 1; i >= 0; i--) heap_down(w->heap, nh, i);
  double settle = 0; /* the score of the top-th candidate, once found */
  while (nh > 0) {
    cursor *h = &w->heap[0];
    int64_t q = x->order[h->pos];
    if (ncand >= top && x->score[q] < settle) break;
    if (++steps > budget) return -1;
    if (owns(x, r, w->mark, stamp, q)) {
      w->best[h->item] = h->pos;
      w->cand[ncand++] = h->item;
      if (ncand == top) settle = x->score[q];
      *h = w->heap[--nh]; /* this product is settled */
    } else if (++h->at < h->end) {
      h->pos = x->cpos[h->at];
    } else {
      *h = w->heap[--nh];
    }
    heap_down(w->heap, nh, 0);
  }
  return ncand;
}

/* All rules best first, each owned antecedent giving its consequents not owned (the first rule of a product is its
   best), until the top products are settled: `top` of them and a rule of a lower score than the top-th's. */
static int64_t by_scan(const rule_index *x, scratch *w, int64_t top) {
  int64_t ncand = 0;
  double settle = 0;
  int aw = x->aw;
  uint64_t own[SCAN_WORDS], taken[SCAN_WORDS]; /* owned; owned or already a candidate */
  memset(own, 0, sizeof own);
  for (int64_t i = 0; i < w->nown; i++) own[w->own[i] / 64] |= (uint64_t)1 << (w->own[i] % 64);
  memcpy(taken, own, sizeof own);
  const uint64_t *am = x->amask, *cm = x->cmask;
  for (int64_t p = 0; p < x->nr; p++, am += aw, cm += aw) {
    if (ncand >= top && x->pscore[p] < settle) break;
    uint64_t miss = 0, avail = 0;
    for (int q = 0; q < aw; q++) {
      miss |= am[q] & ~own[q];
      avail |= cm[q] & ~taken[q];
    }
    if (miss || !avail) continue;
    for (int q = 0; q < aw; q++)
      for (uint64_t y = cm[q] & ~taken[q]; y; y &= y - 1) {
        int32_t c = q * 64 + __builtin_ctzll(y);
        w->best[c] = p;
        w->cand[ncand++] = c;
      }
    for (int q = 0; q < aw; q++) taken[q] |= cm[q];
    if (ncand >= top && settle == 0) settle = x->pscore[p]; /* scores are positive */
  }
  return ncand;
}

/* A depth-first walk of the antecedent trie through owned products: the best (lowest) position per product not
   owned among the rules whose antecedent the customer has. */
static int64_t by_antecedents(const rule_index *x, const fp_rules *r, scratch *w, int64_t stamp) {
  int64_t ncand = 0, sp = 0;
  int32_t *stack = w->tstack;
  stack[sp++] = 0;
  while (sp > 0) {
    int32_t v = stack[--sp];
    for (int64_t k = x->troff[v]; k < x->troff[v + 1]; k++) {
      int64_t p = x->trpos[k], q = x->order[p];
      for (int64_t t = r->c_off[q]; t < r->c_off[q + 1]; t++) {
        int32_t y = x->c_items[t];
        if (w->mark[y] == stamp) continue;
        if (w->bstamp[y] != stamp) {
          w->bstamp[y] = stamp;
          w->best[y] = p;
          w->cand[ncand++] = y;
        } else if (p < w->best[y]) {
          w->best[y] = p;
        }
      }
    }
    for (int32_t c = x->tkid[v]; c >= 0; c = x->tnext[c])
      if (w->mark[x->titem[c]] == stamp) stack[sp++] = c;
  }
  return ncand;
}

static void *recommend_range(void *arg) {
  cust_job *j = arg;
  const rule_index *x = j->x;
  int64_t nu = x->nu ? x->nu : 1;
  scratch w;
  w.mark = calloc((size_t)nu, sizeof *w.mark);
  w.bstamp = calloc((size_t)nu, sizeof *w.bstamp);
  w.best = malloc((size_t)nu * sizeof *w.best);
  w.own = malloc((size_t)nu * sizeof *w.own);
  w.cand = malloc((size_t)nu * sizeof *w.cand);
  w.heap = malloc((size_t)nu * sizeof *w.heap);
  w.tstack = malloc((size_t)(x->tn + 1) * sizeof *w.tstack);
  if (!w.mark || !w.bstamp || !w.best || !w.own || !w.cand || !w.heap || !w.tstack) {
    j->status = FP_ENOMEM;
    goto cleanup;
  }
  cand_ctx cc = {x, w.best};
  for (int64_t c = j->lo; c < j->hi; c++) {
    if (((c - j->lo) & 4095) == 0 && j->o->cancelled && j->o->cancelled()) {
      j->status = FP_ECANCELLED;
      break;
    }
    int64_t stamp = c + 1, nown = 0;
    for (int64_t k = j->owned->offsets[c]; k < j->owned->offsets[c + 1]; k++) {
      int32_t y = compact(x, j->owned->items[k]);
      if (y < 0 || w.mark[y] == stamp) continue;
      w.mark[y] = stamp;
      w.own[nown++] = y;
    }
    int64_t ncand;
    w.nown = nown;
    if (x->amask) {
      ncand = by_scan(x, &w, j->o->top);
    } else {
      ncand = nown > 2 ? by_consequents(x, j->r, &w, stamp, j->o->top, CONSEQUENT_STEPS) : -1;
      if (ncand < 0) ncand = by_antecedents(x, j->r, &w, stamp);
    }
    if (ncand == 0) continue;
    sort_cands(w.cand, ncand, &cc);
    for (int64_t k = 0; k < ncand && k < j->o->top; k++)
      put_rec(j, c, (int32_t)k + 1, x->u[w.cand[k]], x->order[w.best[w.cand[k]]]);
  }
cleanup:
  free(w.mark);
  free(w.bstamp);
  free(w.best);
  free(w.own);
  free(w.cand);
  free(w.heap);
  free(w.tstack);
  return NULL;
}

void fp_recs_free(fp_recs *x) {
  if (!x) return;
  free(x->row);
  free(x->rank);
  free(x->product);
  free(x->rule);
  memset(x, 0, sizeof *x);
}

/* Room for n rows in out (rows past those written are never touched, so an upper bound costs no memory). */
static fp_status recs_alloc(fp_recs *out, int64_t n) {
  size_t nn = (size_t)(n ? n : 1);
  out->row = mc_malloc_huge(nn * sizeof *out->row);
  out->rank = mc_malloc_huge(nn * sizeof *out->rank);
  out->product = mc_malloc_huge(nn * sizeof *out->product);
  out->rule = mc_malloc_huge(nn * sizeof *out->rule);
  return out->row && out->rank && out->product && out->rule ? FP_OK : FP_ENOMEM;
}

/* Moves each job's rows down to follow the previous job's, in place. */
static void gather(cust_job *jobs, int nt, fp_recs *out) {
  for (int t = 0; t < nt; t++) {
    size_t k = (size_t)jobs[t].n, from = (size_t)jobs[t].at, to = (size_t)out->n;
    if (k && from != to) {
      memmove(out->row + to, out->row + from, k * sizeof *out->row);
      memmove(out->rank + to, out->rank + from, k * sizeof *out->rank);
      memmove(out->product + to, out->product + from, k * sizeof *out->product);
      memmove(out->rule + to, out->rule + from, k * sizeof *out->rule);
    }
    out->n += jobs[t].n;
  }
}

fp_status fp_recommend_customers(const fp_rules *r, const fp_lists *owned, const fp_rec_opts *o, fp_recs *out) {
  memset(out, 0, sizeof *out);
  if (o->top < 1 || owned->n < 0) return FP_EINVAL;
  int64_t nr = o->max_rules > 0 && o->max_rules < r->n ? o->max_rules : r->n;
  int nt = o->threads < 1 ? 1 : o->threads > FP_MAX_THREADS ? FP_MAX_THREADS : o->threads;
  if (owned->n < 1024 * (int64_t)nt) nt = 1;
  rule_index x;
  fp_status st = rindex_build(&x, r, nr);
  cust_job jobs[FP_MAX_THREADS];
  memset(jobs, 0, sizeof jobs);
  /* a customer gets at most `top` rows, and at most one per product */
  int64_t per = o->top < x.nu ? o->top : x.nu;
  if (st == FP_OK && per > 0 && owned->n > MAX_REC_ROWS / per) st = FP_ETOOBIG;
  if (st == FP_OK) st = recs_alloc(out, owned->n * per);
  if (st == FP_OK) {
    for (int t = 0; t < nt; t++) {
      jobs[t] = (cust_job){.r = r, .x = &x, .owned = owned, .o = o, .out = out};
      jobs[t].lo = owned->n * t / nt;
      jobs[t].hi = owned->n * (t + 1) / nt;
      jobs[t].at = jobs[t].lo * per;
    }
    mc_parallel(nt, recommend_range, jobs, sizeof *jobs);
    for (int t = 0; t < nt && st == FP_OK; t++) st = (fp_status)jobs[t].status;
  }
  if (st == FP_OK) gather(jobs, nt, out);
  rindex_free(&x);
  if (st != FP_OK) fp_recs_free(out);
  return st;
}

/* ---------------------------------------------------------------- products */

/* A recommendation of a source product: the target and the position (best-first) of its best rule. */
typedef struct target {
  int32_t b;
  int64_t p;
} target;

typedef struct group {
  int32_t a;
  int64_t start, n;
} group;

/* Sources: more recommendations first, then the smaller id. */
static int cmp_group(const void *x, const void *y) {
  const group *g = x, *h = y;
  if (g->n != h->n) return g->n > h->n ? -1 : 1;
  return (g->a > h->a) - (g->a < h->a);
}

/* Rule q's key for products: score, confidence, support, all desc; 0 when equal. */
static int cmp_key(const fp_rules *r, const double *score, int64_t q, int64_t s) {
  if (score[q] != score[s]) return score[q] > score[s] ? -1 : 1;
  if (r->confidence[q] != r->confidence[s]) return r->confidence[q] > r->confidence[s] ? -1 : 1;
  if (r->support[q] != r->support[s]) return r->support[q] > r->support[s] ? -1 : 1;
  return 0;
}

void fp_product_recs_free(fp_product_recs *x) {
  if (!x) return;
  free(x->sources);
  free(x->rec_off);
  free(x->product);
  free(x->score);
  free(x->confidence);
  free(x->lift);
  free(x->support);
  free(x->rule);
  memset(x, 0, sizeof *x);
}

/* For each source a, the rules whose antecedent holds a, best first: each target not seen yet gets its best rule,
   until `top` targets are found and the next rule's key is lower than the top-th's (equal keys are kept, so the
   targets' ids decide among them). */
fp_status fp_recommend_products(const fp_rules *r, const fp_rec_opts *o, fp_product_recs *out) {
  memset(out, 0, sizeof *out);
  if (o->top < 1) return FP_EINVAL;
  int64_t nr = o->max_rules > 0 && o->max_rules < r->n ? o->max_rules : r->n;
  rule_index x;
  fp_status st = rindex_items(&x, r, nr);
  int64_t nu = x.nu, na = nr ? r->a_off[nr] : 0, top = o->top < nu ? o->top : nu, ng = 0, nt = 0;
  int64_t *aoff = NULL, *apos = NULL;
  int32_t *seen = NULL;
  target *tg = NULL;
  group *g = NULL;
  if (st != FP_OK) goto cleanup;
  st = FP_ENOMEM;
  aoff = calloc((size_t)nu + 2, sizeof *aoff);
  apos = malloc((size_t)(na ? na : 1) * sizeof *apos);
  seen = malloc((size_t)(nu ? nu : 1) * sizeof *seen);
  g = malloc((size_t)(nu ? nu : 1) * sizeof *g);
  if (!aoff || !apos || !seen || !g) goto cleanup;
  /* positions best first, filed under each antecedent item */
  for (int64_t i = 0; i < na; i++) aoff[x.a_items[i] + 2]++;
  for (int64_t i = 0; i < nu; i++) aoff[i + 2] += aoff[i + 1];
  for (int64_t p = 0; p < nr; p++) {
    int64_t q = x.order[p];
    for (int64_t i = r->a_off[q]; i < r->a_off[q + 1]; i++) apos[aoff[x.a_items[i] + 1]++] = p;
  }
  /* aoff[a] .. aoff[a+1] now holds a's positions; targets: at most nu per source, fewer in practice */
  int64_t tcap = 0;
  for (int32_t a = 0; a < nu; a++) {
    seen[a] = -1;
    int64_t k = aoff[a + 1] - aoff[a];
    tcap += k < nu ? k : nu;
  }
  tg = malloc((size_t)(tcap ? tcap : 1) * sizeof *tg);
  if (!tg) goto cleanup;
  for (int32_t a = 0; a < nu; a++) {
    int64_t start = nt, kth = -1; /* kth: the rule of the top-th target */
    for (int64_t k = aoff[a]; k < aoff[a + 1]; k++) {
      int64_t p = apos[k], q = x.order[p];
      if (kth >= 0 && cmp_key(r, x.score, q, kth) > 0) break;
      for (int64_t t = r->c_off[q]; t < r->c_off[q + 1]; t++) {
        int32_t b = x.c_items[t];
        if (seen[b] == a) continue;
        seen[b] = a;
        tg[nt++] = (target){b, p};
        if (kth < 0 && nt - start >= top) kth = q;
      }
    }
    if (nt == start) continue;
    /* by key, then target id (insertion sort: entries come by key already) */
    for (int64_t i = start + 1; i < nt; i++) {
      target v = tg[i];
      int64_t j = i;
      while (j > start) {
        int c = cmp_key(r, x.score, x.order[v.p], x.order[tg[j - 1].p]);
        if (c > 0 || (c == 0 && x.u[v.b] > x.u[tg[j - 1].b])) break;
        tg[j] = tg[j - 1];
        j--;
      }
      tg[j] = v;
    }
    g[ng++] = (group){a, start, nt - start < top ? nt - start : top};
  }
  qsort(g, (size_t)ng, sizeof *g, cmp_group);
  int64_t total = 0;
  for (int64_t i = 0; i < ng; i++) total += g[i].n;
  size_t nn = (size_t)(total ? total : 1);
  out->sources = malloc((size_t)(ng ? ng : 1) * sizeof *out->sources);
  out->rec_off = malloc((size_t)(ng + 1) * sizeof *out->rec_off);
  out->product = malloc(nn * sizeof *out->product);
  out->score = malloc(nn * sizeof *out->score);
  out->confidence = malloc(nn * sizeof *out->confidence);
  out->lift = malloc(nn * sizeof *out->lift);
  out->support = malloc(nn * sizeof *out->support);
  out->rule = malloc(nn * sizeof *out->rule);
  if (!out->sources || !out->rec_off || !out->product || !out->score || !out->confidence || !out->lift ||
      !out->support || !out->rule)
    goto cleanup;
  out->rec_off[0] = 0;
  for (int64_t i = 0, k = 0; i < ng; i++) {
    out->sources[i] = x.u[g[i].a];
    for (int64_t j = 0; j < g[i].n; j++, k++) {
      const target *t = &tg[g[i].start + j];
      int64_t q = x.order[t->p];
      out->product[k] = x.u[t->b];
      out->score[k] = x.score[q];
      out->confidence[k] = r->confidence[q];
      out->lift[k] = r->lift[q];
      out->support[k] = r->support[q];
      out->rule[k] = q;
    }
    out->rec_off[i + 1] = out->rec_off[i] + g[i].n;
  }
  out->nsources = ng;
  st = FP_OK;
cleanup:
  free(aoff);
  free(apos);
  free(seen);
  free(tg);
  free(g);
  rindex_free(&x);
  if (st != FP_OK) fp_product_recs_free(out);
  return st;
}
