/*
** test_colstore.c: the column store's core against independent computations: calendar arithmetic against a
** day-by-day walk, group-by aggregates against brute force on random data, stable sorting, joins against nested
** loops, list operations against per-row recomputation, and the CSV reader on small files written here.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "colstore.h"
#include "csv.h"
#include "ops.h"
#include "check.h"

static uint64_t rng_state = 88172645463325252ull;
static uint64_t rnd(void) { /* xorshift64 */
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return rng_state;
}
static int32_t rnd_range(int32_t lo, int32_t hi) { return lo + (int32_t)(rnd() % (uint64_t)(hi - lo + 1)); }

/* Walks every day from 1900 to 2100 and checks the conversions, weekday and ISO week against counters. */
static void test_calendar(void) {
  int y = 1900, m = 1, d = 1, dow = 2; /* 1900-01-01 was a Monday: 2 in Sunday = 1 numbering */
  int32_t days = cs_days_from_civil(1900, 1, 1);
  static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  while (y < 2100) {
    int yy, mm, dd;
    cs_civil_from_days(days, &yy, &mm, &dd);
    CHECK(yy == y && mm == m && dd == d, "civil_from_days(%d) = %d-%d-%d, want %d-%d-%d", days, yy, mm, dd, y, m, d);
    CHECK(cs_days_from_civil(y, m, d) == days, "days_from_civil(%d-%d-%d)", y, m, d);
    CHECK(cs_day_of_week(days) == dow, "day_of_week(%d-%d-%d) = %d, want %d", y, m, d, cs_day_of_week(days), dow);
    CHECK(cs_date_valid(y, m, d), "valid %d-%d-%d", y, m, d);
    /* ISO week: the week's Thursday is in the ISO year; week = 1 + (thursday's day of year - 1) / 7 */
    int iso_dow = dow == 1 ? 7 : dow - 1;
    int32_t thu = days + 4 - iso_dow;
    int ty, tm, td;
    cs_civil_from_days(thu, &ty, &tm, &td);
    int want_week = (thu - cs_days_from_civil(ty, 1, 1)) / 7 + 1, iy, iw;
    cs_iso_week(days, &iy, &iw);
    CHECK(iy == ty && iw == want_week, "iso week of %d-%d-%d", y, m, d);
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    int len = mdays[m - 1] + (m == 2 && leap);
    days++, dow = dow % 7 + 1;
    if (++d > len) {
      d = 1;
      if (++m > 12) m = 1, y++;
    }
  }
  CHECK(!cs_date_valid(2013, 2, 29) && !cs_date_valid(2013, 2, 30) && cs_date_valid(2012, 2, 29), "leap days");
  CHECK(!cs_date_valid(2013, 13, 1) && !cs_date_valid(2013, 0, 1) && !cs_date_valid(2013, 4, 31), "bad dates");
  int iy, iw;
  cs_iso_week(cs_days_from_civil(2013, 1, 1), &iy, &iw);
  CHECK(iy == 2013 && iw == 1, "2013-01-01 is ISO 2013-W01");
  cs_iso_week(cs_days_from_civil(2012, 12, 31), &iy, &iw);
  CHECK(iy == 2013 && iw == 1, "2012-12-31 is ISO 2013-W01");
  cs_iso_week(cs_days_from_civil(2010, 1, 3), &iy, &iw);
  CHECK(iy == 2009 && iw == 53, "2010-01-03 is ISO 2009-W53");
  char buf[32];
  cs_format_date(cs_days_from_civil(2013, 6, 30), buf);
  CHECK(strcmp(buf, "2013-06-30") == 0, "format %s", buf);
}

static cs_column *random_int_column(int64_t n, int32_t lo, int32_t hi) {
  cs_column *c = cs_column_new(CS_INT32, n);
  for (int64_t i = 0; i < n; i++) c->v.i32[i] = rnd_range(lo, hi);
  return c;
}

static cs_column *random_list_column(int64_t n, int maxlen, int32_t lo, int32_t hi) {
  cs_column *c = cs_column_new(CS_LIST, n);
  int64_t total = 0;
  for (int64_t i = 0; i < n; i++) total += rnd_range(0, maxlen), c->offsets[i + 1] = total;
  int32_t *items = malloc(sizeof(int32_t) * (size_t)(total + 1));
  for (int64_t k = 0; k < total; k++) items[k] = rnd_range(lo, hi);
  cs_column_set_items(c, items);
  return c;
}

/* group_by on (a, b) with count, sum, min, max, mean and count_distinct, compared with a brute-force scan of every
   possible key pair. Key ranges are chosen both narrow (direct arrays) and wide (hash path). */
static void test_group_by(int32_t klo, int32_t khi) {
  int64_t n = 3000;
  cs_column *a = random_int_column(n, klo, khi), *b = random_int_column(n, 0, 3), *x = random_int_column(n, -50, 50);
  cs_column *y = cs_column_new(CS_FLOAT64, n);
  for (int64_t i = 0; i < n; i++) y->v.f64[i] = (double)rnd_range(0, 1000) / 8.0;
  const cs_column *keys[2] = {a, b};
  cs_agg aggs[6] = {{CS_AGG_COUNT, NULL}, {CS_AGG_SUM, x}, {CS_AGG_MIN, x}, {CS_AGG_MAX, y},
                    {CS_AGG_MEAN, y}, {CS_AGG_COUNT_DISTINCT, x}};
  cs_column *out[8];
  char err[256];
  CHECK(cs_group_by(keys, 2, aggs, 6, 2, out, err, sizeof err) == 0, "group_by: %s", err);
  int64_t g = out[0]->n, prev_a = INT64_MIN, prev_b = INT64_MIN, total = 0;
  for (int64_t k = 0; k < g; k++) {
    int32_t ka = out[0]->v.i32[k], kb = out[1]->v.i32[k];
    CHECK(ka > prev_a || (ka == prev_a && kb > prev_b), "groups sorted by key");
    prev_a = ka, prev_b = kb;
    int64_t cnt = 0, sum = 0, mn = INT64_MAX, distinct = 0;
    double mx = -1e300, ysum = 0;
    int seen[101] = {0};
    for (int64_t i = 0; i < n; i++) {
      if (a->v.i32[i] != ka || b->v.i32[i] != kb) continue;
      cnt++, sum += x->v.i32[i], ysum += y->v.f64[i];
      if (x->v.i32[i] < mn) mn = x->v.i32[i];
      if (y->v.f64[i] > mx) mx = y->v.f64[i];
      if (!seen[x->v.i32[i] + 50]++) distinct++;
    }
    total += cnt;
    CHECK(out[2]->v.i64[k] == cnt, "count of (%d,%d)", ka, kb);
    CHECK(out[3]->v.i64[k] == sum, "sum of (%d,%d)", ka, kb);
    CHECK(out[4]->v.i32[k] == mn, "min of (%d,%d)", ka, kb);
    CHECK(out[5]->v.f64[k] == mx, "max of (%d,%d)", ka, kb);
    CHECK(out[6]->v.f64[k] == ysum / (double)cnt, "mean of (%d,%d)", ka, kb);
    CHECK(out[7]->v.i64[k] == distinct, "count_distinct of (%d,%d)", ka, kb);
  }
  CHECK(total == n, "groups cover every row");
  for (int i = 0; i < 8; i++) cs_column_release(out[i]);
  cs_column_release(a), cs_column_release(b), cs_column_release(x), cs_column_release(y);
}

/* A (key a, key b, row) triple, for the independent grouping in test_group_by_wide. */
typedef struct key_row {
  int32_t a, b;
  int64_t row;
} key_row;

static int cmp_key_row(const void *x, const void *y) {
  const key_row *p = x, *q = y;
  if (p->a != q->a) return p->a < q->a ? -1 : 1;
  if (p->b != q->b) return p->b < q->b ? -1 : 1;
  return (p->row > q->row) - (p->row < q->row);
}

/* group_by on two keys whose combined range is too wide for direct arrays: up to a few million elements the
   composite codes are radix-sorted, beyond that hashed. Both are checked against qsort of the (a, b) pairs: groups
   in key order, count and sum per group. */
static void test_group_by_wide(int64_t n) {
  cs_column *a = random_int_column(n, -3000000, 3000000), *b = random_int_column(n, 0, 2000000);
  cs_column *x = random_int_column(n, -50, 50);
  for (int64_t i = 0; i < n; i += 3) a->v.i32[i] = a->v.i32[i / 2], b->v.i32[i] = b->v.i32[i / 2]; /* repeats */
  const cs_column *keys[2] = {a, b};
  cs_agg aggs[2] = {{CS_AGG_COUNT, NULL}, {CS_AGG_SUM, x}};
  cs_column *out[4];
  char err[256];
  CHECK(cs_group_by(keys, 2, aggs, 2, 2, out, err, sizeof err) == 0, "wide group_by: %s", err);
  key_row *kr = malloc(sizeof(key_row) * (size_t)n);
  for (int64_t i = 0; i < n; i++) kr[i] = (key_row){a->v.i32[i], b->v.i32[i], i};
  qsort(kr, (size_t)n, sizeof kr[0], cmp_key_row);
  int64_t k = 0, ok = 1;
  for (int64_t i = 0; i < n && ok; k++) {
    int64_t j = i, sum = 0;
    while (j < n && kr[j].a == kr[i].a && kr[j].b == kr[i].b) sum += x->v.i32[kr[j++].row];
    ok = k < out[0]->n && out[0]->v.i32[k] == kr[i].a && out[1]->v.i32[k] == kr[i].b && out[2]->v.i64[k] == j - i &&
         out[3]->v.i64[k] == sum;
    CHECK(ok, "wide group %lld of %lld elements: keys, count and sum", (long long)k, (long long)n);
    i = j;
  }
  CHECK(!ok || k == out[0]->n, "wide group_by: %lld groups, want %lld", (long long)out[0]->n, (long long)k);
  free(kr);
  for (int i = 0; i < 4; i++) cs_column_release(out[i]);
  cs_column_release(a), cs_column_release(b), cs_column_release(x);
}

/* Grouping by a scalar key with a list column in the aggregates: count counts rows, list aggregates see the items
   of each row in its group; and grouping by the list itself counts items per value. */
static void test_group_by_list(void) {
  int64_t n = 2000;
  cs_column *cust = random_int_column(n, 1, 60), *list = random_list_column(n, 6, 1, 40);
  const cs_column *keys[1] = {cust};
  cs_agg aggs[4] = {{CS_AGG_COUNT, NULL}, {CS_AGG_COUNT_DISTINCT, list}, {CS_AGG_COLLECT_DISTINCT, list},
                    {CS_AGG_SUM, list}};
  cs_column *out[5];
  char err[256];
  CHECK(cs_group_by(keys, 1, aggs, 4, 2, out, err, sizeof err) == 0, "group_by list: %s", err);
  for (int64_t k = 0; k < out[0]->n; k++) {
    int32_t c = out[0]->v.i32[k];
    int64_t rows = 0, distinct = 0, sum = 0;
    int seen[41] = {0};
    for (int64_t r = 0; r < n; r++) {
      if (cust->v.i32[r] != c) continue;
      rows++;
      for (int64_t e = list->offsets[r]; e < list->offsets[r + 1]; e++) {
        sum += list->items[e];
        if (!seen[list->items[e]]++) distinct++;
      }
    }
    CHECK(out[1]->v.i64[k] == rows, "rows of customer %d", c);
    CHECK(out[2]->v.i64[k] == distinct, "distinct items of customer %d", c);
    CHECK(out[4]->v.i64[k] == sum, "sum of items of customer %d", c);
    int64_t lo = out[3]->offsets[k], hi = out[3]->offsets[k + 1];
    CHECK(hi - lo == distinct, "collected list length of customer %d", c);
    for (int64_t e = lo; e < hi; e++) {
      CHECK(seen[out[3]->items[e]] > 0, "collected item belongs to customer %d", c);
      if (e > lo) CHECK(out[3]->items[e] > out[3]->items[e - 1], "collected list sorted");
    }
  }
  for (int i = 0; i < 5; i++) cs_column_release(out[i]);
  /* group by the list: value counts of items */
  const cs_column *lk[1] = {list};
  cs_agg cnt = {CS_AGG_COUNT, NULL};
  CHECK(cs_group_by(lk, 1, &cnt, 1, 1, out, err, sizeof err) == 0, "group by list: %s", err);
  for (int64_t k = 0; k < out[0]->n; k++) {
    int64_t want = 0;
    for (int64_t e = 0; e < cs_column_nitems(list); e++) want += list->items[e] == out[0]->v.i32[k];
    CHECK(out[1]->v.i64[k] == want, "count of item %d", out[0]->v.i32[k]);
  }
  cs_column_release(out[0]), cs_column_release(out[1]);
  cs_column_release(cust), cs_column_release(list);
}

/* Brute-force check of a sort: perm is a permutation, and each pair of neighbours is in order by the columns
   (descending where asked), then by row: the unique stable order. */
static void check_sorted(const cs_column *const *cols, const int *desc, int ncols, int64_t n, const int64_t *perm,
                         const char *what) {
  char *seen = calloc((size_t)n, 1);
  int perm_ok = 1, order_ok = 1;
  for (int64_t i = 0; i < n; i++) {
    if (perm[i] < 0 || perm[i] >= n || seen[perm[i]]) perm_ok = 0;
    else seen[perm[i]] = 1;
  }
  CHECK(perm_ok, "%s: a permutation", what);
  for (int64_t i = 1; perm_ok && i < n && order_ok; i++) {
    int64_t p = perm[i - 1], q = perm[i];
    int r = 0;
    for (int k = 0; k < ncols && !r; k++) {
      const cs_column *c = cols[k];
      double a = c->type == CS_INT64 ? (double)c->v.i64[p] : c->type == CS_FLOAT64 ? c->v.f64[p] : c->v.i32[p];
      double b = c->type == CS_INT64 ? (double)c->v.i64[q] : c->type == CS_FLOAT64 ? c->v.f64[q] : c->v.i32[q];
      r = (a > b) - (a < b);
      if (desc[k]) r = -r;
    }
    order_ok = r < 0 || (r == 0 && p < q);
    CHECK(order_ok, "%s: sorted order at %lld", what, (long long)i);
  }
  free(seen);
}

/* Sorting: small tables (merge sort) and large ones (radix sort on packed integer keys, or merge sort when the
   keys are not integers or too wide to pack), with ties, descending columns and negative values. */
static void test_sort_and_take(void) {
  int64_t sizes[] = {5000, 60000};
  for (int si = 0; si < 2; si++) {
    int64_t n = sizes[si];
    cs_column *a = random_int_column(n, 0, 20), *b = random_int_column(n, -1000, 1000);
    cs_column *w = cs_column_new(CS_INT64, n), *f = cs_column_new(CS_FLOAT64, n);
    for (int64_t i = 0; i < n; i++) {
      w->v.i64[i] = (int64_t)(rnd() >> 2) - ((int64_t)1 << 60) + rnd_range(0, 3); /* 62 bits of range */
      f->v.f64[i] = rnd_range(0, 50) / 4.0;
    }
    int64_t *perm = malloc(sizeof(int64_t) * (size_t)n);
    struct {
      const cs_column *cols[3];
      int desc[3], ncols;
      const char *what;
    } cases[] = {
        {{a, b}, {1, 0}, 2, "int32 desc, int32 asc"},
        {{b, a}, {0, 1}, 2, "negative asc, desc"},
        {{a}, {0}, 1, "one column with ties"},
        {{a, w}, {0, 1}, 2, "keys wider than 64 bits"},
        {{w}, {1}, 1, "one 62-bit column"},
        {{f, a}, {1, 0}, 2, "float64 then int32"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
      CHECK(cs_sort_perm(cases[k].cols, cases[k].desc, cases[k].ncols, n, perm) == 0, "sort");
      check_sorted(cases[k].cols, cases[k].desc, cases[k].ncols, n, perm, cases[k].what);
    }
    cs_column *t = cs_column_take(b, perm, 10);
    for (int i = 0; i < 10; i++) CHECK(t->v.i32[i] == b->v.i32[perm[i]], "take");
    cs_column_release(t);
    free(perm);
    cs_column_release(a), cs_column_release(b), cs_column_release(w), cs_column_release(f);
  }
}

static void test_join(void) {
  cs_column *l = random_int_column(500, 0, 30), *r = random_int_column(80, 0, 40);
  int64_t *li, *ri;
  int64_t np = cs_join_pairs(l, r, &li, &ri), want = 0;
  for (int64_t i = 0; i < 500; i++)
    for (int64_t j = 0; j < 80; j++) want += l->v.i32[i] == r->v.i32[j];
  CHECK(np == want, "join pairs %lld, want %lld", (long long)np, (long long)want);
  for (int64_t k = 0; k < np; k++) {
    CHECK(l->v.i32[li[k]] == r->v.i32[ri[k]], "joined keys equal");
    if (k) CHECK(li[k] > li[k - 1] || (li[k] == li[k - 1] && ri[k] > ri[k - 1]), "pairs ordered");
  }
  free(li), free(ri);
  cs_column_release(l), cs_column_release(r);
}

/* remap and remap_lengths against brute force, with values hi - lo + 1 apart: within 64 (a mask per key) or
   wider (stamps). */
static void check_remap(const cs_column *list, int32_t lo, int32_t hi) {
  cs_column *keys = random_int_column(60, 1, 35), *vals = random_int_column(60, lo, hi);
  char err[256];
  cs_column *m = cs_list_remap(list, keys, vals, 2, err, sizeof err);
  cs_column *len = cs_list_remap_lengths(list, keys, vals, 2, err, sizeof err);
  CHECK(m != NULL && len != NULL && len->type == CS_INT32 && len->n == list->n, "remap: %s", err);
  for (int64_t r = 0; m && r < list->n; r++) {
    int want[400] = {0}, nwant = 0;
    for (int64_t e = list->offsets[r]; e < list->offsets[r + 1]; e++)
      for (int k = 0; k < 60; k++)
        if (keys->v.i32[k] == list->items[e] && !want[vals->v.i32[k]]++) nwant++;
    CHECK(m->offsets[r + 1] - m->offsets[r] == nwant, "remapped length of row %lld (values %d..%d)", (long long)r,
          lo, hi);
    CHECK(len->v.i32[r] == nwant, "remap_lengths of row %lld (values %d..%d)", (long long)r, lo, hi);
    for (int64_t e = m->offsets[r]; e < m->offsets[r + 1]; e++) {
      CHECK(want[m->items[e]], "remapped value");
      if (e > m->offsets[r]) CHECK(m->items[e] > m->items[e - 1], "remapped values distinct and ascending");
    }
  }
  cs_column_release(m), cs_column_release(len), cs_column_release(keys), cs_column_release(vals);
}

static void test_lists(void) {
  cs_column *list = random_list_column(1000, 8, 1, 30), *dl = cs_list_distinct_lengths(list);
  for (int64_t r = 0; r < list->n; r++) {
    int seen[31] = {0}, nd = 0;
    for (int64_t e = list->offsets[r]; e < list->offsets[r + 1]; e++)
      if (!seen[list->items[e]]++) nd++;
    CHECK(dl->v.i32[r] == nd, "distinct length of row %lld", (long long)r);
  }
  check_remap(list, 100, 110);
  check_remap(list, 100, 163);
  check_remap(list, 100, 399);
  cs_column *big = random_list_column(40000, 8, 1, 30); /* enough items for two parts */
  check_remap(big, 100, 110);
  check_remap(big, 100, 399);
  cs_column_release(big);
  cs_column_release(dl), cs_column_release(list);
}

static const char *write_file(const char *name, const char *text, size_t len) {
  static char path[256];
  snprintf(path, sizeof path, "%s/%s", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", name);
  FILE *f = fopen(path, "wb");
  fwrite(text, 1, len, f);
  fclose(f);
  return path;
}

/* Reads one baskets file with every fault kind; checks kept rows, counts per reason and the rejects text.
   Run with 1 and 2 threads and tiny chunks, which must not change anything. */
static void test_csv_reader(int threads, int64_t chunk) {
  const char text[] =
    "\xEF\xBB\xBF" "2013-01-01|102|530|20 3 1\r\n"  /* 1: BOM + CRLF */
    "2013-01-02|102|531|5  5   7   \n"              /* 2: runs of spaces, trailing spaces */
    "\n"                                             /* 3: empty */
    "2013-02-30|102|532|1\n"                         /* 4: impossible date */
    "2013-01-03|102|533\n"                           /* 5: field count */
    "2013-01-03|10x|533|1\n"                         /* 6: bad integer */
    "2013-01-03|102|99999999999|1\n"                 /* 7: out of range */
    "2013-01-03|102|534|\n"                          /* 8: empty list */
    "2013-01-03|102|534|1 x2\n"                      /* 9: bad item */
    "   \t\n"                                        /* 10: blank */
    "2013-01-04|102|535|9 8|extra\n"                 /* 11: field count */
    "13-01-04|102|535|9\n"                           /* 12: bad date format */
    "2013-01-05|102|536|4294967296\n"                /* 13: item out of range */
    "2013-06-30|103|537|1 2 3 4";                    /* 14: no final newline */
  const char *path = write_file("mercado_test_baskets.csv", text, sizeof text - 1);
  csv_colspec cols[4];
  memset(cols, 0, sizeof cols);
  strcpy(cols[0].name, "date"), cols[0].type = CS_DATE;
  strcpy(cols[1].name, "store"), cols[1].type = CS_INT32;
  strcpy(cols[2].name, "customer"), cols[2].type = CS_INT32;
  strcpy(cols[3].name, "products"), cols[3].type = CS_LIST, cols[3].list_sep = ' ';
  csv_options o;
  memset(&o, 0, sizeof o);
  o.delimiter = '|', o.ncols = 4, o.cols = cols, o.max_rejects = -1, o.nthreads = threads, o.chunk_bytes = chunk;
  csv_result res;
  const char *paths[1] = {path};
  CHECK(csv_read(paths, 1, &o, &res) == 0, "read: %s", res.error);
  CHECK(res.table && res.table->n == 3, "kept 3 rows, got %lld", res.table ? (long long)res.table->n : -1);
  const csv_file_stats *fs = &res.files[0];
  CHECK(fs->lines_read == 12 && fs->kept == 3 && fs->empty_lines == 2, "lines %lld kept %lld empty %lld",
        (long long)fs->lines_read, (long long)fs->kept, (long long)fs->empty_lines);
  CHECK(fs->rejected[CSV_FIELD_COUNT] == 2 && fs->rejected[CSV_BAD_DATE] == 2 && fs->rejected[CSV_BAD_INT] == 2 &&
        fs->rejected[CSV_INT_RANGE] == 2 && fs->rejected[CSV_EMPTY_LIST] == 1, "reasons");
  if (res.table) {
    cs_column *p = res.table->cols[3];
    CHECK(p->offsets[1] == 3 && p->offsets[2] == 6 && p->offsets[3] == 10, "list offsets");
    CHECK(p->items[3] == 5 && p->items[4] == 5 && p->items[5] == 7 && p->items[9] == 4, "list items");
    CHECK(res.table->cols[2]->v.i32[2] == 537, "last row without newline");
  }
  char want[4096];
  snprintf(want, sizeof want,
           "%s:4: bad date\t2013-02-30|102|532|1\n%s:5: wrong field count\t2013-01-03|102|533\n"
           "%s:6: bad integer\t2013-01-03|10x|533|1\n%s:7: integer out of range\t2013-01-03|102|99999999999|1\n"
           "%s:8: empty list\t2013-01-03|102|534|\n%s:9: bad integer\t2013-01-03|102|534|1 x2\n"
           "%s:11: wrong field count\t2013-01-04|102|535|9 8|extra\n%s:12: bad date\t13-01-04|102|535|9\n"
           "%s:13: integer out of range\t2013-01-05|102|536|4294967296\n",
           path, path, path, path, path, path, path, path, path);
  CHECK(res.rejects.len == strlen(want) && memcmp(res.rejects.data, want, res.rejects.len) == 0,
        "rejects text (threads %d, chunk %lld):\n%.*s", threads, (long long)chunk, (int)res.rejects.len, res.rejects.data);
  csv_result_free(&res);
  /* fail fast reports the first bad line, whatever the chunking */
  o.fail_fast = 1;
  CHECK(csv_read(paths, 1, &o, &res) != 0, "fail fast fails");
  char first[512];
  snprintf(first, sizeof first, "%s:4: bad date", path);
  CHECK(strcmp(res.error, first) == 0, "fail fast error '%s'", res.error);
  csv_result_free(&res);
  o.fail_fast = 0, o.max_rejects = 3;
  CHECK(csv_read(paths, 1, &o, &res) != 0 && strstr(res.error, "max_rejects=3"), "max_rejects: %s", res.error);
  csv_result_free(&res);
}

/* Reads one '|'-separated file with the given columns on one thread, keeping every good row. */
static void read_pipe_file(const char *path, csv_colspec *cols, int ncols, csv_result *res) {
  csv_options o;
  memset(&o, 0, sizeof o);
  o.delimiter = '|', o.ncols = ncols, o.cols = cols, o.max_rejects = -1, o.nthreads = 1;
  const char *paths[1] = {path};
  CHECK(csv_read(paths, 1, &o, res) == 0, "read %s: %s", path, res->error);
}

/* A list column before other columns: a row rejected for a later field, or for a bad item after good ones, leaves
   none of its items behind. */
static void test_csv_list_rollback(void) {
  const char text[] = "1 2 3|7|a\n4 5|x|b\n6|8|c\n9 y|5|d\n10 11|99999999999|e\n12|9|f\n";
  const char *path = write_file("mercado_test_list_first.csv", text, sizeof text - 1);
  csv_colspec cols[3];
  memset(cols, 0, sizeof cols);
  strcpy(cols[0].name, "items"), cols[0].type = CS_LIST, cols[0].list_sep = ' ';
  strcpy(cols[1].name, "n"), cols[1].type = CS_INT32;
  strcpy(cols[2].name, "s"), cols[2].type = CS_STRING;
  csv_result res;
  read_pipe_file(path, cols, 3, &res);
  CHECK(res.table && res.table->n == 3, "kept 3 rows, got %lld", res.table ? (long long)res.table->n : -1);
  if (res.table && res.table->n == 3) {
    const cs_column *l = res.table->cols[0], *n = res.table->cols[1];
    const int32_t want[5] = {1, 2, 3, 6, 12};
    CHECK(l->offsets[1] == 3 && l->offsets[2] == 4 && l->offsets[3] == 5, "offsets after rejected rows");
    for (int i = 0; i < 5 && l->offsets[3] == 5; i++) CHECK(l->items[i] == want[i], "item %d after rejected rows", i);
    CHECK(n->v.i32[0] == 7 && n->v.i32[1] == 8 && n->v.i32[2] == 9, "later column after rejected rows");
  }
  CHECK(res.files[0].rejected[CSV_BAD_INT] == 2 && res.files[0].rejected[CSV_INT_RANGE] == 1, "reasons");
  csv_result_free(&res);
}

/* List items of every width from 1 to 10 digits, leading zeros and signs, in fields long enough for the reader's
   8-byte digit path and at their ends, against the values written here. */
static void test_csv_list_items(void) {
  const char text[] = "1 22 333 4444 55555 666666 7777777 88888888 0012 9 0|a\n"
                      "2147483647 5 5 5 5 5 2147483647|b\n"
                      "12x 1 2 3 4 5 6 7|c\n"
                      "1 2 3 4 5 2147483648 7 7 7 7|d\n"
                      "-5 +6 7 8 9 10 11 0000000012 13|e\n";
  const char *path = write_file("mercado_test_list_items.csv", text, sizeof text - 1);
  csv_colspec cols[2];
  memset(cols, 0, sizeof cols);
  strcpy(cols[0].name, "items"), cols[0].type = CS_LIST, cols[0].list_sep = ' ';
  strcpy(cols[1].name, "s"), cols[1].type = CS_STRING;
  csv_result res;
  read_pipe_file(path, cols, 2, &res);
  const int32_t want[] = {1, 22, 333, 4444, 55555, 666666, 7777777, 88888888, 12, 9, 0,
                          2147483647, 5, 5, 5, 5, 5, 2147483647,
                          -5, 6, 7, 8, 9, 10, 11, 12, 13};
  const int64_t nwant = (int64_t)(sizeof want / sizeof want[0]);
  CHECK(res.table && res.table->n == 3, "kept 3 rows, got %lld", res.table ? (long long)res.table->n : -1);
  if (res.table && res.table->n == 3) {
    const cs_column *l = res.table->cols[0];
    CHECK(l->offsets[1] == 11 && l->offsets[2] == 18 && l->offsets[3] == nwant, "item counts");
    for (int64_t i = 0; i < nwant && l->offsets[3] == nwant; i++)
      CHECK(l->items[i] == want[i], "item %lld: %d, expected %d", (long long)i, l->items[i], want[i]);
  }
  CHECK(res.files[0].rejected[CSV_BAD_INT] == 1 && res.files[0].rejected[CSV_INT_RANGE] == 1, "reasons");
  csv_result_free(&res);
}

static void test_csv_quoted_and_duplicates(void) {
  const char text[] = "id,name\n1,\"A, \"\"quoted\"\" name\"\n2,plain\n3,\"multi\nline\"\n4,\"open\n";
  const char *p1 = write_file("mercado_test_quoted.csv", text, sizeof text - 1);
  char path1[256];
  strcpy(path1, p1);
  const char *p2 = write_file("mercado_test_quoted_copy.csv", text, sizeof text - 1);
  csv_colspec cols[2];
  memset(cols, 0, sizeof cols);
  cols[0].type = CS_INT32, cols[1].type = CS_STRING;
  csv_options o;
  memset(&o, 0, sizeof o);
  o.delimiter = ',', o.quote = '"', o.header = CSV_HEADER_YES, o.ncols = 2, o.cols = cols, o.max_rejects = -1, o.nthreads = 2;
  const char *paths[2] = {path1, p2};
  csv_result res;
  CHECK(csv_read(paths, 2, &o, &res) == 0, "quoted read: %s", res.error);
  CHECK(res.files[1].duplicate_of == 0, "byte-identical copy skipped");
  CHECK(res.table && res.table->n == 3, "3 rows from the quoted file");
  if (res.table && res.table->n == 3) {
    CHECK(strcmp(res.table->names[0], "id") == 0 && strcmp(res.table->names[1], "name") == 0, "header names");
    cs_column *nm = res.table->cols[1];
    CHECK(strcmp(cs_column_str(nm, nm->v.i32[0]), "A, \"quoted\" name") == 0, "quoted field");
    CHECK(strcmp(cs_column_str(nm, nm->v.i32[2]), "multi\nline") == 0, "multi-line field");
  }
  CHECK(res.files[0].rejected[CSV_BAD_QUOTE] == 1, "unterminated quote rejected");
  CHECK(strstr(res.first_reject, ":6: bad quoting") != NULL, "unterminated quote line: %s", res.first_reject);
  csv_result_free(&res);
}

int main(void) {
  test_calendar();
  test_group_by(0, 9);
  test_group_by(-5, 1 << 26); /* wide keys: rank-based codes */
  test_group_by_wide(20000);          /* sorted composite codes */
  test_group_by_wide((1 << 22) + 5000); /* hashed composite codes */
  test_group_by_list();
  test_sort_and_take();
  test_join();
  test_lists();
  test_csv_reader(1, 0);
  test_csv_reader(2, 0);
  test_csv_reader(2, 7); /* tiny chunks: every line boundary is a chunk boundary */
  test_csv_reader(1, 40);
  test_csv_list_rollback();
  test_csv_list_items();
  test_csv_quoted_and_duplicates();
  if (failures) {
    fprintf(stderr, "%d failures\n", failures);
    return 1;
  }
  printf("ok colstore core\n");
  return 0;
}
