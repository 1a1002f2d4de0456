/*
** kmeans.c: k-means fitting. Lloyd's algorithm with Hamerly's bounds (per row: an upper bound on the distance to
** its own centre, a lower bound on the distance to every other centre) gives exactly the labels of a brute-force
** Lloyd: the bounds carry a slack far above rounding error (relative KM_EPS where set from a distance, absolute
** KM_EPS * scale where moved), so a row is skipped only when its own centre is strictly nearer, and every
** undecided row is rescanned with the brute-force distance formula (lowest index on ties).
** The rows are the distinct rows of the data, centred and weighted by their multiplicity; cluster sums are
** updated by the rows that move, in row order, with error-free additions. Restarts run in parallel, one thread
** each, taken from a queue; the kept one may then be polished (continued until no label changes). See kmeans.h
** for the determinism rules.
*/
#include "kmeans.h"
#include "kmeans_internal.h"

#include <float.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define KM_EPS 1e-12
#define KM_UP (1.0 + KM_EPS)
#define KM_DOWN (1.0 - KM_EPS)

/* Defaults as scikit-learn's KMeans (n_init = 10, max_iter = 300, tol = 1e-4) plus seed 42 and the polish. */
void km_params_default(km_params *p) {
  memset(p, 0, sizeof *p);
  p->k = 8;
  p->n_init = 10;
  p->max_iter = 300;
  p->tol = 1e-4;
  p->seed = 42;
  p->threads = 1;
  p->polish = 1;
}

/* Static message for a KM_* code. */
const char *km_strerror(int code) {
  switch (code) {
    case KM_OK: return "ok";
    case KM_ENOMEM: return "not enough memory";
    case KM_EINVAL: return "invalid parameter";
    case KM_EDISTINCT: return "fewer distinct points than clusters";
    case KM_ELABELS: return "silhouette needs between 2 and n-1 distinct labels";
    case KM_ECANCELLED: return "cancelled";
    default: return "unknown error";
  }
}

static int is_cancelled(int (*cancelled)(void)) {
  return cancelled != NULL && cancelled() != 0;
}

/* ---- prediction and inertia ---- */

KM_INLINE void predict_d(const double *X, int64_t n, int d, const double *C, int k, int32_t *labels) {
  double b1, b2;
  for (int64_t i = 0; i < n; i++) labels[i] = km_nearest2(X + i * d, C, k, d, &b1, &b2);
}

/* Nearest centre of each row; cannot fail. */
void km_predict(const double *X, int64_t n, int d, const double *C, int k, int32_t *labels) {
#define PREDICT(D) predict_d(X, n, D, C, k, labels)
  KM_BY_DIM(d, PREDICT)
#undef PREDICT
}

KM_INLINE double inertia_d(const double *X, int64_t n, int d, const double *C, const int32_t *labels) {
  double total = 0.0;
  for (int64_t b = 0; b < n; b += KM_BLOCK) {
    int64_t e = b + KM_BLOCK < n ? b + KM_BLOCK : n;
    double part = 0.0;
    for (int64_t i = b; i < e; i++) part += km_dist2(X + i * d, C + (int64_t)labels[i] * d, d);
    total += part;
  }
  return total;
}

/* Sum of squared distances to the labelled centres, in blocks of KM_BLOCK rows; cannot fail. */
double km_inertia(const double *X, int64_t n, int d, const double *C, const int32_t *labels) {
  double total = 0.0;
#define INERTIA(D) total = inertia_d(X, n, D, C, labels)
  KM_BY_DIM(d, INERTIA)
#undef INERTIA
  return total;
}

/* ---- Lloyd with Hamerly's bounds, on the distinct rows weighted by their multiplicity ---- */

/* Per-worker state of one restart plus the best restart this worker has seen. */
typedef struct km_work {
  int32_t *label, *best_label;
  double *buf;                 /* 3n doubles: ub, lb, extra; the first two are k-means++ scratch before Lloyd */
  double *ub, *lb, *extra;     /* upper bound to own centre, lower bound to the others, relocation distances */
  double *cbase;               /* one block: five k*d arrays, then s, p, cnt, pu and pl */
  double *c, *cnew, *best_c;   /* k*d; c and cnew swap each iteration */
  double *sum, *sumlo;         /* k*d each: weighted sum of the rows of each cluster, as hi + lo (add_exact) */
  double *s, *p, *cnt;         /* half distance to the nearest other centre; last move; weight of each cluster */
  double *pu, *pl;             /* how far the upper / lower bounds of a row of each cluster move this pass */
  double scale;                /* see update_scale */
  double *hist, *best_hist;
  double best_inertia;
  int best_run, best_conv, best_hist_len;
} km_work;

typedef struct km_job {
  const double *X, *w;         /* distinct rows and their multiplicities */
  int64_t n;                   /* distinct rows */
  int d, k, nruns;
  double rx;                   /* largest row norm */
  const double *init;          /* starting centres (centred like X) or NULL for k-means++ */
  const km_params *p;
  km_result *r;
  double tol_abs;
  atomic_int next, stop;
} km_job;

KM_INLINE double winertia_d(const double *X, const double *w, int64_t n, int d, const double *C,
                            const int32_t *labels) {
  double total = 0.0;
  for (int64_t i = 0; i < n; i++) total += w[i] * km_dist2(X + i * d, C + (int64_t)labels[i] * d, d);
  return total;
}

/* Weighted inertia of the distinct rows. */
static double job_inertia(const km_job *job, const double *C, const int32_t *labels) {
  double total = 0.0;
#define WINERTIA(D) total = winertia_d(job->X, job->w, job->n, D, C, labels)
  KM_BY_DIM(job->d, WINERTIA)
#undef WINERTIA
  return total;
}

/* hi + lo += v without rounding error (Knuth's TwoSum): a row that leaves a cluster takes exactly what it
   brought, however large it was against the others. */
KM_INLINE void add_exact(double *hi, double *lo, double v) {
  double s = *hi + v, bp = s - *hi;
  *lo += (*hi - (s - bp)) + (v - bp);
  *hi = s;
}

/* Full scan of every row: labels, bounds, weights and sums from scratch. */
KM_INLINE void assign_all_d(const double *restrict X, const double *restrict wt, int64_t n, int d, int k,
                            km_work *w) {
  memset(w->cnt, 0, (size_t)k * sizeof(double));
  memset(w->sum, 0, (size_t)k * d * sizeof(double));
  memset(w->sumlo, 0, (size_t)k * d * sizeof(double));
  for (int64_t i = 0; i < n; i++) {
    double b1, b2;
    const double *x = X + i * d;
    int j = km_nearest2(x, w->c, k, d, &b1, &b2);
    w->label[i] = j;
    w->ub[i] = sqrt(b1) * KM_UP;
    w->lb[i] = k > 1 ? sqrt(b2) * KM_DOWN : DBL_MAX;
    w->cnt[j] += wt[i];
    for (int f = 0; f < d; f++) add_exact(w->sum + (int64_t)j * d + f, w->sumlo + (int64_t)j * d + f, wt[i] * x[f]);
  }
}

static void assign_all(const km_job *job, km_work *w) {
#define ASSIGN(D) assign_all_d(job->X, job->w, job->n, D, job->k, w)
  KM_BY_DIM(job->d, ASSIGN)
#undef ASSIGN
}

/* s[j]: half the distance from centre j to its nearest other centre, shrunk by the slack (INFINITY if k = 1). */
static void centre_gaps(const km_job *job, km_work *w) {
  int d = job->d, k = job->k;
  for (int j = 0; j < k; j++) w->s[j] = INFINITY;
  for (int j = 0; j < k; j++)
    for (int q = j + 1; q < k; q++) {
      double h = 0.5 * sqrt(km_dist2(w->c + (int64_t)j * d, w->c + (int64_t)q * d, d)) * KM_DOWN;
      if (h < w->s[j]) w->s[j] = h;
      if (h < w->s[q]) w->s[q] = h;
    }
}

/* Moves row x of weight wi from cluster a to cluster j in the weights and sums. */
KM_INLINE void move_sums(km_work *w, const double *x, double wi, int d, int a, int j) {
  int64_t oa = (int64_t)a * d, oj = (int64_t)j * d;
  for (int f = 0; f < d; f++) {
    add_exact(w->sum + oa + f, w->sumlo + oa + f, -(wi * x[f]));
    add_exact(w->sum + oj + f, w->sumlo + oj + f, wi * x[f]);
  }
  w->cnt[a] -= wi;
  w->cnt[j] += wi;
}

/* One assignment step against w->c after the centres moved. Per row, the bounds move by pu[own centre] (up) and
   pl[own centre] (down): the moves plus an absolute slack that covers the rounding of these additions. The
   squared own distance is compared first so the square root stays off the branch's path. Returns the number of
   rows relabelled. */
KM_INLINE int64_t hamerly_d(const double *restrict X, const double *restrict wt, int64_t n, int d, int k,
                            km_work *w) {
  const double *restrict C = w->c, *restrict s = w->s, *restrict pu = w->pu, *restrict pl = w->pl;
  double *restrict ub = w->ub, *restrict lb = w->lb;
  int32_t *restrict label = w->label;
  int64_t changes = 0;
  for (int64_t i = 0; i < n; i++) {
    int a = label[i];
    double u = ub[i] + pu[a], l = lb[i] - pl[a];
    double m = l > s[a] ? l : s[a];
    lb[i] = l;
    ub[i] = u;
    if (u < m) continue;
    const double *x = X + i * d;
    double da = km_dist2(x, C + (int64_t)a * d, d);
    ub[i] = sqrt(da) * KM_UP;
    if (m > 0.0 && da * (KM_UP * KM_UP) * (1 + 4 * DBL_EPSILON) < m * m) continue;
    double b1, b2;
    int j = km_nearest2(x, C, k, d, &b1, &b2);
    ub[i] = sqrt(b1) * KM_UP;
    lb[i] = k > 1 ? sqrt(b2) * KM_DOWN : DBL_MAX;
    if (j != a) {
      label[i] = j;
      move_sums(w, x, wt[i], d, a, j);
      changes++;
    }
  }
  return changes;
}

/* Largest distance any bound of this restart has stood for so far (rows within job->rx of the origin, centres
   within the largest centre norm): the scale of the absolute slack. */
static void update_scale(const km_job *job, km_work *w) {
  double rc = 0.0;
  for (int j = 0; j < job->k; j++) {
    double t = 0.0;
    for (int f = 0; f < job->d; f++) t += w->c[(int64_t)j * job->d + f] * w->c[(int64_t)j * job->d + f];
    if (t > rc) rc = t;
  }
  rc = job->rx + sqrt(rc);
  if (rc > w->scale) w->scale = rc;
}

static int64_t hamerly_pass(const km_job *job, km_work *w) {
  double pmax = 0.0, pmax2 = 0.0;
  int jmax = 0;
  int64_t changes = 0;
  centre_gaps(job, w);
  update_scale(job, w);
  for (int j = 0; j < job->k; j++) {
    if (w->p[j] > pmax) {
      pmax2 = pmax;
      pmax = w->p[j];
      jmax = j;
    } else if (w->p[j] > pmax2) {
      pmax2 = w->p[j];
    }
  }
  double slack = 4 * KM_EPS * w->scale;
  for (int j = 0; j < job->k; j++) {
    w->pu[j] = w->p[j] + slack;
    w->pl[j] = (j == jmax ? pmax2 : pmax) + slack;
  }
#define HAMERLY(D) changes = hamerly_d(job->X, job->w, job->n, D, job->k, w)
  KM_BY_DIM(job->d, HAMERLY)
#undef HAMERLY
  return changes;
}

/* Moves row i to cluster j and rebuilds its bounds against the current centres. */
static void move_row(const km_job *job, km_work *w, int64_t i, int j) {
  int d = job->d;
  const double *x = job->X + i * d;
  double low = INFINITY;
  for (int q = 0; q < job->k; q++) {
    double t = km_dist2(x, w->c + (int64_t)q * d, d);
    if (q != j && t < low) low = t;
  }
  move_sums(w, x, job->w[i], d, w->label[i], j);
  w->label[i] = j;
  w->ub[i] = sqrt(km_dist2(x, w->c + (int64_t)j * d, d)) * KM_UP;
  w->lb[i] = job->k > 1 ? sqrt(low) * KM_DOWN : DBL_MAX;
}

/* Re-seeds each empty cluster (in index order) with the distinct row farthest from its centre (first seen on
   ties), taken from a cluster that keeps other rows. Returns the number of distinct rows moved. */
static int64_t relocate_empty(const km_job *job, km_work *w) {
  int k = job->k, d = job->d, empty = 0;
  int64_t n = job->n, moved = 0;
  for (int j = 0; j < k; j++) empty += w->cnt[j] == 0.0;
  if (empty == 0) return 0;
  for (int64_t i = 0; i < n; i++) w->extra[i] = km_dist2(job->X + i * d, w->c + (int64_t)w->label[i] * d, d);
  for (int j = 0; j < k; j++) {
    if (w->cnt[j] != 0.0) continue;
    int64_t far = -1;
    for (int64_t i = 0; i < n; i++)
      if (w->extra[i] >= 0.0 && w->cnt[w->label[i]] > job->w[i] && (far < 0 || w->extra[i] > w->extra[far]))
        far = i;
    if (far < 0) break;
    move_row(job, w, far, j);
    w->extra[far] = -1.0;
    moved++;
  }
  return moved;
}

/* New centres from the sums; the moves go to w->p and the centre arrays swap. Returns the total squared shift. */
static double update_centres(const km_job *job, km_work *w) {
  int d = job->d, k = job->k;
  double shift = 0.0;
  for (int j = 0; j < k; j++) {
    double *cn = w->cnew + (int64_t)j * d, *co = w->c + (int64_t)j * d, *s = w->sum + (int64_t)j * d;
    const double *lo = w->sumlo + (int64_t)j * d;
    for (int f = 0; f < d; f++) cn[f] = w->cnt[j] > 0.0 ? (s[f] + lo[f]) / w->cnt[j] : co[f];
    double m = km_dist2(co, cn, d);
    shift += m;
    w->p[j] = sqrt(m) * KM_UP;
  }
  double *tmp = w->c;
  w->c = w->cnew;
  w->cnew = tmp;
  return shift;
}

/* One restart (seeding, then Lloyd until labels stop changing, the shift falls under tol, or max_iter). *conv
   gets 2 if the labels stopped changing, 1 if the shift fell under tol, 0 at max_iter. Returns KM_OK or
   KM_ECANCELLED. */
static int run_one(km_job *job, km_work *w, int run, double *inertia, int *n_iter, int *conv, int *hlen) {
  const km_params *p = job->p;
  int it, done = 0, strict = 0;
  if (job->init != NULL) memcpy(w->c, job->init, (size_t)job->k * job->d * sizeof(double));
  else if (km_plusplus(job->X, job->w, job->n, job->d, job->k, p->seed, (uint64_t)run, w->buf, p->cancelled, w->c))
    return KM_ECANCELLED;
  for (it = 0; it < p->max_iter; it++) {
    int64_t changes;
    if (it == 0) {
      w->scale = 0.0;
      update_scale(job, w);
      assign_all(job, w);
      changes = job->n;
    } else {
      changes = hamerly_pass(job, w);
    }
    if (atomic_load(&job->stop) || is_cancelled(p->cancelled)) return KM_ECANCELLED;
    if (w->hist != NULL) w->hist[it] = job_inertia(job, w->c, w->label);
    changes += relocate_empty(job, w);
    double shift = update_centres(job, w);
    if (it > 0 && changes == 0) strict = 1;
    if (strict || shift <= job->tol_abs) {
      done = 1;
      break;
    }
  }
  *n_iter = done ? it + 1 : p->max_iter;
  *hlen = *n_iter;
  *conv = strict ? 2 : done;
  if (!strict) hamerly_pass(job, w);
  *inertia = job_inertia(job, w->c, w->label);
  return KM_OK;
}

/* Keeps run's result as the worker's best if it has a lower inertia (or equal and an earlier run). */
static void keep_if_best(const km_job *job, km_work *w, int run, double inertia, int conv, int hlen) {
  if (w->best_run >= 0 && !(inertia < w->best_inertia || (inertia == w->best_inertia && run < w->best_run)))
    return;
  int32_t *tl = w->best_label;
  w->best_label = w->label;
  w->label = tl;
  double *th = w->best_hist;
  w->best_hist = w->hist;
  w->hist = th;
  memcpy(w->best_c, w->c, (size_t)job->k * job->d * sizeof(double));
  w->best_inertia = inertia;
  w->best_run = run;
  w->best_conv = conv;
  w->best_hist_len = hlen;
}

/* Worker loop: takes restarts from the queue until none is left or one was cancelled. */
static void work_runs(km_job *job, km_work *w) {
  while (!atomic_load(&job->stop)) {
    int run = atomic_fetch_add(&job->next, 1), n_iter, conv, hlen;
    double inertia;
    if (run >= job->nruns) break;
    if (run_one(job, w, run, &inertia, &n_iter, &conv, &hlen) != KM_OK) {
      atomic_store(&job->stop, 1);
      break;
    }
    if (job->r->n_iter != NULL) job->r->n_iter[run] = n_iter;
    if (job->r->run_inertia != NULL) job->r->run_inertia[run] = inertia;
    keep_if_best(job, w, run, inertia, conv, hlen);
  }
}

typedef struct km_thread_arg {
  km_job *job;
  km_work *w;
} km_thread_arg;

static void *work_thread(void *arg) {
  km_thread_arg *a = arg;
  work_runs(a->job, a->w);
  return NULL;
}

static void work_free(km_work *w) {
  free(w->label);
  free(w->best_label);
  free(w->buf);
  free(w->cbase);
  free(w->hist);
  free(w->best_hist);
  memset(w, 0, sizeof *w);
}

/* Allocates a worker's arrays (centre-sized ones in one block). Returns KM_OK or KM_ENOMEM. */
static int work_alloc(const km_job *job, km_work *w) {
  int64_t n = job->n, kd = (int64_t)job->k * job->d;
  memset(w, 0, sizeof *w);
  w->label = malloc((size_t)n * sizeof(int32_t));
  w->best_label = malloc((size_t)n * sizeof(int32_t));
  w->buf = malloc((size_t)n * 3 * sizeof(double));
  w->cbase = malloc((size_t)(5 * kd + 5 * job->k) * sizeof(double));
  if (job->p->history != NULL) {
    w->hist = malloc((size_t)job->p->max_iter * sizeof(double));
    w->best_hist = malloc((size_t)job->p->max_iter * sizeof(double));
    if (w->hist == NULL || w->best_hist == NULL) goto fail;
  }
  if (!w->label || !w->best_label || !w->buf || !w->cbase) goto fail;
  w->ub = w->buf;
  w->lb = w->buf + n;
  w->extra = w->buf + 2 * n;
  w->c = w->cbase;
  w->cnew = w->c + kd;
  w->best_c = w->c + 2 * kd;
  w->sum = w->c + 3 * kd;
  w->sumlo = w->sum + kd;
  w->s = w->c + 5 * kd;
  w->p = w->s + job->k;
  w->cnt = w->p + job->k;
  w->pu = w->cnt + job->k;
  w->pl = w->pu + job->k;
  w->best_run = -1;
  return KM_OK;
fail:
  work_free(w);
  return KM_ENOMEM;
}

static int check_params(const double *X, int64_t n, int d, const km_params *p) {
  if (X == NULL || n < 1 || d < 1 || p->k < 1 || p->max_iter < 1 || !(p->tol >= 0.0)) return KM_EINVAL;
  if (p->init == NULL && p->n_init < 1) return KM_EINVAL;
  if (n > INT32_MAX || d > INT32_MAX / 8) return KM_EINVAL;
  return p->k > n ? KM_EDISTINCT : KM_OK;
}

/* Copies the best worker's result (lowest inertia, earliest run on ties) into r and p->history; labels go back to
   the original rows through map. */
static void collect_best(const km_job *job, km_work *w, int nw, const int32_t *map, int64_t n, km_result *r) {
  km_work *b = &w[0];
  for (int t = 1; t < nw; t++) {
    if (w[t].best_run < 0) continue;
    if (b->best_run < 0 || w[t].best_inertia < b->best_inertia ||
        (w[t].best_inertia == b->best_inertia && w[t].best_run < b->best_run))
      b = &w[t];
  }
  for (int64_t i = 0; i < n; i++) r->labels[i] = b->best_label[map[i]];
  memcpy(r->centroids, b->best_c, (size_t)job->k * job->d * sizeof(double));
  r->inertia = b->best_inertia;
  r->best_run = b->best_run;
  r->converged = b->best_conv != 0;
  r->stable = b->best_conv == 2;
  r->polish_iter = 0;
  r->history_len = 0;
  if (job->p->history != NULL) {
    memcpy(job->p->history, b->best_hist, (size_t)b->best_hist_len * sizeof(double));
    r->history_len = b->best_hist_len;
  }
}

/* Runs the restarts of job on up to p->threads threads. Returns KM_OK, KM_ENOMEM or KM_ECANCELLED. */
static int run_all(km_job *job, const int32_t *map, int64_t n, km_result *r) {
  int nw = job->p->threads < 1 ? 1 : job->p->threads, t, started = 0, rc;
  if (nw > job->nruns) nw = job->nruns;
  km_work *w = calloc((size_t)nw, sizeof *w);
  pthread_t *tid = calloc((size_t)nw, sizeof *tid);
  km_thread_arg *args = calloc((size_t)nw, sizeof *args);
  rc = (w && tid && args) ? KM_OK : KM_ENOMEM;
  for (t = 0; t < nw && rc == KM_OK; t++) rc = work_alloc(job, &w[t]);
  if (rc != KM_OK) goto cleanup;
  for (t = 1; t < nw; t++) {
    args[t] = (km_thread_arg){job, &w[t]};
    if (pthread_create(&tid[t], NULL, work_thread, &args[t]) != 0) break;
    started = t;
  }
  work_runs(job, &w[0]);
  for (t = 1; t <= started; t++) pthread_join(tid[t], NULL);
  if (atomic_load(&job->stop)) rc = KM_ECANCELLED;
  else collect_best(job, w, nw, map, n, r);
cleanup:
  for (t = 0; w != NULL && t < nw; t++) work_free(&w[t]);
  free(w);
  free(tid);
  free(args);
  return rc;
}

/* Largest Euclidean norm of the rows of X. */
static double max_norm(const double *X, int64_t n, int d) {
  double best = 0.0;
  for (int64_t i = 0; i < n; i++) {
    double t = 0.0;
    for (int f = 0; f < d; f++) t += X[i * d + f] * X[i * d + f];
    if (t > best) best = t;
  }
  return sqrt(best);
}

/* Continues the kept restart from its centres until no label changes (tol = 0) within the iterations max_iter
   leaves; it can only lower the inertia. Returns KM_OK, KM_ENOMEM or KM_ECANCELLED. */
static int polish(const km_job *job0, const int32_t *map, int64_t n, int used, km_result *r) {
  const km_params *p = job0->p;
  km_params q = *p;
  int it = 0;
  double *init = malloc((size_t)job0->k * job0->d * sizeof *init);
  if (init == NULL) return KM_ENOMEM;
  memcpy(init, r->centroids, (size_t)job0->k * job0->d * sizeof *init);
  q.init = init;
  q.tol = 0.0;
  q.max_iter = p->max_iter - used;
  q.history = p->history != NULL ? p->history + r->history_len : NULL;
  km_result r2 = {.labels = r->labels, .centroids = r->centroids, .n_iter = &it};
  km_job job = {.X = job0->X, .w = job0->w, .n = job0->n, .d = job0->d, .k = job0->k, .nruns = 1, .p = &q,
                .r = &r2, .tol_abs = 0.0, .rx = job0->rx, .init = init};
  atomic_init(&job.next, 0);
  atomic_init(&job.stop, 0);
  int rc = run_all(&job, map, n, &r2);
  free(init);
  if (rc != KM_OK) return rc;
  r->inertia = r2.inertia;
  r->converged = r2.converged;
  r->stable = r2.stable;
  r->polish_iter = it;
  r->history_len += r2.history_len;
  return KM_OK;
}

/* Subtracts sign * mean from the n rows of A (d columns). */
static void shift_rows(double *A, int64_t n, int d, const double *mean, double sign) {
  for (int64_t i = 0; i < n; i++)
    for (int f = 0; f < d; f++) A[i * d + f] -= sign * mean[f];
}

/* Distinct rows, centred on the column means (as scikit-learn, so large offsets cost no precision), restarts,
   polish, centres moved back; every allocation is freed before returning (see kmeans.h for the codes). */
int km_fit(const double *X, int64_t n, int d, const km_params *p, km_result *r) {
  int rc = check_params(X, n, d, p);
  if (rc != KM_OK) return rc;
  double *U = malloc((size_t)n * d * sizeof *U), *wt = malloc((size_t)n * sizeof *wt);
  double *mean = malloc((size_t)(2 * d + (int64_t)p->k * d) * sizeof *mean), *ss = mean + d, *init = ss + d;
  int32_t *map = malloc((size_t)n * sizeof *map);
  int64_t u = (U && wt && map && mean) ? km_unique_rows(X, n, d, U, wt, map) : -1;
  if (u < 0 || u < p->k) {
    rc = u < 0 ? KM_ENOMEM : KM_EDISTINCT;
    goto cleanup;
  }
  km_column_stats(X, n, d, mean, ss);
  shift_rows(U, u, d, mean, 1.0);
  if (p->init != NULL) {
    memcpy(init, p->init, (size_t)p->k * d * sizeof *init);
    shift_rows(init, p->k, d, mean, 1.0);
  }
  km_job job = {.X = U, .w = wt, .n = u, .d = d, .k = p->k, .p = p, .r = r, .rx = max_norm(U, u, d),
                .init = p->init != NULL ? init : NULL};
  job.nruns = p->init != NULL ? 1 : p->n_init;
  double var = 0.0;
  for (int f = 0; f < d; f++) var += ss[f] / (double)n;
  job.tol_abs = p->tol * var / d;
  atomic_init(&job.next, 0);
  atomic_init(&job.stop, 0);
  rc = run_all(&job, map, n, r);
  if (rc == KM_OK && p->polish && !r->stable && r->n_iter != NULL && r->n_iter[r->best_run] < p->max_iter)
    rc = polish(&job, map, n, r->n_iter[r->best_run], r);
  if (rc == KM_OK) shift_rows(r->centroids, p->k, d, mean, -1.0);
cleanup:
  free(U);
  free(wt);
  free(mean);
  free(map);
  return rc;
}
