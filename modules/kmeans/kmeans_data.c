/*
** kmeans_data.c: checks and scaling of k-means input: non-finite values, the number of distinct rows, column
** variances (the scale of tol) and z-scoring with the sample standard deviation.
*/
#include "kmeans.h"
#include "kmeans_internal.h"

#include <stdlib.h>
#include <string.h>

/* First NaN or infinity in row order; cannot fail. */
int km_find_nonfinite(const double *X, int64_t n, int d, int64_t *row, int *col) {
  for (int64_t i = 0; i < n; i++)
    for (int f = 0; f < d; f++)
      if (!isfinite(X[i * d + f])) {
        *row = i;
        *col = f;
        return 1;
      }
  return 0;
}

/* Stops at the k-th distinct row; -1 when out of memory. */
int km_has_distinct(const double *X, int64_t n, int d, int k) {
  if (k <= 1) return n >= k;
  if (n < k) return 0;
  int64_t *seen = malloc((size_t)k * sizeof *seen);
  if (seen == NULL) return -1;
  int found = 0;
  for (int64_t i = 0; i < n && found < k; i++) {
    int dup = 0;
    for (int j = 0; j < found && !dup; j++) dup = km_dist2(X + i * d, X + seen[j] * d, d) == 0.0;
    if (!dup) seen[found++] = i;
  }
  free(seen);
  return found >= k;
}

/* Column means and sums of squared deviations in two row-wise passes (each column summed in row order). */
void km_column_stats(const double *X, int64_t n, int d, double *mean, double *ss) {
  for (int f = 0; f < d; f++) mean[f] = ss[f] = 0.0;
  for (int64_t i = 0; i < n; i++)
    for (int f = 0; f < d; f++) mean[f] += X[i * d + f];
  for (int f = 0; f < d; f++) mean[f] /= (double)n;
  for (int64_t i = 0; i < n; i++)
    for (int f = 0; f < d; f++) {
      double t = X[i * d + f] - mean[f];
      ss[f] += t * t;
    }
}

/* Mean over columns of the population variance (numpy.var); NAN if out of memory. */
double km_mean_variance(const double *X, int64_t n, int d) {
  double *m = malloc((size_t)d * 2 * sizeof *m), total = 0.0;
  if (m == NULL) return NAN;
  km_column_stats(X, n, d, m, m + d);
  for (int f = 0; f < d; f++) total += m[d + f] / (double)n;
  free(m);
  return total / d;
}

/* Marks in varies[f] whether column f holds more than one value (a constant column's deviation is exactly 0,
   whatever the rounding of its mean). */
static void columns_vary(const double *X, int64_t n, int d, unsigned char *varies) {
  for (int f = 0; f < d; f++) varies[f] = 0;
  for (int64_t i = 1; i < n; i++)
    for (int f = 0; f < d; f++) varies[f] |= X[i * d + f] != X[f];
}

/* Z-scores in place (sample deviation, constant column -> 0); cannot fail (a column-wise pass stands in for the
   flags if they cannot be allocated). */
void km_standardize(double *X, int64_t n, int d, double *mean, double *sd) {
  unsigned char *varies = malloc((size_t)d);
  km_column_stats(X, n, d, mean, sd);
  if (varies != NULL) {
    columns_vary(X, n, d, varies);
  }
  for (int f = 0; f < d; f++) {
    int v = 0;
    if (varies != NULL) v = varies[f];
    else
      for (int64_t i = 1; i < n && !v; i++) v = X[i * d + f] != X[f];
    sd[f] = (n > 1 && v) ? sqrt(sd[f] / (double)(n - 1)) : 0.0;
  }
  free(varies);
  for (int64_t i = 0; i < n; i++)
    for (int f = 0; f < d; f++) X[i * d + f] = sd[f] > 0.0 ? (X[i * d + f] - mean[f]) / sd[f] : 0.0;
}

/* Hash of a row's values (-0.0 hashed as 0.0, so rows equal under == hash alike). */
static uint64_t row_hash(const double *x, int d) {
  uint64_t h = 0x243F6A8885A308D3ull;
  for (int f = 0; f < d; f++) {
    double v = x[f] + 0.0;
    uint64_t bits;
    memcpy(&bits, &v, sizeof bits);
    h = (h ^ bits) * 0x9E3779B97F4A7C15ull;
    h ^= h >> 29;
  }
  h *= 0xBF58476D1CE4E5B9ull;
  return h ^ (h >> 32);
}

static int rows_equal(const double *a, const double *b, int d) {
  for (int f = 0; f < d; f++)
    if (a[f] != b[f]) return 0;
  return 1;
}

/* Open-addressing hash of the rows; -1 when the table cannot be allocated. */
int64_t km_unique_rows(const double *X, int64_t n, int d, double *U, double *w, int32_t *map) {
  enum { AHEAD = 16 };  /* rows hashed ahead, their slots prefetched: the table is larger than the caches */
  size_t cap = 16, ring[AHEAD];
  while (cap < (size_t)n * 2) cap <<= 1;
  int32_t *slot = malloc(cap * sizeof *slot);
  if (slot == NULL) return -1;
  memset(slot, 0xFF, cap * sizeof *slot);
  for (int64_t i = 0; i < AHEAD && i < n; i++) {
    ring[i] = row_hash(X + i * d, d) & (cap - 1);
    __builtin_prefetch(slot + ring[i]);
  }
  int64_t u = 0;
  for (int64_t i = 0; i < n; i++) {
    const double *x = X + i * d;
    size_t pos = ring[i % AHEAD];
    if (i + AHEAD < n) {
      ring[i % AHEAD] = row_hash(X + (i + AHEAD) * d, d) & (cap - 1);
      __builtin_prefetch(slot + ring[i % AHEAD]);
    }
    while (slot[pos] >= 0 && !rows_equal(U + (int64_t)slot[pos] * d, x, d)) pos = (pos + 1) & (cap - 1);
    if (slot[pos] < 0) {
      slot[pos] = (int32_t)u;
      memcpy(U + u * d, x, (size_t)d * sizeof *x);
      w[u++] = 0.0;
    }
    map[i] = slot[pos];
    w[slot[pos]] += 1.0;
  }
  free(slot);
  return u;
}
