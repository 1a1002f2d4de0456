/*
** fp_recommend.c: recommendations from association rules (see fpgrowth.h).
** Customers: the items of the rules used get compact indices and the rules a "best first" position (score =
** lift * confidence desc, confidence desc, support desc, index asc), so a product's best rule is its matching rule of
** lowest position. The rules are filed under each consequent item, and their antecedents form a trie.
** A customer first merges, best first (a heap), the consequent files of the products it does not own, checking
** antecedents against a stamped "owned" array: the first match of a product is its best rule, and the merge stops
** once the top products are settled. When that does not settle within a few steps (customers who own the usual
** consequents), a depth-first walk of the trie restricted to owned products visits exactly the antecedents the
** customer has and keeps the best rule per product. Customers are split among threads in contiguous ranges and the
** per-thread rows concatenated in order, so the result does not depend on the thread count.
*/
#include "fp_internal.h"

#include <stdlib.h>
#include <string.h>

/* Steps of the best-first merge before a customer falls back to the trie walk. */
#define CONSEQUENT_STEPS 512

/* Strictly better rule for a product: higher score, then confidence, then support, then lower rule index. */
static int better(const fp_rules *r, const double *score, int64_t a, int64_t b) {
  if (score[a] != score[b]) return score[a] > score[b];
  if (r->confidence[a] != r->confidence[b]) return r->confidence[a] > r->confidence[b];
  if (r->support[a] != r->support[b]) return r->support[a] > r->support[b];
  return a < b;
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
} rule_index;

typedef struct order_ctx {
  const fp_rules *r;
  const double *score;
} order_ctx;

static int cmp_best(const void *a, const void *b, void *ctx) {
  const order_ctx *c = ctx;
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  if (x == y) return 0;
  return better(c->r, c->score, x, y) ? -1 : 1;
}

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

static fp_status rindex_build(rule_index *x, const fp_rules *r, int64_t nr) {
  memset(x, 0, sizeof *x);
  x->nr = nr;
  int64_t na = r->a_off[nr], nc = r->c_off[nr];
  x->u = malloc((size_t)(na + nc + 1) * sizeof *x->u);
  x->a_items = malloc((size_t)(na + 1) * sizeof *x->a_items);
  x->c_items = malloc((size_t)(nc + 1) * sizeof *x->c_items);
  x->score = malloc((size_t)(nr + 1) * sizeof *x->score);
  x->order = malloc((size_t)(nr + 1) * sizeof *x->order);
  if (!x->u || !x->a_items || !x->c_items || !x->score || !x->order) return FP_ENOMEM;
  memcpy(x->u, r->a_items, (size_t)na * sizeof *x->u);
  memcpy(x->u + na, r->c_items, (size_t)nc * sizeof *x->u);
  qsort(x->u, (size_t)(na + nc), sizeof *x->u, cmp_i32);
  for (int64_t i = 0; i < na + nc; i++)
    if (x->nu == 0 || x->u[x->nu - 1] != x->u[i]) x->u[x->nu++] = x->u[i];
  if (x->nu > 0 && (int64_t)x->u[x->nu - 1] - x->u[0] < (1 << 22)) {
    x->base = x->u[0];
    x->range = (int64_t)x->u[x->nu - 1] - x->u[0] + 1;
    if (!(x->dense = malloc((size_t)x->range * sizeof *x->dense))) return FP_ENOMEM;
    memset(x->dense, 0xff, (size_t)x->range * sizeof *x->dense);
    for (int64_t i = 0; i < x->nu; i++) x->dense[x->u[i] - x->base] = (int32_t)i;
  }
  for (int64_t i = 0; i < na; i++) x->a_items[i] = compact(x, r->a_items[i]);
  for (int64_t i = 0; i < nc; i++) x->c_items[i] = compact(x, r->c_items[i]);
  for (int64_t q = 0; q < nr; q++) {
    x->score[q] = r->lift[q] * r->confidence[q];
    x->order[q] = q;
  }
  order_ctx oc = {r, x->score};
  qsort_r(x->order, (size_t)nr, sizeof *x->order, cmp_best, &oc);
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
  fp_recs out;
  int64_t cap;
  int status;
} cust_job;

static int push_rec(cust_job *j, int64_t row, int32_t rank, int32_t product, int64_t q) {
  fp_recs *o = &j->out;
  if (o->n == j->cap) {
    int64_t cap = j->cap ? j->cap * 2 : 4096;
#define REALLOC_FIELD(p)                                  \
  do {                                                    \
    void *t = realloc((p), (size_t)cap * sizeof *(p));    \
    if (!t) return -1;                                    \
    (p) = t;                                              \
  } while (0)
    REALLOC_FIELD(o->row);
    REALLOC_FIELD(o->rank);
    REALLOC_FIELD(o->product);
    REALLOC_FIELD(o->score);
    REALLOC_FIELD(o->confidence);
    REALLOC_FIELD(o->lift);
    REALLOC_FIELD(o->support);
    REALLOC_FIELD(o->rule);
#undef REALLOC_FIELD
    j->cap = cap;
  }
  int64_t i = o->n++;
  o->row[i] = row;
  o->rank[i] = rank;
  o->product[i] = product;
  o->score[i] = j->x->score[q];
  o->confidence[i] = j->r->confidence[q];
  o->lift[i] = j->r->lift[q];
  o->support[i] = j->r->support[q];
  o->rule[i] = q;
  return 0;
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
    int64_t ncand = nown > 2 ? by_consequents(x, j->r, &w, stamp, j->o->top, CONSEQUENT_STEPS) : -1;
    if (ncand < 0) ncand = by_antecedents(x, j->r, &w, stamp);
    if (ncand == 0) continue;
    qsort_r(w.cand, (size_t)ncand, sizeof *w.cand, cmp_cand, &cc);
    for (int64_t k = 0; k < ncand && k < j->o->top; k++)
      if (push_rec(j, c, (int32_t)k + 1, x->u[w.cand[k]], x->order[w.best[w.cand[k]]])) {
        j->status = FP_ENOMEM;
        goto cleanup;
      }
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
  free(x->score);
  free(x->confidence);
  free(x->lift);
  free(x->support);
  free(x->rule);
  memset(x, 0, sizeof *x);
}

/* Concatenates the jobs' rows in job order. */
static fp_status gather(cust_job *jobs, int nt, fp_recs *out) {
  int64_t n = 0;
  for (int t = 0; t < nt; t++) n += jobs[t].out.n;
  size_t nn = (size_t)(n ? n : 1);
  out->row = malloc(nn * sizeof *out->row);
  out->rank = malloc(nn * sizeof *out->rank);
  out->product = malloc(nn * sizeof *out->product);
  out->score = malloc(nn * sizeof *out->score);
  out->confidence = malloc(nn * sizeof *out->confidence);
  out->lift = malloc(nn * sizeof *out->lift);
  out->support = malloc(nn * sizeof *out->support);
  out->rule = malloc(nn * sizeof *out->rule);
  if (!out->row || !out->rank || !out->product || !out->score || !out->confidence || !out->lift ||
      !out->support || !out->rule)
    return FP_ENOMEM;
  for (int t = 0; t < nt; t++) {
    const fp_recs *s = &jobs[t].out;
    size_t k = (size_t)s->n, at = (size_t)out->n;
    if (!k) continue;
    memcpy(out->row + at, s->row, k * sizeof *s->row);
    memcpy(out->rank + at, s->rank, k * sizeof *s->rank);
    memcpy(out->product + at, s->product, k * sizeof *s->product);
    memcpy(out->score + at, s->score, k * sizeof *s->score);
    memcpy(out->confidence + at, s->confidence, k * sizeof *s->confidence);
    memcpy(out->lift + at, s->lift, k * sizeof *s->lift);
    memcpy(out->support + at, s->support, k * sizeof *s->support);
    memcpy(out->rule + at, s->rule, k * sizeof *s->rule);
    out->n += s->n;
  }
  return FP_OK;
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
  if (st == FP_OK) {
    for (int t = 0; t < nt; t++) {
      jobs[t] = (cust_job){.r = r, .x = &x, .owned = owned, .o = o};
      jobs[t].lo = owned->n * t / nt;
      jobs[t].hi = owned->n * (t + 1) / nt;
    }
    fp_parallel(nt, recommend_range, jobs, sizeof *jobs);
    for (int t = 0; t < nt && st == FP_OK; t++) st = (fp_status)jobs[t].status;
  }
  if (st == FP_OK) st = gather(jobs, nt, out);
  for (int t = 0; t < nt; t++) fp_recs_free(&jobs[t].out);
  rindex_free(&x);
  if (st != FP_OK) fp_recs_free(out);
  return st;
}

/* ---------------------------------------------------------------- products */

typedef struct pair {
  int32_t a, b;
  int64_t rule;
} pair;

typedef struct pair_ctx {
  const fp_rules *r;
  const double *score;
} pair_ctx;

/* By source, then by target, then the best rule first. */
static int cmp_pair(const void *x, const void *y, void *ctx) {
  const pair *p = x, *q = y;
  const pair_ctx *c = ctx;
  if (p->a != q->a) return p->a < q->a ? -1 : 1;
  if (p->b != q->b) return p->b < q->b ? -1 : 1;
  if (p->rule == q->rule) return 0;
  return better(c->r, c->score, p->rule, q->rule) ? -1 : 1;
}

/* Within a source: the best rule first (score, confidence, support), then the target id. */
static int cmp_target(const void *x, const void *y, void *ctx) {
  const pair *p = x, *q = y;
  const pair_ctx *c = ctx;
  double sp = c->score[p->rule], sq = c->score[q->rule];
  if (sp != sq) return sp > sq ? -1 : 1;
  if (c->r->confidence[p->rule] != c->r->confidence[q->rule])
    return c->r->confidence[p->rule] > c->r->confidence[q->rule] ? -1 : 1;
  if (c->r->support[p->rule] != c->r->support[q->rule])
    return c->r->support[p->rule] > c->r->support[q->rule] ? -1 : 1;
  return (p->b > q->b) - (p->b < q->b);
}

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

fp_status fp_recommend_products(const fp_rules *r, const fp_rec_opts *o, fp_product_recs *out) {
  memset(out, 0, sizeof *out);
  if (o->top < 1) return FP_EINVAL;
  int64_t nr = o->max_rules > 0 && o->max_rules < r->n ? o->max_rules : r->n, np = 0, ng = 0;
  for (int64_t q = 0; q < nr; q++) np += (r->a_off[q + 1] - r->a_off[q]) * (r->c_off[q + 1] - r->c_off[q]);
  fp_status st = FP_ENOMEM;
  pair *p = malloc((size_t)(np ? np : 1) * sizeof *p);
  double *score = malloc((size_t)(nr ? nr : 1) * sizeof *score);
  group *g = malloc((size_t)(np ? np : 1) * sizeof *g);
  if (!p || !score || !g) goto cleanup;
  np = 0;
  for (int64_t q = 0; q < nr; q++) {
    score[q] = r->lift[q] * r->confidence[q];
    for (int64_t i = r->a_off[q]; i < r->a_off[q + 1]; i++)
      for (int64_t j = r->c_off[q]; j < r->c_off[q + 1]; j++) p[np++] = (pair){r->a_items[i], r->c_items[j], q};
  }
  pair_ctx pc = {r, score};
  qsort_r(p, (size_t)np, sizeof *p, cmp_pair, &pc);
  int64_t m = 0; /* the best rule per (a, b) */
  for (int64_t i = 0; i < np; i++)
    if (m == 0 || p[m - 1].a != p[i].a || p[m - 1].b != p[i].b) p[m++] = p[i];
  for (int64_t i = 0; i < m;) {
    int64_t e = i;
    while (e < m && p[e].a == p[i].a) e++;
    qsort_r(p + i, (size_t)(e - i), sizeof *p, cmp_target, &pc);
    g[ng++] = (group){p[i].a, i, e - i < o->top ? e - i : o->top};
    i = e;
  }
  qsort(g, (size_t)ng, sizeof *g, cmp_group);
  int64_t total = 0;
  for (int64_t i = 0; i < ng; i++) total += g[i].n;
  size_t nt = (size_t)(total ? total : 1);
  out->sources = malloc((size_t)(ng ? ng : 1) * sizeof *out->sources);
  out->rec_off = malloc((size_t)(ng + 1) * sizeof *out->rec_off);
  out->product = malloc(nt * sizeof *out->product);
  out->score = malloc(nt * sizeof *out->score);
  out->confidence = malloc(nt * sizeof *out->confidence);
  out->lift = malloc(nt * sizeof *out->lift);
  out->support = malloc(nt * sizeof *out->support);
  out->rule = malloc(nt * sizeof *out->rule);
  if (!out->sources || !out->rec_off || !out->product || !out->score || !out->confidence || !out->lift ||
      !out->support || !out->rule)
    goto cleanup;
  out->rec_off[0] = 0;
  for (int64_t i = 0, k = 0; i < ng; i++) {
    out->sources[i] = g[i].a;
    for (int64_t j = 0; j < g[i].n; j++, k++) {
      int64_t q = p[g[i].start + j].rule;
      out->product[k] = p[g[i].start + j].b;
      out->score[k] = score[q];
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
  free(p);
  free(score);
  free(g);
  if (st != FP_OK) fp_product_recs_free(out);
  return st;
}
