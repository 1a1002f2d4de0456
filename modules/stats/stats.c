/*
** stats.c: the stats core's summaries of one array: moments (two-pass), numpy-compatible quantiles and median
** (selection, not a full sort) and the boxplot summary of matplotlib's boxplot_stats.
*/
#include "stats.h"

#include <math.h>
#include <stdlib.h>

#include "stats_internal.h"

#define SMALL_NQ 16

const char *stats_strerror(int status) {
  switch (status) {
    case STATS_OK: return "ok";
    case STATS_EEMPTY: return "empty input";
    case STATS_ETOOFEW: return "sample variance needs at least 2 values";
    case STATS_ENOMEM: return "not enough memory";
    case STATS_ECANCELLED: return "cancelled";
    case STATS_ETOOMANYBINS: return "too many histogram bins";
    default: return "unknown stats error";
  }
}

int64_t stats_first_nonfinite(const double *x, int64_t n) {
  for (int64_t i = 0; i < n; i++)
    if (!isfinite(x[i])) return i;
  return -1;
}

int stats_minmax(const double *x, int64_t n, double *min, double *max) {
  if (n == 0) return STATS_EEMPTY;
  double lo = x[0], hi = x[0];
  for (int64_t i = 1; i < n; i++) {
    if (x[i] < lo) lo = x[i];
    if (x[i] > hi) hi = x[i];
  }
  *min = lo;
  *max = hi;
  return STATS_OK;
}

/* Sum by Neumaier's compensated summation: error about one rounding, independent of n and of cancellation. */
static double sum_compensated(const double *x, int64_t n) {
  double s = 0, c = 0;
  for (int64_t i = 0; i < n; i++) {
    double v = x[i], t = s + v;
    c += fabs(s) >= fabs(v) ? (s - t) + v : (v - t) + s;
    s = t;
  }
  return s + c;
}

int stats_mean(const double *x, int64_t n, double *mean) {
  if (n == 0) return STATS_EEMPTY;
  *mean = sum_compensated(x, n) / (double)n;
  return STATS_OK;
}

int stats_moments(const double *x, int64_t n, double *mean, double *m2) {
  double m;
  int st = stats_mean(x, n, &m);
  if (st != STATS_OK) return st;
  double s1 = 0, s2 = 0;
  for (int64_t i = 0; i < n; i++) {
    double d = x[i] - m;
    s1 += d;
    s2 += d * d;
  }
  double q = s2 - s1 * s1 / (double)n; /* corrected two-pass (Chan, Golub & LeVeque) */
  *mean = m;
  *m2 = q > 0 ? q : 0;
  return STATS_OK;
}

int stats_var(const double *x, int64_t n, int ddof, double *var) {
  if (n == 0) return STATS_EEMPTY;
  if (n <= ddof) return STATS_ETOOFEW;
  double m, m2;
  int st = stats_moments(x, n, &m, &m2);
  if (st == STATS_OK) *var = m2 / (double)(n - ddof);
  return st;
}

double stats_lerp(double a, double b, double t) {
  double d = b - a;
  return t >= 0.5 ? b - d * (1 - t) : a + d * t;
}

/* numpy 'linear' position of quantile q among n sorted values: lerp(x[prev], x[prev+1], gamma), or x[prev] alone
   when gamma is 0 (at the ends, and where (n-1)q is a whole number). */
static void quantile_index(int64_t n, double q, int64_t *prev, double *gamma) {
  double v = (double)(n - 1) * q;
  *gamma = 0;
  if (v >= (double)(n - 1))
    *prev = n - 1;
  else if (!(v > 0))
    *prev = 0;
  else {
    double f = floor(v);
    *prev = (int64_t)f;
    *gamma = v - f;
  }
}

static int cmp_i64(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return (x > y) - (x < y);
}

/* Sorts ks[0..nk) and drops duplicates; returns the new count. */
static int sort_unique(int64_t *ks, int nk) {
  qsort(ks, (size_t)nk, sizeof *ks, cmp_i64);
  int m = 0;
  for (int i = 0; i < nk; i++)
    if (m == 0 || ks[m - 1] != ks[i]) ks[m++] = ks[i];
  return m;
}

/* Places the order statistics ks[0..nk) (ascending, distinct) and returns in after[i] the one right after
   ks[i]: once ks are placed, it is the smallest value between ks[i] and ks[i+1], so a scan finds it. */
static void select_with_next(double *x, int64_t n, const int64_t *ks, int nk, double *after) {
  stats_multiselect(x, 0, n, ks, nk);
  for (int i = 0; i < nk; i++) {
    int64_t k = ks[i], end = i + 1 < nk ? ks[i + 1] : n;
    double m = k + 1 < n ? x[k + 1] : x[k];
    for (int64_t j = k + 2; j < end; j++)
      if (x[j] < m) m = x[j];
    after[i] = m;
  }
}

/* Index of k in the sorted array ks[0..nk). */
static int find_k(const int64_t *ks, int nk, int64_t k) {
  int lo = 0, hi = nk - 1;
  while (lo < hi) {
    int mid = (lo + hi) / 2;
    if (ks[mid] < k)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

int stats_quantiles(double *x, int64_t n, const double *q, int nq, double *out) {
  if (n == 0) return STATS_EEMPTY;
  int64_t small_k[SMALL_NQ];
  double small_a[SMALL_NQ], g;
  int64_t *ks = nq <= SMALL_NQ ? small_k : malloc((size_t)nq * sizeof *ks);
  double *after = nq <= SMALL_NQ ? small_a : malloc((size_t)nq * sizeof *after);
  int st = STATS_ENOMEM;
  if (!ks || !after) goto cleanup;
  for (int i = 0; i < nq; i++) quantile_index(n, q[i], &ks[i], &g);
  int nk = sort_unique(ks, nq);
  select_with_next(x, n, ks, nk, after);
  for (int i = 0; i < nq; i++) {
    int64_t p;
    quantile_index(n, q[i], &p, &g);
    out[i] = g == 0 ? x[p] : stats_lerp(x[p], after[find_k(ks, nk, p)], g);
  }
  st = STATS_OK;
cleanup:
  if (ks != small_k) free(ks);
  if (after != small_a) free(after);
  return st;
}

int stats_median(double *x, int64_t n, double *out) {
  if (n == 0) return STATS_EEMPTY;
  int64_t k = (n - 1) / 2;
  double after;
  select_with_next(x, n, &k, 1, &after);
  *out = n % 2 ? x[k] : (x[k] + after) / 2;
  return STATS_OK;
}

/* Whiskers and outlier counts once the quartiles' lower order statistics sit at k1 and k3 (q1_next is the value
   right after x[k1]). Every value past k1 is >= q1_next, every value before k3 is <= x[k3] <= q3, so only the
   tails [0, k1] and [k3, n) can hold a whisker end or an outlier. */
static void box_tails(const double *x, int64_t n, int64_t k1, double q1_next, int64_t k3, double whis,
                      stats_box *b) {
  double lo_fence = b->q1 - whis * b->iqr, hi_fence = b->q3 + whis * b->iqr;
  double wl = q1_next, wh = x[k3];
  for (int64_t i = 0; i <= k1; i++)
    if (x[i] >= lo_fence && x[i] < wl) wl = x[i];
  for (int64_t i = k3; i < n; i++)
    if (x[i] <= hi_fence && x[i] > wh) wh = x[i];
  b->whisker_low = wl <= b->q1 ? wl : b->q1;
  b->whisker_high = wh >= b->q3 ? wh : b->q3;
  b->outliers_low = b->outliers_high = 0;
  for (int64_t i = 0; i <= k1; i++) b->outliers_low += x[i] < b->whisker_low;
  for (int64_t i = k3; i < n; i++) b->outliers_high += x[i] > b->whisker_high;
}

int stats_boxplot(double *x, int64_t n, double whis, stats_box *b) {
  if (n == 0) return STATS_EEMPTY;
  static const double qs[3] = {0.25, 0.5, 0.75};
  int64_t pos[3], ks[3];
  double g[3], after[3], qv[3];
  stats_minmax(x, n, &b->min, &b->max);
  stats_mean(x, n, &b->mean); /* before selection reorders x: the same sum as stats_mean of the input */
  for (int i = 0; i < 3; i++) {
    quantile_index(n, qs[i], &pos[i], &g[i]);
    ks[i] = pos[i];
  }
  int nk = sort_unique(ks, 3);
  select_with_next(x, n, ks, nk, after);
  double next1 = after[find_k(ks, nk, pos[0])];
  for (int i = 0; i < 3; i++)
    qv[i] = g[i] == 0 ? x[pos[i]] : stats_lerp(x[pos[i]], after[find_k(ks, nk, pos[i])], g[i]);
  b->count = n;
  b->q1 = qv[0];
  b->median = qv[1];
  b->q3 = qv[2];
  b->iqr = qv[2] - qv[0];
  box_tails(x, n, pos[0], next1, pos[2], whis, b);
  return STATS_OK;
}
