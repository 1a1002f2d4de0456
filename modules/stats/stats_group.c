/*
** stats_group.c: grouped boxplots: a stable counting sort (dense keys) or radix sort (sparse keys) brings each
** group's values together, then each group's summary is computed by selection on its own slice, groups spread
** over threads.
*/
#include <stdlib.h>
#include <string.h>

#include "stats.h"
#include "stats_internal.h"

#define COUNTING_RANGE 65536
#define PARALLEL_MIN 65536 /* values below which one thread does it all */

static inline int64_t key_at(stats_keys g, int64_t i) { return g.i32 ? g.i32[i] : g.i64[i]; }

void stats_keys_range(stats_keys g, int64_t n, int64_t *min, int64_t *max) {
  int64_t lo = key_at(g, 0), hi = lo;
  for (int64_t i = 1; i < n; i++) {
    int64_t k = key_at(g, i);
    if (k < lo) lo = k;
    if (k > hi) hi = k;
  }
  *min = lo;
  *max = hi;
}

/* Counting sort over the key range [gmin, gmin + range]: one counting pass, one stable scatter. */
static int group_count_sort(stats_keys g, const double *x, int64_t n, int64_t gmin, uint64_t range, double *xs,
                            int64_t *keys, int64_t *starts, int64_t *ngroups) {
  int64_t *pos = calloc(range + 1, sizeof *pos);
  if (!pos) return STATS_ENOMEM;
  for (int64_t i = 0; i < n; i++) pos[(uint64_t)key_at(g, i) - (uint64_t)gmin]++;
  int64_t at = 0, m = 0;
  for (uint64_t k = 0; k <= range; k++) {
    int64_t c = pos[k];
    pos[k] = at;
    if (c > 0) {
      keys[m] = (int64_t)((uint64_t)gmin + k);
      starts[m++] = at;
    }
    at += c;
  }
  starts[m] = n;
  for (int64_t i = 0; i < n; i++) xs[pos[(uint64_t)key_at(g, i) - (uint64_t)gmin]++] = x[i];
  free(pos);
  *ngroups = m;
  return STATS_OK;
}

/* LSD radix sort of the keys relative to the smallest (so their high bytes are zero and skipped). */
static int group_radix_sort(stats_keys g, const double *x, int64_t n, int64_t gmin, double *xs, int64_t *keys,
                            int64_t *starts, int64_t *ngroups) {
  uint64_t *k = malloc((size_t)n * sizeof *k), *tk = malloc((size_t)n * sizeof *tk);
  double *tp = malloc((size_t)n * sizeof *tp);
  int st = STATS_ENOMEM;
  if (k && tk && tp) {
    for (int64_t i = 0; i < n; i++) k[i] = (uint64_t)key_at(g, i) - (uint64_t)gmin;
    memcpy(xs, x, (size_t)n * sizeof *xs);
    stats_radix_sort(k, xs, n, tk, tp);
    int64_t m = 0;
    for (int64_t i = 0; i < n; i++)
      if (i == 0 || k[i] != k[i - 1]) {
        keys[m] = (int64_t)(k[i] + (uint64_t)gmin);
        starts[m++] = i;
      }
    starts[m] = n;
    *ngroups = m;
    st = STATS_OK;
  }
  free(k);
  free(tk);
  free(tp);
  return st;
}

int stats_group_sort(stats_keys g, const double *x, int64_t n, double *xs, int64_t *keys, int64_t *starts,
                     int64_t *ngroups, const stats_opts *opts) {
  *ngroups = 0;
  starts[0] = 0;
  if (n == 0) return STATS_OK;
  if (stats_cancelled(opts)) return STATS_ECANCELLED;
  int64_t gmin, gmax;
  stats_keys_range(g, n, &gmin, &gmax);
  uint64_t range = (uint64_t)gmax - (uint64_t)gmin;
  /* Dense keys (categories, stores, dates, customer ids) take the counting sort; sparse ones the radix sort. */
  if (range < (uint64_t)n || range < COUNTING_RANGE)
    return group_count_sort(g, x, n, gmin, range, xs, keys, starts, ngroups);
  return group_radix_sort(g, x, n, gmin, xs, keys, starts, ngroups);
}

typedef struct group_job {
  double *xs;
  const int64_t *starts; /* ngroups + 1 */
  double whis;
  stats_box *boxes;
} group_job;

static int group_task(void *ctx, int64_t t, int worker) {
  (void)worker;
  group_job *j = ctx;
  int64_t a = j->starts[t], b = j->starts[t + 1];
  return stats_boxplot(j->xs + a, b - a, j->whis, &j->boxes[t]);
}

int stats_boxplot_groups(double *xs, const int64_t *starts, int64_t ngroups, double whis, stats_box *boxes,
                         const stats_opts *opts) {
  group_job job = {.xs = xs, .starts = starts, .whis = whis, .boxes = boxes};
  stats_opts one = {1, opts ? opts->cancelled : NULL};
  return stats_parallel(starts[ngroups] >= PARALLEL_MIN ? opts : &one, ngroups, group_task, &job);
}
