/*
** fpgrowth.h: frequent itemset mining (FP-Growth), association rules and rule-based recommendations.
** Plain C over flat arrays, no Lua (the binding is fpgrowth_lua.c). Lists are CSR: offsets[n+1] into items[].
**
** Canonical orders (results never depend on the thread count):
**   itemsets  by size, then items ascending (each itemset's items are sorted ascending, distinct);
**   rules     by lift desc, confidence desc, support desc, antecedent then consequent lexicographic asc.
** Rule measures, with N baskets, c(X) the number of baskets containing X, A the antecedent, B the consequent:
**   support = c(A∪B)/N, confidence = c(A∪B)/c(A), lift = confidence/(c(B)/N),
**   leverage = support - (c(A)/N)(c(B)/N), conviction = (1 - c(B)/N)/(1 - confidence), +inf when confidence = 1.
*/
#ifndef MERCADO_FPGROWTH_H
#define MERCADO_FPGROWTH_H

#include <stddef.h>
#include <stdint.h>

typedef enum fp_status {
  FP_OK = 0,
  FP_ENOMEM,     /* out of memory */
  FP_ELIMIT,     /* a safety bound (max_itemsets) was exceeded */
  FP_ECANCELLED, /* the cancel callback asked to stop */
  FP_EINVAL,     /* invalid arguments */
  FP_ETOOBIG     /* more than 2^31-1 tree nodes, items in an itemset, ... */
} fp_status;

/* Text for a status ("out of memory", ...). */
const char *fp_strerror(fp_status st);

/* A read-only list<int32> column: n lists, offsets[n+1] (offsets[0] may be non-zero), items[]. */
typedef struct fp_lists {
  int64_t n;
  const int64_t *offsets;
  const int32_t *items;
} fp_lists;

/* ---- mining ---- */

/* How the itemsets are grown (the results are the same): FP_METHOD_PAIRS counts pairs in a matrix and mines each
   item's baskets as bitmasks (fast for up to a few thousand frequent items); FP_METHOD_TREE grows an FP-tree (any
   number of items). FP_METHOD_AUTO picks the pair method when its memory bounds allow. */
typedef enum fp_method { FP_METHOD_AUTO = 0, FP_METHOD_TREE, FP_METHOD_PAIRS } fp_method;

typedef struct fp_mine_opts {
  int64_t min_count;    /* an itemset is frequent when its count >= min_count (>= 1) */
  int max_len;          /* longest itemset reported; 0 = no limit */
  int64_t max_itemsets; /* stop with FP_ELIMIT past this many itemsets; 0 = no limit */
  int threads;          /* worker threads (<= 1: the calling thread only) */
  int (*cancelled)(void); /* polled from every thread; non-zero stops with FP_ECANCELLED; NULL = never */
  fp_method method;       /* FP_METHOD_AUTO (0) unless testing */
  int64_t batch_bytes;    /* pair method: bytes of item databases built at once (0: 64 MiB or half the
                             baskets' item bytes, whichever is larger; more take more passes) */
} fp_mine_opts;

/* Frequent itemsets in canonical order, CSR items plus counts. Peak memory of fp_mine by the pair method, beyond its
   output: the pair matrices (4 bytes a pair of frequent items, per thread) and the item databases of a batch (bits,
   about one per basket, item and partner: 17 MB for 1.1 M baskets of 9.4 items at support 0.005). */
typedef struct fp_itemsets {
  int64_t n;         /* number of itemsets */
  int64_t nbaskets;  /* N, the number of baskets mined */
  int64_t min_count; /* the threshold used */
  int64_t *offsets;  /* n+1 */
  int32_t *items;    /* offsets[n] */
  int64_t *counts;   /* n */
  int64_t *index;    /* open-addressing hash of itemsets (slot = itemset index or -1); NULL until built */
  int64_t index_cap; /* power of two */
} fp_itemsets;

/* The absolute threshold for a fraction of n baskets: the least integer >= fraction*n (at least 1). The product is
   taken in double and a relative 1e-12 is forgiven so that 0.1 of 30 baskets is 3, not 4. */
int64_t fp_min_count(double fraction, int64_t n);

/* Mines every itemset whose count is >= o->min_count (items repeated inside a basket count once) into *out
   (zeroed first; freed and zeroed again on failure). Returns FP_OK or the reason it stopped. */
fp_status fp_mine(const fp_lists *baskets, const fp_mine_opts *o, fp_itemsets *out);
/* Frees the arrays of s (idempotent). */
void fp_itemsets_free(fp_itemsets *s);
/* Builds the hash index used by fp_itemsets_find (no-op when built). FP_OK or FP_ENOMEM. */
fp_status fp_itemsets_index(fp_itemsets *s);
/* Index of the itemset equal to items[0..len) (sorted ascending, distinct), or -1. Needs fp_itemsets_index. */
int64_t fp_itemsets_find(const fp_itemsets *s, const int32_t *items, int64_t len);
/* The first k itemsets by count desc, then items lexicographic asc, into idx[0..k); returns k (<= n). */
int64_t fp_itemsets_top(const fp_itemsets *s, int64_t n, int64_t *idx);

/* ---- rules ---- */

typedef struct fp_rules_opts {
  double min_confidence; /* keep rules with confidence >= this */
  int max_consequent;    /* largest consequent size (>= 1; 1 = single-item consequents as Spark and arules) */
  int (*cancelled)(void);
} fp_rules_opts;

typedef enum fp_rule_key {
  FP_BY_LIFT = 0,
  FP_BY_CONFIDENCE,
  FP_BY_SUPPORT,
  FP_BY_LEVERAGE,
  FP_BY_CONVICTION
} fp_rule_key;

/* Association rules A -> B in canonical order. */
typedef struct fp_rules {
  int64_t n;
  int64_t nbaskets;
  int64_t *a_off;    /* n+1 */
  int32_t *a_items;  /* antecedents, sorted ascending */
  int64_t *c_off;    /* n+1 */
  int32_t *c_items;  /* consequents, sorted ascending */
  int64_t *count;    /* c(A∪B) */
  int64_t *a_count;  /* c(A) */
  int64_t *c_count;  /* c(B) */
  double *support, *confidence, *lift, *leverage, *conviction;
} fp_rules;

/* Generates every rule A -> B with A∪B a frequent itemset, A and B non-empty and disjoint, |B| <= max_consequent
   and confidence >= min_confidence. Builds the itemsets' index if needed. *out is zeroed first and on failure. */
fp_status fp_rules_generate(fp_itemsets *s, const fp_rules_opts *o, fp_rules *out);
void fp_rules_free(fp_rules *r);
/* The first k rules ordered by key desc, then lift, confidence, support desc, then antecedent, consequent asc. */
int64_t fp_rules_top(const fp_rules *r, fp_rule_key key, int64_t n, int64_t *idx);
/* Rule measure by key. */
double fp_rules_measure(const fp_rules *r, fp_rule_key key, int64_t i);

/* ---- recommendations ---- */

typedef struct fp_rec_opts {
  int top;           /* recommendations kept per customer or per product (>= 1) */
  int64_t max_rules; /* use only the first max_rules rules (canonical order = best lift first); <= 0: all */
  int threads;
  int (*cancelled)(void);
} fp_rec_opts;

/* Per-customer recommendations, one row per (customer, rank), customers ascending, ranks 1..top. */
typedef struct fp_recs {
  int64_t n;
  int64_t *row;       /* 0-based customer index (row of the owned column) */
  int32_t *rank;      /* 1-based */
  int32_t *product;
  int64_t *rule;      /* 0-based index of the chosen rule: its score (lift * confidence), confidence, lift and
                         support are the recommendation's, its antecedent the "based on" list */
} fp_recs;

/* For each customer (a list of owned products, in any order, duplicates allowed) collects the consequent items
   of rules whose antecedent is owned and that are not owned. A product's score is the best lift*confidence among
   its rules (ties: higher confidence, higher support, lower rule index); products are ranked by score desc then
   product id asc and the first o->top kept. FP_ETOOBIG when customers * min(top, products of the rules) passes 2^27
   rows (the output is sized for that many). With more than about a thousand rules (max_rules), heavy customers
   cost much more: the flows use the best 300. */
fp_status fp_recommend_customers(const fp_rules *r, const fp_lists *owned, const fp_rec_opts *o, fp_recs *out);
void fp_recs_free(fp_recs *x);

/* Per source product a: the best rule per (a, b) for a in A and b in B (same score and tie rule as above); a's
   recommendations ranked by score desc, confidence desc, support desc, product asc, the first o->top kept. Sources are
   ordered by number of recommendations desc, then product id asc. sources[i] owns recs rec_off[i] .. rec_off[i+1]. */
typedef struct fp_product_recs {
  int64_t nsources;
  int32_t *sources;
  int64_t *rec_off;
  int32_t *product;
  double *score, *confidence, *lift, *support;
  int64_t *rule;
} fp_product_recs;

fp_status fp_recommend_products(const fp_rules *r, const fp_rec_opts *o, fp_product_recs *out);
void fp_product_recs_free(fp_product_recs *x);

/* ---- CSV ---- */

/* "items,count,support": items space-separated, support = count / N (shortest round-trip floats). */
extern const char *const fp_itemsets_csv_header;
/* "antecedent,consequent,support,confidence,lift,leverage,conviction"; infinities as inf. */
extern const char *const fp_rules_csv_header;
/* Bytes row i can take, and row i (newline included) written to out; returns its length. */
size_t fp_itemsets_csv_room(const fp_itemsets *s, int64_t i);
size_t fp_itemsets_csv_row(const fp_itemsets *s, int64_t i, char *out);
size_t fp_rules_csv_room(const fp_rules *r, int64_t i);
size_t fp_rules_csv_row(const fp_rules *r, int64_t i, char *out);
/* The whole CSV (header and rows) to path, atomically (a temporary file renamed over it), streamed through a small
   buffer. 0, or -1 with err set. */
int fp_itemsets_write_csv(const fp_itemsets *s, const char *path, char *err, size_t errlen);
int fp_rules_write_csv(const fp_rules *r, const char *path, char *err, size_t errlen);

/* ---- cache ---- */

/* Writes itemsets and rules to path (atomically) under a key (a string of at most 63 characters). 0 or -1 with
   err set. */
int fp_cache_write(const char *path, const char *key, const fp_itemsets *s, const fp_rules *r, char *err,
                   size_t errlen);
/* Reads them back if path holds a valid cache for exactly this key: 0, or -1 (missing, another key, damaged) with
   *s and *r zeroed. */
int fp_cache_read(const char *path, const char *key, fp_itemsets *s, fp_rules *r);

#endif
