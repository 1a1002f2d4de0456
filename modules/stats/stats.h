/*
** stats.h: the statistics core of mercado.stats: moments, numpy-compatible quantiles and histograms, boxplot
** summaries (matplotlib conventions), and Pearson/Spearman correlation matrices.
** Plain C over flat double arrays; no Lua here (the binding lives in stats_lua.c). Functions never raise: they
** return a stats_status. Internal scratch is malloc'd and freed before returning. Inputs must be finite (the
** binding checks, see stats_first_nonfinite); results are identical whatever the thread count.
*/
#ifndef MERCADO_STATS_H
#define MERCADO_STATS_H

#include <stdint.h>

typedef enum stats_status {
  STATS_OK = 0,
  STATS_EEMPTY,     /* no values */
  STATS_ETOOFEW,    /* sample variance of a single value */
  STATS_ENOMEM,     /* out of memory */
  STATS_ECANCELLED, /* opts->cancelled() said stop */
  STATS_ETOOMANYBINS
} stats_status;

/* Upper bound on the number of histogram bins (explicit or automatic). */
#define STATS_MAX_BINS 1000000

/* How long work may run: threads (<= 1: the calling thread only) and a cancel poll (NULL: never cancelled). */
typedef struct stats_opts {
  int threads;
  int (*cancelled)(void);
} stats_opts;

/* A boxplot summary (matplotlib.cbook.boxplot_stats with whis): quartiles by numpy 'linear' interpolation,
   whiskers at the most extreme data within [q1 - whis*iqr, q3 + whis*iqr] (never inside the box), outliers are
   the values beyond the whiskers. */
typedef struct stats_box {
  int64_t count;
  double min, q1, median, q3, max, mean, iqr;
  double whisker_low, whisker_high;
  int64_t outliers_low, outliers_high;
} stats_box;

typedef enum stats_corr_method { STATS_PEARSON = 0, STATS_SPEARMAN = 1 } stats_corr_method;

/* Message for a status ("empty input", ...). */
const char *stats_strerror(int status);
/* Index of the first NaN or infinite value in x, or -1 if all are finite. */
int64_t stats_first_nonfinite(const double *x, int64_t n);
/* Smallest and largest value; STATS_EEMPTY when n == 0. */
int stats_minmax(const double *x, int64_t n, double *min, double *max);

/* Mean from a compensated (Neumaier) sum, accurate to about one rounding; STATS_EEMPTY when n == 0. */
int stats_mean(const double *x, int64_t n, double *mean);
/* Mean and sum of squared deviations m2 by the corrected two-pass algorithm; STATS_EEMPTY when n == 0. */
int stats_moments(const double *x, int64_t n, double *mean, double *m2);
/* Variance with ddof 0 (population) or 1 (sample); STATS_EEMPTY when n == 0, STATS_ETOOFEW when n <= ddof. */
int stats_var(const double *x, int64_t n, int ddof, double *var);

/* numpy's linear interpolation a + t*(b-a), computed from b when t >= 0.5 exactly as numpy._lerp does. */
double stats_lerp(double a, double b, double t);
/* Reorders x[lo, hi) so x[k] holds the value a full sort would put there, with x[lo, k) <= x[k] <= x(k, hi). */
void stats_select(double *x, int64_t lo, int64_t hi, int64_t k);
/* Quantiles q[0..nq) (each in [0,1]) of x by numpy's default 'linear' method (Hyndman-Fan type 7), into out.
   x is reordered. STATS_EEMPTY when n == 0, STATS_ENOMEM. */
int stats_quantiles(double *x, int64_t n, const double *q, int nq, double *out);
/* Median as numpy.median computes it (mean of the two middle values when n is even). x is reordered. */
int stats_median(double *x, int64_t n, double *out);

/* Boxplot summary of x (reordered) with whisker factor whis (1.5 for Tukey boxplots); STATS_EEMPTY. */
int stats_boxplot(double *x, int64_t n, double whis, stats_box *out);
/* Group keys, one per value: exactly one of i32 / i64 points at them. */
typedef struct stats_keys {
  const int32_t *i32;
  const int64_t *i64;
} stats_keys;

/* Smallest and largest of the n keys (n > 0). */
void stats_keys_range(stats_keys g, int64_t n, int64_t *min, int64_t *max);
/* Sorts x by group, stably, into xs[n]; the distinct keys go to keys[] in ascending order and the runs they own to
   starts[] (group i is xs[starts[i], starts[i+1])), *ngroups of them. keys needs room for min(n, max - min + 1)
   entries (the range stats_keys_range reports), starts for one more. STATS_ENOMEM, STATS_ECANCELLED. */
int stats_group_sort(stats_keys g, const double *x, int64_t n, double *xs, int64_t *keys, int64_t *starts,
                     int64_t *ngroups, const stats_opts *opts);
/* One boxplot per group of xs as stats_group_sort left it (each run is reordered) into boxes[ngroups].
   STATS_ENOMEM, STATS_ECANCELLED. */
int stats_boxplot_groups(double *xs, const int64_t *starts, int64_t ngroups, double whis, stats_box *boxes,
                         const stats_opts *opts);

/* Outer range numpy.histogram uses: [min, max] of x, widened by 0.5 each side when equal, [0, 1] when empty. */
void stats_hist_range(const double *x, int64_t n, double *first, double *last);
/* Number of bins of numpy's bins='auto' (min of Freedman-Diaconis and Sturges widths; Sturges when the IQR is 0).
   x is reordered. STATS_EEMPTY, STATS_ENOMEM, STATS_ETOOMANYBINS (more than STATS_MAX_BINS). */
int stats_hist_auto_bins(double *x, int64_t n, int64_t *nbins);
/* nbins+1 equal-width edges from first to last as numpy.linspace makes them (the last edge is exactly last). */
void stats_hist_uniform_edges(double first, double last, int64_t nbins, double *edges);
/* Counts of x in the nbins uniform bins given by edges (from stats_hist_uniform_edges), with numpy's fast-path
   index computation; values outside [edges[0], edges[nbins]] are ignored, the last bin is closed. */
void stats_hist_uniform(const double *x, int64_t n, const double *edges, int64_t nbins, int64_t *counts);
/* Counts of x in the bins of any non-decreasing edges[nedges] (nedges >= 2): bin i is [e_i, e_i+1), the last
   bin [e_n-2, e_n-1] closed; values outside are ignored (numpy's searchsorted semantics). */
void stats_hist_edges(const double *x, int64_t n, const double *edges, int64_t nedges, int64_t *counts);

/* Average ranks (1-based, ties get the mean of their positions) of x into rank (which may be x). STATS_ENOMEM. */
int stats_rank_average(const double *x, int64_t n, double *rank);
/* Correlation matrix of the k columns cols[j][0..n) (overwritten: centred, or ranked then centred) into
   r[k*k] (row-major, symmetric, diagonal exactly 1). A column whose values are all equal sets constant[j] = 1 and
   NaN in its own row and column only. STATS_EEMPTY when n == 0, STATS_ENOMEM, STATS_ECANCELLED. */
int stats_correlation(double **cols, int k, int64_t n, stats_corr_method method, double *r,
                      unsigned char *constant, const stats_opts *opts);

#endif
