/*
** test_stats.c: unit tests of the stats core (modules/stats): every result is checked against a brute-force
** computation on random data with fixed seeds (full sorts, long double sums, O(n^2) ranks, matplotlib's boxplot
** rules written out literally), or against values numpy/matplotlib/pandas printed (the calls are in comments;
** running the tests needs none of them).
*/
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stats.h"
#include "stats_internal.h"
#include "check.h"

#define COUNT(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* splitmix64: a fixed-seed generator so every run sees the same data. */
static uint64_t rng_next(uint64_t *s) {
  uint64_t z = (*s += UINT64_C(0x9E3779B97F4A7C15));
  z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
  z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
  return z ^ (z >> 31);
}
static double rng_unit(uint64_t *s) { return (double)(rng_next(s) >> 11) * 0x1.0p-53; }
static int64_t rng_int(uint64_t *s, int64_t lo, int64_t hi) {
  return lo + (int64_t)(rng_next(s) % (uint64_t)(hi - lo + 1));
}

/* Random data of several shapes: continuous, few distinct integers, large offset, heavy tail with outliers. */
static void fill(double *x, int64_t n, uint64_t *s, int kind) {
  for (int64_t i = 0; i < n; i++) {
    switch (kind % 4) {
      case 0: x[i] = rng_unit(s) * 200 - 50; break;
      case 1: x[i] = (double)rng_int(s, -3, 5); break;
      case 2: x[i] = 1e9 + rng_unit(s); break;
      default: x[i] = rng_unit(s) < 0.05 ? (rng_unit(s) - 0.5) * 1e4 : rng_unit(s) * 10; break;
    }
  }
}

static int cmp_d(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static double *sorted_copy(const double *x, int64_t n) {
  double *s = malloc((size_t)(n ? n : 1) * sizeof *s);
  memcpy(s, x, (size_t)n * sizeof *s);
  qsort(s, (size_t)n, sizeof *s, cmp_d);
  return s;
}

static int close_rel(double a, double b, double tol) {
  return fabs(a - b) <= tol * fmax(1.0, fmax(fabs(a), fabs(b)));
}

/* numpy 'linear' quantile on a fully sorted array, written from numpy's _quantile/_lerp. */
static double brute_quantile(const double *sorted, int64_t n, double q) {
  double v = (double)(n - 1) * q;
  if (v >= (double)(n - 1)) return sorted[n - 1];
  int64_t i = (int64_t)floor(v);
  double t = v - floor(v), a = sorted[i], b = sorted[i + 1], d = b - a;
  return t >= 0.5 ? b - d * (1 - t) : a + d * t;
}

/* ---------------------------------------------------------------- moments */

static void test_moments_fixture(void) {
  /* Hand-computed: mean 5, deviations -3 -1 -1 -1 0 0 2 4, squares sum 32: population 4, sample 32/7. */
  double x[] = {2, 4, 4, 4, 5, 5, 7, 9}, m, v;
  CHECK(stats_mean(x, 8, &m) == STATS_OK && m == 5, "mean %g", m);
  CHECK(stats_var(x, 8, 0, &v) == STATS_OK && v == 4, "var pop %g", v);
  CHECK(stats_var(x, 8, 1, &v) == STATS_OK && close_rel(v, 32.0 / 7, 1e-15), "var sample %g", v);
  CHECK(stats_mean(x, 0, &m) == STATS_EEMPTY, "empty mean");
  CHECK(stats_var(x, 0, 0, &v) == STATS_EEMPTY, "empty var");
  CHECK(stats_var(x, 1, 1, &v) == STATS_ETOOFEW, "sample var of one value");
  CHECK(stats_var(x, 1, 0, &v) == STATS_OK && v == 0, "population var of one value %g", v);
  printf("ok moments fixture\n");
}

/* numpy values: np.mean(a), np.var(a), np.var(a, ddof=1) for the arrays of test_numpy_values. */
static void test_moments_numpy(void) {
  static const double A[] = {3.5, -1.25, 7, 2, 2, 10.75, 0, 4.5, 9, -3};
  static const double D[] = {1, 1, 2, 3, 3, 3, 4, 10, 25, -8, 3};
  double m, v0, v1;
  stats_mean(A, 10, &m);
  stats_var(A, 10, 0, &v0);
  stats_var(A, 10, 1, &v1);
  CHECK(close_rel(m, 3.45, 1e-15) && close_rel(v0, 17.759999999999998, 1e-15) &&
            close_rel(v1, 19.733333333333334, 1e-15), "A: %.17g %.17g %.17g", m, v0, v1);
  stats_mean(D, 11, &m);
  stats_var(D, 11, 0, &v0);
  stats_var(D, 11, 1, &v1);
  CHECK(close_rel(m, 4.2727272727272725, 1e-15) && close_rel(v0, 58.743801652892564, 1e-15) &&
            close_rel(v1, 64.61818181818182, 1e-15), "D: %.17g %.17g %.17g", m, v0, v1);
  printf("ok moments numpy\n");
}

/* Against long double two-pass sums and Welford's update, on data where the naive formula fails. */
static void test_moments_random(void) {
  uint64_t s = 42;
  for (int round = 0; round < 40; round++) {
    int64_t n = rng_int(&s, 2, 20000);
    double *x = malloc((size_t)n * sizeof *x);
    fill(x, n, &s, round);
    long double lm = 0, lq = 0;
    for (int64_t i = 0; i < n; i++) lm += x[i];
    lm /= n;
    for (int64_t i = 0; i < n; i++) lq += (x[i] - lm) * (x[i] - lm);
    double wm = 0, wq = 0; /* Welford */
    for (int64_t i = 0; i < n; i++) {
      double d = x[i] - wm;
      wm += d / (double)(i + 1);
      wq += d * (x[i] - wm);
    }
    double m, v0, v1;
    stats_mean(x, n, &m);
    stats_var(x, n, 0, &v0);
    stats_var(x, n, 1, &v1);
    CHECK(close_rel(m, (double)lm, 1e-15), "round %d mean %.17g vs %.17Lg", round, m, lm);
    CHECK(close_rel(v0, (double)(lq / n), 1e-12), "round %d var pop %.17g vs %.17Lg", round, v0, lq / n);
    CHECK(close_rel(v1, (double)(lq / (n - 1)), 1e-12), "round %d var sample", round);
    CHECK(close_rel(v0, wq / (double)n, 1e-6), "round %d vs Welford %.17g %.17g", round, v0, wq / (double)n);
    free(x);
  }
  printf("ok moments random\n");
}

/* ---------------------------------------------------------------- selection and quantiles */

static void check_selected(const double *x, const double *sorted, int64_t n, int64_t k, const char *what) {
  CHECK(x[k] == sorted[k], "%s n=%lld k=%lld: %g vs %g", what, (long long)n, (long long)k, x[k], sorted[k]);
  int ok = 1;
  for (int64_t i = 0; i < n; i++) ok &= i < k ? x[i] <= x[k] : i > k ? x[i] >= x[k] : 1;
  CHECK(ok, "%s n=%lld k=%lld: not partitioned", what, (long long)n, (long long)k);
}

/* Inputs that defeat naive pivots: sorted, reversed, constant, organ pipe, sawtooth, two values. */
static void pattern(double *x, int64_t n, int p, uint64_t *s) {
  for (int64_t i = 0; i < n; i++) {
    switch (p) {
      case 0: x[i] = (double)i; break;
      case 1: x[i] = (double)(n - i); break;
      case 2: x[i] = 7; break;
      case 3: x[i] = (double)(i < n / 2 ? i : n - i); break;
      case 4: x[i] = (double)(i % 17); break;
      case 5: x[i] = (double)(rng_next(s) & 1); break;
      default: x[i] = rng_unit(s); break;
    }
  }
}

static void test_select(void) {
  uint64_t s = 7;
  static const int64_t sizes[] = {1, 2, 3, 5, 24, 25, 26, 100, 601, 1000, 10007, 100003};
  for (int si = 0; si < COUNT(sizes); si++)
    for (int p = 0; p < 7; p++)
      for (int t = 0; t < 4; t++) {
        int64_t n = sizes[si];
        double *x = malloc((size_t)n * sizeof *x);
        pattern(x, n, p, &s);
        double *sorted = sorted_copy(x, n);
        int64_t k = t == 0 ? 0 : t == 1 ? n - 1 : t == 2 ? n / 2 : rng_int(&s, 0, n - 1);
        stats_select(x, 0, n, k);
        check_selected(x, sorted, n, k, "select");
        free(x);
        free(sorted);
      }
  printf("ok select\n");
}

static void test_quantiles_random(void) {
  uint64_t s = 1234;
  for (int round = 0; round < 300; round++) {
    int64_t n = round < 30 ? round + 1 : rng_int(&s, 1, 5000);
    double *x = malloc((size_t)n * sizeof *x), q[12], out[12];
    fill(x, n, &s, round);
    double *sorted = sorted_copy(x, n);
    int nq = (int)rng_int(&s, 1, 12);
    for (int i = 0; i < nq; i++) q[i] = i == 0 ? 0 : i == 1 ? 1 : i == 2 ? 0.5 : rng_unit(&s);
    CHECK(stats_quantiles(x, n, q, nq, out) == STATS_OK, "quantiles status");
    for (int i = 0; i < nq; i++) {
      double want = brute_quantile(sorted, n, q[i]);
      CHECK(out[i] == want, "round %d n=%lld q=%.17g: %.17g vs %.17g", round, (long long)n, q[i], out[i], want);
    }
    double med, want_med = n % 2 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
    stats_median(x, n, &med);
    CHECK(med == want_med, "median n=%lld %.17g vs %.17g", (long long)n, med, want_med);
    free(x);
    free(sorted);
  }
  /* Many quantiles at once (the heap-allocated index path). */
  int64_t n = 3001;
  double *x = malloc((size_t)n * sizeof *x), q[200], out[200];
  fill(x, n, &s, 0);
  double *sorted = sorted_copy(x, n);
  for (int i = 0; i < 200; i++) q[i] = i / 199.0;
  stats_quantiles(x, n, q, 200, out);
  for (int i = 0; i < 200; i++) CHECK(out[i] == brute_quantile(sorted, n, q[i]), "many q[%d]", i);
  free(x);
  free(sorted);
  double none;
  CHECK(stats_quantiles(NULL, 0, q, 1, &none) == STATS_EEMPTY, "empty quantile");
  CHECK(stats_median(NULL, 0, &none) == STATS_EEMPTY, "empty median");
  printf("ok quantiles random\n");
}

/* np.quantile(a, [0, 0.1, 0.25, 0.3333, 0.5, 0.66, 0.75, 0.9, 0.99, 1]) and np.median(a) (numpy 1.24.2). */
static void test_quantiles_numpy(void) {
  static const double qs[10] = {0, 0.1, 0.25, 0.3333, 0.5, 0.66, 0.75, 0.9, 0.99, 1};
  static const double A[] = {3.5, -1.25, 7, 2, 2, 10.75, 0, 4.5, 9, -3};
  static const double qA[] = {-3.0, -1.425, 0.5, 1.9993999999999996, 2.75, 4.44, 6.375, 9.174999999999999,
                              10.592500000000001, 10.75};
  static const double D[] = {1, 1, 2, 3, 3, 3, 4, 10, 25, -8, 3};
  static const double qD[] = {-8.0, 1.0, 1.5, 2.3329999999999997, 3.0, 3.0, 3.5, 10.0, 23.500000000000007, 25.0};
  static const double E[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 50, -30};
  static const double qE[] = {-30.0, 1.1, 2.75, 3.6662999999999997, 5.5, 7.260000000000001, 8.25, 9.9,
                              45.60000000000002, 50.0};
  /* L[i] = ((i*7919) % 1009) * 0.37 - 100, i = 0..999 */
  static const double qL[] = {-100.0, -62.667, -6.482500000000002, 24.677678999999998, 87.035, 146.5458,
                              179.81249999999997, 235.62699999999998, 269.2637, 272.96};
  double x[1000], out[10], med;
  struct { const double *data, *want; int n; double median; } cases[] = {
      {A, qA, 10, 2.75}, {D, qD, 11, 3.0}, {E, qE, 12, 5.5}, {NULL, qL, 1000, 87.035}};
  for (int c = 0; c < 4; c++) {
    for (int i = 0; i < cases[c].n; i++) x[i] = cases[c].data ? cases[c].data[i] : ((i * 7919) % 1009) * 0.37 - 100;
    stats_quantiles(x, cases[c].n, qs, 10, out);
    for (int i = 0; i < 10; i++)
      CHECK(out[i] == cases[c].want[i], "case %d q=%g: %.17g vs numpy %.17g", c, qs[i], out[i], cases[c].want[i]);
    stats_median(x, cases[c].n, &med);
    CHECK(med == cases[c].median, "case %d median %.17g", c, med);
  }
  printf("ok quantiles numpy\n");
}

/* ---------------------------------------------------------------- boxplots */

/* matplotlib.cbook.boxplot_stats(x, whis) written out literally over a full sort. */
static void brute_box(const double *x, int64_t n, double whis, stats_box *b) {
  double *s = sorted_copy(x, n);
  b->count = n;
  b->min = s[0];
  b->max = s[n - 1];
  b->q1 = brute_quantile(s, n, 0.25);
  b->median = brute_quantile(s, n, 0.5);
  b->q3 = brute_quantile(s, n, 0.75);
  b->iqr = b->q3 - b->q1;
  long double sum = 0;
  for (int64_t i = 0; i < n; i++) sum += x[i];
  b->mean = (double)(sum / n);
  double lov = b->q1 - whis * b->iqr, hiv = b->q3 + whis * b->iqr;
  double hi = -INFINITY, lo = INFINITY;
  int nhi = 0, nlo = 0;
  for (int64_t i = 0; i < n; i++) {
    if (x[i] <= hiv) hi = nhi++ ? fmax(hi, x[i]) : x[i];
    if (x[i] >= lov) lo = nlo++ ? fmin(lo, x[i]) : x[i];
  }
  b->whisker_high = nhi == 0 || hi < b->q3 ? b->q3 : hi;
  b->whisker_low = nlo == 0 || lo > b->q1 ? b->q1 : lo;
  b->outliers_low = b->outliers_high = 0;
  for (int64_t i = 0; i < n; i++) {
    b->outliers_low += x[i] < b->whisker_low;
    b->outliers_high += x[i] > b->whisker_high;
  }
  free(s);
}

static void check_box(const stats_box *got, const stats_box *want, const char *what) {
  CHECK(got->count == want->count && got->min == want->min && got->max == want->max && got->q1 == want->q1 &&
            got->median == want->median && got->q3 == want->q3 && got->iqr == want->iqr,
        "%s: five numbers (%g %g %g %g %g) vs (%g %g %g %g %g)", what, got->min, got->q1, got->median, got->q3,
        got->max, want->min, want->q1, want->median, want->q3, want->max);
  CHECK(got->whisker_low == want->whisker_low && got->whisker_high == want->whisker_high,
        "%s: whiskers %g %g vs %g %g", what, got->whisker_low, got->whisker_high, want->whisker_low,
        want->whisker_high);
  CHECK(got->outliers_low == want->outliers_low && got->outliers_high == want->outliers_high,
        "%s: outliers %lld %lld vs %lld %lld", what, (long long)got->outliers_low, (long long)got->outliers_high,
        (long long)want->outliers_low, (long long)want->outliers_high);
  CHECK(close_rel(got->mean, want->mean, 1e-14), "%s: mean %.17g vs %.17g", what, got->mean, want->mean);
}

static void test_boxplot_random(void) {
  uint64_t s = 99;
  for (int round = 0; round < 200; round++) {
    int64_t n = round < 20 ? round + 1 : rng_int(&s, 1, 3000);
    double *x = malloc((size_t)n * sizeof *x), whis = round % 5 == 4 ? 0.0 : round % 5 == 3 ? 3.0 : 1.5;
    fill(x, n, &s, round);
    stats_box want, got;
    brute_box(x, n, whis, &want);
    CHECK(stats_boxplot(x, n, whis, &got) == STATS_OK, "status");
    check_box(&got, &want, "random boxplot");
    free(x);
  }
  stats_box b;
  CHECK(stats_boxplot(NULL, 0, 1.5, &b) == STATS_EEMPTY, "empty boxplot");
  printf("ok boxplot random\n");
}

/* matplotlib.cbook.boxplot_stats(x, whis=1.5)[0] (matplotlib 3.6.3); outlier counts are
   ((fliers < whislo).sum(), (fliers > whishi).sum()). */
static void test_boxplot_matplotlib(void) {
  double A[] = {3.5, -1.25, 7, 2, 2, 10.75, 0, 4.5, 9, -3};
  double D[] = {1, 1, 2, 3, 3, 3, 4, 10, 25, -8, 3};
  double E[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 50, -30};
  stats_box b;
  stats_boxplot(A, 10, 1.5, &b);
  CHECK(b.q1 == 0.5 && b.median == 2.75 && b.q3 == 6.375 && b.iqr == 5.875 && b.whisker_low == -3.0 &&
            b.whisker_high == 10.75 && b.outliers_low == 0 && b.outliers_high == 0 && close_rel(b.mean, 3.45, 1e-15),
        "A box");
  stats_boxplot(D, 11, 1.5, &b);
  CHECK(b.q1 == 1.5 && b.median == 3.0 && b.q3 == 3.5 && b.iqr == 2.0 && b.whisker_low == 1.0 &&
            b.whisker_high == 4.0 && b.outliers_low == 1 && b.outliers_high == 2 && b.min == -8 && b.max == 25 &&
            close_rel(b.mean, 4.2727272727272725, 1e-15),
        "D box");
  stats_boxplot(E, 12, 1.5, &b);
  CHECK(b.q1 == 2.75 && b.median == 5.5 && b.q3 == 8.25 && b.iqr == 5.5 && b.whisker_low == 1.0 &&
            b.whisker_high == 10.0 && b.outliers_low == 1 && b.outliers_high == 1 && b.mean == 6.25,
        "E box");
  printf("ok boxplot matplotlib\n");
}

static int always_cancel(void) { return 1; }


typedef struct gi {
  int64_t g, i;
} gi;

static int cmp_gi(const void *a, const void *b) {
  const gi *x = a, *y = b;
  if (x->g != y->g) return (x->g > y->g) - (x->g < y->g);
  return (x->i > y->i) - (x->i < y->i);
}

/* Brute force: sort (group, position) pairs, then one literal boxplot per run, values in input order. */
static void check_groups_brute(const int64_t *g, const double *x, int64_t n, int64_t ng, const int64_t *keys,
                               const stats_box *boxes, int round) {
  gi *p = malloc((size_t)(n + 1) * sizeof *p);
  double *vals = malloc((size_t)(n + 1) * sizeof *vals);
  for (int64_t i = 0; i < n; i++) p[i] = (gi){g[i], i};
  qsort(p, (size_t)n, sizeof *p, cmp_gi);
  int64_t group = 0;
  for (int64_t a = 0; a < n;) {
    int64_t b = a;
    while (b < n && p[b].g == p[a].g) vals[b - a] = x[p[b].i], b++;
    stats_box want;
    brute_box(vals, b - a, 1.5, &want);
    CHECK(group < ng && keys[group] == p[a].g, "round %d: group %lld key", round, (long long)group);
    if (group < ng) check_box(&boxes[group], &want, "group boxplot");
    group++;
    a = b;
  }
  CHECK(group == ng, "round %d: %lld groups, brute force %lld", round, (long long)ng, (long long)group);
  free(p);
  free(vals);
}

/* Runs the grouped boxplot with the given thread count; returns ngroups, fills keys/boxes (room for n+1). */
static int64_t group_boxes(stats_keys g, const double *x, int64_t n, int threads, int64_t *keys, stats_box *boxes) {
  size_t sz = (size_t)(n + 1);
  double *xs = malloc(sz * 8);
  int64_t *starts = malloc((sz + 1) * 8), ng = -1, lo = 0, hi = 0;
  stats_opts o = {threads, NULL};
  if (n > 0) stats_keys_range(g, n, &lo, &hi);
  CHECK(stats_group_sort(g, x, n, xs, keys, starts, &ng, &o) == STATS_OK, "group sort");
  CHECK(ng <= n && (n == 0 || (uint64_t)ng <= (uint64_t)hi - (uint64_t)lo + 1), "group count within the room");
  CHECK(stats_boxplot_groups(xs, starts, ng, 1.5, boxes, &o) == STATS_OK, "group boxplots");
  free(xs);
  free(starts);
  return ng;
}

/* Grouped boxplots against one brute-force boxplot per group (int64 and int32 keys, dense and sparse ranges),
   and identical results for 1 and 4 threads. */
static void test_boxplot_groups(void) {
  uint64_t s = 2024;
  for (int round = 0; round < 30; round++) {
    int64_t n = round == 0 ? 0 : rng_int(&s, 1, 20000);
    /* even rounds use int32 keys: 3 * 2^29 fits */
    int64_t span = round % 3 == 0 ? 5 : round % 3 == 1 ? 300 : INT64_C(1) << (round % 2 ? 40 : 29);
    size_t sz = (size_t)(n + 1);
    double *x = malloc(sz * 8);
    int64_t *g = malloc(sz * 8), *keys = calloc(sz, 8), *keys4 = calloc(sz, 8);
    int32_t *g32 = malloc(sz * 4);
    stats_box *boxes = calloc(sz, sizeof *boxes), *boxes4 = calloc(sz, sizeof *boxes4);
    fill(x, n, &s, round);
    for (int64_t i = 0; i < n; i++) g32[i] = (int32_t)(g[i] = rng_int(&s, -span, span) * (round % 2 ? 1 : 3));
    stats_keys k64 = {NULL, g}, k32 = {g32, NULL};
    int64_t ng = group_boxes(k64, x, n, 1, keys, boxes);
    int64_t ng4 = group_boxes(round % 2 ? k64 : k32, x, n, 4, keys4, boxes4);
    CHECK(ng == ng4 && memcmp(boxes, boxes4, (size_t)ng * sizeof *boxes) == 0 &&
              memcmp(keys, keys4, (size_t)ng * 8) == 0,
          "round %d: the thread count or key width changed the result", round);
    check_groups_brute(g, x, n, ng, keys, boxes, round);
    free(x), free(g), free(g32), free(keys), free(keys4), free(boxes), free(boxes4);
  }
  /* Cancellation is reported, not ignored. */
  double x[3] = {1, 2, 3}, xs[3];
  int64_t g[3] = {1, 2, 1}, keys[2], starts[3], ng;
  stats_keys k = {NULL, g};
  stats_box boxes[2];
  stats_opts stop = {2, always_cancel};
  CHECK(stats_group_sort(k, x, 3, xs, keys, starts, &ng, &stop) == STATS_ECANCELLED, "cancelled group sort");
  stats_group_sort(k, x, 3, xs, keys, starts, &ng, NULL);
  CHECK(ng == 2 && stats_boxplot_groups(xs, starts, ng, 1.5, boxes, &stop) == STATS_ECANCELLED,
        "cancelled group boxplot");
  printf("ok boxplot groups\n");
}

/* ---------------------------------------------------------------- histograms */

/* Places each value by scanning the edges (the definition: [e_i, e_i+1), last bin closed). */
static void brute_hist(const double *x, int64_t n, const double *e, int64_t nb, int64_t *counts) {
  for (int64_t b = 0; b < nb; b++) counts[b] = 0;
  for (int64_t i = 0; i < n; i++)
    for (int64_t b = nb - 1; b >= 0; b--)
      if (x[i] >= e[b] && (x[i] < e[b + 1] || (b == nb - 1 && x[i] == e[b + 1]))) {
        counts[b]++;
        break;
      }
}

static void test_hist_random(void) {
  uint64_t s = 555;
  for (int round = 0; round < 100; round++) {
    int64_t n = rng_int(&s, 1, 4000), nb = rng_int(&s, 1, 60);
    double *x = malloc((size_t)n * 8), *e = malloc((size_t)(nb + 1) * 8), first, last;
    int64_t *c = malloc((size_t)nb * 8), *want = malloc((size_t)nb * 8), total = 0;
    fill(x, n, &s, round);
    stats_hist_range(x, n, &first, &last);
    stats_hist_uniform_edges(first, last, nb, e);
    stats_hist_uniform(x, n, e, nb, c);
    brute_hist(x, n, e, nb, want);
    for (int64_t b = 0; b < nb; b++) total += c[b];
    CHECK(memcmp(c, want, (size_t)nb * 8) == 0 && total == n, "round %d: uniform counts", round);
    /* Explicit edges (non-uniform, some repeated) against the same brute force. */
    int64_t ne = rng_int(&s, 2, 12);
    double *ed = malloc((size_t)ne * 8);
    for (int64_t i = 0; i < ne; i++) ed[i] = x[rng_int(&s, 0, n - 1)];
    qsort(ed, (size_t)ne, 8, cmp_d);
    int64_t *c2 = malloc((size_t)ne * 8), *w2 = malloc((size_t)ne * 8);
    stats_hist_edges(x, n, ed, ne, c2);
    brute_hist(x, n, ed, ne - 1, w2);
    CHECK(memcmp(c2, w2, (size_t)(ne - 1) * 8) == 0, "round %d: explicit edges", round);
    free(x), free(e), free(c), free(want), free(ed), free(c2), free(w2);
  }
  printf("ok histogram random\n");
}

/* np.histogram(a, bins='auto'), np.histogram(a, bins=7) and np.histogram(a, bins=edges) (numpy 1.24.2). */
static void test_hist_numpy(void) {
  double A[] = {3.5, -1.25, 7, 2, 2, 10.75, 0, 4.5, 9, -3};
  double D[] = {1, 1, 2, 3, 3, 3, 4, 10, 25, -8, 3};
  double L[1000], e[40], first, last;
  int64_t c[40], nb;
  for (int i = 0; i < 1000; i++) L[i] = ((i * 7919) % 1009) * 0.37 - 100;
  /* A auto: 5 bins, counts [2, 3, 2, 1, 2], edges -3.0, -0.25, 2.5, 5.25, 8.0, 10.75 */
  static const double eA[] = {-3.0, -0.25, 2.5, 5.25, 8.0, 10.75};
  static const int64_t cA[] = {2, 3, 2, 1, 2};
  double tmp[1000];
  memcpy(tmp, A, sizeof A);
  CHECK(stats_hist_auto_bins(tmp, 10, &nb) == STATS_OK && nb == 5, "A auto bins %lld", (long long)nb);
  stats_hist_range(A, 10, &first, &last);
  stats_hist_uniform_edges(first, last, 5, e);
  stats_hist_uniform(A, 10, e, 5, c);
  CHECK(memcmp(e, eA, sizeof eA) == 0 && memcmp(c, cA, sizeof cA) == 0, "A auto histogram");
  /* D auto: 19 bins, counts [1,0,0,0,0,3,5,0,0,0,1,0,0,0,0,0,0,0,1]; edges[1] -6.2631578947368425,
     edges[6] 2.4210526315789487, edges[18] 23.263157894736842 */
  static const int64_t cD[] = {1, 0, 0, 0, 0, 3, 5, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1};
  memcpy(tmp, D, sizeof D);
  CHECK(stats_hist_auto_bins(tmp, 11, &nb) == STATS_OK && nb == 19, "D auto bins %lld", (long long)nb);
  stats_hist_range(D, 11, &first, &last);
  stats_hist_uniform_edges(first, last, 19, e);
  stats_hist_uniform(D, 11, e, 19, c);
  CHECK(memcmp(c, cD, sizeof cD) == 0 && e[1] == -6.2631578947368425 && e[6] == 2.4210526315789487 &&
            e[18] == 23.263157894736842 && e[19] == 25.0,
        "D auto histogram");
  /* D bins=7: counts [1, 2, 6, 1, 0, 0, 1], edges -8.0, -3.2857142857142856, 1.4285714285714288,
     6.142857142857142, 10.857142857142858, 15.571428571428573, 20.285714285714285, 25.0 */
  static const double eD7[] = {-8.0, -3.2857142857142856, 1.4285714285714288, 6.142857142857142,
                               10.857142857142858, 15.571428571428573, 20.285714285714285, 25.0};
  static const int64_t cD7[] = {1, 2, 6, 1, 0, 0, 1};
  stats_hist_uniform_edges(first, last, 7, e);
  stats_hist_uniform(D, 11, e, 7, c);
  CHECK(memcmp(e, eD7, sizeof eD7) == 0 && memcmp(c, cD7, sizeof cD7) == 0, "D 7 bins");
  /* L auto: 11 bins, counts [91, 91, 90, 91, 91, 90, 91, 92, 90, 92, 91], edges[1] -66.09454545454545 */
  static const int64_t cL[] = {91, 91, 90, 91, 91, 90, 91, 92, 90, 92, 91};
  memcpy(tmp, L, sizeof L);
  CHECK(stats_hist_auto_bins(tmp, 1000, &nb) == STATS_OK && nb == 11, "L auto bins %lld", (long long)nb);
  stats_hist_range(L, 1000, &first, &last);
  stats_hist_uniform_edges(first, last, 11, e);
  stats_hist_uniform(L, 1000, e, 11, c);
  CHECK(memcmp(c, cL, sizeof cL) == 0 && e[1] == -66.09454545454545 && e[4] == 35.621818181818185, "L auto");
  /* L bins=7: counts [143, 142, 142, 143, 143, 143, 144], edges[2] 6.559999999999988 */
  static const int64_t cL7[] = {143, 142, 142, 143, 143, 143, 144};
  stats_hist_uniform_edges(first, last, 7, e);
  stats_hist_uniform(L, 1000, e, 7, c);
  CHECK(memcmp(c, cL7, sizeof cL7) == 0 && e[2] == 6.559999999999988, "L 7 bins");
  /* np.histogram(D, bins=[-8, 0, 1, 3, 3, 25]) -> [1, 0, 3, 0, 7];
     np.histogram(A, bins=[-2, 0, 2.5, 9]) -> [1, 3, 4] */
  static const double edD[] = {-8, 0, 1, 3, 3, 25}, edA[] = {-2, 0, 2.5, 9};
  static const int64_t cED[] = {1, 0, 3, 0, 7}, cEA[] = {1, 3, 4};
  stats_hist_edges(D, 11, edD, 6, c);
  CHECK(memcmp(c, cED, sizeof cED) == 0, "D explicit edges");
  stats_hist_edges(A, 10, edA, 4, c);
  CHECK(memcmp(c, cEA, sizeof cEA) == 0, "A explicit edges");
  /* np.histogram([4.0], bins='auto') -> [1], edges [3.5, 4.5]; bins=3 -> [0, 1, 0], edges
     [3.5, 3.8333333333333335, 4.166666666666667, 4.5]; np.histogram([], bins=4) -> zeros, edges 0 .. 1 by 0.25 */
  double one[1] = {4.0};
  CHECK(stats_hist_auto_bins(one, 1, &nb) == STATS_OK && nb == 1, "single auto");
  stats_hist_range(one, 1, &first, &last);
  stats_hist_uniform_edges(first, last, 3, e);
  stats_hist_uniform(one, 1, e, 3, c);
  CHECK(e[0] == 3.5 && e[1] == 3.8333333333333335 && e[2] == 4.166666666666667 && e[3] == 4.5 && c[0] == 0 &&
            c[1] == 1 && c[2] == 0,
        "single 3 bins");
  stats_hist_range(NULL, 0, &first, &last);
  stats_hist_uniform_edges(first, last, 4, e);
  CHECK(first == 0 && last == 1 && e[1] == 0.25 && e[2] == 0.5 && e[3] == 0.75, "empty range");
  CHECK(stats_hist_auto_bins(NULL, 0, &nb) == STATS_EEMPTY, "empty auto");
  /* A zero IQR falls back to Sturges: np.histogram_bin_edges([0,1,1,1,1,1,1,1e12], 'auto') has 4 bins.
     A huge spread with a tiny non-zero IQR asks for too many bins. */
  double wide[8] = {0, 1, 1, 1, 1, 1, 1, 1e12};
  CHECK(stats_hist_auto_bins(wide, 8, &nb) == STATS_OK && nb == 4, "zero IQR falls back to Sturges");
  double wide2[8] = {0, 1, 1.0000001, 1.0000002, 1.0000003, 1.0000004, 1.0000005, 1e12};
  CHECK(stats_hist_auto_bins(wide2, 8, &nb) == STATS_ETOOMANYBINS, "too many bins");
  printf("ok histogram numpy\n");
}

/* ---------------------------------------------------------------- sorting, ranks, correlation */

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return (x > y) - (x < y);
}

static void test_radix(void) {
  uint64_t s = 31337;
  for (int round = 0; round < 40; round++) {
    int64_t n = rng_int(&s, 0, 5000);
    uint64_t shift = (uint64_t)rng_int(&s, 0, 60);
    size_t sz = (size_t)(n + 1) * 8;
    uint64_t *k = malloc(sz), *p = malloc(sz), *tk = malloc(sz), *tp = malloc(sz), *ref = malloc(sz);
    for (int64_t i = 0; i < n; i++) {
      k[i] = (rng_next(&s) >> shift) & (round % 2 ? ~UINT64_C(0) : UINT64_C(0xff00ff));
      p[i] = (uint64_t)i;
      ref[i] = k[i];
    }
    qsort(ref, (size_t)n, 8, cmp_u64);
    uint64_t *orig = malloc(sz);
    memcpy(orig, k, (size_t)n * 8);
    stats_radix_sort(k, p, n, tk, tp);
    int ok = memcmp(k, ref, (size_t)n * 8) == 0;
    for (int64_t i = 0; i < n; i++) ok &= orig[p[i]] == k[i] && (i == 0 || k[i] != k[i - 1] || p[i] > p[i - 1]);
    CHECK(ok, "round %d: radix sort wrong or unstable", round);
    free(k), free(p), free(tk), free(tp), free(ref), free(orig);
  }
  double v[] = {-INFINITY, -1e300, -2.5, -0.0, 0.0, 1e-310, 3, 1e300};
  for (int i = 0; i + 1 < COUNT(v); i++)
    CHECK(stats_order_key(v[i]) < stats_order_key(v[i + 1]) || (v[i] == v[i + 1] &&
                                                               stats_order_key(v[i]) == stats_order_key(v[i + 1])),
          "order key %g %g", v[i], v[i + 1]);
  printf("ok radix sort\n");
}

/* Average ranks by counting: rank = #less + (#equal + 1) / 2. */
static void brute_rank(const double *x, int64_t n, double *r) {
  for (int64_t i = 0; i < n; i++) {
    int64_t less = 0, eq = 0;
    for (int64_t j = 0; j < n; j++) less += x[j] < x[i], eq += x[j] == x[i];
    r[i] = (double)less + (double)(eq + 1) / 2;
  }
}

static long double brute_pearson(const double *a, const double *b, int64_t n) {
  long double ma = 0, mb = 0, sab = 0, saa = 0, sbb = 0;
  for (int64_t i = 0; i < n; i++) ma += a[i], mb += b[i];
  ma /= n, mb /= n;
  for (int64_t i = 0; i < n; i++) {
    sab += (a[i] - ma) * (b[i] - mb);
    saa += (a[i] - ma) * (a[i] - ma);
    sbb += (b[i] - mb) * (b[i] - mb);
  }
  return sab / sqrtl(saa * sbb);
}

static void test_ranks(void) {
  uint64_t s = 8;
  for (int round = 0; round < 30; round++) {
    int64_t n = rng_int(&s, 1, 600);
    double *x = malloc((size_t)n * 8), *r = malloc((size_t)n * 8), *w = malloc((size_t)n * 8);
    fill(x, n, &s, round);
    if (round % 4 == 0) x[0] = -0.0, x[n - 1] = 0.0; /* -0.0 and 0.0 tie */
    CHECK(stats_rank_average(x, n, r) == STATS_OK, "rank status");
    brute_rank(x, n, w);
    CHECK(memcmp(r, w, (size_t)n * 8) == 0, "round %d: ranks", round);
    CHECK(stats_rank_average(x, n, x) == STATS_OK && memcmp(x, w, (size_t)n * 8) == 0, "round %d: in place", round);
    free(x), free(r), free(w);
  }
  printf("ok ranks\n");
}

/* Builds k columns (some correlated, one constant when asked) and checks stats_correlation against brute force. */
static void test_correlation_random(void) {
  uint64_t s = 77;
  for (int round = 0; round < 24; round++) {
    int64_t n = rng_int(&s, 2, 700);
    int k = (int)rng_int(&s, 1, 6), method = round % 2, konst = round % 3 == 0 ? (int)rng_int(&s, 0, k - 1) : -1;
    double *cols[6], *work[6], *work3[6], r[36], r3[36];
    unsigned char constant[6], constant3[6];
    for (int c = 0; c < k; c++) {
      cols[c] = malloc((size_t)n * 8), work[c] = malloc((size_t)n * 8), work3[c] = malloc((size_t)n * 8);
      fill(cols[c], n, &s, round + c);
      if (c > 0 && c % 2 == 0)
        for (int64_t i = 0; i < n; i++) cols[c][i] += 0.5 * cols[c - 1][i]; /* some real correlation */
      if (c == konst)
        for (int64_t i = 0; i < n; i++) cols[c][i] = 0.1;
      memcpy(work[c], cols[c], (size_t)n * 8);
      memcpy(work3[c], cols[c], (size_t)n * 8);
    }
    stats_opts one = {1, NULL}, three = {3, NULL};
    CHECK(stats_correlation(work, k, n, method, r, constant, &one) == STATS_OK, "status");
    CHECK(stats_correlation(work3, k, n, method, r3, constant3, &three) == STATS_OK, "status 3 threads");
    CHECK(memcmp(r, r3, (size_t)(k * k) * 8) == 0, "round %d: thread count changed the matrix", round);
    double *ra = malloc((size_t)n * 8), *rb = malloc((size_t)n * 8);
    for (int a = 0; a < k; a++) {
      CHECK(constant[a] == (a == konst), "round %d col %d constant flag %d", round, a, constant[a]);
      for (int b = 0; b < k; b++) {
        double got = r[a * k + b];
        if (a == konst || b == konst) {
          CHECK(isnan(got), "round %d: constant column %d gives %g at (%d,%d)", round, konst, got, a, b);
          continue;
        }
        if (a == b) {
          CHECK(got == 1.0, "diagonal %g", got);
          continue;
        }
        if (method == STATS_SPEARMAN) {
          brute_rank(cols[a], n, ra);
          brute_rank(cols[b], n, rb);
        } else {
          memcpy(ra, cols[a], (size_t)n * 8);
          memcpy(rb, cols[b], (size_t)n * 8);
        }
        double want = (double)brute_pearson(ra, rb, n);
        CHECK(close_rel(got, want, 1e-12) && got == r[b * k + a], "round %d (%d,%d) method %d: %.17g vs %.17g",
              round, a, b, method, got, want);
      }
    }
    free(ra), free(rb);
    for (int c = 0; c < k; c++) free(cols[c]), free(work[c]), free(work3[c]);
  }
  double *none[1] = {NULL};
  unsigned char cf[1];
  double r1[1];
  CHECK(stats_correlation(none, 1, 0, STATS_PEARSON, r1, cf, NULL) == STATS_EEMPTY, "empty correlation");
  double one_row[1] = {5}, *single[1] = {one_row};
  CHECK(stats_correlation(single, 1, 1, STATS_PEARSON, r1, cf, NULL) == STATS_OK && cf[0] && isnan(r1[0]),
        "a single row is constant");
  printf("ok correlation random\n");
}

/* pandas.DataFrame({"a": [1..8], "b": [2,1,4,3,7,8,6,5], "c": [3]*8, "d": [8.5,1,0.25,4,4,4,9,-2]})
   .corr(method="pearson") and .corr(method="spearman") (pandas 1.5.3): c is NaN in its row and column. */
static void test_correlation_pandas(void) {
  static const double a[] = {1, 2, 3, 4, 5, 6, 7, 8}, b[] = {2, 1, 4, 3, 7, 8, 6, 5}, c[] = {3, 3, 3, 3, 3, 3, 3, 3},
                      d[] = {8.5, 1, 0.25, 4, 4, 4, 9, -2};
  static const double want[2][3] = {{0.7380952380952381, -0.1691504794981115, 0.08552552334174177},
                                    {0.7380952380952381, -0.09759000729485333, 0.14638501094227999}};
  for (int m = 0; m < 2; m++) {
    double ca[8], cb[8], cc[8], cd[8], *cols[4] = {ca, cb, cc, cd}, r[16];
    unsigned char k[4];
    memcpy(ca, a, sizeof ca), memcpy(cb, b, sizeof cb), memcpy(cc, c, sizeof cc), memcpy(cd, d, sizeof cd);
    CHECK(stats_correlation(cols, 4, 8, m, r, k, NULL) == STATS_OK, "status");
    CHECK(close_rel(r[0 * 4 + 1], want[m][0], 1e-15) && close_rel(r[0 * 4 + 3], want[m][1], 1e-15) &&
              close_rel(r[1 * 4 + 3], want[m][2], 1e-15),
          "method %d: %.17g %.17g %.17g", m, r[1], r[3], r[7]);
    CHECK(k[2] == 1 && !k[0] && !k[1] && !k[3], "constant flags");
    for (int i = 0; i < 4; i++) CHECK(isnan(r[2 * 4 + i]) && isnan(r[i * 4 + 2]), "NaN row/column of c");
    CHECK(r[0] == 1 && r[5] == 1 && r[15] == 1, "diagonal");
  }
  printf("ok correlation pandas\n");
}

typedef struct vi {
  double v;
  int64_t i;
} vi;

static int cmp_vi(const void *a, const void *b) {
  const vi *x = a, *y = b;
  return (x->v > y->v) - (x->v < y->v);
}

/* Average ranks by a comparison sort (for inputs too long for the O(n^2) count). */
static void sort_rank(const double *x, int64_t n, double *r) {
  vi *p = malloc((size_t)n * sizeof *p);
  for (int64_t i = 0; i < n; i++) p[i] = (vi){x[i], i};
  qsort(p, (size_t)n, sizeof *p, cmp_vi);
  for (int64_t s = 0, e; s < n; s = e) {
    for (e = s + 1; e < n && p[e].v == p[s].v;) e++;
    for (int64_t t = s; t < e; t++) r[p[t].i] = (double)(s + 1 + e) / 2;
  }
  free(p);
}

/* Inputs large enough for the threaded paths (group boxplots, ranking, dot products): brute force agrees and the
   thread count does not change a bit. */
static void test_parallel_large(void) {
  uint64_t s = 4242;
  int64_t n = 400000;
  int k = 8;
  double *cols[8], *w1[8], *w4[8], r1[64], r4[64];
  unsigned char c1[8], c4[8];
  for (int j = 0; j < k; j++) {
    cols[j] = malloc((size_t)n * 8), w1[j] = malloc((size_t)n * 8), w4[j] = malloc((size_t)n * 8);
    fill(cols[j], n, &s, j == 2 ? 1 : 0);
    if (j > 0)
      for (int64_t i = 0; i < n; i++) cols[j][i] += 0.25 * cols[j - 1][i];
  }
  double *ra = malloc((size_t)n * 8), *rb = malloc((size_t)n * 8);
  for (int m = 0; m < 2; m++) {
    for (int j = 0; j < k; j++) memcpy(w1[j], cols[j], (size_t)n * 8), memcpy(w4[j], cols[j], (size_t)n * 8);
    stats_opts one = {1, NULL}, four = {4, NULL};
    CHECK(stats_correlation(w1, k, n, m, r1, c1, &one) == STATS_OK, "large correlation");
    CHECK(stats_correlation(w4, k, n, m, r4, c4, &four) == STATS_OK, "large correlation 4 threads");
    CHECK(memcmp(r1, r4, sizeof r1) == 0, "method %d: the thread count changed the matrix", m);
    for (int a = 0; a < k; a += 3)
      for (int b = a + 1; b < k; b += 2) {
        if (m == STATS_SPEARMAN) sort_rank(cols[a], n, ra), sort_rank(cols[b], n, rb);
        double want = (double)brute_pearson(m ? ra : cols[a], m ? rb : cols[b], n);
        CHECK(close_rel(r1[a * k + b], want, 1e-12), "large method %d (%d,%d): %.17g vs %.17g", m, a, b,
              r1[a * k + b], want);
      }
  }
  /* 400k values in ~2000 groups, 1 and 4 threads, against brute force. */
  int64_t *g = malloc((size_t)n * 8), *keys = malloc((size_t)(n + 1) * 8), *keys4 = malloc((size_t)(n + 1) * 8);
  stats_box *b1 = malloc((size_t)(n + 1) * sizeof *b1), *b4 = malloc((size_t)(n + 1) * sizeof *b4);
  for (int64_t i = 0; i < n; i++) g[i] = rng_int(&s, 0, 1999) * 7 - 500;
  stats_keys gk = {NULL, g};
  int64_t ng = group_boxes(gk, cols[3], n, 1, keys, b1), ng4 = group_boxes(gk, cols[3], n, 4, keys4, b4);
  CHECK(ng == ng4 && memcmp(b1, b4, (size_t)ng * sizeof *b1) == 0, "large groups: thread count changed results");
  check_groups_brute(g, cols[3], n, ng, keys, b1, -1);
  for (int j = 0; j < k; j++) free(cols[j]), free(w1[j]), free(w4[j]);
  free(ra), free(rb), free(g), free(keys), free(keys4), free(b1), free(b4);
  printf("ok parallel paths\n");
}

int main(void) {
  test_moments_fixture();
  test_moments_numpy();
  test_moments_random();
  test_select();
  test_quantiles_random();
  test_quantiles_numpy();
  test_boxplot_random();
  test_boxplot_matplotlib();
  test_boxplot_groups();
  test_hist_random();
  test_hist_numpy();
  test_radix();
  test_ranks();
  test_correlation_random();
  test_correlation_pandas();
  test_parallel_large();
  if (failures) {
    fprintf(stderr, "%d check(s) failed\n", failures);
    return 1;
  }
  printf("all stats tests passed\n");
  return 0;
}
