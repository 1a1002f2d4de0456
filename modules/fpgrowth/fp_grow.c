/*
** fp_grow.c: FP-Growth's recursion over trees kept in depth-first preorder.
**
** The conditional pattern base of a label l is the set of ancestors of l's nodes. Instead of walking up from every
** node (pointer chasing), one sequential preorder sweep keeps the current path on a small stack and copies, for every
** label of a batch at once, the ancestors not copied yet: in preorder an ancestor of node y is an ancestor of the
** previous l-node exactly when its id is smaller, so the new ones are a suffix of the path. A label's copies come out
** in preorder; their counts are summed bottom-up, the copies of conditionally frequent labels are merged through a
** hash on (parent, label) and renumbered into preorder: the conditional tree, mined recursively.
** Batches bound the memory of the copies; the top-level batches are shared among threads, each thread keeping its
** own results.
*/
#include "fp_internal.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

/* Copies per batch: memory is 12 bytes a copy. */
#define BATCH_MAX (4 << 20)
#define BATCH_MIN (1 << 18)
/* Entries of a batch's (label, depth) -> copy table. */
#define CID_MAX (4 << 20)

typedef struct shared {
  fp_cnt minc;
  int max_len;
  int64_t max_itemsets;
  int (*cancelled)(void);
  const fp_tree *t0;
  const int32_t *plan;      /* top-level labels grouped in batches */
  const int64_t *plan_off;  /* batch b is plan[plan_off[b] .. plan_off[b+1]) */
  int64_t nbatches;
  const int64_t *anc0;      /* ancestors per top-level label */
  int32_t maxd0;
  atomic_llong next, emitted;
  atomic_int status;
} shared;

/* Scratch for mining one tree: the ancestor copies of a batch of its labels. */
typedef struct batch {
  fp_node *copy;
  int64_t ccap;
  int64_t *coff, *nc; /* per slot: start in copy, copies made */
  int32_t *labels;    /* slot -> label */
  int32_t scap;
  int32_t *slot, *last; /* per label: slot or -1, last node seen */
  int64_t *anc;         /* per label: number of distinct ancestors */
  int32_t *plan;        /* labels grouped in batches */
  int64_t *plan_off;
  int32_t lcap;
  int32_t *cid; /* slot * maxd + depth -> copy of the path node at that depth */
  int64_t cidcap;
} batch;

/* One recursion depth: the conditional tree of that prefix length and the scratch to mine it. */
typedef struct level {
  fp_tree t;
  int64_t ncap;
  int32_t icap;
  batch b;
} level;

typedef struct kid {
  int32_t node, parent;
} kid;

typedef struct worker {
  shared *S;
  fp_found *out;
  int32_t *prefix;              /* global ranks of the current prefix */
  fp_cnt *cnt;                  /* per label */
  int32_t *newlab, *path, *plab; /* per label / per depth */
  fp_node *merged;              /* a conditional tree before renumbering */
  int32_t *cmap, *coff, *kids;
  kid *stack;
  int64_t mcap;
  int32_t *hash;
  int64_t hcap;
  level **levels;
  int nlevels;
} worker;

static int set_status(shared *S, int st) {
  int expected = FP_OK;
  atomic_compare_exchange_strong(&S->status, &expected, st);
  return st;
}

static int poll_stop(worker *w) {
  shared *S = w->S;
  int st = atomic_load_explicit(&S->status, memory_order_relaxed);
  if (st != FP_OK) return st;
  if (S->cancelled && S->cancelled()) return set_status(S, FP_ECANCELLED);
  return FP_OK;
}

/* Records the itemset prefix[0..len) with its count. */
static int emit(worker *w, int len, fp_cnt count) {
  shared *S = w->S;
  if (S->max_itemsets > 0 && atomic_fetch_add_explicit(&S->emitted, 1, memory_order_relaxed) >= S->max_itemsets)
    return set_status(S, FP_ELIMIT);
  if (fp_found_add(w->out, w->prefix, len, count)) return set_status(S, FP_ENOMEM);
  return FP_OK;
}

/* Emits every non-empty subset (of at most `left` ranks) of a single path after prefix[0..base); a subset's count is
   its deepest node's. */
static int chain_enum(worker *w, const int32_t *ranks, const fp_node *path, int32_t m, int base, int left) {
  for (int32_t j = 0; j < m; j++) {
    w->prefix[base] = ranks[path[j].label];
    int st = emit(w, base + 1, path[j].count);
    if (st) return st;
    if (left > 1 && j + 1 < m && (st = chain_enum(w, ranks, path + j + 1, m - j - 1, base + 1, left - 1)))
      return st;
  }
  return FP_OK;
}

/* ---------------------------------------------------------------- memory */

static int ensure(void **p, int64_t *cap, int64_t n, size_t sz) { return fp_ensure(p, cap, n, sz); }

/* Room in a batch for trees of nitems labels. */
static int batch_labels(batch *b, int32_t nitems) {
  if (nitems <= b->lcap) return 0;
  int32_t c = nitems + nitems / 4 + 8;
  free(b->slot);
  free(b->last);
  free(b->anc);
  free(b->plan);
  free(b->plan_off);
  b->slot = malloc((size_t)c * sizeof *b->slot);
  b->last = malloc((size_t)c * sizeof *b->last);
  b->anc = malloc((size_t)c * sizeof *b->anc);
  b->plan = malloc((size_t)c * sizeof *b->plan);
  b->plan_off = malloc((size_t)(c + 1) * sizeof *b->plan_off);
  b->lcap = b->slot && b->last && b->anc && b->plan && b->plan_off ? c : 0;
  return b->lcap ? 0 : -1;
}

static int batch_slots(batch *b, int32_t nslots) {
  if (nslots <= b->scap) return 0;
  int32_t c = nslots + nslots / 4 + 8;
  free(b->coff);
  free(b->nc);
  free(b->labels);
  b->coff = malloc((size_t)(c + 1) * sizeof *b->coff);
  b->nc = malloc((size_t)c * sizeof *b->nc);
  b->labels = malloc((size_t)c * sizeof *b->labels);
  b->scap = b->coff && b->nc && b->labels ? c : 0;
  return b->scap ? 0 : -1;
}

static void batch_free(batch *b) {
  free(b->copy);
  free(b->coff);
  free(b->nc);
  free(b->labels);
  free(b->slot);
  free(b->last);
  free(b->anc);
  free(b->plan);
  free(b->plan_off);
  free(b->cid);
  memset(b, 0, sizeof *b);
}

static level *get_level(worker *w, int depth) {
  if (depth >= w->nlevels) {
    int n = depth + 8;
    level **lv = realloc(w->levels, (size_t)n * sizeof *lv);
    if (!lv) return NULL;
    memset(lv + w->nlevels, 0, (size_t)(n - w->nlevels) * sizeof *lv);
    w->levels = lv;
    w->nlevels = n;
  }
  if (!w->levels[depth]) w->levels[depth] = calloc(1, sizeof(level));
  return w->levels[depth];
}

/* Room in level L's tree for nnodes nodes and nitems labels. */
static int level_tree(level *L, int64_t nnodes, int32_t nitems) {
  if (ensure((void **)&L->t.node, &L->ncap, nnodes, sizeof *L->t.node)) return -1;
  if (nitems > L->icap) {
    free(L->t.support);
    free(L->t.rank);
    L->t.support = malloc((size_t)nitems * sizeof *L->t.support);
    L->t.rank = malloc((size_t)nitems * sizeof *L->t.rank);
    L->icap = L->t.support && L->t.rank ? nitems : 0;
    if (!L->icap) return -1;
  }
  return 0;
}

/* Room in the merge scratch for nc copies. */
static int grow_merge(worker *w, int64_t nc) {
  int64_t hc = 64;
  while (hc < 2 * nc) hc *= 2;
  if (ensure((void **)&w->hash, &w->hcap, hc, sizeof *w->hash)) return -1;
  if (nc <= w->mcap) return 0;
  int64_t c = nc + nc / 4 + 16;
  free(w->merged);
  free(w->cmap);
  free(w->coff);
  free(w->kids);
  free(w->stack);
  w->merged = malloc((size_t)c * sizeof *w->merged);
  w->cmap = malloc((size_t)c * sizeof *w->cmap);
  w->coff = malloc((size_t)(c + 1) * sizeof *w->coff);
  w->kids = malloc((size_t)c * sizeof *w->kids);
  w->stack = malloc((size_t)c * sizeof *w->stack);
  w->mcap = w->merged && w->cmap && w->coff && w->kids && w->stack ? c : 0;
  return w->mcap ? 0 : -1;
}

/* ---------------------------------------------------------------- sweeps */

/* anc[l] = the number of distinct ancestors (root excluded) of label l's nodes; returns the tree's depth. */
static int32_t count_ancestors(const fp_tree *T, int64_t *anc, int32_t *last, int32_t *path) {
  const fp_node *node = T->node;
  memset(anc, 0, (size_t)T->nitems * sizeof *anc);
  memset(last, 0, (size_t)T->nitems * sizeof *last);
  int32_t plen = 0, maxd = 0;
  for (int32_t y = 1; y < T->nnodes; y++) {
    int32_t p = node[y].parent, l = node[y].label;
    while (plen > 0 && path[plen - 1] != p) plen--;
    int32_t d = plen;
    while (d > 0 && path[d - 1] > last[l]) d--;
    anc[l] += plen - d;
    last[l] = y;
    path[plen++] = y;
    if (plen > maxd) maxd = plen;
  }
  return maxd;
}

/* One preorder sweep copying the ancestors of the nodes of every label of the batch (slot[l] >= 0); slot s's copies
   are copy[coff[s] .. coff[s] + nc[s]), copy 0 standing for the root, parents before children, and each copy's
   count the total count of the label's nodes right below it. */
static void sweep_copies(worker *w, const fp_tree *T, batch *b, int32_t nslots, int32_t maxd) {
  const fp_node *node = T->node;
  int32_t *path = w->path, *plab = w->plab, *cid = b->cid;
  for (int32_t s = 0; s < nslots; s++) {
    fp_node *C = b->copy + b->coff[s];
    C[0].parent = 0;
    C[0].label = -1;
    C[0].count = 0;
    b->nc[s] = 1;
    b->last[b->labels[s]] = 0;
  }
  int32_t plen = 0;
  for (int32_t y = 1; y < T->nnodes; y++) {
    int32_t p = node[y].parent, l = node[y].label, s = b->slot[l];
    while (plen > 0 && path[plen - 1] != p) plen--;
    if (s >= 0) {
      fp_node *C = b->copy + b->coff[s];
      int32_t *cd = cid + (int64_t)s * maxd, last = b->last[l], d = plen;
      int64_t nc = b->nc[s];
      while (d > 0 && path[d - 1] > last) d--;
      for (; d < plen; d++) {
        C[nc].parent = d ? cd[d - 1] : 0;
        C[nc].label = plab[d];
        C[nc].count = 0;
        cd[d] = (int32_t)nc++;
      }
      C[plen ? cd[plen - 1] : 0].count += node[y].count;
      b->nc[s] = nc;
      b->last[l] = y;
    }
    path[plen] = y;
    plab[plen++] = l;
  }
}

/* Groups the labels of T into batches of at most `budget` copies (and CID_MAX table entries), the labels with the
   most ancestors first; returns the number of batches. */
static int64_t plan_batches(const int64_t *anc, int32_t nitems, int32_t maxd, int64_t budget, int32_t *plan,
                            int64_t *plan_off) {
  int32_t n = 0;
  for (int32_t l = 0; l < nitems; l++)
    if (anc[l] > 0) plan[n++] = l;
  for (int32_t i = 1; i < n; i++) { /* insertion sort by anc desc, label asc (few labels, mostly sorted) */
    int32_t x = plan[i], j = i;
    while (j > 0 && (anc[plan[j - 1]] < anc[x] || (anc[plan[j - 1]] == anc[x] && plan[j - 1] > x))) {
      plan[j] = plan[j - 1];
      j--;
    }
    plan[j] = x;
  }
  int64_t nb = 0, size = 0, nl = 0;
  plan_off[0] = 0;
  for (int32_t i = 0; i < n; i++) {
    int64_t need = anc[plan[i]] + 1;
    if (nl > 0 && (size + need > budget || (nl + 1) * (int64_t)maxd > CID_MAX)) {
      plan_off[++nb] = i;
      size = nl = 0;
    }
    size += need;
    nl++;
  }
  if (nl > 0) plan_off[++nb] = n;
  return nb;
}

/* Lays out batch labels plan[0..n) in b and sweeps T. */
static int fill_batch(worker *w, const fp_tree *T, batch *b, const int32_t *labels, int32_t n, const int64_t *anc,
                      int32_t maxd) {
  if (batch_slots(b, n) || batch_labels(b, T->nitems)) return -1;
  int64_t total = 0;
  for (int32_t l = 0; l < T->nitems; l++) b->slot[l] = -1;
  for (int32_t s = 0; s < n; s++) {
    b->labels[s] = labels[s];
    b->slot[labels[s]] = s;
    b->coff[s] = total;
    total += anc[labels[s]] + 1;
  }
  b->coff[n] = total;
  if (ensure((void **)&b->copy, &b->ccap, total, sizeof *b->copy) ||
      ensure((void **)&b->cid, &b->cidcap, (int64_t)n * maxd + 1, sizeof *b->cid))
    return -1;
  sweep_copies(w, T, b, n, maxd);
  return 0;
}

/* ---------------------------------------------------------------- conditional trees */

static inline uint64_t hash_pl(int32_t p, int32_t l) {
  uint64_t h = ((uint64_t)(uint32_t)p << 32 | (uint32_t)l) * 0x9E3779B97F4A7C15ull;
  return h ^ (h >> 29);
}

/* Merges the copies of frequent labels (newlab >= 0) into w->merged (parents before children); returns its size. */
static int32_t merge_copies(worker *w, const fp_node *C, int64_t nc) {
  uint64_t mask = 64;
  while ((int64_t)mask < 2 * nc) mask *= 2;
  mask--;
  memset(w->hash, 0xff, (size_t)(mask + 1) * sizeof *w->hash);
  fp_node *M = w->merged;
  int32_t nn = 1, *cmap = w->cmap, *hash = w->hash;
  M[0] = C[0];
  cmap[0] = 0;
  for (int64_t c = 1; c < nc; c++) {
    int32_t nl = w->newlab[C[c].label], p = cmap[C[c].parent];
    if (nl < 0) {
      cmap[c] = p;
      continue;
    }
    uint64_t h = hash_pl(p, nl) & mask;
    int32_t y;
    while ((y = hash[h]) >= 0 && !(M[y].parent == p && M[y].label == nl)) h = (h + 1) & mask;
    if (y < 0) {
      y = nn++;
      hash[h] = y;
      M[y].parent = p;
      M[y].label = nl;
      M[y].count = 0;
    }
    M[y].count += C[c].count;
    cmap[c] = y;
  }
  return nn;
}

/* Writes w->merged[0..nn) into U in depth-first preorder. */
static void renumber(worker *w, int32_t nn, fp_tree *U) {
  const fp_node *M = w->merged;
  int32_t *coff = w->coff, *kids = w->kids;
  kid *stack = w->stack;
  memset(coff, 0, (size_t)(nn + 1) * sizeof *coff);
  for (int32_t y = 1; y < nn; y++) coff[M[y].parent + 1]++;
  for (int32_t y = 0; y < nn; y++) coff[y + 1] += coff[y];
  for (int32_t y = 1; y < nn; y++) kids[coff[M[y].parent]++] = y; /* coff[p] moves to p's end */
  for (int32_t y = nn; y > 0; y--) coff[y] = coff[y - 1];
  coff[0] = 0;
  U->node[0] = M[0];
  int32_t next = 1, sp = 0;
  for (int32_t j = coff[1] - 1; j >= 0; j--) stack[sp++] = (kid){kids[j], 0};
  while (sp > 0) {
    kid k = stack[--sp];
    int32_t z = next++;
    U->node[z].parent = k.parent;
    U->node[z].label = M[k.node].label;
    U->node[z].count = M[k.node].count;
    for (int32_t j = coff[k.node + 1] - 1; j >= coff[k.node]; j--) stack[sp++] = (kid){kids[j], z};
  }
  U->nnodes = nn;
}

static int mine_tree(worker *w, const fp_tree *T, int depth);

/* Emits prefix+{l} (l = batch slot s's label) and every frequent extension of it, from l's ancestor copies. */
static int mine_label(worker *w, const fp_tree *T, batch *b, int32_t s, int depth) {
  shared *S = w->S;
  int32_t l = b->labels[s];
  w->prefix[depth] = T->rank[l];
  int st = emit(w, depth + 1, T->support[l]);
  if (st || (S->max_len && depth + 1 >= S->max_len) || b->nc[s] <= 1) return st;
  fp_node *C = b->copy + b->coff[s];
  int64_t nc = b->nc[s];
  fp_cnt *cnt = w->cnt;
  memset(cnt, 0, (size_t)l * sizeof *cnt);
  for (int64_t c = nc - 1; c > 0; c--) {
    C[C[c].parent].count += C[c].count;
    cnt[C[c].label] += C[c].count;
  }
  int32_t nf = 0;
  for (int32_t j = 0; j < l; j++) w->newlab[j] = cnt[j] >= S->minc ? nf++ : -1;
  if (nf == 0) return FP_OK;
  if (nf == 1 || (S->max_len && depth + 2 >= S->max_len)) {
    for (int32_t j = 0; j < l; j++) {
      if (w->newlab[j] < 0) continue;
      w->prefix[depth + 1] = T->rank[j];
      if ((st = emit(w, depth + 2, cnt[j])) != FP_OK) return st;
    }
    return FP_OK;
  }
  level *L = get_level(w, depth + 1);
  if (!L || level_tree(L, nc, nf) || grow_merge(w, nc)) return set_status(S, FP_ENOMEM);
  fp_tree *U = &L->t;
  U->nitems = nf;
  for (int32_t j = 0; j < l; j++) {
    if (w->newlab[j] < 0) continue;
    U->rank[w->newlab[j]] = T->rank[j];
    U->support[w->newlab[j]] = cnt[j];
  }
  int32_t nn = merge_copies(w, C, nc);
  int chain = nn - 1 == nf;
  for (int32_t y = 2; chain && y < nn; y++) chain = w->merged[y].parent == y - 1;
  if (chain) /* one path: node y has label y-1 */
    return chain_enum(w, U->rank, w->merged + 1, nf, depth + 1, S->max_len ? S->max_len - depth - 1 : nf);
  renumber(w, nn, U);
  return mine_tree(w, U, depth + 1);
}

/* Mines the labels of batch plan[0..n) of T (depth = the prefix length of T). */
static int mine_batch(worker *w, const fp_tree *T, batch *b, const int32_t *plan, int32_t n, const int64_t *anc,
                      int32_t maxd, int depth) {
  if (fill_batch(w, T, b, plan, n, anc, maxd)) return set_status(w->S, FP_ENOMEM);
  for (int32_t s = 0; s < n; s++) {
    int st = poll_stop(w);
    if (st == FP_OK) st = mine_label(w, T, b, s, depth);
    if (st) return st;
  }
  return FP_OK;
}

/* Mines every label of T (labels without ancestors only emit themselves). */
static int mine_tree(worker *w, const fp_tree *T, int depth) {
  level *L = get_level(w, depth);
  if (!L || batch_labels(&L->b, T->nitems)) return set_status(w->S, FP_ENOMEM);
  batch *b = &L->b;
  int32_t maxd = count_ancestors(T, b->anc, b->last, w->path);
  for (int32_t l = 0; l < T->nitems; l++) /* labels with no ancestor: nothing to copy */
    if (b->anc[l] == 0) {
      w->prefix[depth] = T->rank[l];
      int st = emit(w, depth + 1, T->support[l]);
      if (st) return st;
    }
  int64_t total = 0;
  for (int32_t l = 0; l < T->nitems; l++) total += b->anc[l] + 1;
  int64_t nb = plan_batches(b->anc, T->nitems, maxd, total < BATCH_MAX ? total : BATCH_MAX, b->plan, b->plan_off);
  for (int64_t i = 0; i < nb; i++) {
    /* the plan lives in b and fill_batch keeps it: copy the range bounds first */
    int64_t lo = b->plan_off[i], hi = b->plan_off[i + 1];
    int st = mine_batch(w, T, b, b->plan + lo, (int32_t)(hi - lo), b->anc, maxd, depth);
    if (st) return st;
  }
  return FP_OK;
}

/* Thread body: takes top-level batches until none is left. */
static void *work(void *arg) {
  worker *w = arg;
  shared *S = w->S;
  level *L = get_level(w, 0);
  if (!L) {
    set_status(S, FP_ENOMEM);
    return NULL;
  }
  for (;;) {
    int64_t j = atomic_fetch_add(&S->next, 1);
    if (j >= S->nbatches) break;
    int64_t lo = S->plan_off[j], hi = S->plan_off[j + 1];
    int st = poll_stop(w);
    if (st == FP_OK) st = mine_batch(w, S->t0, &L->b, S->plan + lo, (int32_t)(hi - lo), S->anc0, S->maxd0, 0);
    if (st) break;
  }
  return NULL;
}

static int worker_init(worker *w, shared *S, fp_found *out, int32_t k) {
  memset(w, 0, sizeof *w);
  w->S = S;
  w->out = out;
  size_t kk = (size_t)k + 2;
  w->prefix = malloc(kk * sizeof *w->prefix);
  w->cnt = malloc(kk * sizeof *w->cnt);
  w->newlab = malloc(kk * sizeof *w->newlab);
  w->path = malloc(kk * sizeof *w->path);
  w->plab = malloc(kk * sizeof *w->plab);
  return w->prefix && w->cnt && w->newlab && w->path && w->plab ? FP_OK : FP_ENOMEM;
}

static void worker_free(worker *w) {
  free(w->prefix);
  free(w->cnt);
  free(w->newlab);
  free(w->path);
  free(w->plab);
  free(w->merged);
  free(w->cmap);
  free(w->coff);
  free(w->kids);
  free(w->stack);
  free(w->hash);
  for (int d = 0; d < w->nlevels; d++) {
    if (!w->levels[d]) continue;
    fp_tree_free(&w->levels[d]->t);
    batch_free(&w->levels[d]->b);
    free(w->levels[d]);
  }
  free(w->levels);
}

void fp_found_free(fp_found *f) {
  free(f->ranks);
  free(f->lens);
  free(f->counts);
  memset(f, 0, sizeof *f);
}

fp_status fp_grow(const fp_tree *t0, const fp_mine_opts *o, int nt, fp_found *found) {
  int32_t k = t0->nitems;
  worker *ws = calloc((size_t)nt, sizeof *ws);
  int64_t *anc = malloc((size_t)(k + 1) * sizeof *anc), *plan_off = malloc((size_t)(k + 2) * sizeof *plan_off);
  int32_t *last = malloc((size_t)(k + 1) * sizeof *last), *path = malloc((size_t)(k + 2) * sizeof *path);
  int32_t *plan = malloc((size_t)(k + 1) * sizeof *plan);
  shared S = {.minc = (fp_cnt)o->min_count, .max_len = o->max_len, .max_itemsets = o->max_itemsets,
              .cancelled = o->cancelled, .t0 = t0, .plan = plan, .plan_off = plan_off, .anc0 = anc};
  atomic_init(&S.next, 0);
  atomic_init(&S.emitted, 0);
  atomic_init(&S.status, FP_OK);
  fp_status st = ws && anc && plan_off && last && path && plan ? FP_OK : FP_ENOMEM;
  for (int t = 0; st == FP_OK && t < nt; t++) st = worker_init(&ws[t], &S, &found[t], k);
  if (st == FP_OK) {
    S.maxd0 = count_ancestors(t0, anc, last, path);
    /* labels without ancestors are emitted here; the rest in batches, several per thread */
    for (int32_t l = 0; st == FP_OK && l < k; l++)
      if (anc[l] == 0) {
        ws[0].prefix[0] = t0->rank[l];
        st = emit(&ws[0], 1, t0->support[l]);
      }
    int64_t total = 0;
    for (int32_t l = 0; l < k; l++) total += anc[l] + 1;
    int64_t budget = total / (4 * nt) + 1;
    budget = budget < BATCH_MIN ? BATCH_MIN : budget > BATCH_MAX ? BATCH_MAX : budget;
    S.nbatches = plan_batches(anc, k, S.maxd0, budget, plan, plan_off);
    if (st == FP_OK) mc_parallel(nt, work, ws, sizeof *ws);
    if (st == FP_OK) st = (fp_status)atomic_load(&S.status);
  }
  for (int t = 0; ws && t < nt; t++) worker_free(&ws[t]);
  free(ws);
  free(anc);
  free(plan_off);
  free(last);
  free(path);
  free(plan);
  return st;
}
