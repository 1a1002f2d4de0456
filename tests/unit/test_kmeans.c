/*
** test_kmeans.c: unit tests of the k-means core (modules/kmeans). Every result is checked against an independent
** computation in this file: a plain brute-force Lloyd, a direct O(n^2) silhouette, hand-made fixtures.
*/
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kmeans.h"
#include "check.h"

/* ---- test data: a small LCG-free generator (splitmix64) and Box-Muller normals ---- */

static uint64_t tstate = 12345;

static double urand(void) {
  uint64_t z = (tstate += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  z ^= z >> 31;
  return ((double)(z >> 11) + 0.5) * 0x1.0p-53;
}

static double nrand(void) {
  return sqrt(-2.0 * log(urand())) * cos(6.283185307179586 * urand());
}

static double sq(const double *a, const double *b, int d) {
  double s = 0.0;
  for (int f = 0; f < d; f++) {
    double t = a[f] - b[f];
    s += t * t;
  }
  return s;
}

/* ---- brute-force Lloyd: full scans, sums from scratch, same stopping and empty-cluster rules ---- */

typedef struct brute_out {
  int32_t *labels;
  double *C;
  double inertia;
  int n_iter, converged;
  double hist[1000];
} brute_out;

static int brute_nearest(const double *x, const double *C, int k, int d) {
  int best = 0;
  double bd = sq(x, C, d);
  for (int j = 1; j < k; j++) {
    double t = sq(x, C + j * d, d);
    if (t < bd) {
      bd = t;
      best = j;
    }
  }
  return best;
}

static double brute_tol(const double *X, int64_t n, int d, double tol) {
  double v = 0.0;
  for (int f = 0; f < d; f++) {
    double m = 0.0, q = 0.0;
    for (int64_t i = 0; i < n; i++) m += X[i * d + f];
    m /= n;
    for (int64_t i = 0; i < n; i++) q += (X[i * d + f] - m) * (X[i * d + f] - m);
    v += q / n;
  }
  return tol * v / d;
}

static int rows_equal(const double *a, const double *b, int d) {
  for (int f = 0; f < d; f++)
    if (a[f] != b[f]) return 0;
  return 1;
}

/* Gives each empty cluster (ascending) the farthest row from its centre (lowest index on ties) and every row
   equal to it, taken from a cluster that keeps other rows. */
static int brute_relocate(const double *X, int64_t n, int d, int k, const double *C, int32_t *lab, int64_t *cnt) {
  int moved = 0;
  double *dd = malloc(n * sizeof *dd);
  int64_t *mult = calloc(n, sizeof *mult);
  for (int64_t i = 0; i < n; i++) dd[i] = sq(X + i * d, C + lab[i] * d, d);
  for (int j = 0; j < k; j++) {
    if (cnt[j]) continue;
    if (moved == 0)
      for (int64_t i = 0; i < n; i++)
        for (int64_t q = 0; q < n; q++) mult[i] += rows_equal(X + i * d, X + q * d, d);
    int64_t far = -1;
    for (int64_t i = 0; i < n; i++)
      if (dd[i] >= 0 && cnt[lab[i]] > mult[i] && (far < 0 || dd[i] > dd[far])) far = i;
    for (int64_t i = n - 1; i >= 0; i--)
      if (rows_equal(X + i * d, X + far * d, d)) {
        cnt[lab[i]]--;
        cnt[j]++;
        lab[i] = j;
        dd[i] = -1;
      }
    moved++;
  }
  free(dd);
  free(mult);
  return moved;
}

static void brute_lloyd_centred(const double *X, int64_t n, int d, int k, const double *init, int max_iter,
                                 double tol_abs, brute_out *o);

/* Lloyd on the data centred on its column means (summed in row order), as scikit-learn does for precision. */
static void brute_lloyd(const double *X, int64_t n, int d, int k, const double *init, int max_iter, double tol,
                        brute_out *o) {
  double *Xc = malloc(n * d * sizeof *Xc), *Ic = malloc(k * d * sizeof *Ic), mean[16];
  for (int f = 0; f < d; f++) {
    double s = 0.0;
    for (int64_t i = 0; i < n; i++) s += X[i * d + f];
    mean[f] = s / n;
  }
  for (int64_t i = 0; i < n; i++)
    for (int f = 0; f < d; f++) Xc[i * d + f] = X[i * d + f] - mean[f];
  for (int j = 0; j < k; j++)
    for (int f = 0; f < d; f++) Ic[j * d + f] = init[j * d + f] - mean[f];
  brute_lloyd_centred(Xc, n, d, k, Ic, max_iter, brute_tol(X, n, d, tol), o);
  for (int j = 0; j < k; j++)
    for (int f = 0; f < d; f++) o->C[j * d + f] += mean[f];
  free(Xc);
  free(Ic);
}

static void brute_lloyd_centred(const double *X, int64_t n, int d, int k, const double *init, int max_iter,
                                 double tol_abs, brute_out *o) {
  double *S = malloc(k * d * sizeof *S);
  int64_t *cnt = malloc(k * sizeof *cnt);
  int strict = 0, it;
  o->labels = malloc(n * sizeof(int32_t));
  o->C = malloc(k * d * sizeof(double));
  memcpy(o->C, init, k * d * sizeof(double));
  for (int64_t i = 0; i < n; i++) o->labels[i] = -1;
  o->converged = 0;
  for (it = 0; it < max_iter; it++) {
    int64_t changes = 0;
    double in = 0.0;
    memset(cnt, 0, k * sizeof *cnt);
    for (int64_t i = 0; i < n; i++) {
      int j = brute_nearest(X + i * d, o->C, k, d);
      changes += j != o->labels[i];
      o->labels[i] = j;
      cnt[j]++;
      in += sq(X + i * d, o->C + j * d, d);
    }
    o->hist[it] = in;
    changes += brute_relocate(X, n, d, k, o->C, o->labels, cnt);
    memset(S, 0, k * d * sizeof *S);
    for (int64_t i = 0; i < n; i++)
      for (int f = 0; f < d; f++) S[o->labels[i] * d + f] += X[i * d + f];
    double shift = 0.0;
    for (int j = 0; j < k; j++)
      for (int f = 0; f < d; f++) {
        double c = S[j * d + f] / cnt[j];
        shift += (c - o->C[j * d + f]) * (c - o->C[j * d + f]);
        o->C[j * d + f] = c;
      }
    if (it > 0 && changes == 0) strict = 1;
    if (strict || shift <= tol_abs) {
      o->converged = 1;
      break;
    }
  }
  o->n_iter = o->converged ? it + 1 : max_iter;
  if (!strict)
    for (int64_t i = 0; i < n; i++) o->labels[i] = brute_nearest(X + i * d, o->C, k, d);
  o->inertia = 0.0;
  for (int64_t i = 0; i < n; i++) o->inertia += sq(X + i * d, o->C + o->labels[i] * d, d);
  free(S);
  free(cnt);
}

/* ---- helpers ---- */

static double *random_data(int64_t n, int d, int kind) {
  double *X = malloc(n * d * sizeof *X);
  for (int64_t i = 0; i < n; i++)
    for (int f = 0; f < d; f++) {
      double u = urand();
      /* uniform, normal, heavy tail, small integer grid (exact distance ties), large offset with tiny spread */
      X[i * d + f] = kind == 0 ? u : kind == 1 ? nrand() : kind == 2 ? floor(1.0 / (u * u)) : kind == 3 ? floor(5 * u)
                                                                                          : 1e9 + 1e-3 * u;
    }
  return X;
}

/* Initial centres: k distinct rows chosen by the test's generator. */
static double *pick_init(const double *X, int64_t n, int d, int k) {
  double *C = malloc(k * d * sizeof *C);
  for (int j = 0; j < k; j++) {
    for (;;) {
      int64_t i = (int64_t)(urand() * n);
      int dup = 0;
      for (int q = 0; q < j; q++) dup |= sq(X + i * d, C + q * d, d) == 0.0;
      if (!dup) {
        memcpy(C + j * d, X + i * d, d * sizeof *C);
        break;
      }
    }
  }
  return C;
}

static double adjusted_rand(const int32_t *a, const int32_t *b, int64_t n, int ka, int kb) {
  int64_t *t = calloc(ka * kb, sizeof *t), *ra = calloc(ka, sizeof *ra), *rb = calloc(kb, sizeof *rb);
  for (int64_t i = 0; i < n; i++) {
    t[a[i] * kb + b[i]]++;
    ra[a[i]]++;
    rb[b[i]]++;
  }
  double sij = 0, sa = 0, sb = 0;
  for (int i = 0; i < ka * kb; i++) sij += t[i] * (t[i] - 1) / 2.0;
  for (int i = 0; i < ka; i++) sa += ra[i] * (ra[i] - 1) / 2.0;
  for (int i = 0; i < kb; i++) sb += rb[i] * (rb[i] - 1) / 2.0;
  double expected = sa * sb / (n * (n - 1) / 2.0);
  free(t);
  free(ra);
  free(rb);
  return (sij - expected) / (0.5 * (sa + sb) - expected);
}

/* ---- tests ---- */

/* Hamerly-accelerated Lloyd gives the brute-force labels, centres, iteration count and inertia; polished, it gives
   brute force run until no label changes (tol = 0). */
static void test_against_brute(void) {
  static const struct { int64_t n; int d, k, kind, max_iter; double tol; } cases[] = {
    {2000, 2, 5, 0, 300, 0.0},  {3000, 4, 4, 2, 300, 1e-4}, {1500, 1, 3, 1, 300, 0.0},
    {2500, 7, 13, 1, 300, 1e-4}, {1000, 3, 1, 0, 300, 0.0},  {4000, 4, 8, 2, 300, 0.0},
    {3000, 2, 30, 0, 7, 0.0},    {1200, 5, 6, 1, 300, 1e-2}, {5000, 1, 3, 2, 300, 0.0},
    {5000, 2, 4, 2, 300, 1e-4},  {6000, 3, 5, 2, 300, 1e-3}, {6000, 4, 4, 2, 300, 1e-2},
    {4000, 3, 6, 1, 300, 1e-3},  /* heavy tails (kind 2): many repeated rows */
    {3000, 2, 6, 3, 300, 0.0},   {3000, 3, 9, 3, 300, 1e-4}, {2000, 2, 5, 4, 300, 0.0},
  };
  int polished = 0;
  for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++)
    for (int polish = 0; polish < 2; polish++) {
      int64_t n = cases[c].n;
      int d = cases[c].d, k = cases[c].k;
      double *X = random_data(n, d, cases[c].kind), *init = pick_init(X, n, d, k);
      brute_out o;
      brute_lloyd(X, n, d, k, init, cases[c].max_iter, polish ? 0.0 : cases[c].tol, &o);
      km_params p;
      km_params_default(&p);
      p.k = k;
      p.init = init;
      p.max_iter = cases[c].max_iter;
      p.tol = cases[c].tol;
      p.polish = polish;
      int32_t *lab = malloc(n * sizeof *lab);
      double *C = malloc(k * d * sizeof *C);
      int n_iter[1];
      km_result r = {.labels = lab, .centroids = C, .n_iter = n_iter};
      int rc = km_fit(X, n, d, &p, &r);
      CHECK(rc == KM_OK, "case %zu/%d: km_fit returned %d", c, polish, rc);
      CHECK(memcmp(lab, o.labels, n * sizeof *lab) == 0, "case %zu/%d: labels differ from brute force", c, polish);
      polished += r.polish_iter > 0;
      if (polish)
        CHECK(n_iter[0] + r.polish_iter <= o.n_iter + 1, "case %zu/1: %d + %d iterations, brute force %d", c,
              n_iter[0], r.polish_iter, o.n_iter);
      else
        CHECK(n_iter[0] == o.n_iter, "case %zu/0: %d iterations, brute force %d", c, n_iter[0], o.n_iter);
      CHECK(r.converged == o.converged, "case %zu/%d: converged flag", c, polish);
      CHECK(fabs(r.inertia - o.inertia) <= 1e-9 * o.inertia, "case %zu/%d: inertia %.17g vs %.17g", c, polish,
            r.inertia, o.inertia);
      for (int t = 0; t < k * d; t++)
        CHECK(fabs(C[t] - o.C[t]) <= 1e-9 * (1 + fabs(o.C[t])), "case %zu/%d: centre %d differs", c, polish, t);
      free(X), free(init), free(lab), free(C), free(o.labels), free(o.C);
    }
  CHECK(polished >= 2, "only %d cases were polished", polished);
}

static void empty_cluster_case(int kind, int d, const double *init) {
  int64_t n = 500;
  int k = 4;
  double *X = random_data(n, d, kind), hist[300];
  if (d == 1) X[7] = X[100] = X[333] = 1e7;  /* the farthest value, three times */
  brute_out o;
  brute_lloyd(X, n, d, k, init, 300, 0.0, &o);
  km_params p;
  km_params_default(&p);
  p.k = k;
  p.init = init;
  p.tol = 0.0;
  p.history = hist;
  int32_t lab[500];
  double C[8];
  km_result r = {.labels = lab, .centroids = C};
  CHECK(km_fit(X, n, d, &p, &r) == KM_OK, "empty: fit failed");
  CHECK(memcmp(lab, o.labels, sizeof lab) == 0, "empty: labels differ from brute force");
  CHECK(r.history_len == o.n_iter, "empty: history length %d vs %d", r.history_len, o.n_iter);
  for (int i = 0; i < r.history_len; i++)
    CHECK(fabs(hist[i] - o.hist[i]) <= 1e-9 * o.hist[i], "empty: history[%d] %.17g vs %.17g", i, hist[i], o.hist[i]);
  for (int i = 1; i < r.history_len; i++) CHECK(hist[i] <= hist[i - 1], "empty: inertia rose at iteration %d", i);
  CHECK(fabs(r.inertia - o.inertia) <= 1e-9 * o.inertia, "empty: inertia %.17g vs %.17g", r.inertia, o.inertia);
  int64_t cnt[4] = {0};
  for (int64_t i = 0; i < n; i++) cnt[lab[i]]++;
  for (int j = 0; j < k; j++) CHECK(cnt[j] > 0, "empty: cluster %d still empty", j);
  if (d == 1) CHECK(lab[7] == lab[100] && lab[7] == lab[333] && C[lab[7]] == 1e7, "copies not moved together");
  free(X), free(o.labels), free(o.C);
}

/* An initial centre far from all data leaves its cluster empty: it is re-seeded at the farthest row (with its
   copies), as brute force does; the history matches and never increases. */
static void test_empty_cluster(void) {
  double init2[8] = {0, 0, 1, 1, 100, 100, -1, 1}, init1[4] = {1, 2, -1e6, 3};
  empty_cluster_case(1, 2, init2);
  empty_cluster_case(2, 1, init1);  /* repeated rows: the farthest value moves with all its copies */
}

/* Well separated Gaussian blobs: centres recovered, adjusted Rand index >= 0.99 against the truth. */
static void test_blobs(void) {
  enum { K = 5, D = 3, PER = 2000 };
  double truth[K * D];
  int64_t n = K * PER;
  double *X = malloc(n * D * sizeof *X);
  int32_t *y = malloc(n * sizeof *y), *lab = malloc(n * sizeof *lab);
  for (int j = 0; j < K * D; j++) truth[j] = 20.0 * urand() - 10.0;
  for (int j = 0; j < K; j++)  /* push centres apart: at least 6 apart pairwise */
    for (int q = 0; q < j; q++)
      if (sq(truth + j * D, truth + q * D, D) < 36.0) {
        for (int f = 0; f < D; f++) truth[j * D + f] = 20.0 * urand() - 10.0;
        j--;
        break;
      }
  for (int64_t i = 0; i < n; i++) {
    y[i] = (int32_t)(i % K);
    for (int f = 0; f < D; f++) X[i * D + f] = truth[y[i] * D + f] + 0.7 * nrand();
  }
  km_params p;
  km_params_default(&p);
  p.k = K;
  p.threads = 2;
  double C[K * D];
  km_result r = {.labels = lab, .centroids = C};
  CHECK(km_fit(X, n, D, &p, &r) == KM_OK, "blobs: fit failed");
  double ari = adjusted_rand(y, lab, n, K, K);
  CHECK(ari >= 0.99, "blobs: adjusted Rand index %.4f", ari);
  for (int j = 0; j < K; j++) {
    double best = INFINITY;
    for (int q = 0; q < K; q++) best = fmin(best, sq(truth + j * D, C + q * D, D));
    CHECK(sqrt(best) < 0.1, "blobs: true centre %d recovered %.3f away", j, sqrt(best));
  }
  free(X), free(y), free(lab);
}

/* Same seed: byte-identical results with 1, 2 and 3 threads; another seed still converges. Restarts seeded by
   k-means++ match brute-force Lloyd started from the same seeding. */
static void test_determinism(void) {
  int64_t n = 20000;
  int d = 4, k = 6;
  double *X = random_data(n, d, 2);
  int32_t *lab[3];
  double C[3][24], inertia[3], runin[3][10];
  int iters[3][10];
  for (int t = 0; t < 3; t++) {
    km_params p;
    km_params_default(&p);
    p.k = k;
    p.threads = t + 1;
    lab[t] = malloc(n * sizeof(int32_t));
    km_result r = {.labels = lab[t], .centroids = C[t], .n_iter = iters[t], .run_inertia = runin[t]};
    CHECK(km_fit(X, n, d, &p, &r) == KM_OK, "determinism: fit failed");
    inertia[t] = r.inertia;
    double best = INFINITY;
    for (int i = 0; i < 10; i++) best = fmin(best, runin[t][i]);
    CHECK(best == r.inertia, "determinism: kept restart is not the lowest inertia");
  }
  for (int t = 1; t < 3; t++) {
    CHECK(memcmp(lab[0], lab[t], n * sizeof(int32_t)) == 0, "determinism: labels differ with %d threads", t + 1);
    CHECK(memcmp(C[0], C[t], sizeof C[0]) == 0, "determinism: centres differ with %d threads", t + 1);
    CHECK(memcmp(&inertia[0], &inertia[t], sizeof(double)) == 0, "determinism: inertia differs");
    CHECK(memcmp(iters[0], iters[t], sizeof iters[0]) == 0, "determinism: iteration counts differ");
  }
  /* seeding of the distinct rows + brute force on all rows reproduces restart 0 */
  double *scratch = malloc(3 * n * sizeof *scratch), init[24], *U = malloc(n * d * sizeof *U);
  double *wt = malloc(n * sizeof *wt);
  int32_t *map = malloc(n * sizeof *map);
  int64_t u = km_unique_rows(X, n, d, U, wt, map);
  CHECK(u > 0 && u < n, "heavy-tailed data should repeat rows (%ld distinct)", (long)u);
  CHECK(km_plusplus(U, wt, u, d, k, 42, 0, scratch, NULL, init) == KM_OK, "plusplus failed");
  brute_out o;
  brute_lloyd(X, n, d, k, init, 300, 1e-4, &o);
  CHECK(fabs(o.inertia - runin[0][0]) <= 1e-9 * o.inertia, "restart 0: %.17g vs brute %.17g", runin[0][0],
        o.inertia);
  CHECK(o.n_iter == iters[0][0], "restart 0: %d iterations vs brute %d", iters[0][0], o.n_iter);
  free(scratch), free(o.labels), free(o.C), free(U), free(wt), free(map);
  for (int t = 0; t < 3; t++) free(lab[t]);
  free(X);
}

/* k-means++ returns distinct data rows, spread out: on blobs each true cluster gets a centre. */
static void test_plusplus(void) {
  enum { K = 4, N = 4000 };
  double X[N * 2], scratch[3 * N], C[K * 2];
  for (int i = 0; i < N; i++) {
    X[2 * i] = (i % K) * 100.0 + nrand();
    X[2 * i + 1] = nrand();
  }
  for (uint64_t s = 0; s < 20; s++) {
    CHECK(km_plusplus(X, NULL, N, 2, K, s, 0, scratch, NULL, C) == KM_OK, "plusplus failed");
    int hit[K] = {0};
    for (int j = 0; j < K; j++) {
      int found = 0;
      for (int i = 0; i < N && !found; i++) found = X[2 * i] == C[2 * j] && X[2 * i + 1] == C[2 * j + 1];
      CHECK(found, "plusplus: centre %d is not a data row", j);
      int b = (int)floor(C[2 * j] / 100.0 + 0.5);
      if (b >= 0 && b < K) hit[b]++;
    }
    for (int j = 0; j < K; j++) CHECK(hit[j] == 1, "plusplus seed %d: blob %d got %d centres", (int)s, j, hit[j]);
  }
}

/* Errors: too few distinct points, non-finite values, bad parameters. */
static void test_errors(void) {
  double X[12] = {1, 1, 1, 1, 2, 2, 2, 2, 1, 1, 2, 2}, C[8];
  int32_t lab[6];
  km_params p;
  km_params_default(&p);
  km_result r = {.labels = lab, .centroids = C};
  p.k = 3;
  CHECK(km_fit(X, 6, 2, &p, &r) == KM_EDISTINCT, "3 clusters of 2 distinct points accepted");
  p.k = 2;
  CHECK(km_fit(X, 6, 2, &p, &r) == KM_OK, "2 clusters of 2 distinct points refused");
  CHECK(r.inertia == 0.0, "2 distinct points: inertia %g", r.inertia);
  CHECK(lab[0] == lab[1] && lab[0] == lab[4] && lab[2] != lab[0], "2 distinct points: labels");
  p.k = 7;
  CHECK(km_fit(X, 6, 2, &p, &r) == KM_EDISTINCT, "k > n accepted");
  p.k = 0;
  CHECK(km_fit(X, 6, 2, &p, &r) == KM_EINVAL, "k = 0 accepted");
  p.k = 2;
  p.tol = -1;
  CHECK(km_fit(X, 6, 2, &p, &r) == KM_EINVAL, "negative tol accepted");
  int64_t row;
  int col;
  CHECK(!km_find_nonfinite(X, 6, 2, &row, &col), "finite data flagged");
  X[7] = NAN;
  CHECK(km_find_nonfinite(X, 6, 2, &row, &col) && row == 3 && col == 1, "NaN not found at row 3 col 1");
  X[7] = 0;
  X[10] = -INFINITY;
  CHECK(km_find_nonfinite(X, 6, 2, &row, &col) && row == 5 && col == 0, "-inf not found at row 5 col 0");
}

static int cancel_now(void) {
  return 1;
}

static void test_cancel(void) {
  int64_t n = 5000;
  double *X = random_data(n, 3, 0), C[12];
  int32_t *lab = malloc(n * sizeof *lab);
  km_params p;
  km_params_default(&p);
  p.k = 4;
  p.threads = 2;
  p.cancelled = cancel_now;
  km_result r = {.labels = lab, .centroids = C};
  CHECK(km_fit(X, n, 3, &p, &r) == KM_ECANCELLED, "cancel ignored");
  km_silhouette_params sp = {.sample = 1000, .seed = 1, .threads = 2, .cancelled = cancel_now};
  double s;
  int64_t used;
  for (int64_t i = 0; i < n; i++) lab[i] = i % 3;
  CHECK(km_silhouette(X, n, 3, lab, &sp, &s, &used) == KM_ECANCELLED, "silhouette cancel ignored");
  free(X), free(lab);
}

/* Direct O(n^2) silhouette following the definition. */
static double brute_silhouette(const double *X, int64_t n, int d, const int32_t *lab, int k) {
  double total = 0.0, *sum = malloc(k * sizeof *sum);
  int64_t *cnt = calloc(k, sizeof *cnt);
  for (int64_t i = 0; i < n; i++) cnt[lab[i]]++;
  for (int64_t i = 0; i < n; i++) {
    memset(sum, 0, k * sizeof *sum);
    for (int64_t j = 0; j < n; j++) sum[lab[j]] += sqrt(sq(X + i * d, X + j * d, d));
    if (cnt[lab[i]] == 1) continue;
    double a = sum[lab[i]] / (cnt[lab[i]] - 1), b = INFINITY;
    for (int c = 0; c < k; c++)
      if (c != lab[i] && cnt[c] > 0) b = fmin(b, sum[c] / cnt[c]);
    total += (b - a) / fmax(a, b);
  }
  free(sum);
  free(cnt);
  return total / n;
}

static void test_silhouette(void) {
  int64_t n = 700;
  int d = 3;
  double *X = random_data(n, d, 1), s, s2;
  int32_t *lab = malloc(n * sizeof *lab), *lab2 = malloc(n * sizeof *lab2);
  int64_t used;
  for (int64_t i = 0; i < n; i++) lab[i] = X[i * d] < -0.5 ? 0 : X[i * d] < 0.7 ? 1 : 2;
  lab[10] = 3;  /* a singleton cluster scores 0 */
  double want = brute_silhouette(X, n, d, lab, 4);
  km_silhouette_params sp = {.sample = 20000, .seed = 42, .threads = 2};
  CHECK(km_silhouette(X, n, d, lab, &sp, &s, &used) == KM_OK && used == n, "silhouette failed");
  CHECK(fabs(s - want) <= 1e-12, "silhouette %.15g vs brute %.15g", s, want);
  for (int64_t i = 0; i < n; i++) lab2[i] = lab[i] * 7 - 100;  /* arbitrary label values */
  sp.threads = 1;
  CHECK(km_silhouette(X, n, d, lab2, &sp, &s2, &used) == KM_OK && s2 == s, "silhouette depends on labels/threads");
  /* sampled: deterministic per seed, close to exact */
  sp.sample = 400;
  double a, b, c;
  CHECK(km_silhouette(X, n, d, lab, &sp, &a, &used) == KM_OK && used == 400, "sampled silhouette failed");
  sp.threads = 2;
  CHECK(km_silhouette(X, n, d, lab, &sp, &b, &used) == KM_OK && a == b, "sampled silhouette not deterministic");
  sp.seed = 7;
  CHECK(km_silhouette(X, n, d, lab, &sp, &c, &used) == KM_OK && c != a, "sample ignores the seed");
  CHECK(fabs(a - want) < 0.05 && fabs(c - want) < 0.05, "sampled silhouette %g/%g far from %g", a, c, want);
  for (int64_t i = 0; i < n; i++) lab[i] = 5;
  CHECK(km_silhouette(X, n, d, lab, &sp, &s, &used) == KM_ELABELS, "one label accepted");
  free(X), free(lab), free(lab2);
}

/* Equal rows collapse into one weighted row; -0.0 equals 0.0. */
static void test_unique_rows(void) {
  double X[12] = {1, 2, 3, 4, 1, 2, 0.0, 5, -0.0, 5, 3, 4}, U[12], w[6];
  int32_t map[6];
  int64_t u = km_unique_rows(X, 6, 2, U, w, map);
  CHECK(u == 3, "distinct rows %ld", (long)u);
  CHECK(map[0] == 0 && map[1] == 1 && map[2] == 0 && map[3] == 2 && map[4] == 2 && map[5] == 1, "row map");
  CHECK(w[0] == 2 && w[1] == 2 && w[2] == 2, "weights");
  CHECK(U[2] == 3 && U[3] == 4 && U[5] == 5, "distinct rows in order of first appearance");
}

/* Standardisation with the sample deviation; a constant column becomes 0. Prediction is the nearest centre. */
static void test_scaling_predict(void) {
  double X[8] = {1, 5, 2, 5, 3, 5, 6, 5}, mean[2], sd[2];
  km_standardize(X, 4, 2, mean, sd);
  CHECK(mean[0] == 3.0 && fabs(sd[0] - sqrt(14.0 / 3.0)) < 1e-15, "mean/sd %g %g", mean[0], sd[0]);
  CHECK(mean[1] == 5.0 && sd[1] == 0.0, "constant column mean/sd %g %g", mean[1], sd[1]);
  CHECK(fabs(X[0] + 2.0 / sqrt(14.0 / 3.0)) < 1e-15 && X[1] == 0.0 && X[7] == 0.0, "z-scores");
  double Y[6] = {1, 3, 4, 1, -3, 2}, v = km_mean_variance(Y, 3, 2);
  CHECK(fabs(v - (222.0 / 27.0 + 2.0 / 3.0) / 2.0) < 1e-14, "mean variance %.17g", v);
  double C[4] = {0, 0, 3, 3};
  int32_t lab[3];
  double P[6] = {1, 1, 2, 2, 1.5, 1.5};
  km_predict(P, 3, 2, C, 2, lab);
  CHECK(lab[0] == 0 && lab[1] == 1 && lab[2] == 0, "predict (tie goes to the lowest index)");
  CHECK(km_inertia(P, 3, 2, C, lab) == 2.0 + 2.0 + 4.5, "inertia");
}

int main(void) {
  test_against_brute();
  test_empty_cluster();
  test_blobs();
  test_determinism();
  test_plusplus();
  test_errors();
  test_cancel();
  test_silhouette();
  test_scaling_predict();
  test_unique_rows();
  if (failures) {
    fprintf(stderr, "%d failure(s)\n", failures);
    return 1;
  }
  printf("ok kmeans core\n");
  return 0;
}
