/*
** kmeans.h: k-means core: exact Lloyd iterations accelerated with Hamerly's distance bounds, greedy k-means++
** seeding, restarts, prediction, silhouette and scaling helpers. Plain C over row-major double arrays (n rows of
** d features); no Lua here (the binding lives in kmeans_lua.c).
**
** Equal rows are collapsed first (a row of weight w stands for its w copies: same labels, same sums, same
** inertia up to rounding), which makes integer-valued data with many repeated rows much cheaper; the rows are
** centred on the column means while fitting (as scikit-learn does), so large offsets cost no precision.
** Determinism: results depend only on the data, the parameters and the seed, never on the thread count. Restarts
** run in parallel, each one entirely on one thread (its arithmetic is sequential) with its own random stream
** derived from (seed, restart index); the kept restart is the lowest inertia, the earliest on ties.
*/
#ifndef MERCADO_KMEANS_H
#define MERCADO_KMEANS_H

#include <stdint.h>

#define KM_BLOCK 1024  /* rows per partial sum when adding up an inertia */

/* Return codes of the core. */
enum {
  KM_OK = 0,
  KM_ENOMEM,     /* out of memory */
  KM_EINVAL,     /* bad parameter (k < 1, n < 1, d < 1, n_init < 1, max_iter < 1, tol < 0) */
  KM_EDISTINCT,  /* fewer distinct points than clusters */
  KM_ELABELS,    /* silhouette: needs 2 <= number of labels <= n - 1 */
  KM_ECANCELLED  /* the cancel callback asked to stop */
};

typedef struct km_params {
  int k;                 /* number of clusters */
  int n_init;            /* restarts; the one with the lowest inertia is kept (ties: the earliest) */
  int max_iter;          /* Lloyd iterations per restart */
  double tol;            /* stop when the squared centre shift <= tol * mean feature variance (as scikit-learn) */
  uint64_t seed;         /* restart r draws from its own stream derived from (seed, r) */
  int threads;           /* worker threads (<= 1: the caller's thread only) */
  int (*cancelled)(void);/* polled every iteration from any thread; nonzero stops with KM_ECANCELLED; may be NULL */
  const double *init;    /* optional k*d initial centres; then one restart starts from them (n_init is ignored) */
  double *history;       /* optional, max_iter doubles: inertia after each assignment step of the best restart */
  int polish;            /* continue the kept restart until no label changes (within max_iter in all): Lloyd
                            steps from where tol stopped it, so the inertia can only drop; 0: stop as scikit-learn */
} km_params;

typedef struct km_result {
  int32_t *labels;       /* caller's n: cluster of each row, 0..k-1 */
  double *centroids;     /* caller's k*d */
  int *n_iter;           /* optional caller's n_init: iterations run by each restart */
  double *run_inertia;   /* optional caller's n_init: final inertia of each restart */
  double inertia;        /* sum of squared distances of rows to their centroid */
  int best_run;          /* 0-based index of the kept restart */
  int converged;         /* whether the kept restart stopped before max_iter */
  int stable;            /* whether it stopped because no label changed */
  int polish_iter;       /* iterations of the polish (after n_iter[best_run]) */
  int history_len;       /* entries written to params->history */
} km_result;

/* Fills p with the defaults (k = 8, n_init = 10, max_iter = 300, tol = 1e-4, seed = 42, 1 thread, polish). */
void km_params_default(km_params *p);
/* Fits k-means on X (n x d, n < 2^31). Each restart: k-means++ seeding (or p->init), then Lloyd iterations until
   no label changes, the total squared centre shift is <= tol * mean column variance, or max_iter; unless no
   label changed, the labels are then assigned once more to the final centres (as scikit-learn); then the kept
   restart is polished if p->polish. A cluster left empty takes the row farthest from its centre, with every row
   equal to it. r->n_iter (needed for the polish) and r->run_inertia need n_init entries (1 with p->init).
   Returns KM_OK, or KM_EINVAL / KM_EDISTINCT / KM_ENOMEM / KM_ECANCELLED with r's arrays left unspecified.
   X must be finite (see km_find_nonfinite). */
int km_fit(const double *X, int64_t n, int d, const km_params *p, km_result *r);
/* Nearest centre (squared Euclidean, lowest index on ties) of each row of X among the k centres C. */
void km_predict(const double *X, int64_t n, int d, const double *C, int k, int32_t *labels);
/* Sum over rows of the squared distance to the centre named by labels. */
double km_inertia(const double *X, int64_t n, int d, const double *C, const int32_t *labels);

/* Greedy k-means++ seeding (scikit-learn's: 2 + floor(ln k) candidates per step) of rows with weights w (NULL:
   all 1) with the random stream (seed, stream); writes k*d centres. scratch holds 2n doubles. Returns KM_OK or
   KM_ECANCELLED. */
int km_plusplus(const double *X, const double *w, int64_t n, int d, int k, uint64_t seed, uint64_t stream,
                double *scratch, int (*cancelled)(void), double *centres);

/* Whether X has at least k distinct rows (O(n*k*d) in the worst case, usually O(k^2 d)); -1 if out of memory. */
int km_has_distinct(const double *X, int64_t n, int d, int k);
/* Collapses equal rows (n < 2^31): U (room for n*d) gets the distinct rows in order of first appearance, w (room
   for n) their multiplicities, map[i] the index in U of row i. Returns the number of distinct rows, -1 if out of
   memory. */
int64_t km_unique_rows(const double *X, int64_t n, int d, double *U, double *w, int32_t *map);
/* First non-finite value in X: returns 1 and sets *row, *col, else 0. */
int km_find_nonfinite(const double *X, int64_t n, int d, int64_t *row, int *col);
/* Column means and sums of squared deviations from them (d entries each). */
void km_column_stats(const double *X, int64_t n, int d, double *mean, double *ss);
/* Mean of the population variances of the columns of X (the scale of tol); NAN if out of memory. */
double km_mean_variance(const double *X, int64_t n, int d);
/* Z-scores X in place column by column with the sample (n-1) standard deviation; a zero deviation (or n = 1)
   gives 0. Writes the d means and deviations used. */
void km_standardize(double *X, int64_t n, int d, double *mean, double *sd);

typedef struct km_silhouette_params {
  int64_t sample;        /* exact on all rows when n <= sample, else on a seeded sample of that many rows */
  uint64_t seed;
  int threads;
  int (*cancelled)(void);
} km_silhouette_params;

/* Mean silhouette coefficient (Euclidean; a point alone in its cluster scores 0, as scikit-learn) of the rows of
   X labelled by labels (any int32 values). *used gets the number of rows scored. Returns KM_OK, KM_ELABELS,
   KM_ENOMEM or KM_ECANCELLED. */
int km_silhouette(const double *X, int64_t n, int d, const int32_t *labels, const km_silhouette_params *p,
                  double *score, int64_t *used);

/* Message for a return code. */
const char *km_strerror(int code);

#endif
