/*
** gen_calibrate.c: refits the model's background weights (gen_weights.c) and its size_base after a model change.
** It builds the population in memory, samples every basket, compares each product's share of baskets with
** gen_weights_targets and rescales the weights (and the mean basket size with size_base), for a number of rounds.
** Usage: gen_calibrate [BASKETS [ROUNDS]] > table.c, then paste the table into gen_weights.c and size_base into
** gen_default_params (gen_model.c). Not part of the program; built on demand (ninja gen_calibrate).
*/
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gen.h"
#include "gen_calendar.h"
#include "gen_catalog.h"
#include "gen_model.h"
#include "gen_population.h"
#include "gen_weights.h"

#define TARGET_MEAN_SIZE 9.55 /* 10,591,793 units / 1,108,987 baskets */

/* Share of baskets holding each product, and the mean basket size (units). */
static double measure(const gen_model *m, const gen_population *pop, uint64_t seed, double *share) {
  static uint32_t mark[GEN_NPRODUCTS + 1];
  uint32_t stamp = 0;
  uint16_t items[GEN_MAX_BASKET + 2];
  double count[GEN_NPRODUCTS + 1] = {0}, units = 0;
  memset(mark, 0, sizeof mark);
  for (int64_t t = 0; t < pop->nbaskets; t++) {
    int32_t ci = pop->cust_of[t];
    gen_rng r;
    gen_rng_init(&r, seed, GEN_TAG_BASKET, ((uint64_t)ci << 24) | (uint64_t)pop->visit_of[t]);
    int n = gen_model_basket(m, &pop->cust[ci], pop->visit_of[t], pop->store_of[t], &r, items, mark, ++stamp);
    ++stamp; /* a fresh stamp to count each product once per basket */
    units += n;
    for (int i = 0; i < n; i++)
      if (mark[items[i]] != stamp) mark[items[i]] = stamp, count[items[i]]++;
  }
  for (int p = 1; p <= GEN_NPRODUCTS; p++) share[p] = count[p] / (double)pop->nbaskets;
  return units / (double)pop->nbaskets;
}

int main(int argc, char **argv) {
  int64_t n = argc > 1 ? atoll(argv[1]) : 600000;
  int rounds = argc > 2 ? atoi(argv[2]) : 10;
  gen_options o = {.baskets = n, .seed = 7, .out_dir = "-"};
  int32_t ids[GEN_MAX_STORES];
  int64_t counts[GEN_MAX_STORES];
  int nstores = gen_store_split(&o, ids, counts);
  double share[GEN_MAX_STORES], target[GEN_NPRODUCTS + 1], w[GEN_NPRODUCTS + 1], got[GEN_NPRODUCTS + 1];
  for (int s = 0; s < nstores; s++) share[s] = (double)counts[s] / (double)n;
  unsigned char group[GEN_NPRODUCTS + 1];
  gen_catalog_groups(group);
  gen_weights_targets(target);
  for (int p = 1; p <= GEN_NPRODUCTS; p++) w[p] = gen_weights_background[p - 1];
  gen_params par = gen_default_params;
  static gen_model m;
  static gen_calendar cal;
  gen_calendar_init(&cal, o.seed);
  char err[256];
  for (int round = 0; round < rounds; round++) {
    gen_population pop;
    gen_model_init(&m, &par, w, nstores, ids, share, group);
    if (gen_population_build(&pop, &m, &cal, counts, o.seed + (uint64_t)round, 2, NULL, err, sizeof err) != 0) {
      fprintf(stderr, "gen_calibrate: %s\n", err);
      return 1;
    }
    double mean = measure(&m, &pop, o.seed + (uint64_t)round, got), sse = 0, total = 0;
    gen_population_free(&pop);
    for (int p = 1; p <= GEN_NPRODUCTS; p++) {
      sse += (got[p] - target[p]) * (got[p] - target[p]);
      w[p] *= got[p] > 0 ? pow(target[p] / got[p], 1.1) : 2.0;
      total += w[p];
    }
    for (int p = 1; p <= GEN_NPRODUCTS; p++) w[p] /= total;
    par.size_base *= TARGET_MEAN_SIZE / mean;
    fprintf(stderr, "round %d: share rmse %.5f, mean size %.3f -> size_base %.4f\n", round,
            sqrt(sse / GEN_NPRODUCTS), mean, par.size_base);
  }
  printf("/* size_base = %.4f */\nconst double gen_weights_background[449] = {\n", par.size_base);
  for (int p = 1; p <= GEN_NPRODUCTS; p++) printf("%.5g,%s", w[p], p % 8 == 0 || p == GEN_NPRODUCTS ? "\n" : " ");
  printf("};\n");
  return 0;
}
