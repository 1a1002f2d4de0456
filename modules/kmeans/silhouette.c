/*
** silhouette.c: the mean silhouette coefficient of a labelling, exact O(m^2 d) on m rows (all of them, or a seeded
** sample without replacement when there are more than params->sample). Rows are regrouped by cluster into
** column-major arrays so the distance sums run over contiguous memory; each row's score is computed by one
** thread and the mean is summed in a fixed order, so the result does not depend on the thread count.
*/
#include "kmeans.h"
#include "kmeans_internal.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define SIL_CHUNK 256  /* columns of distances computed at once */
#define SIL_ROWS 16    /* rows a worker takes from the queue at once */
#define KM_SIL_MAXD 4096

typedef struct sil_job {
  const double *Y;       /* d columns of m values, rows grouped by cluster */
  const int64_t *start;  /* nl + 1 cluster boundaries in Y */
  const int32_t *own;    /* cluster of each row of Y */
  double *s;             /* per-row silhouette */
  int64_t m;
  int d, nl;
  int (*cancelled)(void);
  atomic_llong next;
  atomic_int stop;
} sil_job;

/* Sum of Euclidean distances from y (d values) to rows lo..hi-1 of Y: distances of a chunk first (a loop the
   compiler vectorises when d is a constant), then summed with four accumulators. */
KM_INLINE double range_sum_d(const double *Y, int64_t m, int d, const double *y, int64_t lo, int64_t hi) {
  double tmp[SIL_CHUNK], acc[4] = {0.0, 0.0, 0.0, 0.0};
  for (int64_t j0 = lo; j0 < hi; j0 += SIL_CHUNK) {
    int len = hi - j0 < SIL_CHUNK ? (int)(hi - j0) : SIL_CHUNK;
    const double *col = Y + j0;
    for (int jj = 0; jj < len; jj++) {
      double s = 0.0;
      for (int f = 0; f < d; f++) {
        double t = col[(int64_t)f * m + jj] - y[f];
        s += t * t;
      }
      tmp[jj] = sqrt(s);
    }
    int jj = 0;
    for (; jj + 4 <= len; jj += 4) {
      acc[0] += tmp[jj];
      acc[1] += tmp[jj + 1];
      acc[2] += tmp[jj + 2];
      acc[3] += tmp[jj + 3];
    }
    for (; jj < len; jj++) acc[jj & 3] += tmp[jj];
  }
  return (acc[0] + acc[1]) + (acc[2] + acc[3]);
}

/* Built for AVX2 too where the compiler can (same IEEE operations in the same order, so the same results; only
   more lanes per square root). */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
__attribute__((target_clones("avx2", "default")))
#endif
static double range_distance_sum(const sil_job *job, const double *y, int64_t lo, int64_t hi) {
  double sum = 0.0;
#define RANGE_SUM(D) sum = range_sum_d(job->Y, job->m, D, y, lo, hi)
  KM_BY_DIM(job->d, RANGE_SUM)
#undef RANGE_SUM
  return sum;
}

/* Silhouette of row pos: (b - a) / max(a, b); 0 for a row alone in its cluster. */
static double row_silhouette(const sil_job *job, int64_t pos) {
  int own = job->own[pos];
  double a = 0.0, b = INFINITY, y[KM_SIL_MAXD];
  for (int f = 0; f < job->d; f++) y[f] = job->Y[(int64_t)f * job->m + pos];
  for (int c = 0; c < job->nl; c++) {
    int64_t lo = job->start[c], hi = job->start[c + 1];
    double sum = range_distance_sum(job, y, lo, hi);
    if (c == own) {
      if (hi - lo == 1) return 0.0;
      a = sum / (double)(hi - lo - 1);
    } else if (sum / (double)(hi - lo) < b) {
      b = sum / (double)(hi - lo);
    }
  }
  double den = a > b ? a : b;
  return den > 0.0 ? (b - a) / den : 0.0;
}

static void *sil_worker(void *arg) {
  sil_job *job = arg;
  while (!atomic_load(&job->stop)) {
    int64_t lo = atomic_fetch_add(&job->next, SIL_ROWS);
    if (lo >= job->m) break;
    if (job->cancelled != NULL && job->cancelled()) {
      atomic_store(&job->stop, 1);
      break;
    }
    int64_t hi = lo + SIL_ROWS < job->m ? lo + SIL_ROWS : job->m;
    for (int64_t pos = lo; pos < hi; pos++) job->s[pos] = row_silhouette(job, pos);
  }
  return NULL;
}

static int cmp_i64(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return (x > y) - (x < y);
}

static int cmp_i32(const void *a, const void *b) {
  int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
  return (x > y) - (x < y);
}

/* rows[0..m-1]: all rows, or m rows drawn without replacement (partial Fisher-Yates), ascending. */
static int pick_rows(int64_t n, int64_t m, uint64_t seed, int64_t *rows) {
  if (m == n) {
    for (int64_t i = 0; i < n; i++) rows[i] = i;
    return KM_OK;
  }
  int64_t *perm = malloc((size_t)n * sizeof *perm);
  if (perm == NULL) return KM_ENOMEM;
  for (int64_t i = 0; i < n; i++) perm[i] = i;
  uint64_t x = seed;
  for (int64_t i = 0; i < m; i++) {
    /* splitmix64 step, then a multiply-shift draw in [i, n) */
    uint64_t z = (x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    int64_t j = i + (int64_t)(((unsigned __int128)z * (uint64_t)(n - i)) >> 64);
    int64_t t = perm[i];
    perm[i] = perm[j];
    perm[j] = t;
  }
  memcpy(rows, perm, (size_t)m * sizeof *rows);
  free(perm);
  qsort(rows, (size_t)m, sizeof *rows, cmp_i64);
  return KM_OK;
}

/* Distinct labels of the picked rows (sorted into uniq, count in *nl) and each row's index among them. */
static int label_index(const int32_t *labels, const int64_t *rows, int64_t m, int32_t *uniq, int *nl,
                       int32_t *idx) {
  for (int64_t i = 0; i < m; i++) uniq[i] = labels[rows[i]];
  qsort(uniq, (size_t)m, sizeof *uniq, cmp_i32);
  int64_t u = 0;
  for (int64_t i = 0; i < m; i++)
    if (u == 0 || uniq[i] != uniq[u - 1]) uniq[u++] = uniq[i];
  if (u < 2 || u > m - 1) return KM_ELABELS;
  *nl = (int)u;
  for (int64_t i = 0; i < m; i++) {
    int32_t *hit = bsearch(&labels[rows[i]], uniq, (size_t)u, sizeof *uniq, cmp_i32);
    idx[i] = (int32_t)(hit - uniq);
  }
  return KM_OK;
}

/* Runs the rows of job over the threads; returns KM_OK or KM_ECANCELLED. */
static int score_rows(sil_job *job, int threads) {
  pthread_t tid[64];
  int started = 0;
  if (threads > 64) threads = 64;
  for (int t = 1; t < threads; t++) {
    if (pthread_create(&tid[started], NULL, sil_worker, job) != 0) break;
    started++;
  }
  sil_worker(job);
  for (int t = 0; t < started; t++) pthread_join(tid[t], NULL);
  return atomic_load(&job->stop) ? KM_ECANCELLED : KM_OK;
}

/* Picks the rows, groups them by label, scores them on p->threads threads; frees everything before returning. */
int km_silhouette(const double *X, int64_t n, int d, const int32_t *labels, const km_silhouette_params *p,
                  double *score, int64_t *used) {
  int64_t m = (p->sample > 0 && n > p->sample) ? p->sample : n;
  int rc, nl = 0;
  if (X == NULL || n < 1 || d < 1 || d > KM_SIL_MAXD) return KM_EINVAL;
  int64_t *rows = malloc((size_t)m * sizeof *rows), *start = NULL;
  int32_t *uniq = malloc((size_t)m * sizeof *uniq), *idx = malloc((size_t)m * sizeof *idx), *own = NULL;
  double *Y = NULL, *s = NULL;
  rc = (rows && uniq && idx) ? pick_rows(n, m, p->seed, rows) : KM_ENOMEM;
  if (rc == KM_OK) rc = label_index(labels, rows, m, uniq, &nl, idx);
  if (rc != KM_OK) goto cleanup;
  start = calloc((size_t)nl + 1, sizeof *start);
  own = malloc((size_t)m * sizeof *own);
  Y = malloc((size_t)m * d * sizeof *Y);
  s = malloc((size_t)m * sizeof *s);
  if (!start || !own || !Y || !s) {
    rc = KM_ENOMEM;
    goto cleanup;
  }
  for (int64_t i = 0; i < m; i++) start[idx[i] + 1]++;
  for (int c = 0; c < nl; c++) start[c + 1] += start[c];
  for (int64_t i = 0; i < m; i++) {  /* counting sort: rows of cluster c fill start[c].. in row order */
    int64_t pos = start[idx[i]]++;
    own[pos] = idx[i];
    for (int f = 0; f < d; f++) Y[(int64_t)f * m + pos] = X[rows[i] * d + f];
  }
  memmove(start + 1, start, (size_t)nl * sizeof *start);
  start[0] = 0;
  sil_job job = {.Y = Y, .start = start, .own = own, .s = s, .m = m, .d = d, .nl = nl, .cancelled = p->cancelled};
  atomic_init(&job.next, 0);
  atomic_init(&job.stop, 0);
  rc = score_rows(&job, p->threads);
  if (rc == KM_OK) {
    double total = 0.0;
    for (int64_t i = 0; i < m; i++) total += s[i];
    *score = total / (double)m;
    *used = m;
  }
cleanup:
  free(rows);
  free(uniq);
  free(idx);
  free(start);
  free(own);
  free(Y);
  free(s);
  return rc;
}
