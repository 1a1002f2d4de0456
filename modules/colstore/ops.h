/*
** ops.h: column-store operations over flat arrays: grouping with aggregates, sorting, taking rows, filtering,
** joining, date parts and list operations. No Lua here. Functions that can fail return NULL/-1 and write the
** reason to err (errlen bytes), naming the operation.
*/
#ifndef MERCADO_OPS_H
#define MERCADO_OPS_H

#include <stddef.h>
#include <stdint.h>

#include "colstore.h"

typedef enum cs_agg_kind {
  CS_AGG_COUNT = 0,
  CS_AGG_SUM,
  CS_AGG_MIN,
  CS_AGG_MAX,
  CS_AGG_MEAN,
  CS_AGG_COUNT_DISTINCT,
  CS_AGG_COLLECT_DISTINCT /* sorted distinct values of an int32/date column or list items, as a list column */
} cs_agg_kind;

typedef struct cs_agg {
  cs_agg_kind kind;
  const cs_column *col; /* NULL for count */
} cs_agg;

/* Groups n rows by the key columns (ascending key order; strings in byte order). A list column as a key expands
   the rows into its items (count then counts items; scalar columns are aggregated once per item). A list column in
   an aggregate under scalar keys aggregates its items per row group (count_distinct of products per customer).
   Writes nkeys + naggs new columns to out:
   keys keep their type; count and count_distinct are int64; sum is int64 (float64 for float input);
   min/max keep the input type; mean is float64; collect_distinct is list<int32>. Distinct aggregates use up to
   nthreads threads; the result does not depend on it. */
int cs_group_by(const cs_column *const *keys, int nkeys, const cs_agg *aggs, int naggs, int nthreads,
                cs_column **out, char *err, size_t errlen);

/* Stable sort of row indices 0..n-1 by the columns (desc[i] non-zero: descending), then by row index. */
int cs_sort_perm(const cs_column *const *cols, const int *desc, int ncols, int64_t n, int64_t *perm);
/* The first k rows of that order, in order, in perm[0..k-1] (perm has room for n): a bounded heap when k is small
   against n, the full sort otherwise. */
int cs_top_perm(const cs_column *const *cols, const int *desc, int ncols, int64_t n, int64_t k, int64_t *perm);

/* A new column holding rows idx[0..k-1] of c (NULL when out of memory). */
cs_column *cs_column_take(const cs_column *c, const int64_t *idx, int64_t k);

typedef enum cs_cmp { CS_EQ, CS_NE, CS_LT, CS_LE, CS_GT, CS_GE, CS_IN, CS_NOT_IN } cs_cmp;

/* One filter condition: a numeric/date column compared to value, or membership in a set of values (for string
   columns the values are dictionary codes). */
typedef struct cs_cond {
  const cs_column *col;
  cs_cmp op;
  double value;
  const double *set;
  int64_t nset;
} cs_cond;

/* Rows satisfying every condition, in order; returns their count and writes them to idx (n entries). */
int64_t cs_filter_rows(const cs_cond *conds, int nconds, int64_t n, int64_t *idx);

/* Inner equi-join of two integer/date key columns: pairs (left row, right row) ordered by left row then right
   row. Returns the number of pairs and sets *lidx and *ridx (malloc'd; the caller frees), or -1 when out of memory. */
int64_t cs_join_pairs(const cs_column *left, const cs_column *right, int64_t **lidx, int64_t **ridx);

/* Date parts of a date column as int32: */
typedef enum cs_datepart { CS_YEAR, CS_MONTH, CS_DAY, CS_ISO_YEAR, CS_ISO_WEEK, CS_DAY_OF_WEEK } cs_datepart;
cs_column *cs_date_part(const cs_column *dates, cs_datepart part);

/* List helpers: item counts per row; distinct item counts per row; items as a flat int32 column. */
cs_column *cs_list_lengths(const cs_column *list);
cs_column *cs_list_distinct_lengths(const cs_column *list);
cs_column *cs_list_explode(const cs_column *list);
/* Replaces each item by every value mapped to it in (keys[i] -> values[i]) (items with no mapping disappear,
   duplicate pairs count once); the mapped values of a row come out sorted and distinct. Rows are split across up
   to nthreads threads; the result does not depend on it. */
cs_column *cs_list_remap(const cs_column *list, const cs_column *keys, const cs_column *values, int nthreads,
                         char *err, size_t errlen);
/* The lengths (int32) of cs_list_remap's rows, without building them. */
cs_column *cs_list_remap_lengths(const cs_column *list, const cs_column *keys, const cs_column *values, int nthreads,
                                 char *err, size_t errlen);
/* Row index of each list item (int64 offsets expanded), used to repeat other columns when exploding. */
int64_t *cs_list_item_rows(const cs_column *list);

/* Rows of a stratified random sample of about n rows: each stratum (a value of the int32 column `strata`, or all
   rows when NULL) gets a share proportional to its size (largest remainders; at least one row per stratum when
   n allows), drawn without replacement with a seeded generator. Row indices come out ascending. Returns the count
   written to idx (which holds n + number of strata entries), or -1 when out of memory. */
int64_t cs_sample_rows(int64_t nrows, const cs_column *strata, int64_t n, uint64_t seed, int64_t *idx);

struct mc_buf;
/* Appends the columns as CSV (comma-separated, a header line, RFC 4180 quoting where needed; floats in shortest
   round-trip form, dates as YYYY-MM-DD, lists as space-separated items). */
void cs_table_write_csv(const cs_table *t, struct mc_buf *b);

#endif
