/*
** gen_model.c: the shopper and basket model (MODEL.md tells the story and how the constants were calibrated).
** A basket is one visit of a customer to a store. A visit is a quick trip (one to a few products) or a regular
** shop; a regular shop may follow a mission (big weekly run, breakfast, household, greens, pantry, dairy, or an
** "aisle" of less popular products), which puts its recipe's products in with their own chances and draws part
** of the rest from the mission's family. The customer's staples come in with their own per-visit chance; some
** products bring a complement along (31 brings 3, 29 brings 4, ...); everything else comes from the store's
** assortment by popularity (quick trips favour the best sellers, large baskets the long tail), without repeating
** a product (bar a rare second unit of a less popular one).
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
    .quick_first = 0.22,
    .quick_mean = 2.2,
    .quick_power = 2.0,
    .size_base = 10.1019,
    .size_slope = 0.25,
    .size_cap = 1.75,
    .size_sigma = 0.35,
    .size_shape = 10.5,
    .size_soft_max = 18.5,
    .size_tail = 2,
    .loyal_share = 0.72,
    .loyal_lo = 0.55,
    .loyal_hi = 0.95,
    .p_primary = 0.54,
    .p_secondary = 0.24,
    .p_random = 0.18,
    .mission_pop = {0.26, 0.13, 0.12, 0.12, 0.12, 0.12, 0.05, 0.05, 0.05, 0.05, 0.04, 0.04},
    .mission_size = {1.8, 1.23, 1.23, 1.23, 1.23, 1.23, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.65},
    .family_mass = 0.5,
    .aisle_mass = 0.3,
    .aisle_take = 0.08,
    .staples_mean = 16,
    .staple_min_rank = 12,
    .staple_lo = 0.26,
    .staple_hi = 0.56,
    .big_from = 10,
    .big_mid = 0.11,
    .big_tail = 2.2,
    .repeat_rate = 0.003,
};

/* The named missions: their family of products, and for the recipe products (take > 0) the chance each is in a
   basket of that mission. Missions 6..11 are "aisles": blocks of the popularity ranking whose recipe takes each
   product with aisle_take. */
typedef struct mission_item {
  uint16_t product;
  float take;
} mission_item;

static const mission_item mission_big_run[] = {{5, .75f}, {10, .75f}, {3, .47f}, {6, .47f}, {8, .535f},
                                               {12, .43f}, {4, .43f}, {7, 0}, {11, 0}, {13, 0}, {9, 0}, {16, 0},
                                               {0, 0}};
static const mission_item mission_breakfast[] = {{16, .97f}, {21, .97f}, {30, .70f}, {20, .40f}, {14, .37f},
                                                 {37, .25f}, {11, 0}, {9, 0}, {3, 0}, {5, 0}, {10, 0},
                                                 {0, 0}};
static const mission_item mission_household[] = {{4, .819f}, {7, .768f}, {25, .41f}, {17, .41f}, {19, .358f},
                                                 {12, 0}, {8, 0}, {14, 0}, {18, 0},
                                                 {0, 0}};
static const mission_item mission_greens[] = {{3, .643f}, {6, .603f}, {20, .322f}, {24, .281f}, {31, .322f},
                                              {9, .241f}, {12, 0}, {5, 0}, {26, 0}, {0, 0}};
static const mission_item mission_pantry[] = {{11, .578f}, {14, .578f}, {22, .482f}, {23, .433f}, {24, .289f},
                                              {13, 0}, {5, 0}, {10, 0}, {2, 0}, {0, 0}};
static const mission_item mission_dairy[] = {{8, .793f}, {12, .793f}, {13, .661f}, {19, .529f}, {15, .529f},
                                             {18, .529f}, {26, 0}, {10, 0}, {0, 0}};
static const mission_item *const named_missions[] = {mission_big_run, mission_breakfast, mission_household,
                                                     mission_greens,  mission_pantry,    mission_dairy};
#define NNAMED (int)(sizeof named_missions / sizeof named_missions[0])
/* Popularity ranks (1-based, inclusive) of the aisle missions. */
static const int aisle_first[GEN_NMISSIONS - NNAMED] = {40, 80, 130, 190, 260, 350};
static const int aisle_last[GEN_NMISSIONS - NNAMED] = {79, 129, 189, 259, 349, 449};

/* Complements: a basket holding `product` also gets `partner` with chance `take` (taken from the strongest single
   rules of the real data: 31 -> 3, 29 -> 4, 42 -> 5, 37 -> 21, ...). At most GEN_MAX_PARTNERS per product. */
static const struct {
  uint16_t product, partner;
  float take;
} complements[] = {
    {31, 3, .39f},  {31, 6, .16f},  {41, 3, .35f},  {45, 3, .31f},  {33, 3, .31f},  {32, 3, .23f},  {32, 21, .16f},
    {27, 3, .20f},  {27, 21, .20f}, {27, 16, .16f}, {28, 7, .23f},  {28, 4, .23f},  {28, 3, .16f},  {2, 3, .23f},
    {24, 21, .20f}, {24, 14, .16f}, {20, 21, .23f}, {20, 16, .16f}, {20, 23, .16f}, {29, 4, .35f},  {29, 7, .27f},
    {25, 4, .23f},  {25, 7, .23f},  {17, 4, .20f},  {17, 7, .20f},  {42, 5, .31f},  {37, 21, .27f}, {37, 16, .23f},
    {30, 14, .16f}, {23, 21, .20f}, {23, 16, .20f}, {23, 19, .16f}, {22, 21, .16f}, {22, 11, .16f}, {22, 9, .16f},
    {26, 14, .20f}, {26, 19, .20f}, {26, 21, .16f}, {18, 6, .20f},  {15, 8, .16f},  {13, 5, .20f},  {13, 10, .20f},
    {19, 10, .20f}, {19, 5, .16f},  {19, 6, .16f},  {19, 4, .16f},  {12, 5, .20f},  {12, 6, .16f},  {14, 5, .16f},
    {14, 16, .16f}, {14, 6, .12f},
};

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

/* The quick-trip and large-basket variants of store s's assortment w (indexed by product id). */
static void build_variants(gen_model *m, int s, const double *w) {
  double q[GEN_NPRODUCTS + 1] = {0}, b[GEN_NPRODUCTS + 1] = {0};
  for (int id = 1; id <= GEN_NPRODUCTS; id++) {
    if (w[id] <= 0) continue;
    q[id] = pow(w[id], m->par.quick_power);
    b[id] = w[id] * (m->rank[id] <= 12 ? 1.0 : m->rank[id] <= 60 ? m->par.big_mid : m->par.big_tail);
  }
  alias_build(&m->quick[s], q);
  alias_build(&m->big[s], b);
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
    build_variants(m, s, w);
    build_missions(m, s);
  }
  for (size_t i = 0; i < sizeof complements / sizeof complements[0]; i++) {
    int id = complements[i].product, k = m->npartners[id];
    if (k == GEN_MAX_PARTNERS) continue;
    m->partner[id][k] = complements[i].partner;
    m->partner_take[id][k] = (uint32_t)(complements[i].take * 4294967295.0);
    m->npartners[id] = (uint8_t)(k + 1);
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
  c->staple_rate = (float)(p->staple_lo + (p->staple_hi - p->staple_lo) * gen_rng_double(rng));
  c->quick_share = (float)(p->quick_lo + (p->quick_hi - p->quick_lo) * gen_rng_double(rng) +
                           p->quick_first / ((double)c->visits * c->visits));
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

/* A product to fill a basket of `want` products: from the mission's family, or from the store's assortment (the
   quick-trip or large-basket variant when it applies). */
static int draw_filler(const gen_model *m, int s, int mission, int quick, int want, gen_rng *r) {
  double u = gen_rng_double(r);
  double fm = mission == GEN_NO_MISSION ? 0.0 : mission < NNAMED ? m->par.family_mass : m->par.aisle_mass;
  if (u < fm && m->family[s][mission].n) return alias_draw(&m->family[s][mission], r);
  if (quick) return alias_draw(&m->quick[s], r);
  return alias_draw(want >= m->par.big_from ? &m->big[s] : &m->background[s], r);
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

/* Puts each of the customer's staples the store sells in with the customer's per-visit chance, in random order
   after the first n products; returns the new count (at most want). */
static int add_staples(const gen_model *m, const gen_customer *c, int s, gen_rng *r, int n, int want, uint16_t *items,
                       uint32_t *mark, uint32_t stamp) {
  uint32_t take = (uint32_t)(fmin(1.0, (double)c->staple_rate) * 4294967295.0);
  int base = n;
  for (int i = 0; i < c->nstaples; i++) {
    int id = c->staples[i];
    if ((uint32_t)gen_rng_next(r) < take && m->sells[s][id] && mark[id] != stamp) {
      int at = base + (int)gen_rng_below(r, (uint64_t)(n - base) + 1); /* inside-out shuffle */
      items[n] = items[at];
      items[at] = (uint16_t)id;
      n++;
      mark[id] = stamp;
    }
  }
  for (int i = want; i < n; i++) mark[items[i]] = stamp - 1; /* dropped: any value but stamp */
  return n > want ? want : n;
}

/* Adds the complements of items[from..end) that the basket lacks, each with its own chance, while there is room
   (complements do not bring their own complements). Returns the new count. */
static int add_complements(const gen_model *m, int s, gen_rng *r, int from, int n, int want, uint16_t *items,
                           uint32_t *mark, uint32_t stamp) {
  int end = n;
  for (int i = from; i < end && n < want; i++) {
    int id = items[i];
    for (int k = 0; k < m->npartners[id] && n < want; k++) {
      int p = m->partner[id][k];
      if ((uint32_t)gen_rng_next(r) < m->partner_take[id][k] && m->sells[s][p] && mark[p] != stamp) {
        mark[p] = stamp;
        items[n++] = (uint16_t)p;
      }
    }
  }
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
  n = add_staples(m, c, s, rng, n, want, items, mark, stamp);
  n = add_complements(m, s, rng, 0, n, want, items, mark, stamp);
  while (n < want) {
    int id = 0;
    for (int tries = 0; tries < 64 && !id; tries++) {
      id = draw_filler(m, s, mission, quick, want, rng);
      if (id && mark[id] == stamp) id = 0;
    }
    if (!id) id = scan_unused(m, s, rng, mark, stamp); /* popular products used up: any product left */
    if (!id) break;                                   /* the store's whole assortment is in the basket */
    mark[id] = stamp;
    items[n++] = (uint16_t)id;
    n = add_complements(m, s, rng, n - 1, n, want, items, mark, stamp);
  }
  return maybe_repeat(m, rng, items, n);
}
