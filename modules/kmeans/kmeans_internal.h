/*
** kmeans_internal.h: helpers shared by the k-means core files (not part of the module's interface): the distance
** kernel and the nearest-centre scan, with one formula everywhere so every path ranks centres identically, and a
** switch that gives hot loops a compile-time feature count.
*/
#ifndef MERCADO_KMEANS_INTERNAL_H
#define MERCADO_KMEANS_INTERNAL_H

#include <math.h>
#include <stdint.h>

#define KM_INLINE static inline __attribute__((always_inline))

/* Squared Euclidean distance, summed in feature order. */
KM_INLINE double km_dist2(const double *a, const double *b, int d) {
  double s = 0.0;
  for (int f = 0; f < d; f++) {
    double t = a[f] - b[f];
    s += t * t;
  }
  return s;
}

/* Nearest of k centres to x (lowest index on ties); *b1 gets its squared distance, *b2 the second smallest
   (INFINITY when k = 1). Branch-free so that scans of undecided rows do not mispredict. */
KM_INLINE int km_nearest2(const double *x, const double *C, int k, int d, double *b1, double *b2) {
  double best = INFINITY, second = INFINITY;
  int j1 = 0;
  for (int j = 0; j < k; j++) {
    double t = km_dist2(x, C + (int64_t)j * d, d);
    double hi = t > best ? t : best;
    second = hi < second ? hi : second;
    j1 = t < best ? j : j1;
    best = t < best ? t : best;
  }
  *b1 = best;
  *b2 = second;
  return j1;
}

/* Runs CALL(D) with D a constant for d = 1..8 (so feature loops unroll), or with D = d otherwise. */
#define KM_BY_DIM(d, CALL)      \
  switch (d) {                  \
    case 1: CALL(1); break;     \
    case 2: CALL(2); break;     \
    case 3: CALL(3); break;     \
    case 4: CALL(4); break;     \
    case 5: CALL(5); break;     \
    case 6: CALL(6); break;     \
    case 7: CALL(7); break;     \
    case 8: CALL(8); break;     \
    default: CALL(d); break;    \
  }

#endif
