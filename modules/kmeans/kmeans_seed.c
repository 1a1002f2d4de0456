/*
** kmeans_seed.c: greedy k-means++ seeding as scikit-learn does it (each new centre is the best of 2 + floor(ln k)
** candidates drawn with probability proportional to the squared distance to the chosen centres), driven by a
** xoshiro256** stream seeded through splitmix64 from (seed, stream).
*/
#include "kmeans.h"
#include "kmeans_internal.h"

#include <string.h>

#define KM_MAX_TRIALS 32

typedef struct km_rng {
  uint64_t s[4];
} km_rng;

static uint64_t splitmix64(uint64_t *x) {
  uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

static void rng_seed(km_rng *r, uint64_t seed, uint64_t stream) {
  uint64_t x = seed;
  uint64_t mix = splitmix64(&x) ^ (stream * 0xD1B54A32D192ED03ull);
  for (int i = 0; i < 4; i++) r->s[i] = splitmix64(&mix);
}

static uint64_t rotl(uint64_t x, int k) {
  return (x << k) | (x >> (64 - k));
}

static uint64_t rng_next(km_rng *r) {
  uint64_t *s = r->s;
  uint64_t result = rotl(s[1] * 5, 7) * 9;
  uint64_t t = s[1] << 17;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = rotl(s[3], 45);
  return result;
}

/* Uniform in [0, 1). */
static double rng_uniform(km_rng *r) {
  return (double)(rng_next(r) >> 11) * 0x1.0p-53;
}

/* Uniform in [0, n). */
static int64_t rng_below(km_rng *r, int64_t n) {
  return (int64_t)(((unsigned __int128)rng_next(r) * (uint64_t)n) >> 64);
}

/* First index whose cumulative weight exceeds r (so zero-weight rows are never drawn); the last row of positive
   weight if rounding put r at or past the total. */
static int64_t draw_index(const double *cum, int64_t n, double r) {
  int64_t lo = 0, hi = n;
  while (lo < hi) {
    int64_t mid = lo + (hi - lo) / 2;
    if (cum[mid] > r) hi = mid;
    else lo = mid + 1;
  }
  if (lo < n) return lo;
  for (int64_t i = n - 1; i > 0; i--)
    if (cum[i] > cum[i - 1]) return i;
  return 0;
}

#define WEIGHT(i) (w != NULL ? w[i] : 1.0)

/* closest[i] = min(closest[i], |x_i - c|^2) (just the distance when first), cum[i] the running sum of
   weight * closest. Returns the total (summed in row order, as trial_potentials does). */
KM_INLINE double add_centre_d(const double *X, const double *w, int64_t n, int d, const double *c, int first,
                              double *closest, double *cum) {
  double pot = 0.0;
  for (int64_t i = 0; i < n; i++) {
    double t = km_dist2(X + i * d, c, d);
    if (!first && closest[i] < t) t = closest[i];
    closest[i] = t;
    cum[i] = (pot += WEIGHT(i) * t);
  }
  return pot;
}

static double add_centre(const double *X, const double *w, int64_t n, int d, const double *c, int first,
                         double *closest, double *cum) {
  double pot = 0.0;
#define ADD_CENTRE(D) pot = add_centre_d(X, w, n, D, c, first, closest, cum)
  KM_BY_DIM(d, ADD_CENTRE)
#undef ADD_CENTRE
  return pot;
}

/* pots[t] = sum over rows of weight * min(closest[i], |x_i - X[ids[t]]|^2), all trials in one pass over X. */
KM_INLINE void trial_potentials_d(const double *X, const double *w, int64_t n, int d, const int64_t *ids,
                                  int trials, const double *closest, double *pots) {
  const double *cand[KM_MAX_TRIALS];
  for (int t = 0; t < trials; t++) {
    cand[t] = X + ids[t] * d;
    pots[t] = 0.0;
  }
  for (int64_t i = 0; i < n; i++)
    for (int t = 0; t < trials; t++) {
      double v = km_dist2(X + i * d, cand[t], d);
      pots[t] += WEIGHT(i) * (v < closest[i] ? v : closest[i]);
    }
}

static void trial_potentials(const double *X, const double *w, int64_t n, int d, const int64_t *ids, int trials,
                             const double *closest, double *pots) {
#define TRIALS(D) trial_potentials_d(X, w, n, D, ids, trials, closest, pots)
  KM_BY_DIM(d, TRIALS)
#undef TRIALS
}

/* First centre: a row drawn with probability proportional to its weight. */
static int64_t first_row(const double *w, int64_t n, km_rng *r, double *cum) {
  if (w == NULL) return rng_below(r, n);
  double total = 0.0;
  for (int64_t i = 0; i < n; i++) cum[i] = (total += w[i]);
  return draw_index(cum, n, rng_uniform(r) * total);
}

/* Seeds k centres from rows of X; fails only by cancellation (KM_ECANCELLED, polled once per centre). */
int km_plusplus(const double *X, const double *w, int64_t n, int d, int k, uint64_t seed, uint64_t stream,
                double *scratch, int (*cancelled)(void), double *centres) {
  double *closest = scratch, *cum = scratch + n, pots[KM_MAX_TRIALS];
  int64_t ids[KM_MAX_TRIALS];
  int trials = 2 + (int)log((double)k);
  km_rng r;
  if (trials > KM_MAX_TRIALS) trials = KM_MAX_TRIALS;
  rng_seed(&r, seed, stream);
  int64_t first = first_row(w, n, &r, cum);
  memcpy(centres, X + first * d, (size_t)d * sizeof(double));
  double pot = add_centre(X, w, n, d, centres, 1, closest, cum);
  for (int c = 1; c < k; c++) {
    if (cancelled != NULL && cancelled()) return KM_ECANCELLED;
    for (int t = 0; t < trials; t++) ids[t] = draw_index(cum, n, rng_uniform(&r) * pot);
    trial_potentials(X, w, n, d, ids, trials, closest, pots);
    int best = 0;
    for (int t = 1; t < trials; t++)
      if (pots[t] < pots[best]) best = t;
    memcpy(centres + (int64_t)c * d, X + ids[best] * d, (size_t)d * sizeof(double));
    pot = add_centre(X, w, n, d, centres + (int64_t)c * d, 0, closest, cum);
  }
  return KM_OK;
}
