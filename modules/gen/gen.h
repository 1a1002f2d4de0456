/*
** gen.h: the realistic data generator's entry point. gen_run writes DIR/transactions/<store>_Tran.csv and
** DIR/products/{Categories,ProductCategory}.csv in the real data's formats, byte-identical for the same options
** whatever the thread count, and with dirty > 0 injects faults and writes DIR/dirty_manifest.json.
*/
#ifndef MERCADO_GEN_H
#define MERCADO_GEN_H

#include <stdint.h>

#include "gen_catalog.h"
#include "gen_dirty.h"
#include "gen_model.h"

#define GEN_MAX_BASKETS 100000000LL
#define GEN_MAX_DIRTY 0.5
#define GEN_MAX_FILES (GEN_MAX_STORES + 4)
#define GEN_PATH_MAX 4200

typedef struct gen_options {
  int64_t baskets;          /* 1..GEN_MAX_BASKETS */
  uint64_t seed;
  const char *out_dir;
  double dirty;             /* share of lines changed, 0..GEN_MAX_DIRTY */
  int nstores;              /* 0: the four real stores 102, 103, 107, 110 */
  const int32_t *stores;    /* distinct ids 1..999999 */
  int nthreads;             /* < 1: 1 */
  int (*cancelled)(void);   /* polled between blocks; NULL: never */
  void (*progress)(void *ud, int64_t baskets_done); /* called from worker threads; NULL: none */
  void *progress_ud;
} gen_options;

typedef struct gen_file_summary {
  char path[GEN_PATH_MAX];
  const char *role;  /* "transactions", "duplicate", "categories", "product_categories", "manifest" */
  int32_t store;     /* transactions/duplicate: the store id */
  int64_t baskets, units, bytes;
} gen_file_summary;

typedef struct gen_summary {
  int64_t baskets, units, customers;
  int nstores;
  int32_t stores[GEN_MAX_STORES];
  int64_t store_baskets[GEN_MAX_STORES];
  int nfiles;
  gen_file_summary files[GEN_MAX_FILES];
  gen_catalog_stats catalog;
  int dirty;              /* whether faults were injected (then `expected` holds the reader's totals) */
  gen_counts expected;
  char error[1024];
} gen_summary;

enum { GEN_OK = 0, GEN_ERROR = -1, GEN_CANCELLED = 1 };

/* Checks the options: NULL if they are usable, else a message naming the bad option and what it must be. */
const char *gen_check_options(const gen_options *o);

/* Generates the data set. Returns GEN_OK; GEN_ERROR with s->error set (bad option, out of memory, I/O); or
   GEN_CANCELLED (partial files removed, earlier complete files kept). Owns no memory after returning. */
int gen_run(const gen_options *o, gen_summary *s);

/* The store ids and the basket count of each for a total (the real split, scaled; other ids get an average
   share). Returns the number of stores. */
int gen_store_split(const gen_options *o, int32_t *ids, int64_t *counts);

#endif
