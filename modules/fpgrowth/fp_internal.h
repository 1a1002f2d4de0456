/*
** fp_internal.h: types and helpers shared by the fpgrowth core files (not part of the module's API).
*/
#ifndef MERCADO_FP_INTERNAL_H
#define MERCADO_FP_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "fpgrowth.h"
#include "hugepages.h"
#include "parallel.h"

#define FP_MAX_THREADS 64

/* Node counts: at most the number of baskets, which fp_mine bounds by UINT32_MAX. */
typedef uint32_t fp_cnt;

typedef struct fp_node {
  int32_t parent, label;
  fp_cnt count;
} fp_node;

/* An FP-tree in depth-first preorder: node 0 is the root, a subtree is a contiguous id range, a parent has a smaller
   id and a smaller label than its children. */
typedef struct fp_tree {
  int32_t nitems, nnodes;
  fp_node *node;
  fp_cnt *support; /* per label: the sum of its nodes' counts */
  int32_t *rank;   /* label -> global rank */
} fp_tree;

/* The items of a basket column: a dictionary of their ids, and the ranks of the frequent ones (0 = the most
   frequent, ties by item id). */
typedef struct fp_ranking {
  int dense;         /* dictionary: index = item - base when dense, else a hash */
  int64_t base, m;   /* m = number of dictionary indices */
  int32_t *keys, *vals, *item_of;
  uint64_t mask;
  int32_t k;         /* frequent items */
  int32_t *rank_of;  /* dictionary index -> rank, or -1 when not frequent */
  int32_t *rank_item; /* rank -> item id */
  fp_cnt *support;   /* rank -> number of baskets holding the item */
  int64_t maxraw;    /* the longest basket, duplicates included */
} fp_ranking;

/* Counts the items of b (once per basket) on nt threads and ranks those of count >= min_count. FP_OK, FP_ENOMEM or
   FP_ETOOBIG; *rk is zeroed on failure. */
fp_status fp_rank_items(const fp_lists *b, int64_t min_count, int nt, fp_ranking *rk);
void fp_ranking_free(fp_ranking *rk);
int64_t fp_items_index_slow(const fp_ranking *rk, int32_t item);

/* The dictionary index of an item of the column. */
static inline int64_t fp_items_index(const fp_ranking *rk, int32_t item) {
  return rk->dense ? (int64_t)item - rk->base : fp_items_index_slow(rk, item);
}

/* The rank of an item of the column, or -1 when it is not frequent. */
static inline int32_t fp_items_rank(const fp_ranking *rk, int32_t item) {
  return rk->rank_of[fp_items_index(rk, item)];
}

/* Basket b's distinct frequent ranks, ascending, into buf (room for the basket's length); returns how many. */
int64_t fp_items_decode(const fp_lists *b, const fp_ranking *rk, int64_t basket, int32_t *buf);

void fp_tree_free(fp_tree *t);

/* The global FP-tree of a basket column: labels are global ranks. Items that are not frequent are dropped; a
   basket's duplicates count once. */
fp_status fp_tree_build(const fp_lists *b, const fp_ranking *rk, int threads, int (*cancelled)(void), fp_tree *t);

/* Per-thread results of the growth phase: itemsets as global ranks (unsorted inside an itemset). */
typedef struct fp_found {
  int32_t *ranks;
  int64_t nranks, rcap;
  int32_t *lens;
  int64_t *counts;
  int64_t n, cap;
} fp_found;

/* Grows every frequent itemset from the global tree on `threads` threads; found[0..threads) receive the results
   (free them with fp_found_free). Returns FP_OK, FP_ELIMIT, FP_ECANCELLED or FP_ENOMEM. */
fp_status fp_grow(const fp_tree *t0, const fp_mine_opts *o, int threads, fp_found *found);
void fp_found_free(fp_found *f);

/* Whether fp_pairs_grow can take a column of k frequent items (its pair matrix fits the memory it allows). */
int fp_pairs_fits(int32_t k, int threads);
/* The pair method (fp_pairs.c), for few frequent items: the same results as fp_tree_build + fp_grow. */
fp_status fp_pairs_grow(const fp_lists *b, const fp_ranking *rk, const fp_mine_opts *o, int threads, fp_found *found);

/* Appends an itemset (global ranks, any order) with its count to f; 0 or -1 when out of memory. */
int fp_found_add(fp_found *f, const int32_t *ranks, int len, int64_t count);

/* Grows the scratch array *p (contents not kept) to hold n elements of size sz; 0, or -1 with *p freed. */
int fp_ensure(void **p, int64_t *cap, int64_t n, size_t sz);

/* Lexicographic comparison of two int32 lists (a shorter prefix first). */
int fp_lex_cmp(const int32_t *a, int64_t na, const int32_t *b, int64_t nb);

/* Hash of an int32 list. */
uint64_t fp_hash_items(const int32_t *a, int64_t n);

/* Best-first selection: the first k of n elements under better(x, y, ctx) (a strict total order: non-zero when x
   goes before y) into out[0..k), best first. Returns min(k, n). */
int64_t fp_top_k(int64_t n, int64_t k, int (*better)(int64_t, int64_t, const void *), const void *ctx,
                 int64_t *out);

#endif
