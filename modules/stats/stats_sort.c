/*
** stats_sort.c: ordering primitives of the stats core: selection of order statistics (Floyd-Rivest with a
** heapsort fallback, so the worst case stays O(n log n)), multi-selection, and a stable LSD radix sort of 64-bit
** keys carrying 8-byte records.
*/
#include <math.h>
#include <string.h>

#include "stats_internal.h"

#define SELECT_SMALL 24
#define FR_SAMPLE 600

static void swap_d(double *a, double *b) {
  double t = *a;
  *a = *b;
  *b = t;
}

static void insertion_sort(double *x, int64_t lo, int64_t hi) {
  for (int64_t i = lo + 1; i < hi; i++) {
    double v = x[i];
    int64_t j = i;
    while (j > lo && x[j - 1] > v) {
      x[j] = x[j - 1];
      j--;
    }
    x[j] = v;
  }
}

static void sift_down(double *a, int64_t root, int64_t n) {
  for (;;) {
    int64_t child = 2 * root + 1;
    if (child >= n) return;
    if (child + 1 < n && a[child + 1] > a[child]) child++;
    if (!(a[child] > a[root])) return;
    swap_d(&a[root], &a[child]);
    root = child;
  }
}

/* In-place heapsort of x[lo, hi): the fallback when quickselect keeps picking bad pivots. */
static void heap_sort(double *x, int64_t lo, int64_t hi) {
  double *a = x + lo;
  int64_t n = hi - lo;
  for (int64_t i = n / 2 - 1; i >= 0; i--) sift_down(a, i, n);
  for (int64_t end = n - 1; end > 0; end--) {
    swap_d(&a[0], &a[end]);
    sift_down(a, 0, end);
  }
}

/* Floyd-Rivest selection on the inclusive range [left, right]: for large ranges the pivot is first selected
   within a small sample window around k, so each partition pass discards almost everything (about
   n + min(k, n-k) comparisons in all). A pass budget bounds bad luck: past it the range is heapsorted. */
static void floyd_rivest(double *x, int64_t left, int64_t right, int64_t k, int budget) {
  while (right > left) {
    if (budget-- == 0) {
      heap_sort(x, left, right + 1);
      return;
    }
    if (right - left > FR_SAMPLE) {
      double n = (double)(right - left + 1), i = (double)(k - left + 1), z = log(n);
      double s = 0.5 * exp(2 * z / 3), sd = 0.5 * sqrt(z * s * (n - s) / n) * (i < n / 2 ? -1 : 1);
      int64_t nl = (int64_t)fmax((double)left, floor((double)k - i * s / n + sd));
      int64_t nr = (int64_t)fmin((double)right, floor((double)k + (n - i) * s / n + sd));
      floyd_rivest(x, nl, nr, k, budget);
    }
    double t = x[k];
    int64_t i = left, j = right;
    swap_d(&x[left], &x[k]);
    if (x[right] > t) swap_d(&x[right], &x[left]);
    while (i < j) {
      swap_d(&x[i], &x[j]);
      i++;
      j--;
      while (x[i] < t) i++;
      while (x[j] > t) j--;
    }
    if (x[left] == t) {
      swap_d(&x[left], &x[j]);
    } else {
      j++;
      swap_d(&x[j], &x[right]);
    }
    if (j <= k) left = j + 1;
    if (k <= j) right = j - 1;
  }
}

void stats_select(double *x, int64_t lo, int64_t hi, int64_t k) {
  if (hi - lo <= SELECT_SMALL) {
    insertion_sort(x, lo, hi);
    return;
  }
  int budget = 16;
  for (int64_t len = hi - lo; len > 1; len >>= 1) budget += 2;
  floyd_rivest(x, lo, hi - 1, k, budget);
}

void stats_multiselect(double *x, int64_t lo, int64_t hi, const int64_t *ks, int nk) {
  while (nk > 0 && hi - lo > 1) {
    int m = nk / 2;
    int64_t k = ks[m];
    stats_select(x, lo, hi, k);
    stats_multiselect(x, lo, k, ks, m);
    lo = k + 1; /* the upper half, iteratively */
    ks += m + 1;
    nk -= m + 1;
  }
}

uint64_t stats_order_key(double v) {
  uint64_t u;
  if (v == 0) v = 0.0; /* -0.0 ties with 0.0 */
  memcpy(&u, &v, sizeof u);
  return (u >> 63) ? ~u : (u | UINT64_C(0x8000000000000000));
}

void stats_radix_sort(uint64_t *keys, void *pay, int64_t n, uint64_t *tk, void *tp) {
  int64_t count[8][256];
  memset(count, 0, sizeof count);
  for (int64_t i = 0; i < n; i++) {
    uint64_t k = keys[i];
    for (int b = 0; b < 8; b++) count[b][(k >> (8 * b)) & 0xff]++;
  }
  uint64_t *sk = keys, *dk = tk;
  unsigned char *sp = pay, *dp = tp;
  for (int b = 0; b < 8; b++) {
    if (n == 0 || count[b][(sk[0] >> (8 * b)) & 0xff] == n) continue; /* every key has this byte */
    int64_t pos[256], sum = 0;
    for (int d = 0; d < 256; d++) {
      pos[d] = sum;
      sum += count[b][d];
    }
    for (int64_t i = 0; i < n; i++) {
      int64_t at = pos[(sk[i] >> (8 * b)) & 0xff]++;
      dk[at] = sk[i];
      memcpy(dp + 8 * at, sp + 8 * i, 8);
    }
    uint64_t *t = sk;
    sk = dk;
    dk = t;
    unsigned char *u = sp;
    sp = dp;
    dp = u;
  }
  if (sk != keys) {
    memcpy(keys, sk, (size_t)n * sizeof *keys);
    memcpy(pay, sp, (size_t)n * 8);
  }
}
