/*
** stats_hist.c: histograms with numpy.histogram's semantics (numpy 1.24): the outer range, linspace edges, the
** uniform-bin index computation with its one-ulp fixups, searchsorted counting for explicit edges, and the
** 'auto' bin count (min of the Freedman-Diaconis and Sturges widths).
*/
#include <math.h>

#include "stats.h"
#include "stats_internal.h"

void stats_hist_range(const double *x, int64_t n, double *first, double *last) {
  double lo = 0, hi = 1;
  stats_minmax(x, n, &lo, &hi); /* leaves [0, 1] when empty */
  if (lo == hi) {
    lo -= 0.5;
    hi += 0.5;
  }
  *first = lo;
  *last = hi;
}

int stats_hist_auto_bins(double *x, int64_t n, int64_t *nbins) {
  double lo, hi, first, last, q[2];
  static const double at[2] = {0.75, 0.25};
  if (n == 0) return STATS_EEMPTY;
  stats_minmax(x, n, &lo, &hi);
  stats_hist_range(x, n, &first, &last);
  int st = stats_quantiles(x, n, at, 2, q);
  if (st != STATS_OK) return st;
  double fd = 2.0 * (q[0] - q[1]) * pow((double)n, -1.0 / 3.0);
  double sturges = (hi - lo) / (log2((double)n) + 1.0);
  double width = fd != 0 ? (sturges < fd ? sturges : fd) : sturges;
  double count = width != 0 ? ceil((last - first) / width) : 1;
  if (!(count <= STATS_MAX_BINS)) return STATS_ETOOMANYBINS;
  *nbins = (int64_t)count;
  return STATS_OK;
}

void stats_hist_uniform_edges(double first, double last, int64_t nbins, double *edges) {
  double delta = last - first, step = delta / (double)nbins;
  for (int64_t i = 0; i <= nbins; i++)
    edges[i] = (step == 0 ? (double)i / (double)nbins * delta : (double)i * step) + first;
  edges[nbins] = last;
}

void stats_hist_uniform(const double *x, int64_t n, const double *edges, int64_t nbins, int64_t *counts) {
  double first = edges[0], last = edges[nbins];
  double norm = (double)nbins / (last - first);
  for (int64_t b = 0; b < nbins; b++) counts[b] = 0;
  for (int64_t i = 0; i < n; i++) {
    double v = x[i];
    if (!(v >= first && v <= last)) continue;
    int64_t b = (int64_t)((v - first) * norm);
    if (b == nbins) b--;
    if (v < edges[b]) b--; /* the product can land one bin off near an edge */
    if (v >= edges[b + 1] && b != nbins - 1) b++;
    counts[b]++;
  }
}

/* Number of edges <= v (edges non-decreasing). */
static int64_t upper_bound(const double *edges, int64_t nedges, double v) {
  int64_t lo = 0, hi = nedges;
  while (lo < hi) {
    int64_t mid = lo + (hi - lo) / 2;
    if (edges[mid] <= v)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

void stats_hist_edges(const double *x, int64_t n, const double *edges, int64_t nedges, int64_t *counts) {
  int64_t nbins = nedges - 1;
  for (int64_t b = 0; b < nbins; b++) counts[b] = 0;
  for (int64_t i = 0; i < n; i++) {
    double v = x[i];
    if (v < edges[0] || v > edges[nbins]) continue;
    int64_t b = v == edges[nbins] ? nbins - 1 : upper_bound(edges, nedges, v) - 1;
    counts[b]++;
  }
}
