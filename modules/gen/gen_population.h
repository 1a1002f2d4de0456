/*
** gen_population.h: the shoppers and the skeleton of every basket (who, where, when), before any product is
** chosen. Customers get sparse ids, a heavy-tailed number of visits (summing exactly to the requested baskets),
** a home store and their model traits; each visit gets a day and a store, and per-store totals match the
** requested split exactly. Baskets come out in file order: by store, then day, shuffled within the day.
*/
#ifndef MERCADO_GEN_POPULATION_H
#define MERCADO_GEN_POPULATION_H

#include <stddef.h>
#include <stdint.h>

#include "gen_calendar.h"
#include "gen_model.h"

typedef struct gen_population {
  int64_t ncustomers;
  gen_customer *cust;
  int64_t nbaskets;
  int32_t *cust_of;  /* per basket, in file order: customer index */
  int32_t *visit_of; /* the visit's number among the customer's visits (names its random stream) */
  uint8_t *store_of; /* store index */
  uint8_t *day_of;   /* 0 = 2013-01-01 */
  int64_t store_begin[GEN_MAX_STORES + 1]; /* baskets of store s: [store_begin[s], store_begin[s + 1]) */
} gen_population;

/* Number of customers for a given number of baskets (131,186 at full size, at least 1, at most nbaskets). */
int64_t gen_population_customers(int64_t nbaskets);

/* Builds the population: store_target[s] baskets for each of m->nstores stores, with nthreads threads (the
   result does not depend on it). Returns 0; -1 with err set (out of memory); or 1 if cancelled() said stop. Free
   with gen_population_free in every case. */
int gen_population_build(gen_population *p, const gen_model *m, const gen_calendar *cal, const int64_t *store_target,
                         uint64_t seed, int nthreads, int (*cancelled)(void), char *err, size_t errlen);
void gen_population_free(gen_population *p);

#endif
