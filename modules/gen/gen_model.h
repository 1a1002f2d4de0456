/*
** gen_model.h: the generative model of shoppers and baskets (see MODEL.md): product popularity, store assortments,
** shopping missions, complementary products, customers (visit count, home store, loyalty, basket size, missions,
** staples) and the sampler that turns one visit into a list of product ids. Plain C over small fixed tables;
** read-only once built, so worker threads share one gen_model.
*/
#ifndef MERCADO_GEN_MODEL_H
#define MERCADO_GEN_MODEL_H

#include <stdint.h>

#include "gen_rng.h"

#define GEN_FULL_BASKETS 1108987 /* the real data set the model is calibrated on ... */
#define GEN_FULL_CUSTOMERS 131186 /* ... and its number of customers */
#define GEN_NPRODUCTS 449   /* product ids 1..449 are sold */
#define GEN_MAX_STORES 16
#define GEN_NMISSIONS 12
#define GEN_NO_MISSION 255
#define GEN_MAX_STAPLES 24
#define GEN_MAX_BASKET 128  /* longest basket, in units */
#define GEN_MAX_PARTNERS 4  /* complements of one product */

/* The model's tunable constants (calibrated; MODEL.md explains each). */
typedef struct gen_params {
  double visit_shape, visit_scale;  /* a customer's visits = 1 + Poisson(Gamma(shape) * scale) ... */
  double visit_cap;                 /* ... redrawn above the cap */
  double quick_lo, quick_hi;        /* share of a customer's visits that are quick trips: uniform in this range ... */
  double quick_first;               /* ... plus quick_first / visits^2 (one-off shoppers mostly grab a few things) */
  double quick_mean;                /* a quick trip holds 1 + floor(Exponential(quick_mean - 1)) products ... */
  double quick_power;               /* ... drawn with the popularity weights raised to this power */
  double size_base;                 /* mean size of the other visits: base * min(cap, 1 + slope * ln visits) ... */
  double size_slope, size_cap;
  double size_sigma;                /* ... times a per-customer log-normal factor with this sigma */
  double size_shape;                /* a visit's size: 1 + Gamma(shape) around the customer's mean ... */
  double size_soft_max, size_tail;  /* ... sizes above soft_max survive with probability exp(-excess / tail) */
  double loyal_share;               /* customers who never leave their home store */
  double loyal_lo, loyal_hi;        /* the others stay home with a probability uniform in this range */
  double p_primary, p_secondary, p_random; /* a visit's mission: the customer's first, second, a random one */
  double mission_pop[GEN_NMISSIONS];       /* how often each mission is picked (customers' and random ones) */
  double mission_size[GEN_NMISSIONS + 1];  /* basket size factor per mission; the last is for no mission */
  double family_mass;               /* share of a named mission's other products drawn from its family */
  double aisle_mass;                /* the same for an aisle mission */
  double aisle_take;                /* chance an aisle mission's recipe takes each product of the aisle */
  double staples_mean;              /* a customer's staples: 2 + Poisson(staples_mean - 2) products ... */
  int staple_min_rank;              /* ... never among this many best sellers */
  double staple_lo, staple_hi;      /* chance that a visit includes each staple: uniform in range per customer */
  double big_from;                  /* baskets of at least this many products fill their free slots ... */
  double big_mid, big_tail;         /* ... with the weights of ranks 13..60 times big_mid, of 61.. times big_tail */
  double repeat_rate;               /* share of baskets holding a second unit of one less popular product */
} gen_params;

/* The calibrated constants. */
extern const gen_params gen_default_params;

/* Draws from a discrete distribution in O(1) (Walker/Vose alias method). */
typedef struct gen_alias {
  int n;
  uint32_t prob[GEN_NPRODUCTS];  /* keep slot i with probability prob[i] / 2^32 */
  uint16_t alias[GEN_NPRODUCTS];
  uint16_t item[GEN_NPRODUCTS];  /* product id of slot i */
} gen_alias;

/* A mission's recipe: each product is in the basket with its own probability (take / 2^32). */
typedef struct gen_recipe {
  int n;
  uint16_t product[GEN_NPRODUCTS];
  uint32_t take[GEN_NPRODUCTS]; /* probability * 2^32 */
} gen_recipe;

typedef struct gen_model {
  gen_params par;
  int nstores;
  double weight[GEN_NPRODUCTS + 1];                 /* background popularity by product id */
  uint16_t rank[GEN_NPRODUCTS + 1];                 /* 1 = most popular */
  unsigned char sells[GEN_MAX_STORES][GEN_NPRODUCTS + 1];
  gen_alias background[GEN_MAX_STORES];       /* the store's assortment by popularity */
  gen_alias quick[GEN_MAX_STORES];            /* the same for quick trips (weights ^ quick_power) */
  gen_alias big[GEN_MAX_STORES];              /* the same for large baskets (mid ranks down, the tail up) */
  gen_recipe recipe[GEN_MAX_STORES][GEN_NMISSIONS];
  gen_alias family[GEN_MAX_STORES][GEN_NMISSIONS]; /* the mission's products by popularity */
  uint8_t npartners[GEN_NPRODUCTS + 1];      /* complements: a basket with product id gets partner[id][k] ... */
  uint16_t partner[GEN_NPRODUCTS + 1][GEN_MAX_PARTNERS];
  uint32_t partner_take[GEN_NPRODUCTS + 1][GEN_MAX_PARTNERS]; /* ... with probability partner_take / 2^32 */
  double store_share[GEN_MAX_STORES];
  double mission_cdf[GEN_NMISSIONS];
} gen_model;

typedef struct gen_customer {
  int32_t id;
  int32_t visits;
  uint8_t home;          /* store index */
  uint8_t m1, m2;        /* preferred missions */
  uint8_t nstaples;
  float loyalty;         /* probability a visit is at the home store */
  float size_mean;
  float staple_rate;     /* chance that a visit includes each staple */
  float quick_share;     /* share of visits that are quick trips */
  int32_t giant_visit;   /* the visit that is a giant basket (a business buying in bulk), or -1 */
  int32_t giant_size;
  uint16_t staples[GEN_MAX_STAPLES];
} gen_customer;

/* Builds the model for the given stores (ids, shares summing to 1) and product groups (gen_catalog_groups);
   par NULL uses gen_default_params, weights NULL (else indexed by product id) gen_weights_background.
   Cannot fail. */
void gen_model_init(gen_model *m, const gen_params *par, const double *weights, int nstores, const int32_t *store_ids,
                    const double *shares, const unsigned char *group);

/* Draws a customer's traits (everything but id, visits and home, which the population sets) from rng. */
void gen_model_customer(const gen_model *m, gen_rng *rng, gen_customer *c);

/* Mean basket size of a customer with this many visits and log-normal factor z (a standard normal draw). */
double gen_model_size_mean(const gen_model *m, int32_t visits, double z);

/* Fills items (room for GEN_MAX_BASKET + 1) with the products of visit number `visit` of c to store s and returns
   their count (>= 1). mark/stamp: a scratch array of GEN_NPRODUCTS + 1 entries and a value not yet stored in it. */
int gen_model_basket(const gen_model *m, const gen_customer *c, int32_t visit, int s, gen_rng *rng,
                     uint16_t *items, uint32_t *mark, uint32_t stamp);

#endif
