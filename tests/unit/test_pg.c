/* test_pg.c: unit tests of mercado.pg's core that need no server: scrubbing, binary decoders, list parsing and
   the column builder fed with a synthesized binary COPY stream (checked against the values that produced it). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg.h"
#include "check.h"

/* ---- scrubbing ---- */

static void scrub_case(const char *in, const char *const *secrets, int n, const char *absent, const char *present) {
  char buf[512];
  snprintf(buf, sizeof buf, "%s", in);
  pg_scrub(buf, sizeof buf, secrets, n);
  if (absent) CHECK(strstr(buf, absent) == NULL, "'%s' still in '%s'", absent, buf);
  if (present) CHECK(strstr(buf, present) != NULL, "'%s' missing from '%s'", present, buf);
}

static void test_scrub(void) {
  scrub_case("host=db password=hunter2 user=x", NULL, 0, "hunter2", "user=x");
  scrub_case("host=db PassWord = 'a b\\' c' user=x", NULL, 0, "a b", "user=x");
  scrub_case("host=db password='a b\\' c' user=x", NULL, 0, " c'", "password=***");
  scrub_case("invalid URI \"postgresql://bob:s3cr%40t@db:5432/sales\"", NULL, 0, "s3cr", "postgresql://bob:***@db");
  scrub_case("postgres://bob@db/x?password=zz9&sslmode=require", NULL, 0, "zz9", "bob@db");
  const char *sec[] = {"Tr0ub4dor", "ab"};
  scrub_case("FATAL: password for Tr0ub4dor is wrong; ab stays", sec, 2, "Tr0ub4dor", "ab stays");
  /* truncation never overflows and keeps a NUL */
  char small[12] = "password=ab"; /* the mask is longer than the value: the result is cut, not overflowed */
  pg_scrub(small, sizeof small, NULL, 0);
  CHECK(strcmp(small, "password=**") == 0, "small buffer: '%s'", small);
  char raw[64];
  pg_raw_password("host=h password='a b\\' c' x=1", raw, sizeof raw);
  CHECK(strcmp(raw, "a b\\' c") == 0, "raw keyword password: [%s]", raw);
  pg_raw_password("postgresql://u:p%zzw@[::1/db", raw, sizeof raw);
  CHECK(strcmp(raw, "p%zzw") == 0, "raw URI password: [%s]", raw);
  pg_raw_password("host=h user=u", raw, sizeof raw);
  CHECK(raw[0] == '\0', "no password: [%s]", raw);
  char out[256];
  pg_redact("host=h port=1 password=topsecret dbname=d", out, sizeof out);
  CHECK(strstr(out, "topsecret") == NULL && strstr(out, "dbname=d") != NULL, "redact: %s", out);
  pg_redact("postgresql://u:p%20w@h/db", out, sizeof out);
  CHECK(strstr(out, "p%20w") == NULL && strstr(out, "u:***@h/db") != NULL, "redact uri: %s", out);
}

/* ---- decoders ---- */

/* Binary numeric of a decimal string, built the way PostgreSQL does (base-10000 groups aligned on the point). */
static int make_numeric(const char *dec, char *out) {
  int neg = dec[0] == '-';
  if (neg) dec++;
  char ip[128] = "", fp[128] = "";
  const char *dot = strchr(dec, '.');
  if (dot) {
    snprintf(ip, sizeof ip, "%.*s", (int)(dot - dec), dec);
    snprintf(fp, sizeof fp, "%s", dot + 1);
  } else {
    snprintf(ip, sizeof ip, "%s", dec);
  }
  /* pad the integer part on the left and the fraction on the right to multiples of 4 */
  char digits[300] = "";
  int ipad = (4 - (int)strlen(ip) % 4) % 4, fpad = (4 - (int)strlen(fp) % 4) % 4;
  for (int i = 0; i < ipad; i++) strcat(digits, "0");
  strcat(digits, ip);
  strcat(digits, fp);
  for (int i = 0; i < fpad; i++) strcat(digits, "0");
  int ngroups = (int)strlen(digits) / 4, weight = ((int)strlen(ip) + ipad) / 4 - 1;
  unsigned char *u = (unsigned char *)out;
  u[0] = (unsigned char)(ngroups >> 8), u[1] = (unsigned char)ngroups;
  u[2] = (unsigned char)((weight >> 8) & 0xff), u[3] = (unsigned char)(weight & 0xff);
  u[4] = neg ? 0x40 : 0, u[5] = 0, u[6] = 0, u[7] = (unsigned char)strlen(fp);
  for (int g = 0; g < ngroups; g++) {
    int d = (digits[4 * g] - '0') * 1000 + (digits[4 * g + 1] - '0') * 100 + (digits[4 * g + 2] - '0') * 10 +
            (digits[4 * g + 3] - '0');
    u[8 + 2 * g] = (unsigned char)(d >> 8), u[9 + 2 * g] = (unsigned char)d;
  }
  return 8 + 2 * ngroups;
}

static void test_decoders(void) {
  int32_t d;
  CHECK(pg_date_from_pg(0, &d) == 0 && d == 10957, "2000-01-01 -> %d", d);
  CHECK(pg_date_from_pg(-10957, &d) == 0 && d == 0, "1970-01-01 -> %d", d);
  CHECK(pg_date_from_pg(INT32_MAX, &d) == -1, "infinity accepted");
  CHECK(pg_date_from_pg(INT32_MIN, &d) == -1, "-infinity accepted");
  CHECK(cs_days_from_civil(2013, 6, 30) - 10957 == 4929, "civil check");

  const char *decs[] = {"0", "1", "123.45", "-0.0001", "100000000000000000000", "3.14159265358979323846264338",
                        "-98765.4321", "0.1", "12345678901234567890.123456789"};
  for (size_t i = 0; i < sizeof decs / sizeof decs[0]; i++) {
    char bin[256];
    int len = make_numeric(decs[i], bin);
    double v = -1;
    CHECK(pg_numeric_to_double(bin, len, &v) == 0 && v == strtod(decs[i], NULL), "numeric %s -> %.17g", decs[i], v);
  }
  char nan_bin[8] = {0, 0, 0, 0, (char)0xC0, 0, 0, 0};
  double v = 0;
  CHECK(pg_numeric_to_double(nan_bin, 8, &v) == 0 && isnan(v), "numeric NaN");
  CHECK(pg_numeric_to_double(nan_bin, 4, &v) == -1, "short numeric accepted");
}

static void test_lists(void) {
  int32_t items[64];
  char bad[48];
  CHECK(pg_parse_int_list("20 3 1", 6, ' ', items, bad, sizeof bad) == 3 && items[0] == 20 && items[1] == 3 &&
            items[2] == 1, "basic list");
  CHECK(pg_parse_int_list("  5  6 ", 7, ' ', items, bad, sizeof bad) == 2 && items[0] == 5 && items[1] == 6,
        "blank runs");
  CHECK(pg_parse_int_list("", 0, ' ', items, bad, sizeof bad) == 0, "empty list");
  CHECK(pg_parse_int_list("1 x2 3", 6, ' ', items, bad, sizeof bad) == -1 && strcmp(bad, "x2") == 0, "bad token %s",
        bad);
  CHECK(pg_parse_int_list("2147483648", 10, ' ', items, bad, sizeof bad) == -1, "int32 overflow accepted");
  CHECK(pg_parse_int_list("2147483647 -2147483648", 22, ' ', items, bad, sizeof bad) == 2 &&
            items[0] == 2147483647 && items[1] == INT32_MIN, "int32 limits");
  CHECK(pg_parse_int_list("1,2,,3", 6, ',', items, bad, sizeof bad) == 3 && items[2] == 3, "comma list");
  CHECK(pg_parse_int_list("7-", 2, ' ', items, bad, sizeof bad) == -1, "trailing garbage accepted");
}

/* ---- builder over a synthesized binary COPY stream ---- */

typedef struct wbuf {
  char *p;
  size_t len, cap;
} wbuf;

static void wput(wbuf *b, const void *s, size_t n) {
  if (b->len + n > b->cap) {
    b->cap = (b->len + n) * 2;
    b->p = realloc(b->p, b->cap);
  }
  memcpy(b->p + b->len, s, n);
  b->len += n;
}

static void w16(wbuf *b, int v) {
  unsigned char u[2] = {(unsigned char)(v >> 8), (unsigned char)v};
  wput(b, u, 2);
}

static void w32(wbuf *b, uint32_t v) {
  unsigned char u[4] = {(unsigned char)(v >> 24), (unsigned char)(v >> 16), (unsigned char)(v >> 8),
                        (unsigned char)v};
  wput(b, u, 4);
}

static void w64(wbuf *b, uint64_t v) {
  w32(b, (uint32_t)(v >> 32));
  w32(b, (uint32_t)v);
}

static const char *const WORDS[] = {"FRUTAS", "VERDURAS RAIZ,TUBERCULO Y BULBOS", "", "Tiendas Únicas", "x"};

enum { NROWS = 20000, NCOLS = 6 };

typedef struct expect {
  int32_t store[NROWS], day[NROWS], word[NROWS], nitems[NROWS];
  int32_t items[NROWS][8];
  int64_t big[NROWS];
  double price[NROWS];
  int price_null[NROWS];
} expect;

/* One message per row like the server sends; the header rides with the first row and the trailer alone. */
static void build_stream(expect *x, wbuf *msgs, size_t *ends, int *nmsgs) {
  static const char sig[11] = {'P', 'G', 'C', 'O', 'P', 'Y', '\n', '\377', '\r', '\n', '\0'};
  unsigned seed = 12345;
  *nmsgs = 0;
  wput(msgs, sig, 11);
  w32(msgs, 0);
  w32(msgs, 0);
  for (int r = 0; r < NROWS; r++) {
    seed = seed * 1103515245u + 12345u;
    x->store[r] = 100 + (int32_t)(seed >> 16) % 12 - 3;
    x->day[r] = 15706 + (int32_t)((seed >> 8) % 181);  /* 2013-01-01 .. */
    x->word[r] = (int32_t)((seed >> 4) % 5);
    x->big[r] = (int64_t)seed * 1000003LL - 5000000000LL;
    x->price_null[r] = r % 7 == 3;
    x->price[r] = x->price_null[r] ? 0.0 : (double)(int)(seed % 100000) / 64.0;
    x->nitems[r] = 1 + (int)(seed % 8);
    char list[128] = "";
    for (int k = 0; k < x->nitems[r]; k++) {
      x->items[r][k] = (int32_t)((seed >> (k + 3)) % 450);
      char tok[16];
      snprintf(tok, sizeof tok, k ? (k % 3 ? " %d" : "  %d") : "%d", x->items[r][k]);
      strcat(list, tok);
    }
    w16(msgs, NCOLS);
    w32(msgs, 4), w32(msgs, (uint32_t)x->store[r]);
    w32(msgs, 4), w32(msgs, (uint32_t)(x->day[r] - 10957));
    w32(msgs, (uint32_t)strlen(WORDS[x->word[r]])), wput(msgs, WORDS[x->word[r]], strlen(WORDS[x->word[r]]));
    w32(msgs, (uint32_t)strlen(list)), wput(msgs, list, strlen(list));
    w32(msgs, 8), w64(msgs, (uint64_t)x->big[r]);
    if (x->price_null[r]) {
      w32(msgs, (uint32_t)-1);
    } else {
      uint64_t u;
      memcpy(&u, &x->price[r], 8);
      w32(msgs, 8), w64(msgs, u);
    }
    ends[(*nmsgs)++] = msgs->len;
  }
  w16(msgs, -1);
  ends[(*nmsgs)++] = msgs->len;
}

static pg_tb *declare(int allow_null) {
  pg_tb *tb = pg_tb_new(NCOLS);
  CHECK(pg_tb_column(tb, 0, "store_id", 23, 0, 0) == 0, "int4");
  CHECK(pg_tb_column(tb, 1, "transaction_date", 1082, 0, 0) == 0, "date");
  CHECK(pg_tb_column(tb, 2, "name", 25, 0, 0) == 0, "text");
  CHECK(pg_tb_column(tb, 3, "products", 1043, ' ', 0) == 0, "list");
  CHECK(pg_tb_column(tb, 4, "big", 20, 0, 0) == 0, "int8");
  CHECK(pg_tb_column(tb, 5, "price", 701, 0, allow_null) == 0, "float8");
  return tb;
}

static int feed(pg_tb *tb, const wbuf *msgs, const size_t *ends, int nmsgs) {
  size_t start = 0;
  for (int m = 0; m < nmsgs; m++) {
    if (pg_tb_copy_data(tb, msgs->p + start, (int)(ends[m] - start)) != 0) return -1;
    start = ends[m];
  }
  return 0;
}

static void test_builder(void) {
  expect *x = calloc(1, sizeof *x);
  wbuf msgs = {0};
  size_t *ends = malloc(sizeof(size_t) * (NROWS + 1));
  int nmsgs;
  build_stream(x, &msgs, ends, &nmsgs);

  /* NULLs refused by default: the error names the column and the row */
  pg_tb *tb = declare(0);
  CHECK(feed(tb, &msgs, ends, nmsgs) == -1, "NULL accepted");
  CHECK(strstr(pg_tb_error(tb), "price") && strstr(pg_tb_error(tb), "row 4"), "error: %s", pg_tb_error(tb));
  pg_tb_free(tb);

  tb = declare(1);
  CHECK(feed(tb, &msgs, ends, nmsgs) == 0, "feed: %s", pg_tb_error(tb));
  CHECK(pg_tb_complete(tb), "trailer not seen");
  CHECK(pg_tb_rows(tb) == NROWS, "rows %lld", (long long)pg_tb_rows(tb));
  int64_t nulls = 0;
  for (int r = 0; r < NROWS; r++) nulls += x->price_null[r];
  CHECK(pg_tb_nulls(tb, 5) == nulls && pg_tb_nulls(tb, 0) == 0, "null count %lld", (long long)pg_tb_nulls(tb, 5));

  cs_column *cols[NCOLS];
  for (int i = 0; i < NCOLS; i++) cols[i] = pg_tb_take(tb, i);
  CHECK(cols[0]->type == CS_INT32 && cols[1]->type == CS_DATE && cols[2]->type == CS_STRING &&
            cols[3]->type == CS_LIST && cols[4]->type == CS_INT64 && cols[5]->type == CS_FLOAT64, "types");
  int bad = 0;
  for (int r = 0; r < NROWS && bad < 5; r++) {
    int ok = cols[0]->v.i32[r] == x->store[r] && cols[1]->v.i32[r] == x->day[r] &&
             strcmp(cs_column_str(cols[2], cols[2]->v.i32[r]), WORDS[x->word[r]]) == 0 &&
             cols[4]->v.i64[r] == x->big[r] && cols[5]->v.f64[r] == x->price[r] &&
             cols[3]->offsets[r + 1] - cols[3]->offsets[r] == x->nitems[r];
    for (int k = 0; ok && k < x->nitems[r]; k++) ok = cols[3]->items[cols[3]->offsets[r] + k] == x->items[r][k];
    if (!ok) {
      bad++;
      CHECK(ok, "row %d differs", r);
    }
  }
  CHECK(cols[2]->ndict == 5, "dictionary of %d strings", cols[2]->ndict);
  /* codes follow first appearance */
  for (int32_t k = 1; k < cols[2]->ndict; k++) {
    int first_k = -1, first_prev = -1;
    for (int r = 0; r < NROWS; r++) {
      if (first_prev < 0 && cols[2]->v.i32[r] == k - 1) first_prev = r;
      if (first_k < 0 && cols[2]->v.i32[r] == k) first_k = r;
    }
    CHECK(first_prev < first_k, "code %d appears before code %d", k, k - 1);
  }
  for (int i = 0; i < NCOLS; i++) cs_column_release(cols[i]);
  pg_tb_free(tb);

  /* malformed streams */
  tb = declare(1);
  CHECK(pg_tb_copy_data(tb, "PGCOPY\n", 7) == -1 && strstr(pg_tb_error(tb), "binary COPY"), "short header");
  pg_tb_free(tb);
  tb = declare(1);
  CHECK(pg_tb_copy_data(tb, msgs.p, (int)ends[0] - 3) == -1 && strstr(pg_tb_error(tb), "truncated"),
        "truncated row: %s", pg_tb_error(tb));
  pg_tb_free(tb);
  tb = pg_tb_new(2);
  CHECK(pg_tb_column(tb, 0, "store_id", 23, 0, 0) == 0, "int4");
  CHECK(pg_tb_column(tb, 1, "ts", 1114, 0, 0) == -1 && strstr(pg_tb_error(tb), "ts"), "timestamp accepted");
  CHECK(pg_tb_column(tb, 1, "n", 23, ' ', 0) == -1 && strstr(pg_tb_error(tb), "list"), "int list accepted");
  pg_tb_free(tb);
  tb = pg_tb_new(1);
  pg_tb_column(tb, 0, "products", 25, ' ', 0);
  CHECK(pg_tb_value(tb, 0, "1 2 three", 9) == -1 && strstr(pg_tb_error(tb), "three") &&
            strstr(pg_tb_error(tb), "products"), "bad list: %s", pg_tb_error(tb));
  pg_tb_free(tb);

  /* an empty result still makes columns */
  tb = declare(0);
  char hdr[19];
  memcpy(hdr, msgs.p, 19);
  CHECK(pg_tb_copy_data(tb, hdr, 19) == 0 && pg_tb_copy_data(tb, "\xff\xff", 2) == 0 && pg_tb_complete(tb),
        "empty stream");
  cs_column *c = pg_tb_take(tb, 2);
  CHECK(c && c->n == 0 && c->ndict == 0, "empty string column");
  cs_column_release(c);
  c = pg_tb_take(tb, 3);
  CHECK(c && c->n == 0 && c->offsets[0] == 0, "empty list column");
  cs_column_release(c);
  pg_tb_free(tb);

  free(msgs.p);
  free(ends);
  free(x);
}

int main(void) {
  test_scrub();
  test_decoders();
  test_lists();
  test_builder();
  if (failures) {
    fprintf(stderr, "test_pg: %d failure(s)\n", failures);
    return 1;
  }
  printf("ok test_pg\n");
  return 0;
}
