/*
** gen_rng.h: the generator's seeded random streams: splitmix64 to derive seeds, xoshiro256** to draw, and the few
** distributions the model needs. A stream is named by (seed, tag, index), so every customer and every basket has
** its own stream and the output does not depend on the order (or the thread) in which they are generated.
*/
#ifndef MERCADO_GEN_RNG_H
#define MERCADO_GEN_RNG_H

#include <math.h>
#include <stdint.h>

typedef struct gen_rng {
  uint64_t s[4];
} gen_rng;

/* Stream tags: one per kind of independent stream. */
enum {
  GEN_TAG_CALENDAR = 1,
  GEN_TAG_CUSTOMER,
  GEN_TAG_POPULATION,
  GEN_TAG_BASKET,
  GEN_TAG_DAYS,
  GEN_TAG_CATALOG,
  GEN_TAG_DIRTY,
  GEN_TAG_FIXUP
};

static inline uint64_t gen_splitmix64(uint64_t *x) {
  uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

/* Seeds the stream named (seed, tag, index). */
static inline void gen_rng_init(gen_rng *r, uint64_t seed, uint64_t tag, uint64_t index) {
  uint64_t x = seed;
  uint64_t h = gen_splitmix64(&x);
  x = h ^ (tag * 0xd1b54a32d192ed03ULL);
  h = gen_splitmix64(&x);
  x = h ^ (index * 0x8cb92ba72f3d8dd7ULL + 0x632be59bd9b4e019ULL);
  for (int i = 0; i < 4; i++) r->s[i] = gen_splitmix64(&x);
  if (!(r->s[0] | r->s[1] | r->s[2] | r->s[3])) r->s[0] = 1;
}

static inline uint64_t gen_rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

/* xoshiro256**: the next 64 random bits. */
static inline uint64_t gen_rng_next(gen_rng *r) {
  uint64_t *s = r->s;
  uint64_t out = gen_rotl(s[1] * 5, 7) * 9;
  uint64_t t = s[1] << 17;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = gen_rotl(s[3], 45);
  return out;
}

/* Uniform double in [0, 1). */
static inline double gen_rng_double(gen_rng *r) { return (double)(gen_rng_next(r) >> 11) * 0x1.0p-53; }

/* Uniform double in (0, 1]: safe under log(). */
static inline double gen_rng_open(gen_rng *r) { return ((double)(gen_rng_next(r) >> 11) + 1.0) * 0x1.0p-53; }

/* Uniform integer in [0, n), n >= 1 (Lemire's multiply-shift with rejection: unbiased). */
static inline uint64_t gen_rng_below(gen_rng *r, uint64_t n) {
  uint64_t x = gen_rng_next(r);
  __uint128_t m = (__uint128_t)x * n;
  uint64_t lo = (uint64_t)m;
  if (lo < n) {
    uint64_t t = -n % n;
    while (lo < t) {
      x = gen_rng_next(r);
      m = (__uint128_t)x * n;
      lo = (uint64_t)m;
    }
  }
  return (uint64_t)(m >> 64);
}

/* Standard normal (Marsaglia's polar method; the second value is dropped so a draw costs a fixed pattern). */
static inline double gen_rng_normal(gen_rng *r) {
  double u, v, s;
  do {
    u = 2.0 * gen_rng_double(r) - 1.0;
    v = 2.0 * gen_rng_double(r) - 1.0;
    s = u * u + v * v;
  } while (s >= 1.0 || s == 0.0);
  return u * sqrt(-2.0 * log(s) / s);
}

/* Gamma(shape, 1) (Marsaglia and Tsang; shape < 1 through the U^(1/shape) boost). */
static inline double gen_rng_gamma(gen_rng *r, double shape) {
  double boost = 1.0;
  if (shape < 1.0) {
    boost = pow(gen_rng_open(r), 1.0 / shape);
    shape += 1.0;
  }
  double d = shape - 1.0 / 3.0, c = 1.0 / sqrt(9.0 * d);
  for (;;) {
    double x = gen_rng_normal(r), v = 1.0 + c * x;
    if (v <= 0.0) continue;
    v = v * v * v;
    double u = gen_rng_open(r);
    if (u < 1.0 - 0.0331 * x * x * x * x || log(u) < 0.5 * x * x + d * (1.0 - v + log(v))) return d * v * boost;
  }
}

/* Poisson(lambda): multiplication method below 30, rounded normal approximation above (only used for counts
   where that precision is plenty). */
static inline int64_t gen_rng_poisson(gen_rng *r, double lambda) {
  if (lambda <= 0) return 0;
  if (lambda < 30.0) {
    double limit = exp(-lambda), p = gen_rng_double(r);
    int64_t k = 0;
    while (p > limit) {
      p *= gen_rng_double(r);
      k++;
    }
    return k;
  }
  double x = floor(lambda + sqrt(lambda) * gen_rng_normal(r) + 0.5);
  return x < 0 ? 0 : (int64_t)x;
}

#endif
