/*
** stats_corr.c: correlation matrices. Pearson is computed two-pass (centre each column on its mean, then dot
** products), Spearman is Pearson on average ranks (radix-sorted). A constant column is flagged and left out of
** the arithmetic, so it yields NaN in its own row and column only.
*/
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "stats.h"
#include "stats_internal.h"

#define PARALLEL_MIN 65536 /* values per column below which one thread does it all */

/* Average ranks of x into rank (which may be x itself) using scratch of 4n uint64. */
static void rank_with(const double *x, int64_t n, double *rank, uint64_t *scratch) {
  uint64_t *keys = scratch, *idx = scratch + n, *tk = scratch + 2 * n, *tp = scratch + 3 * n;
  for (int64_t i = 0; i < n; i++) {
    keys[i] = stats_order_key(x[i]);
    idx[i] = (uint64_t)i;
  }
  stats_radix_sort(keys, idx, n, tk, tp); /* x is not read after this: rank may overwrite it */
  for (int64_t s = 0; s < n;) {
    int64_t e = s + 1;
    while (e < n && keys[e] == keys[s]) e++;
    double r = (double)(s + 1 + e) / 2; /* mean of the 1-based positions s+1 .. e */
    for (int64_t t = s; t < e; t++) rank[idx[t]] = r;
    s = e;
  }
}

int stats_rank_average(const double *x, int64_t n, double *rank) {
  uint64_t *scratch = malloc(4 * (size_t)n * sizeof *scratch + 1);
  if (!scratch) return STATS_ENOMEM;
  rank_with(x, n, rank, scratch);
  free(scratch);
  return STATS_OK;
}

typedef struct corr_job {
  double **cols;
  int64_t n;
  stats_corr_method method;
  const unsigned char *constant;
  int *pi, *pj;        /* the pairs (i <= j) of usable columns */
  double *dots;        /* k*k, upper triangle */
  uint64_t **scratch;  /* per worker, 4n each, allocated on first use (Spearman) */
  int k;
} corr_job;

/* Replaces column t by its ranks (Spearman) and centres it on its mean. */
static int prepare_task(void *ctx, int64_t t, int worker) {
  corr_job *j = ctx;
  double *x = j->cols[t], m;
  if (j->constant[t]) return STATS_OK;
  if (j->method == STATS_SPEARMAN) {
    if (!j->scratch[worker]) j->scratch[worker] = malloc(4 * (size_t)j->n * sizeof **j->scratch);
    if (!j->scratch[worker]) return STATS_ENOMEM;
    rank_with(x, j->n, x, j->scratch[worker]);
  }
  stats_mean(x, j->n, &m);
  for (int64_t i = 0; i < j->n; i++) x[i] -= m;
  return STATS_OK;
}

static double dot4(const double *a, const double *b, int64_t n) {
  double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  int64_t i = 0;
  for (; i + 4 <= n; i += 4) {
    s0 += a[i] * b[i];
    s1 += a[i + 1] * b[i + 1];
    s2 += a[i + 2] * b[i + 2];
    s3 += a[i + 3] * b[i + 3];
  }
  for (; i < n; i++) s0 += a[i] * b[i];
  return (s0 + s1) + (s2 + s3);
}

static int dot_task(void *ctx, int64_t t, int worker) {
  corr_job *j = ctx;
  (void)worker;
  int a = j->pi[t], b = j->pj[t];
  j->dots[a * j->k + b] = dot4(j->cols[a], j->cols[b], j->n);
  return STATS_OK;
}

/* Fills r from the dot products; columns whose sum of squares is 0 or overflows are flagged (constant = 2). */
static void fill_matrix(const corr_job *j, unsigned char *constant, double *r) {
  int k = j->k;
  for (int a = 0; a < k; a++) {
    double s = j->dots[a * k + a];
    if (!constant[a] && !(s > 0 && isfinite(s))) constant[a] = 2;
  }
  for (int a = 0; a < k; a++)
    for (int b = a; b < k; b++) {
      double v;
      if (constant[a] || constant[b])
        v = NAN;
      else if (a == b)
        v = 1.0;
      else {
        v = j->dots[a * k + b] / (sqrt(j->dots[a * k + a]) * sqrt(j->dots[b * k + b]));
        v = v > 1 ? 1 : v < -1 ? -1 : v;
      }
      r[a * k + b] = r[b * k + a] = v;
    }
}

int stats_correlation(double **cols, int k, int64_t n, stats_corr_method method, double *r,
                      unsigned char *constant, const stats_opts *opts) {
  if (n == 0) return STATS_EEMPTY;
  int usable = 0;
  for (int a = 0; a < k; a++) {
    double lo, hi;
    stats_minmax(cols[a], n, &lo, &hi);
    constant[a] = lo == hi;
    usable += !constant[a];
  }
  size_t npairs = (size_t)usable * (size_t)(usable + 1) / 2;
  corr_job job = {.cols = cols, .n = n, .method = method, .constant = constant, .k = k};
  job.pi = malloc((npairs + 1) * sizeof *job.pi);
  job.pj = malloc((npairs + 1) * sizeof *job.pj);
  job.dots = calloc((size_t)k * (size_t)k + 1, sizeof *job.dots);
  int workers = stats_workers(opts, k); /* an upper bound: rank_opts may use fewer */
  job.scratch = calloc((size_t)workers, sizeof *job.scratch);
  int st = STATS_ENOMEM;
  if (!job.pi || !job.pj || !job.dots || !job.scratch) goto cleanup;
  size_t p = 0;
  for (int a = 0; a < k; a++)
    for (int b = a; b < k; b++)
      if (!constant[a] && !constant[b]) {
        job.pi[p] = a;
        job.pj[p++] = b;
      }
  /* Threads pay off only for enough work: ranking long columns, or many long dot products. */
  stats_opts small = {1, opts ? opts->cancelled : NULL};
  const stats_opts *rank_opts = method == STATS_SPEARMAN && n >= PARALLEL_MIN ? opts : &small;
  const stats_opts *dot_opts = (double)n * (double)(npairs + (size_t)k) >= PARALLEL_MIN * 256.0 ? opts : &small;
  st = stats_parallel(rank_opts, k, prepare_task, &job);
  if (st == STATS_OK) st = stats_parallel(dot_opts, (int64_t)npairs, dot_task, &job);
  if (st == STATS_OK) fill_matrix(&job, constant, r);
cleanup:
  for (int w = 0; job.scratch && w < workers; w++) free(job.scratch[w]);
  free(job.scratch);
  free(job.pi);
  free(job.pj);
  free(job.dots);
  return st;
}
