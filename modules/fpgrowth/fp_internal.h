/*
** fp_internal.h: types and helpers shared by the fpgrowth core files (not part of the module's API).
*/
#ifndef MERCADO_FP_INTERNAL_H
#define MERCADO_FP_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "fpgrowth.h"

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

void fp_tree_free(fp_tree *t);

/* The global FP-tree of a basket column: labels are global ranks (0 = the most frequent item, ties by item id);
   *rank_item receives rank -> item id. Items of count < min_count are dropped; a basket's duplicates count once. */
fp_status fp_tree_build(const fp_lists *b, int64_t min_count, int threads, int (*cancelled)(void), fp_tree *t,
                        int32_t **rank_item);

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

/* Runs fn(arg + i*size) for i in [0, n) on n threads (the caller runs i = 0). A thread that cannot be started has
   its share run by the caller, so the result is the same. */
void fp_parallel(int n, void *(*fn)(void *), void *arg, size_t size);

/* Asks the kernel for huge pages under a large allocation (fewer page faults); a hint, never fails. */
void fp_hint_huge(void *p, size_t bytes);

/* Lexicographic comparison of two int32 lists (a shorter prefix first). */
int fp_lex_cmp(const int32_t *a, int64_t na, const int32_t *b, int64_t nb);

/* Hash of an int32 list. */
uint64_t fp_hash_items(const int32_t *a, int64_t n);

/* Best-first selection: the first k of n elements under better(x, y, ctx) (a strict total order: non-zero when x
   goes before y) into out[0..k), best first. Returns min(k, n). */
int64_t fp_top_k(int64_t n, int64_t k, int (*better)(int64_t, int64_t, const void *), const void *ctx,
                 int64_t *out);

#endif
