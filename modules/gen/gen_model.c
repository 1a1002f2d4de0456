/*
** gen_model.c: the shopper and basket model (MODEL.md tells the story and how the constants were calibrated).
** A basket is one visit of a customer to a store. A visit is a quick trip (one to a few products) or a regular
** shop; a regular shop may follow a mission (big weekly run, breakfast, household, greens, pantry, dairy, or an
** "aisle" of less popular products), which puts its recipe's products in with their own chances and draws part
** of the rest from the mission's family. Everything else comes from the customer's staples or from the store's
** assortment by popularity, without repeating a product (bar a rare second unit of a less popular one).
*/
#include <math.h>
#include <string.h>

#include "gen_catalog.h"
#include "gen_model.h"
#include "gen_weights.h"

const gen_params gen_default_params = {
    .visit_shape = 0.45,
    .visit_scale = 16.5,
    .visit_cap = 170,
    .quick_lo = 0.2,
    .quick_hi = 0.6,
    .quick_mean = 2.2,
    .size_base = 9.925,
    .size_slope = 0.25,
    .size_cap = 1.75,
    .size_sigma = 0.35,
    .size_shape = 4.0,
    .size_soft_max = 28,
    .size_tail = 5,
    .loyal_share = 0.72,
    .loyal_lo = 0.55,
    .loyal_hi = 0.95,
    .p_primary = 0.45,
    .p_secondary = 0.20,
    .p_random = 0.15,
    .mission_pop = {0.12, 0.12, 0.12, 0.12, 0.12, 0.12, 0.05, 0.05, 0.05, 0.05, 0.04, 0.04},
    .mission_size = {1.3, 1.1, 1.1, 1.1, 1.1, 1.1, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.85},
    .family_mass = 0.4,
    .aisle_mass = 0.3,
    .aisle_take = 0.08,
    .staples_mean = 10,
    .staple_min_rank = 12,
    .staple_lo = 0.35,
    .staple_hi = 0.75,
    .repeat_rate = 0.003,
};

/* The named missions: their family of products, and for the recipe products (take > 0) the chance each is in a
   basket of that mission. Missions 6..11 are "aisles": blocks of the popularity ranking whose recipe takes each
   product with aisle_take. */
typedef struct mission_item {
  uint16_t product;
  float take;
} mission_item;

static const mission_item mission_big_run[] = {{5, .7f}, {10, .7f}, {3, .5f}, {6, .5f}, {8, .5f}, {12, .4f},
                                               {4, .4f}, {7, 0}, {11, 0}, {13, 0}, {9, 0}, {16, 0}, {0, 0}};
static const mission_item mission_breakfast[] = {{16, .8f}, {21, .75f}, {30, .5f}, {20, .3f}, {14, .3f},
                                                 {37, .3f}, {11, 0}, {9, 0}, {3, 0}, {5, 0}, {10, 0},
                                                 {0, 0}};
static const mission_item mission_household[] = {{4, .8f}, {7, .75f}, {25, .4f}, {17, .4f}, {19, .35f},
                                                 {12, 0}, {8, 0}, {14, 0}, {18, 0},
                                                 {0, 0}};
static const mission_item mission_greens[] = {{3, .8f}, {6, .75f}, {20, .4f}, {24, .35f}, {31, .4f}, {9, .3f},
                                              {12, 0}, {5, 0}, {26, 0}, {0, 0}};
static const mission_item mission_pantry[] = {{11, .6f}, {14, .6f}, {22, .5f}, {23, .45f}, {24, .3f},
                                              {13, 0}, {5, 0}, {10, 0}, {2, 0}, {0, 0}};
static const mission_item mission_dairy[] = {{8, .6f}, {12, .6f}, {13, .5f}, {19, .4f}, {15, .4f}, {18, .4f},
                                             {26, 0}, {10, 0}, {0, 0}};
static const mission_item *const named_missions[] = {mission_big_run, mission_breakfast, mission_household,
                                                     mission_greens,  mission_pantry,    mission_dairy};
#define NNAMED (int)(sizeof named_missions / sizeof named_missions[0])
/* Popularity ranks (1-based, inclusive) of the aisle missions. */
static const int aisle_first[GEN_NMISSIONS - NNAMED] = {40, 80, 130, 190, 260, 350};
static const int aisle_last[GEN_NMISSIONS - NNAMED] = {79, 129, 189, 259, 349, 449};

/* ---- alias tables ---- */

/* Builds an alias table over the products with positive weight (w indexed by product id). */
static void alias_build(gen_alias *a, const double *w) {
  double p[GEN_NPRODUCTS], sum = 0;
  int small[GEN_NPRODUCTS], large[GEN_NPRODUCTS], ns = 0, nl = 0, n = 0;
  for (int id = 1; id <= GEN_NPRODUCTS; id++)
    if (w[id] > 0) {
      a->item[n] = (uint16_t)id;
      p[n++] = w[id];
      sum += w[id];
    }
  a->n = n;
  for (int i = 0; i < n; i++) {
    p[i] = p[i] * n / sum;
    if (p[i] < 1.0) small[ns++] = i;
    else large[nl++] = i;
  }
  while (ns && nl) {
    int s = small[--ns], l = large[nl - 1];
    a->prob[s] = (uint32_t)(p[s] * 4294967296.0 >= 4294967295.0 ? 4294967295.0 : p[s] * 4294967296.0);
    a->alias[s] = (uint16_t)l;
    p[l] -= 1.0 - p[s];
    if (p[l] < 1.0) {
      nl--;
      small[ns++] = l;
    }
  }
  while (nl) a->prob[large[--nl]] = UINT32_MAX, a->alias[large[nl]] = (uint16_t)large[nl];
  while (ns) a->prob[small[--ns]] = UINT32_MAX, a->alias[small[ns]] = (uint16_t)small[ns];
}

/* One product id from an alias table (a->n > 0). */
static int alias_draw(const gen_alias *a, gen_rng *r) {
  uint64_t x = gen_rng_next(r);
  uint32_t slot = (uint32_t)(((x >> 32) * (uint64_t)a->n) >> 32);
  return a->item[(uint32_t)x < a->prob[slot] ? slot : a->alias[slot]];
}

/* ---- model construction ---- */

static void recipe_add(gen_recipe *r, int product, double take) {
  r->product[r->n] = (uint16_t)product;
  r->take[r->n++] = (uint32_t)(take * 4294967295.0);
}

static void build_missions(gen_model *m, int s) {
  for (int k = 0; k < GEN_NMISSIONS; k++) {
    gen_recipe *r = &m->recipe[s][k];
    double w[GEN_NPRODUCTS + 1] = {0};
    r->n = 0;
    if (k < NNAMED) {
      for (const mission_item *it = named_missions[k]; it->product; it++)
        if (m->sells[s][it->product]) {
          if (it->take > 0) recipe_add(r, it->product, it->take);
          w[it->product] = m->weight[it->product];
        }
    } else {
      for (int id = 1; id <= GEN_NPRODUCTS; id++)
        if (m->sells[s][id] && m->rank[id] >= aisle_first[k - NNAMED] && m->rank[id] <= aisle_last[k - NNAMED]) {
          recipe_add(r, id, m->par.aisle_take);
          w[id] = m->weight[id];
        }
    }
    alias_build(&m->family[s][k], w);
  }
}

void gen_model_init(gen_model *m, const gen_params *par, const double *weights, int nstores, const int32_t *store_ids,
                    const double *shares, const unsigned char *group) {
  memset(m, 0, sizeof *m);
  m->par = par ? *par : gen_default_params;
  m->nstores = nstores;
  uint16_t order[GEN_NPRODUCTS];
  gen_weights_order(order);
  for (int r = 0; r < GEN_NPRODUCTS; r++) m->rank[order[r]] = (uint16_t)(r + 1);
  for (int id = 1; id <= GEN_NPRODUCTS; id++) m->weight[id] = weights ? weights[id] : gen_weights_background[id - 1];
  for (int s = 0; s < nstores; s++) {
    double w[GEN_NPRODUCTS + 1] = {0};
    m->store_share[s] = shares[s];
    for (int id = 1; id <= GEN_NPRODUCTS; id++) {
      m->sells[s][id] = (unsigned char)gen_catalog_store_sells(store_ids[s], group[id]);
      if (m->sells[s][id]) w[id] = m->weight[id];
    }
    alias_build(&m->background[s], w);
    build_missions(m, s);
  }
  double acc = 0, total = 0;
  for (int k = 0; k < GEN_NMISSIONS; k++) total += m->par.mission_pop[k];
  for (int k = 0; k < GEN_NMISSIONS; k++) m->mission_cdf[k] = (acc += m->par.mission_pop[k]) / total;
  m->mission_cdf[GEN_NMISSIONS - 1] = 1.0;
}

/* ---- customers ---- */

static int pick_mission(const gen_model *m, gen_rng *r) {
  double u = gen_rng_double(r);
  int k = 0;
  while (k < GEN_NMISSIONS - 1 && u >= m->mission_cdf[k]) k++;
  return k;
}

double gen_model_size_mean(const gen_model *m, int32_t visits, double z) {
  const gen_params *p = &m->par;
  double growth = 1.0 + p->size_slope * log((double)visits);
  double mean = p->size_base * (growth > p->size_cap ? p->size_cap : growth) *
                exp(p->size_sigma * z - 0.5 * p->size_sigma * p->size_sigma);
  return mean < 1.2 ? 1.2 : mean > 40 ? 40 : mean;
}

void gen_model_customer(const gen_model *m, gen_rng *rng, gen_customer *c) {
  const gen_params *p = &m->par;
  c->m1 = (uint8_t)pick_mission(m, rng);
  c->m2 = (uint8_t)pick_mission(m, rng);
  c->loyalty = gen_rng_double(rng) < p->loyal_share
                   ? 1.0f
                   : (float)(p->loyal_lo + (p->loyal_hi - p->loyal_lo) * gen_rng_double(rng));
  c->size_mean = (float)gen_model_size_mean(m, c->visits, gen_rng_normal(rng));
  c->staple_mass = (float)(p->staple_lo + (p->staple_hi - p->staple_lo) * gen_rng_double(rng));
  c->quick_share = (float)(p->quick_lo + (p->quick_hi - p->quick_lo) * gen_rng_double(rng));
  int want = 2 + (int)gen_rng_poisson(rng, p->staples_mean - 2);
  if (want > GEN_MAX_STAPLES) want = GEN_MAX_STAPLES;
  c->nstaples = 0;
  const gen_alias *home = &m->background[c->home];
  for (int tries = 0; c->nstaples < want && tries < 8 * want; tries++) {
    int id = alias_draw(home, rng), dup = m->rank[id] <= p->staple_min_rank;
    for (int i = 0; i < c->nstaples; i++) dup |= c->staples[i] == id;
    if (!dup) c->staples[c->nstaples++] = (uint16_t)id;
  }
}

/* ---- baskets ---- */

/* A basket size around mean: 1 + Gamma, with the tail above size_soft_max thinned so that very large
   baskets stay rare (they would make almost every combination of best sellers frequent). */
static int basket_size(const gen_model *m, double mean, gen_rng *r) {
  const gen_params *p = &m->par;
  double scale = (mean - 0.5) / p->size_shape;
  int n = 1;
  for (int tries = 0; tries < 8; tries++) {
    n = 1 + (int)floor(gen_rng_gamma(r, p->size_shape) * scale);
    if (n <= p->size_soft_max || gen_rng_double(r) < exp(-(n - p->size_soft_max) / p->size_tail)) break;
    n = (int)p->size_soft_max;
  }
  return n > GEN_MAX_BASKET ? GEN_MAX_BASKET : n;
}

/* A product to fill the basket: from the mission's family, the customer's staples or the store's assortment;
   0 if the draw must be repeated (a staple the store does not sell). */
static int draw_filler(const gen_model *m, const gen_customer *c, int s, int mission, gen_rng *r) {
  double u = gen_rng_double(r);
  double fm = mission == GEN_NO_MISSION ? 0.0 : mission < NNAMED ? m->par.family_mass : m->par.aisle_mass;
  if (u < fm && m->family[s][mission].n) return alias_draw(&m->family[s][mission], r);
  if (c->nstaples && gen_rng_double(r) < c->staple_mass) {
    int id = c->staples[gen_rng_below(r, c->nstaples)];
    return m->sells[s][id] ? id : 0;
  }
  return alias_draw(&m->background[s], r);
}

/* Puts the mission's products into the basket (each with its recipe's chance, in random order, at most want). */
static int add_recipe(const gen_recipe *rc, gen_rng *r, int want, uint16_t *items, uint32_t *mark, uint32_t stamp) {
  int n = 0;
  for (int i = 0; i < rc->n; i++)
    if ((uint32_t)gen_rng_next(r) < rc->take[i]) {
      int at = (int)gen_rng_below(r, (uint64_t)n + 1); /* inside-out shuffle */
      items[n] = items[at];
      items[at] = rc->product[i];
      n++;
    }
  if (n > want) n = want;
  for (int i = 0; i < n; i++) mark[items[i]] = stamp;
  return n;
}

/* The first product after a random start that the store sells and the basket lacks, or 0. */
static int scan_unused(const gen_model *m, int s, gen_rng *r, const uint32_t *mark, uint32_t stamp) {
  int start = 1 + (int)gen_rng_below(r, GEN_NPRODUCTS);
  for (int k = 0; k < GEN_NPRODUCTS; k++) {
    int id = 1 + (start - 1 + k) % GEN_NPRODUCTS;
    if (m->sells[s][id] && mark[id] != stamp) return id;
  }
  return 0;
}

/* A regular visit's mission: one of the customer's two, a random one, or none. */
static int pick_basket_mission(const gen_model *m, const gen_customer *c, gen_rng *r) {
  const gen_params *p = &m->par;
  double u = gen_rng_double(r);
  if (u < p->p_primary) return c->m1;
  if (u < p->p_primary + p->p_secondary) return c->m2;
  if (u < p->p_primary + p->p_secondary + p->p_random) return pick_mission(m, r);
  return GEN_NO_MISSION;
}

/* Adds a second unit of one product next to the first, if it is a less popular one. */
static int maybe_repeat(const gen_model *m, gen_rng *r, uint16_t *items, int n) {
  if (n < 2 || n >= GEN_MAX_BASKET || gen_rng_double(r) >= m->par.repeat_rate) return n;
  int at = (int)gen_rng_below(r, (uint64_t)n);
  if (m->rank[items[at]] <= 40) return n;
  memmove(items + at + 1, items + at, (size_t)(n - at) * sizeof *items);
  return n + 1;
}

int gen_model_basket(const gen_model *m, const gen_customer *c, int32_t visit, int s, gen_rng *rng,
                     uint16_t *items, uint32_t *mark, uint32_t stamp) {
  const gen_params *p = &m->par;
  int quick = gen_rng_double(rng) < c->quick_share, n = 0;
  int mission = quick ? GEN_NO_MISSION : pick_basket_mission(m, c, rng);
  int want = quick ? 1 + (int)floor(-log(gen_rng_open(rng)) * (p->quick_mean - 1.0))
                   : basket_size(m, c->size_mean * p->mission_size[mission == GEN_NO_MISSION ? GEN_NMISSIONS : mission],
                                 rng);
  if (visit == c->giant_visit) want = c->giant_size;
  if (want > m->background[s].n) want = m->background[s].n; /* cannot hold more distinct products */
  if (mission != GEN_NO_MISSION) n = add_recipe(&m->recipe[s][mission], rng, want, items, mark, stamp);
  while (n < want) {
    int id = 0;
    for (int tries = 0; tries < 64 && !id; tries++) {
      id = draw_filler(m, c, s, mission, rng);
      if (id && mark[id] == stamp) id = 0;
    }
    if (!id) id = scan_unused(m, s, rng, mark, stamp); /* popular products used up: any product left */
    if (!id) break;                                   /* the store's whole assortment is in the basket */
    mark[id] = stamp;
    items[n++] = (uint16_t)id;
  }
  return maybe_repeat(m, rng, items, n);
}
