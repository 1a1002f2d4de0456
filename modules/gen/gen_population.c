/*
** gen_population.c: customers and basket skeletons. Every random choice about customer i comes from its own
** streams (seed, CUSTOMER, i) and (seed, DAYS, i); the few global adjustments (exact totals, id assignment,
** order within a day) use their own streams, so the result is a pure function of the seed and the sizes.
*/
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gen_population.h"
#include "gen_rng.h"

#define ID_SPARSITY 6.93          /* real customer ids reach ~7 times the number of customers */
#define SUPER_VISITS 535          /* the one customer who shops almost every day, several times */
#define SUPER_SIZE_MEAN 4.5       /* ... buying a few things each time */
#define SUPER_MIN_CUSTOMERS 20000 /* planted only in populations large enough to hide it */
#define GIANT_EVERY 250000        /* one giant basket per this many baskets */

int64_t gen_population_customers(int64_t nbaskets) {
  int64_t c = llround((double)GEN_FULL_CUSTOMERS * (double)nbaskets / GEN_FULL_BASKETS);
  return c < 1 ? 1 : c > nbaskets ? nbaskets : c;
}

void gen_population_free(gen_population *p) {
  free(p->cust);
  free(p->cust_of);
  free(p->visit_of);
  free(p->store_of);
  free(p->day_of);
  memset(p, 0, sizeof *p);
}

/* ---- a parallel loop over independent ranges (results never depend on the thread count) ---- */

typedef struct par_job {
  void (*fn)(void *ctx, int64_t begin, int64_t end);
  void *ctx;
  int64_t n, chunk;
  int (*cancelled)(void);
  atomic_llong next;
  atomic_int stop;
} par_job;

static void *par_worker(void *arg) {
  par_job *j = arg;
  for (;;) {
    int64_t b = atomic_fetch_add(&j->next, j->chunk);
    if (b >= j->n || atomic_load(&j->stop)) break;
    if (j->cancelled && j->cancelled()) {
      atomic_store(&j->stop, 1);
      break;
    }
    j->fn(j->ctx, b, b + j->chunk < j->n ? b + j->chunk : j->n);
  }
  return NULL;
}

/* Runs fn over [0, n) in chunks with nthreads threads; returns 1 if cancelled() stopped it, else 0. */
static int par_for(int nthreads, int64_t n, void (*fn)(void *, int64_t, int64_t), void *ctx, int (*cancelled)(void)) {
  pthread_t tid[64];
  par_job j = {.fn = fn, .ctx = ctx, .n = n, .chunk = 4096, .cancelled = cancelled};
  int started = 0;
  atomic_init(&j.next, 0);
  atomic_init(&j.stop, 0);
  for (int i = 1; i < nthreads && i < 64 && (int64_t)i * j.chunk < n; i++)
    if (pthread_create(&tid[started], NULL, par_worker, &j) == 0) started++;
  par_worker(&j);
  for (int i = 0; i < started; i++) pthread_join(tid[i], NULL);
  return atomic_load(&j.stop);
}

static int pick_store(const gen_model *m, gen_rng *r, int exclude) {
  double total = 0;
  for (int s = 0; s < m->nstores; s++)
    if (s != exclude) total += m->store_share[s];
  if (total <= 0) return exclude < 0 ? 0 : exclude;
  double u = gen_rng_double(r) * total;
  int last = -1;
  for (int s = 0; s < m->nstores; s++) {
    if (s == exclude) continue;
    last = s;
    if (u < m->store_share[s]) return s;
    u -= m->store_share[s];
  }
  return last;
}

static int32_t draw_visits(const gen_model *m, gen_rng *r) {
  const gen_params *p = &m->par;
  for (int tries = 0; tries < 16; tries++) {
    int64_t k = 1 + gen_rng_poisson(r, gen_rng_gamma(r, p->visit_shape) * p->visit_scale);
    if (k <= p->visit_cap) return (int32_t)k;
  }
  return (int32_t)p->visit_cap;
}

typedef struct draw_ctx {
  gen_population *p;
  const gen_model *m;
  const gen_calendar *cal;
  uint64_t seed;
  const int64_t *first; /* first visit of each customer (visits in customer order) */
  int32_t *vcust, *vnum;
  uint8_t *vstore, *vday;
} draw_ctx;

/* Draws the visits, home store and traits of customers [begin, end). */
static void draw_customer_range(void *arg, int64_t begin, int64_t end) {
  draw_ctx *x = arg;
  for (int64_t i = begin; i < end; i++) {
    gen_customer *c = &x->p->cust[i];
    gen_rng r;
    gen_rng_init(&r, x->seed, GEN_TAG_CUSTOMER, (uint64_t)i);
    memset(c, 0, sizeof *c);
    c->giant_visit = -1;
    c->visits = draw_visits(x->m, &r);
    c->home = (uint8_t)pick_store(x->m, &r, -1);
    gen_model_customer(x->m, &r, c);
  }
}

/* Draws every customer, then plants the one very frequent customer (returns its index, -1 if none, or -2 if
   cancelled). */
static int64_t draw_customers(draw_ctx *x, int nthreads, int (*cancelled)(void)) {
  gen_population *p = x->p;
  if (par_for(nthreads, p->ncustomers, draw_customer_range, x, cancelled)) return -2;
  if (p->ncustomers < SUPER_MIN_CUSTOMERS) return -1;
  gen_rng r;
  gen_rng_init(&r, x->seed, GEN_TAG_POPULATION, 1);
  int64_t i = (int64_t)gen_rng_below(&r, (uint64_t)p->ncustomers);
  p->cust[i].visits = SUPER_VISITS;
  p->cust[i].size_mean = SUPER_SIZE_MEAN;
  return i;
}

/* Marks a few visits (one per GIANT_EVERY baskets) as giant bulk purchases: the first of GEN_MAX_BASKET units,
   the others between 60 and 120. Called once the visit counts are final. */
static void plant_giants(gen_population *p, uint64_t seed) {
  gen_rng r;
  gen_rng_init(&r, seed, GEN_TAG_POPULATION, 3);
  for (int64_t g = 0; g < p->nbaskets / GIANT_EVERY; g++) {
    gen_customer *c = &p->cust[gen_rng_below(&r, (uint64_t)p->ncustomers)];
    if (c->giant_visit >= 0) continue;
    c->giant_visit = (int32_t)gen_rng_below(&r, (uint64_t)c->visits);
    c->giant_size = g == 0 ? GEN_MAX_BASKET : 60 + (int32_t)gen_rng_below(&r, 61);
  }
}

/* Adds or removes single visits at random customers (never the planted one, `keep`) until the visits add up to
   nbaskets exactly. */
static void fix_total(gen_population *p, uint64_t seed, int64_t keep) {
  int64_t total = 0;
  for (int64_t i = 0; i < p->ncustomers; i++) total += p->cust[i].visits;
  gen_rng r;
  gen_rng_init(&r, seed, GEN_TAG_FIXUP, 0);
  while (total != p->nbaskets) {
    int64_t i = (int64_t)gen_rng_below(&r, (uint64_t)p->ncustomers);
    gen_customer *c = &p->cust[i];
    if (i == keep) continue;
    if (total < p->nbaskets) c->visits++, total++;
    else if (c->visits > 1) c->visits--, total--;
  }
}

/* Gives the customers distinct sparse ids in random order: a sorted selection from 1..R, then shuffled. */
static void assign_ids(gen_population *p, uint64_t seed) {
  int64_t n = p->ncustomers, range = (int64_t)(n * ID_SPARSITY);
  if (range < n) range = n;
  if (range > INT32_MAX) range = INT32_MAX;
  gen_rng r;
  gen_rng_init(&r, seed, GEN_TAG_POPULATION, 2);
  int64_t need = n, k = 0;
  for (int64_t x = 1; need > 0; x++) {
    if ((int64_t)gen_rng_below(&r, (uint64_t)(range - x + 1)) < need) p->cust[k++].id = (int32_t)x, need--;
  }
  for (int64_t i = n - 1; i > 0; i--) {
    int64_t j = (int64_t)gen_rng_below(&r, (uint64_t)(i + 1));
    int32_t t = p->cust[i].id;
    p->cust[i].id = p->cust[j].id;
    p->cust[j].id = t;
  }
}

/* Each visit of customers [begin, end): its day (stratified over the calendar's traffic, so a customer's visits
   spread over the half year) and its store (the home store, or another one for the less loyal). */
static void draw_visit_range(void *arg, int64_t begin, int64_t end) {
  draw_ctx *x = arg;
  for (int64_t i = begin; i < end; i++) {
    const gen_customer *c = &x->p->cust[i];
    gen_rng r;
    gen_rng_init(&r, x->seed, GEN_TAG_DAYS, (uint64_t)i);
    for (int32_t j = 0; j < c->visits; j++) {
      int64_t at = x->first[i] + j;
      x->vcust[at] = (int32_t)i;
      x->vnum[at] = j;
      x->vday[at] = (uint8_t)gen_calendar_day_at(x->cal, (j + gen_rng_double(&r)) / c->visits);
      x->vstore[at] = c->loyalty >= 1.0f || gen_rng_double(&r) < c->loyalty
                          ? c->home
                          : (uint8_t)pick_store(x->m, &r, c->home);
    }
  }
}

static int64_t gcd64(int64_t a, int64_t b) {
  while (b) {
    int64_t t = a % b;
    a = b;
    b = t;
  }
  return a;
}

/* Moves randomly chosen visits out of stores above their target into stores below it. */
static void fix_stores(int64_t n, int nstores, const int64_t *target, uint8_t *vstore, uint64_t seed) {
  int64_t count[GEN_MAX_STORES] = {0}, excess = 0;
  for (int64_t t = 0; t < n; t++) count[vstore[t]]++;
  for (int s = 0; s < nstores; s++)
    if (count[s] > target[s]) excess += count[s] - target[s];
  if (!excess) return;
  gen_rng r;
  gen_rng_init(&r, seed, GEN_TAG_FIXUP, 1);
  int64_t start = (int64_t)gen_rng_below(&r, (uint64_t)n), step = 2654435761LL % n;
  if (step == 0) step = 1;
  while (gcd64(step, n) != 1) step++;
  for (int64_t k = 0, pos = start; k < n && excess; k++, pos = (pos + step) % n) {
    int s = vstore[pos];
    if (count[s] <= target[s]) continue;
    int best = 0;
    for (int u = 1; u < nstores; u++)
      if (target[u] - count[u] > target[best] - count[best]) best = u;
    vstore[pos] = (uint8_t)best;
    count[s]--, count[best]++, excess--;
  }
}

/* Orders the visits by (store, day), shuffled within each day. */
static void sort_baskets(gen_population *p, int nstores, const int32_t *vcust, const int32_t *vnum,
                         const uint8_t *vstore, const uint8_t *vday, int64_t *bucket, uint64_t seed) {
  int nb = nstores * GEN_NDAYS;
  memset(bucket, 0, (size_t)(nb + 1) * sizeof *bucket);
  for (int64_t t = 0; t < p->nbaskets; t++) bucket[vstore[t] * GEN_NDAYS + vday[t] + 1]++;
  for (int b = 0; b < nb; b++) bucket[b + 1] += bucket[b];
  for (int s = 0; s <= nstores; s++) p->store_begin[s] = bucket[s * GEN_NDAYS];
  for (int64_t t = 0; t < p->nbaskets; t++) {
    int64_t at = bucket[vstore[t] * GEN_NDAYS + vday[t]]++;
    p->cust_of[at] = vcust[t];
    p->visit_of[at] = vnum[t];
    p->store_of[at] = vstore[t];
    p->day_of[at] = vday[t];
  }
  for (int b = 0; b < nb; b++) { /* bucket[b] now ends bucket b; bucket b starts at the previous end */
    int64_t lo = b ? bucket[b - 1] : 0, hi = bucket[b];
    gen_rng r;
    gen_rng_init(&r, seed, GEN_TAG_FIXUP, 2 + (uint64_t)b);
    for (int64_t i = hi - 1; i > lo; i--) {
      int64_t j = lo + (int64_t)gen_rng_below(&r, (uint64_t)(i - lo + 1));
      int32_t c = p->cust_of[i], v = p->visit_of[i];
      p->cust_of[i] = p->cust_of[j], p->visit_of[i] = p->visit_of[j];
      p->cust_of[j] = c, p->visit_of[j] = v;
    }
  }
}

int gen_population_build(gen_population *p, const gen_model *m, const gen_calendar *cal, const int64_t *store_target,
                         uint64_t seed, int nthreads, int (*cancelled)(void), char *err, size_t errlen) {
  int64_t n = 0;
  int rc = -1;
  memset(p, 0, sizeof *p);
  for (int s = 0; s < m->nstores; s++) n += store_target[s];
  p->nbaskets = n;
  p->ncustomers = gen_population_customers(n);
  int32_t *vcust = malloc((size_t)n * sizeof *vcust), *vnum = malloc((size_t)n * sizeof *vnum);
  uint8_t *vstore = malloc((size_t)n), *vday = malloc((size_t)n);
  int64_t *bucket = malloc((size_t)(m->nstores * GEN_NDAYS + 1) * sizeof *bucket);
  int64_t *first = malloc((size_t)(p->ncustomers + 1) * sizeof *first);
  p->cust = malloc((size_t)p->ncustomers * sizeof *p->cust);
  p->cust_of = malloc((size_t)n * sizeof *p->cust_of);
  p->visit_of = malloc((size_t)n * sizeof *p->visit_of);
  p->store_of = malloc((size_t)n);
  p->day_of = malloc((size_t)n);
  if (!vcust || !vnum || !vstore || !vday || !bucket || !first || !p->cust || !p->cust_of || !p->visit_of ||
      !p->store_of || !p->day_of) {
    snprintf(err, errlen, "not enough memory for %lld baskets", (long long)n);
    goto cleanup;
  }
  draw_ctx x = {.p = p, .m = m, .cal = cal, .seed = seed, .first = first,
                .vcust = vcust, .vnum = vnum, .vstore = vstore, .vday = vday};
  int64_t super = draw_customers(&x, nthreads, cancelled);
  if (super == -2) {
    rc = 1;
    goto cleanup;
  }
  fix_total(p, seed, super);
  plant_giants(p, seed);
  assign_ids(p, seed);
  first[0] = 0;
  for (int64_t i = 0; i < p->ncustomers; i++) first[i + 1] = first[i] + p->cust[i].visits;
  if (par_for(nthreads, p->ncustomers, draw_visit_range, &x, cancelled)) {
    rc = 1;
    goto cleanup;
  }
  fix_stores(n, m->nstores, store_target, vstore, seed);
  sort_baskets(p, m->nstores, vcust, vnum, vstore, vday, bucket, seed);
  rc = cancelled && cancelled() ? 1 : 0;
cleanup:
  free(vcust);
  free(vnum);
  free(vstore);
  free(vday);
  free(bucket);
  free(first);
  return rc;
}
