/*
** test_gen.c: unit tests of the data generator's core (modules/gen). Every check recomputes its numbers from the
** written files with parsers written here, independently of the generator: determinism (two runs, one and two
** threads), formats, exact sizes, calibration statistics at a moderate size (including the co-purchase structure:
** supports of real best-seller combinations and counts of frequent pairs, triples and 4-itemsets found here by
** intersecting bit vectors), the catalog's quirks, and in dirty mode the reader's expected counts (a separate
** implementation of the reader's rules against the manifest).
*/
#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gen.h"
#include "check.h"

/* ---- files ---- */

typedef struct text {
  char *p;
  size_t n;
} text;

static text slurp(const char *path) {
  text t = {NULL, 0};
  FILE *f = fopen(path, "rb");
  if (!f) return t;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  t.p = malloc((size_t)n + 1);
  t.n = fread(t.p, 1, (size_t)n, f);
  t.p[t.n] = '\0';
  fclose(f);
  return t;
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
  (void)sb, (void)flag, (void)ftw;
  return remove(path);
}

static void rm_rf(const char *dir) { nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS); }

static char tmp_root[256];

static void tmp_dir(char *out, const char *name) { snprintf(out, 512, "%s/%s", tmp_root, name); }

static int run(const char *dir, int64_t baskets, uint64_t seed, double dirty, int threads, int nstores,
               const int32_t *stores, gen_summary *s) {
  gen_options o = {.baskets = baskets, .seed = seed, .out_dir = dir, .dirty = dirty, .nthreads = threads,
                   .nstores = nstores, .stores = stores};
  int rc = gen_run(&o, s);
  if (rc != GEN_OK) fprintf(stderr, "gen_run(%s): %d %s\n", dir, rc, s->error);
  return rc;
}

/* Names of the files in dir (sorted), up to max. */
static int list_dir(const char *dir, char names[][256], int max) {
  DIR *d = opendir(dir);
  int n = 0;
  if (!d) return 0;
  for (struct dirent *e; (e = readdir(d)) && n < max;)
    if (e->d_name[0] != '.') snprintf(names[n++], 256, "%s", e->d_name);
  closedir(d);
  qsort(names, (size_t)n, 256, (int (*)(const void *, const void *))strcmp);
  return n;
}

static int same_file(const char *a, const char *b) {
  text x = slurp(a), y = slurp(b);
  int same = x.p && y.p && x.n == y.n && memcmp(x.p, y.p, x.n) == 0;
  free(x.p);
  free(y.p);
  return same;
}

/* Every file under a/sub equals the one under b/sub, and the lists match. */
static int same_tree(const char *a, const char *b, const char *sub) {
  char da[600], db[600], names_a[64][256], names_b[64][256];
  snprintf(da, sizeof da, "%s/%s", a, sub);
  snprintf(db, sizeof db, "%s/%s", b, sub);
  int na = list_dir(da, names_a, 64), nb = list_dir(db, names_b, 64);
  if (na != nb || na == 0) return 0;
  for (int i = 0; i < na; i++) {
    char pa[900], pb[900];
    if (strcmp(names_a[i], names_b[i]) != 0) return 0;
    snprintf(pa, sizeof pa, "%s/%.255s", da, names_a[i]);
    snprintf(pb, sizeof pb, "%s/%.255s", db, names_b[i]);
    if (!same_file(pa, pb)) return 0;
  }
  return 1;
}

/* ---- a strict parser of clean transaction files ---- */

typedef struct basket {
  int day, store, customer, n;
  int64_t first; /* index into items */
} basket;

typedef struct dataset {
  basket *b;
  int64_t nb, capb;
  int16_t *items;
  int64_t ni, capi;
  int bad_lines;
} dataset;

static const int month_len[13] = {0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

/* Day index of "2013-MM-DD" in the first half of 2013, or -1. */
static int day_index(const char *p) {
  if (strncmp(p, "2013-", 5) != 0 || p[7] != '-') return -1;
  for (int i = 5; i < 10; i++)
    if (i != 7 && (p[i] < '0' || p[i] > '9')) return -1;
  int m = (p[5] - '0') * 10 + (p[6] - '0'), d = (p[8] - '0') * 10 + (p[9] - '0');
  if (m < 1 || m > 6 || d < 1 || d > month_len[m]) return -1;
  int idx = d - 1;
  for (int k = 1; k < m; k++) idx += month_len[k];
  return idx;
}

static void push_basket(dataset *ds, basket b) {
  if (ds->nb == ds->capb) {
    ds->capb = ds->capb ? 2 * ds->capb : 1 << 16;
    ds->b = realloc(ds->b, (size_t)ds->capb * sizeof *ds->b);
  }
  ds->b[ds->nb++] = b;
}

static void push_item(dataset *ds, int v) {
  if (ds->ni == ds->capi) {
    ds->capi = ds->capi ? 2 * ds->capi : 1 << 20;
    ds->items = realloc(ds->items, (size_t)ds->capi * sizeof *ds->items);
  }
  ds->items[ds->ni++] = (int16_t)v;
}

/* Parses one clean line "YYYY-MM-DD|store|customer|i i i"; returns 0 or -1. */
static int parse_clean_line(dataset *ds, const char *p, const char *e, int store) {
  basket b = {.first = ds->ni};
  if (e - p < 16 || p[10] != '|' || (b.day = day_index(p)) < 0) return -1;
  char *q;
  b.store = (int)strtol(p + 11, &q, 10);
  if (*q != '|' || b.store != store) return -1;
  b.customer = (int)strtol(q + 1, &q, 10);
  if (*q != '|' || b.customer < 1) return -1;
  q++;
  for (;;) {
    if (q >= e || *q < '1' || *q > '9') return -1;
    long v = strtol(q, &q, 10);
    if (v < 1 || v > 449) return -1;
    push_item(ds, (int)v);
    b.n++;
    if (q == e) break;
    if (*q != ' ') return -1;
    q++;
  }
  push_basket(ds, b);
  return 0;
}

/* Reads every <store>_Tran.csv of dir/transactions (LF only, no header, a final newline). */
static void load_clean(const char *dir, dataset *ds, int *nfiles) {
  char tdir[600], names[64][256];
  snprintf(tdir, sizeof tdir, "%s/transactions", dir);
  int n = list_dir(tdir, names, 64);
  *nfiles = 0;
  for (int i = 0; i < n; i++) {
    char path[900];
    int store = atoi(names[i]);
    snprintf(path, sizeof path, "%s/%.255s", tdir, names[i]);
    text t = slurp(path);
    (*nfiles)++;
    if (t.n && t.p[t.n - 1] != '\n') ds->bad_lines++;
    for (char *p = t.p, *end = t.p + t.n; p < end;) {
      char *nl = memchr(p, '\n', (size_t)(end - p));
      if (!nl) nl = end;
      if (memchr(p, '\r', (size_t)(nl - p)) || parse_clean_line(ds, p, nl, store) != 0) ds->bad_lines++;
      p = nl + 1;
    }
    free(t.p);
  }
}

/* ---- tests ---- */

static void test_options(void) {
  gen_options o = {.baskets = 10, .out_dir = "/tmp/x"};
  CHECK(gen_check_options(&o) == NULL, "valid options rejected");
  o.baskets = 0;
  CHECK(gen_check_options(&o) && strstr(gen_check_options(&o), "baskets"), "baskets 0 accepted");
  o.baskets = 10, o.dirty = 0.6;
  CHECK(gen_check_options(&o) && strstr(gen_check_options(&o), "dirty"), "dirty 0.6 accepted");
  o.dirty = NAN;
  CHECK(gen_check_options(&o) != NULL, "dirty NaN accepted");
  o.dirty = 0;
  int32_t dup[2] = {5, 5};
  o.nstores = 2, o.stores = dup;
  CHECK(gen_check_options(&o) && strstr(gen_check_options(&o), "stores"), "repeated store accepted");
  o.nstores = 0, o.out_dir = "";
  CHECK(gen_check_options(&o) && strstr(gen_check_options(&o), "out"), "empty out accepted");
  printf("ok options\n");
}

/* The real split scaled by largest remainder, computed here on its own. */
static void expected_split(int64_t n, int64_t *out) {
  const int64_t real[4] = {314286, 407130, 254633, 132938};
  double rem[4];
  int64_t given = 0;
  for (int i = 0; i < 4; i++) {
    double exact = (double)n * (double)real[i] / 1108987.0;
    out[i] = (int64_t)floor(exact);
    rem[i] = exact - (double)out[i];
    given += out[i];
  }
  for (; given < n; given++) {
    int best = 0;
    for (int i = 1; i < 4; i++)
      if (rem[i] > rem[best]) best = i;
    out[best]++, rem[best] = -1;
  }
}

static void test_determinism(void) {
  char a[512], b[512], c[512], d[512];
  tmp_dir(a, "det_a"), tmp_dir(b, "det_b"), tmp_dir(c, "det_c"), tmp_dir(d, "det_d");
  static gen_summary s;
  CHECK(run(a, 40000, 11, 0, 1, 0, NULL, &s) == GEN_OK, "run a");
  CHECK(run(b, 40000, 11, 0, 2, 0, NULL, &s) == GEN_OK, "run b");
  CHECK(run(c, 40000, 11, 0, 2, 0, NULL, &s) == GEN_OK, "run c");
  CHECK(run(d, 40000, 12, 0, 2, 0, NULL, &s) == GEN_OK, "run d");
  CHECK(same_tree(a, b, "transactions") && same_tree(a, b, "products"), "1 thread and 2 threads differ");
  CHECK(same_tree(b, c, "transactions") && same_tree(b, c, "products"), "two runs differ");
  CHECK(!same_tree(a, d, "transactions"), "seeds 11 and 12 give the same transactions");
  CHECK(run(c, 40000, 11, 0, 7, 0, NULL, &s) == GEN_OK && same_tree(a, c, "transactions"),
        "7 threads differ from 1 (rerun into an existing directory)");
  rm_rf(a), rm_rf(b), rm_rf(c), rm_rf(d);
  printf("ok determinism (1, 2 and 7 threads, repeated runs, seed changes output)\n");
}

static int cmp_int_desc(const void *a, const void *b) {
  int x = *(const int *)a, y = *(const int *)b;
  return x < y ? 1 : x > y ? -1 : 0;
}

/* Share of baskets holding all of the given products. */
static double support(const dataset *ds, const int *want, int k) {
  int64_t hit = 0;
  for (int64_t i = 0; i < ds->nb; i++) {
    int found = 0;
    for (int j = 0; j < k; j++)
      for (int t = 0; t < ds->b[i].n; t++)
        if (ds->items[ds->b[i].first + t] == want[j]) {
          found++;
          break;
        }
    hit += found == k;
  }
  return (double)hit / (double)ds->nb;
}

static void check_sizes(const dataset *ds, int64_t n, gen_summary *s) {
  int64_t split[4], per_store[4] = {0};
  const int store_ids[4] = {102, 103, 107, 110};
  expected_split(n, split);
  for (int64_t i = 0; i < ds->nb; i++)
    for (int k = 0; k < 4; k++) per_store[k] += ds->b[i].store == store_ids[k];
  CHECK(ds->nb == n, "%lld baskets, expected %lld", (long long)ds->nb, (long long)n);
  CHECK(ds->ni == s->units, "%lld units, summary says %lld", (long long)ds->ni, (long long)s->units);
  for (int k = 0; k < 4; k++)
    CHECK(per_store[k] == split[k], "store %d: %lld baskets, expected %lld", store_ids[k], (long long)per_store[k],
          (long long)split[k]);
  int max_id = 0;
  for (int64_t i = 0; i < ds->nb; i++)
    if (ds->b[i].customer > max_id) max_id = ds->b[i].customer;
  char *seen = calloc((size_t)max_id + 1, 1);
  int64_t customers = 0;
  for (int64_t i = 0; i < ds->nb; i++)
    if (!seen[ds->b[i].customer]) seen[ds->b[i].customer] = 1, customers++;
  free(seen);
  CHECK(customers == llround(131186.0 * (double)n / 1108987.0) && customers == s->customers,
        "%lld customers (summary %lld)", (long long)customers, (long long)s->customers);
  CHECK(max_id > 3 * customers, "customer ids are not sparse: max %d for %lld customers", max_id,
        (long long)customers);
}

static void check_calendar(const dataset *ds) {
  int64_t per_day[181] = {0}, dow[7] = {0};
  for (int64_t i = 0; i < ds->nb; i++) per_day[ds->b[i].day]++;
  int quietest = 0, days_seen = 0;
  for (int d = 0; d < 181; d++) {
    dow[(d + 2) % 7] += per_day[d]; /* 2013-01-01 was a Tuesday; 0 = Sunday */
    if (per_day[d] < per_day[quietest]) quietest = d;
    days_seen += per_day[d] > 0;
  }
  CHECK(days_seen == 181, "only %d days have baskets", days_seen);
  CHECK(quietest == 0, "the quietest day is day %d, not January 1", quietest);
  double mon = (double)dow[1] / 25, sun = (double)dow[0] / 26, sat = (double)dow[6] / 26;
  CHECK(sun / mon > 1.15 && sun / mon < 1.45, "Sunday/Monday %.3f", sun / mon);
  CHECK(sat / mon > 1.15 && sat / mon < 1.45, "Saturday/Monday %.3f", sat / mon);
  printf("ok calendar: Sun/Mon %.3f, Sat/Mon %.3f, January 1 quietest\n", sun / mon, sat / mon);
}

static void check_baskets_and_products(const dataset *ds) {
  int max_n = 0, min_n = 1 << 30;
  int64_t count[450] = {0};
  for (int64_t i = 0; i < ds->nb; i++) {
    const basket *b = &ds->b[i];
    if (b->n > max_n) max_n = b->n;
    if (b->n < min_n) min_n = b->n;
    unsigned char in[450] = {0};
    for (int t = 0; t < b->n; t++) in[ds->items[b->first + t]] = 1;
    for (int p = 1; p <= 449; p++) count[p] += in[p];
  }
  double mean = (double)ds->ni / (double)ds->nb;
  CHECK(mean > 9.2 && mean < 9.9, "mean basket size %.3f", mean);
  CHECK(min_n == 1 && max_n <= 128 && max_n >= 40, "basket sizes %d..%d", min_n, max_n);
  int order[449];
  for (int p = 1; p <= 449; p++) order[p - 1] = (int)((count[p] << 9) | p); /* sort by count, keep the id */
  qsort(order, 449, sizeof *order, cmp_int_desc);
  double top = (double)(order[0] >> 9) / (double)ds->nb, twentieth = (double)(order[19] >> 9) / (double)ds->nb;
  int top_id = order[0] & 511, sold = 0;
  for (int p = 1; p <= 449; p++) sold += count[p] > 0;
  CHECK(top > 0.24 && top < 0.30, "top product in %.3f of baskets", top);
  CHECK(twentieth > 0.11 && twentieth < 0.155, "20th product in %.3f of baskets", twentieth);
  CHECK(top_id == 5 || top_id == 10, "top product is %d", top_id);
  CHECK(sold >= 440, "only %d products sold", sold);
  const int rule[3] = {21, 16, 30};
  double s_ab = support(ds, rule, 2), s_abc = support(ds, rule, 3), s_c = support(ds, rule + 2, 1);
  double conf = s_abc / s_ab, lift = conf / s_c;
  CHECK(s_abc > 0.042 && s_abc < 0.065 && conf > 0.42 && conf < 0.6 && lift > 3.5 && lift < 5.0,
        "{21,16}->30: support %.4f conf %.3f lift %.2f (real 0.053 / 0.49 / 4.08)", s_abc, conf, lift);
  printf("ok baskets: mean %.3f, sizes %d..%d; top product %d in %.3f, 20th in %.3f; {21,16}->30 support %.3f "
         "confidence %.3f lift %.2f\n", mean, min_n, max_n, top_id, top, twentieth, s_abc, conf, lift);
}

/* Number of baskets holding every product whose bit vector is in v[0..k) (W words each). */
static int64_t count_and(uint64_t *const *v, int k, int64_t W, uint64_t *out) {
  int64_t c = 0;
  for (int64_t w = 0; w < W; w++) {
    uint64_t x = v[0][w];
    for (int j = 1; j < k; j++) x &= v[j][w];
    if (out) out[w] = x;
    c += __builtin_popcountll(x);
  }
  return c;
}

/* The co-purchase structure, recomputed on bit vectors (one per product, one bit per basket): supports of a few
   best-seller combinations against the real data's, the number of frequent pairs and triples at 5% and 7.9% (the
   published outputs show 61 pairs of best sellers in >= 7.9% of baskets) and the number of frequent 4-itemsets
   at 1% among the 40 best sellers, which stays bounded when large baskets do not hold every best seller. */
static void check_itemsets(const dataset *ds) {
  int64_t W = (ds->nb + 63) / 64, n = ds->nb, count[450] = {0};
  uint64_t *bits = calloc((size_t)W * 450, sizeof *bits);
  for (int64_t i = 0; i < n; i++)
    for (int t = 0; t < ds->b[i].n; t++) {
      size_t word = (size_t)ds->items[ds->b[i].first + t] * (size_t)W + (size_t)(i >> 6);
      bits[word] |= 1ULL << (i & 63);
    }
  for (int p = 1; p <= 449; p++) {
    uint64_t *v = bits + (size_t)p * (size_t)W;
    count[p] = count_and(&v, 1, W, NULL);
  }
  /* real supports (product_associations.json) of combinations the model builds on purpose */
  static const struct {
    int k, items[4];
    double real;
  } combos[] = {{2, {16, 21}, .1075}, {2, {4, 7}, .1180}, {2, {3, 6}, .1221}, {2, {5, 10}, .1368},
                {2, {3, 31}, .0690}, {2, {4, 29}, .0686}, {3, {3, 5, 10}, .0717}, {3, {4, 7, 17}, .0573},
                {3, {16, 21, 30}, .0529}, {3, {3, 16, 21}, .0674}};
  int bad = 0;
  for (size_t q = 0; q < sizeof combos / sizeof combos[0]; q++) {
    uint64_t *v[4];
    for (int j = 0; j < combos[q].k; j++) v[j] = bits + (size_t)combos[q].items[j] * (size_t)W;
    double sup = (double)count_and(v, combos[q].k, W, NULL) / (double)n, ratio = sup / combos[q].real;
    if (ratio < 0.6 || ratio > 1.5) {
      bad++;
      fprintf(stderr, "  combination %d: support %.4f, real %.4f\n", (int)q, sup, combos[q].real);
    }
  }
  CHECK(bad == 0, "%d best-seller combinations off by more than -40%%/+50%% from the real supports", bad);
  int top[40];
  for (int r = 0; r < 40; r++) { /* the 40 best sellers by basket count */
    int best = 0;
    for (int p = 1; p <= 449; p++) {
      int used = 0;
      for (int q = 0; q < r; q++) used |= top[q] == p;
      if (!used && (best == 0 || count[p] > count[best])) best = p;
    }
    top[r] = best;
  }
  int64_t min5 = (int64_t)ceil(0.05 * (double)n), min79 = (int64_t)ceil(0.079 * (double)n);
  int64_t min1 = (int64_t)ceil(0.01 * (double)n), pairs5 = 0, pairs79 = 0, triples5 = 0, quads1 = 0;
  uint64_t *ij = malloc((size_t)W * sizeof *ij), *ijk = malloc((size_t)W * sizeof *ijk);
  for (int a = 0; a < 40; a++)
    for (int b = a + 1; b < 40; b++) {
      uint64_t *v2[2] = {bits + (size_t)top[a] * (size_t)W, bits + (size_t)top[b] * (size_t)W};
      int64_t c2 = count_and(v2, 2, W, ij);
      pairs5 += c2 >= min5, pairs79 += c2 >= min79;
      if (c2 < min1) continue;
      for (int c = b + 1; c < 40; c++) {
        uint64_t *v3[2] = {ij, bits + (size_t)top[c] * (size_t)W};
        int64_t c3 = count_and(v3, 2, W, ijk);
        triples5 += c3 >= min5;
        if (c3 < min1) continue;
        for (int d = c + 1; d < 40; d++) {
          uint64_t *v4[2] = {ijk, bits + (size_t)top[d] * (size_t)W};
          quads1 += count_and(v4, 2, W, NULL) >= min1;
        }
      }
    }
  CHECK(pairs79 >= 50 && pairs79 <= 75, "%lld pairs of best sellers in >= 7.9%% of baskets (real 61)",
        (long long)pairs79);
  CHECK(pairs5 >= 110 && pairs5 <= 200, "%lld pairs in >= 5%% of baskets", (long long)pairs5);
  CHECK(triples5 >= 100 && triples5 <= 230, "%lld triples in >= 5%% of baskets", (long long)triples5);
  CHECK(quads1 >= 1500 && quads1 <= 5000, "%lld 4-itemsets of the 40 best sellers in >= 1%% of baskets",
        (long long)quads1);
  printf("ok itemsets: best-seller combinations within -40%%/+50%% of the real supports; among the 40 best sellers "
         "%lld pairs >= 7.9%% (real 61), %lld pairs and %lld triples >= 5%%, %lld 4-itemsets >= 1%%\n",
         (long long)pairs79, (long long)pairs5, (long long)triples5, (long long)quads1);
  free(ij);
  free(ijk);
  free(bits);
}

static int cmp_basket_customer(const void *a, const void *b) {
  const basket *x = a, *y = b;
  return x->customer < y->customer ? -1 : x->customer > y->customer;
}

static void check_customers(dataset *ds) {
  qsort(ds->b, (size_t)ds->nb, sizeof *ds->b, cmp_basket_customer); /* per-basket order no longer needed */
  int64_t customers = 0, once = 0, forty = 0, one_store = 0, max_visits = 0;
  int64_t units_once = 0, units_heavy = 0, distinct_heavy = 0; /* heavy: 32+ visits */
  for (int64_t i = 0; i < ds->nb;) {
    int64_t j = i, units = 0, distinct = 0;
    int stores_seen[4] = {0}, nstores = 0;
    unsigned char seen[450] = {0};
    while (j < ds->nb && ds->b[j].customer == ds->b[i].customer) {
      int k = ds->b[j].store == 102 ? 0 : ds->b[j].store == 103 ? 1 : ds->b[j].store == 107 ? 2 : 3;
      nstores += !stores_seen[k];
      stores_seen[k] = 1;
      for (int t = 0; t < ds->b[j].n; t++) {
        int id = ds->items[ds->b[j].first + t];
        distinct += !seen[id];
        seen[id] = 1;
      }
      units += ds->b[j].n;
      j++;
    }
    int64_t visits = j - i;
    if (visits == 1) units_once += units;
    if (visits >= 32) units_heavy += units, distinct_heavy += distinct;
    customers++;
    once += visits == 1;
    forty += visits >= 40;
    one_store += nstores == 1;
    if (visits > max_visits) max_visits = visits;
    i = j;
  }
  double p1 = (double)once / (double)customers, p40 = (double)forty / (double)customers;
  double loyal = (double)one_store / (double)customers;
  CHECK(p1 > 0.22 && p1 < 0.34, "%.3f of customers visit once", p1);
  CHECK(p40 > 0.015 && p40 < 0.05, "%.3f of customers visit 40+ times", p40);
  CHECK(loyal > 0.7, "only %.3f of customers use one store", loyal);
  CHECK(max_visits == 535, "top customer has %lld visits, expected the planted 535", (long long)max_visits);
  double size_once = (double)units_once / (double)once, variety = (double)distinct_heavy / (double)units_heavy;
  CHECK(size_once > 4.5 && size_once < 6.8, "one-visit customers buy %.2f units (real sample 5.5)", size_once);
  CHECK(variety > 0.15 && variety < 0.28, "customers with 32+ visits: %.3f distinct products per unit (real 0.21)",
        variety);
  printf("ok customers: %.3f visit once, %.3f visit 40+ times, %.3f use one store, top %lld visits; one-visit "
         "baskets %.2f units, %.3f distinct products per unit at 32+ visits\n", p1, p40, loyal, (long long)max_visits,
         size_once, variety);
}

static int cmp_i64(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return x < y ? -1 : x > y;
}

/* Exact duplicate rows, distinct products and products in two categories of the (product << 8 | category) keys. */
static void catalog_counts(int64_t *keys, int64_t n, int64_t *dups, int64_t *products, int64_t *two) {
  qsort(keys, (size_t)n, sizeof *keys, cmp_i64);
  *dups = *products = *two = 0;
  for (int64_t i = 0; i < n;) {
    int64_t j = i, cats = 0;
    while (j < n && keys[j] >> 8 == keys[i] >> 8) {
      if (j > i && keys[j] == keys[j - 1]) (*dups)++;
      else cats++;
      j++;
    }
    (*products)++;
    *two += cats == 2;
    i = j;
  }
}

static void check_catalog(const char *dir, const gen_catalog_stats *st) {
  char path[600];
  snprintf(path, sizeof path, "%s/products/Categories.csv", dir);
  text t = slurp(path);
  int lines = 0, commas = 0, upper = 1;
  CHECK(t.n && t.p[t.n - 1] != '\n', "Categories.csv ends with a newline");
  for (char *p = t.p; p && *p;) {
    char *nl = strchr(p, '\n');
    size_t len = nl ? (size_t)(nl - p) : strlen(p);
    char *bar = memchr(p, '|', len);
    CHECK(bar && atoi(p) == lines + 1, "Categories.csv line %d", lines + 1);
    for (char *c = bar ? bar + 1 : p; c < p + len; c++) {
      commas += *c == ',';
      upper &= !(*c >= 'a' && *c <= 'z');
    }
    lines++;
    p = nl ? nl + 1 : p + len;
  }
  CHECK(lines == 50 && commas >= 2 && upper, "Categories.csv: %d lines, %d commas", lines, commas);
  free(t.p);
  snprintf(path, sizeof path, "%s/products/ProductCategory.csv", dir);
  t = slurp(path);
  CHECK(t.n > 20 && strncmp(t.p, "v.Code_pr|v.code\n", 17) == 0 && t.p[t.n - 1] == '\n', "ProductCategory header");
  /* per sold product: its rows; catalog-wide: distinct ids and exact duplicates */
  static unsigned char sold_rows[450][51];
  memset(sold_rows, 0, sizeof sold_rows);
  int64_t rows = 0, max_id = 0, dup_rows, products, two_cats;
  int64_t *keys = malloc(t.n / 4 * sizeof *keys);
  for (char *p = t.p + 17; p < t.p + t.n;) {
    char *q;
    long id = strtol(p, &q, 10), cat = strtol(q + 1, &q, 10);
    CHECK(*q == '\n' && cat >= 1 && cat <= 50, "ProductCategory row %lld", (long long)rows + 1);
    if (id >= 1 && id <= 449) sold_rows[id][cat]++;
    keys[rows] = (int64_t)id << 8 | cat;
    if (id > max_id) max_id = id;
    rows++;
    p = q + 1;
  }
  int unmapped = 0, two = 0, dup = 0;
  for (int id = 1; id <= 449; id++) {
    int cats = 0, rep = 0;
    for (int c = 1; c <= 50; c++) cats += sold_rows[id][c] > 0, rep |= sold_rows[id][c] > 1;
    unmapped += cats == 0, two += cats == 2, dup += rep;
  }
  const int must_unmapped[6] = {9, 10, 11, 12, 15, 16};
  for (int i = 0; i < 6; i++) {
    int cats = 0;
    for (int c = 1; c <= 50; c++) cats += sold_rows[must_unmapped[i]][c];
    CHECK(cats == 0, "best seller %d is in the catalog", must_unmapped[i]);
  }
  CHECK(sold_rows[5][20] == 1 && sold_rows[5][25] == 1, "product 5 is not in categories 20 and 25");
  CHECK(unmapped == 206 && two == 200 && dup == 9, "sold ids: %d unmapped, %d in two categories, %d duplicated",
        unmapped, two, dup);
  CHECK(rows > 100000 && rows < 125000 && max_id > 2000000, "%lld catalog rows, max id %lld", (long long)rows,
        (long long)max_id);
  catalog_counts(keys, rows, &dup_rows, &products, &two_cats);
  CHECK(dup_rows == st->duplicate_rows && products == st->distinct_products && two_cats == st->two_category_products &&
            rows == st->product_rows,
        "catalog: %lld duplicate rows, %lld products, %lld in two categories (summary %lld, %lld, %lld)",
        (long long)dup_rows, (long long)products, (long long)two_cats, (long long)st->duplicate_rows,
        (long long)st->distinct_products, (long long)st->two_category_products);
  CHECK(dup_rows > 10000 && products > 60000 && two_cats > 15000, "catalog quirks too weak");
  free(keys);
  free(t.p);
  printf("ok catalog: 50 categories (no final newline), %lld product rows (%lld exact duplicates), %lld products "
         "(%lld in two categories), max id %lld; of ids 1..449: %d unmapped, %d in two categories, %d duplicated\n",
         (long long)rows, (long long)dup_rows, (long long)products, (long long)two_cats, (long long)max_id, unmapped,
         two, dup);
}

static void test_calibration(void) {
  char dir[512];
  tmp_dir(dir, "cal");
  static gen_summary s;
  const int64_t n = 250000;
  CHECK(run(dir, n, 42, 0, 2, 0, NULL, &s) == GEN_OK, "run");
  dataset ds = {0};
  int nfiles;
  load_clean(dir, &ds, &nfiles);
  CHECK(ds.bad_lines == 0 && nfiles == 4, "%d malformed lines, %d files", ds.bad_lines, nfiles);
  check_sizes(&ds, n, &s);
  check_calendar(&ds);
  check_baskets_and_products(&ds);
  check_itemsets(&ds);
  check_customers(&ds);
  check_catalog(dir, &s.catalog);
  free(ds.b);
  free(ds.items);
  rm_rf(dir);
}

static void test_small_and_custom(void) {
  char dir[512];
  tmp_dir(dir, "small");
  static gen_summary s;
  for (int64_t n = 1; n <= 9; n += 4) {
    CHECK(run(dir, n, 3, 0, 2, 0, NULL, &s) == GEN_OK, "run %lld", (long long)n);
    dataset ds = {0};
    int nfiles;
    load_clean(dir, &ds, &nfiles);
    CHECK(ds.nb == n && ds.bad_lines == 0 && nfiles == 4 && s.customers == 1,
          "%lld baskets: read %lld, %d bad lines, %d files, %lld customers", (long long)n, (long long)ds.nb,
          ds.bad_lines, nfiles, (long long)s.customers);
    free(ds.b);
    free(ds.items);
  }
  rm_rf(dir);
  const int32_t stores[2] = {7, 102};
  CHECK(run(dir, 2000, 3, 0, 2, 2, stores, &s) == GEN_OK, "custom stores");
  dataset ds = {0};
  int nfiles;
  load_clean(dir, &ds, &nfiles);
  int64_t at7 = 0;
  for (int64_t i = 0; i < ds.nb; i++) at7 += ds.b[i].store == 7;
  CHECK(ds.nb == 2000 && nfiles == 2 && ds.bad_lines == 0 && at7 > 0 && at7 < 2000, "custom stores: %lld in 7",
        (long long)at7);
  free(ds.b);
  free(ds.items);
  rm_rf(dir);
  printf("ok tiny sizes (1, 5, 9 baskets) and a custom store list\n");
}

/* ---- dirty mode: the reader's rules, implemented again ---- */

enum { R_FIELD, R_DATE, R_INT, R_RANGE, R_EMPTY };
static const char *const reason_names[5] = {"field_count", "bad_date", "bad_int", "int_range", "empty_list"};

typedef struct reader_counts {
  int64_t lines_read, kept, rejected[5], empty, units;
  int64_t nrej, caprej;
  int64_t *rej_line;
  int *rej_reason;
} reader_counts;

static int is_blank(char c) { return c == ' ' || c == '\t'; }

static void trim(const char **s, const char **e) {
  while (*s < *e && is_blank(**s)) (*s)++;
  while (*e > *s && is_blank((*e)[-1])) (*e)--;
}

/* 0 ok, 1 not an integer, 2 outside int32. */
static int check_int(const char *s, const char *e) {
  int neg = s < e && *s == '-';
  if (s < e && (*s == '-' || *s == '+')) s++;
  if (s == e) return 1;
  long double v = 0;
  for (const char *p = s; p < e; p++) {
    if (*p < '0' || *p > '9') return 1;
    v = v * 10 + (*p - '0');
  }
  return (neg ? -v < -2147483648.0L : v > 2147483647.0L) ? 2 : 0;
}

static int check_date(const char *s, const char *e) {
  if (e - s != 10 || s[4] != '-' || s[7] != '-') return 1;
  for (int i = 0; i < 10; i++)
    if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9')) return 1;
  int y = atoi(s), m = (s[5] - '0') * 10 + (s[6] - '0'), d = (s[8] - '0') * 10 + (s[9] - '0');
  int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  if (m < 1 || m > 12 || d < 1) return 1;
  return d > month_len[m] + (m == 2 && leap);
}

/* The reason a non-empty line is rejected, or -1 if kept (*units set). */
static int classify(const char *s, const char *e, int64_t *units) {
  const char *f[5], *fe[5];
  int nf = 0;
  for (const char *p = s;; p++)
    if (p == e || *p == '|') {
      if (nf < 5) f[nf] = nf ? fe[nf - 1] + 1 : s, fe[nf] = p;
      nf++;
      if (p == e) break;
    }
  if (nf != 4) return R_FIELD;
  for (int i = 0; i < 4; i++) trim(&f[i], &fe[i]);
  if (check_date(f[0], fe[0])) return R_DATE;
  for (int i = 1; i <= 2; i++) {
    int r = check_int(f[i], fe[i]);
    if (r) return r == 1 ? R_INT : R_RANGE;
  }
  int64_t n = 0;
  for (const char *p = f[3]; p < fe[3];) {
    while (p < fe[3] && is_blank(*p)) p++;
    if (p == fe[3]) break;
    const char *q = p;
    while (q < fe[3] && !is_blank(*q)) q++;
    int r = check_int(p, q);
    if (r) return r == 1 ? R_INT : R_RANGE;
    n++;
    p = q;
  }
  if (n == 0) return R_EMPTY;
  *units = n;
  return -1;
}

static void read_like_the_reader(const text *t, reader_counts *c) {
  const char *p = t->p, *end = t->p + t->n;
  if (t->n >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0) p += 3;
  for (int64_t line = 1; p < end; line++) {
    const char *nl = memchr(p, '\n', (size_t)(end - p)), *e = nl ? nl : end;
    while (e > p && (e[-1] == '\r' || is_blank(e[-1]))) e--;
    if (e == p) {
      c->empty++;
    } else {
      int64_t units = 0;
      int r = classify(p, e, &units);
      c->lines_read++;
      if (r < 0) {
        c->kept++, c->units += units;
      } else {
        c->rejected[r]++;
        if (c->nrej == c->caprej) {
          c->caprej = c->caprej ? 2 * c->caprej : 256;
          c->rej_line = realloc(c->rej_line, (size_t)c->caprej * sizeof *c->rej_line);
          c->rej_reason = realloc(c->rej_reason, (size_t)c->caprej * sizeof *c->rej_reason);
        }
        c->rej_line[c->nrej] = line, c->rej_reason[c->nrej++] = r;
      }
    }
    p = nl ? nl + 1 : end;
  }
}

/* ---- a minimal JSON reader for the manifest ---- */

typedef struct jv {
  char type; /* 'o' 'a' 's' 'n' 't' 'f' 'z' */
  char *str;
  double num;
  int n;
  char **keys;
  struct jv **vals;
} jv;

static void skip_ws(const char **p) {
  while (**p == ' ' || **p == '\n' || **p == '\t' || **p == '\r') (*p)++;
}

static char *parse_jstr(const char **p) {
  size_t cap = 16, n = 0;
  char *s = malloc(cap);
  (*p)++;
  while (**p && **p != '"') {
    char ch = *(*p)++;
    if (ch == '\\') ch = *(*p)++;
    if (n + 2 > cap) s = realloc(s, cap *= 2);
    s[n++] = ch;
  }
  (*p)++;
  s[n] = '\0';
  return s;
}

static jv *parse_json(const char **p) {
  jv *v = calloc(1, sizeof *v);
  skip_ws(p);
  if (**p == '{' || **p == '[') {
    char close = **p == '{' ? '}' : ']';
    v->type = **p == '{' ? 'o' : 'a';
    (*p)++;
    skip_ws(p);
    while (**p && **p != close) {
      v->keys = realloc(v->keys, (size_t)(v->n + 1) * sizeof *v->keys);
      v->vals = realloc(v->vals, (size_t)(v->n + 1) * sizeof *v->vals);
      v->keys[v->n] = NULL;
      if (v->type == 'o') {
        v->keys[v->n] = parse_jstr(p);
        skip_ws(p);
        (*p)++; /* ':' */
      }
      v->vals[v->n++] = parse_json(p);
      skip_ws(p);
      if (**p == ',') (*p)++;
      skip_ws(p);
    }
    (*p)++;
  } else if (**p == '"') {
    v->type = 's', v->str = parse_jstr(p);
  } else if (**p == 't' || **p == 'f' || **p == 'n') {
    v->type = **p == 'n' ? 'z' : **p;
    *p += **p == 'f' ? 5 : 4;
  } else {
    char *end;
    v->type = 'n', v->num = strtod(*p, &end);
    *p = end;
  }
  return v;
}

static jv *jget(const jv *o, const char *key) {
  for (int i = 0; o && o->type == 'o' && i < o->n; i++)
    if (strcmp(o->keys[i], key) == 0) return o->vals[i];
  return NULL;
}

static int64_t jint(const jv *o, const char *key) {
  const jv *v = jget(o, key);
  return v && v->type == 'n' ? (int64_t)v->num : -1;
}

static void jfree(jv *v) {
  for (int i = 0; i < v->n; i++) {
    free(v->keys[i]);
    jfree(v->vals[i]);
  }
  free(v->keys);
  free(v->vals);
  free(v->str);
  free(v);
}

/* Compares the manifest's counts for one file (or the total) with the reader's. */
static void compare_counts(const jv *m, const reader_counts *c, const char *what) {
  const jv *rej = jget(m, "rejected");
  CHECK(jint(m, "lines_read") == c->lines_read, "%s lines_read: manifest %lld, reader %lld", what,
        (long long)jint(m, "lines_read"), (long long)c->lines_read);
  CHECK(jint(m, "kept") == c->kept && jint(m, "baskets_kept") == c->kept, "%s kept: manifest %lld, reader %lld",
        what, (long long)jint(m, "kept"), (long long)c->kept);
  CHECK(jint(m, "empty_lines") == c->empty, "%s empty_lines: manifest %lld, reader %lld", what,
        (long long)jint(m, "empty_lines"), (long long)c->empty);
  CHECK(jint(m, "units_kept") == c->units, "%s units_kept: manifest %lld, reader %lld", what,
        (long long)jint(m, "units_kept"), (long long)c->units);
  int64_t sum = 0;
  for (int r = 0; r < 5; r++) {
    sum += c->rejected[r];
    CHECK(jint(rej, reason_names[r]) == c->rejected[r], "%s %s: manifest %lld, reader %lld", what, reason_names[r],
          (long long)jint(rej, reason_names[r]), (long long)c->rejected[r]);
  }
  CHECK(c->lines_read == c->kept + sum, "%s: lines_read != kept + rejected", what);
}

/* The manifest's fault list for a file, in order, equals the rejected lines the reader found. */
static void compare_faults(const jv *faults, const char *file, const reader_counts *c) {
  int64_t k = 0, mismatches = 0;
  for (int i = 0; i < faults->n; i++) {
    const jv *f = faults->vals[i];
    if (strcmp(jget(f, "file")->str, file) != 0) continue;
    if (k >= c->nrej || jint(f, "line") != c->rej_line[k] ||
        strcmp(jget(f, "reason")->str, reason_names[c->rej_reason[k]]) != 0)
      mismatches++;
    k++;
  }
  CHECK(k == c->nrej && mismatches == 0, "%s: %lld listed faults vs %lld rejected lines, %lld mismatches", file,
        (long long)k, (long long)c->nrej, (long long)mismatches);
}

static void test_dirty(void) {
  char dir[512], path[900];
  tmp_dir(dir, "dirty");
  static gen_summary s;
  CHECK(run(dir, 30000, 5, 0.05, 2, 0, NULL, &s) == GEN_OK, "dirty run");
  snprintf(path, sizeof path, "%s/dirty_manifest.json", dir);
  text mt = slurp(path);
  CHECK(mt.p != NULL, "no manifest");
  if (!mt.p) return;
  const char *cursor = mt.p;
  jv *man = parse_json(&cursor);
  const jv *files = jget(man, "files"), *faults = jget(man, "faults"), *dups = jget(man, "duplicates");
  CHECK(files && files->n == 4 && faults && dups && dups->n == 1, "manifest shape");
  reader_counts total = {0};
  int kinds_seen[GEN_NFAULTS] = {0}, boms = 0, crlfs = 0, nofinal = 0;
  for (int i = 0; files && i < files->n; i++) {
    snprintf(path, sizeof path, "%s/transactions/%s", dir, files->keys[i]);
    text t = slurp(path);
    reader_counts c = {0};
    read_like_the_reader(&t, &c);
    compare_counts(files->vals[i], &c, files->keys[i]);
    compare_faults(faults, files->keys[i], &c);
    int bom = t.n >= 3 && memcmp(t.p, "\xEF\xBB\xBF", 3) == 0, crlf = t.n > 2 && strstr(t.p, "\r\n") != NULL;
    int final_nl = t.n && t.p[t.n - 1] == '\n';
    CHECK(bom == (jget(files->vals[i], "bom")->type == 't'), "%s: bom flag", files->keys[i]);
    CHECK(crlf == (jget(files->vals[i], "crlf")->type == 't'), "%s: crlf flag", files->keys[i]);
    CHECK(final_nl == (jget(files->vals[i], "final_newline")->type == 't'), "%s: final newline flag",
          files->keys[i]);
    boms += bom, crlfs += crlf, nofinal += !final_nl;
    total.lines_read += c.lines_read, total.kept += c.kept, total.empty += c.empty, total.units += c.units;
    for (int r = 0; r < 5; r++) total.rejected[r] += c.rejected[r];
    free(c.rej_line);
    free(c.rej_reason);
    free(t.p);
  }
  compare_counts(jget(man, "total"), &total, "total");
  CHECK(boms == 1 && crlfs == 1 && nofinal == 1, "BOM %d, CRLF %d, missing final newline %d files", boms, crlfs,
        nofinal);
  const jv *variations = jget(man, "variations");
  for (int i = 0; faults && i < faults->n; i++)
    for (int k = 1; k < GEN_NFAULTS; k++)
      kinds_seen[k] |= strcmp(jget(faults->vals[i], "kind")->str, gen_dirty_fault_name(k)) == 0;
  for (int i = 0; variations && i < variations->n; i++)
    for (int k = 1; k < GEN_NFAULTS; k++)
      kinds_seen[k] |= strcmp(jget(variations->vals[i], "kind")->str, gen_dirty_fault_name(k)) == 0;
  for (int k = 1; k < GEN_NFAULTS; k++) CHECK(kinds_seen[k], "fault kind %s never injected", gen_dirty_fault_name(k));
  for (int r = 0; r < 5; r++) CHECK(total.rejected[r] > 0, "no %s rejects", reason_names[r]);
  if (dups && dups->n == 1) {
    char copy[900], orig[900];
    snprintf(copy, sizeof copy, "%s/transactions/%s", dir, jget(dups->vals[0], "file")->str);
    snprintf(orig, sizeof orig, "%s/transactions/%s", dir, jget(dups->vals[0], "copy_of")->str);
    size_t len = strlen(copy);
    CHECK(same_file(copy, orig), "the duplicate differs from its original");
    CHECK(len > 9 && strcmp(copy + len - 9, "_Tran.csv") == 0, "the duplicate's name does not end in _Tran.csv");
  }
  CHECK(s.dirty && s.expected.kept == total.kept && s.expected.units_kept == total.units, "summary expected counts");
  int64_t dirty_units = jint(jget(man, "total"), "units");
  char clean[512];
  tmp_dir(clean, "dirty_clean");
  static gen_summary cs;
  CHECK(run(clean, 30000, 5, 0, 2, 0, NULL, &cs) == GEN_OK && cs.units == dirty_units && s.units == dirty_units,
        "the dirty run's baskets differ from the clean run's: %lld vs %lld units", (long long)dirty_units,
        (long long)cs.units);
  rm_rf(clean);
  printf("ok dirty: %lld lines read, %lld kept, rejected %lld/%lld/%lld/%lld/%lld, %lld empty lines; every kind "
         "injected; BOM, CRLF, missing newline and duplicate present\n",
         (long long)total.lines_read, (long long)total.kept, (long long)total.rejected[0],
         (long long)total.rejected[1], (long long)total.rejected[2], (long long)total.rejected[3],
         (long long)total.rejected[4], (long long)total.empty);
  jfree(man);
  free(mt.p);
  /* a clean run into the same directory removes the dirty leftovers */
  CHECK(run(dir, 3000, 5, 0, 2, 0, NULL, &s) == GEN_OK, "clean rerun");
  char names[64][256];
  snprintf(path, sizeof path, "%s/transactions", dir);
  int n = list_dir(path, names, 64);
  snprintf(path, sizeof path, "%s/dirty_manifest.json", dir);
  CHECK(n == 4 && access(path, F_OK) != 0, "leftovers after a clean rerun: %d files", n);
  rm_rf(dir);
}

static int always(void) { return 1; }

static void test_cancel(void) {
  char dir[512], names[64][256], sub[600];
  tmp_dir(dir, "cancel");
  static gen_summary s;
  gen_options o = {.baskets = 100000, .seed = 1, .out_dir = dir, .nthreads = 2, .cancelled = always};
  CHECK(gen_run(&o, &s) == GEN_CANCELLED, "a cancelled run did not report it");
  snprintf(sub, sizeof sub, "%s/transactions", dir);
  int n = list_dir(sub, names, 64);
  CHECK(n == 0, "a cancelled run left %d files in transactions/", n);
  rm_rf(dir);
  printf("ok cancel\n");
}

int main(void) {
  snprintf(tmp_root, sizeof tmp_root, "%s/mercado_test_gen_%ld", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp",
           (long)getpid());
  if (mkdir(tmp_root, 0777) != 0 && errno != EEXIST) {
    perror(tmp_root);
    return 1;
  }
  test_options();
  test_determinism();
  test_calibration();
  test_small_and_custom();
  test_dirty();
  test_cancel();
  rm_rf(tmp_root);
  if (failures) fprintf(stderr, "%d check(s) failed\n", failures);
  return failures ? 1 : 0;
}
