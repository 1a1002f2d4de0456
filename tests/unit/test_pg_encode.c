/* test_pg_encode.c: unit tests of the binary COPY encoder (pg_encode.c), no server needed: streams encoded from
   columns are decoded back with the column builder (pg_table.c) and compared with the values that produced them,
   chunk sizes do not change the stream, text conversions are checked against hand-written text, and values out of
   range or rows larger than the buffer are refused. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg.h"
#include "check.h"

enum { OID_INT8 = 20, OID_INT2 = 21, OID_INT4 = 23, OID_TEXT = 25, OID_FLOAT4 = 700, OID_FLOAT8 = 701,
       OID_DATE = 1082 };

enum { N = 5 };

static const int32_t I32[N] = {0, -1, 2147483647, -2147483647 - 1, 42};
static const int64_t I64[N] = {0, -1, 9007199254740993LL, -9223372036854775807LL - 1, 7};
static const double F64[N] = {0.1, -2.5, 1e300, 1.0 / 3.0, 6127.0};
static const int32_t DAYS[N] = {15706, 0, -1, 15886, 10957}; /* 2013-01-01, 1970-01-01, 1969-12-31, ... */
static const char *STR[N] = {"FRUTAS", "", "VERDURAS RAIZ,TUBERCULO", "h\xc3\xa9llo", "FRUTAS"};
static const int32_t LIST_LEN[N] = {3, 1, 0, 2, 1};
static const int32_t LIST_ITEMS[] = {20, 3, 1, 5, -7, 2147483647, 9};

static cs_column *make_column(cs_type type) {
  cs_column *c = cs_column_new(type, N);
  for (int i = 0; i < N; i++) {
    switch (type) {
      case CS_INT32: c->v.i32[i] = I32[i]; break;
      case CS_INT64: c->v.i64[i] = I64[i]; break;
      case CS_FLOAT64: c->v.f64[i] = F64[i]; break;
      case CS_DATE: c->v.i32[i] = DAYS[i]; break;
      case CS_STRING: c->v.i32[i] = i; break;
      case CS_LIST: break;
    }
  }
  if (type == CS_STRING) { /* one dictionary entry per row (duplicates are allowed in a dictionary) */
    int64_t *off = malloc(sizeof(int64_t) * (N + 1));
    size_t total = 0;
    for (int i = 0; i < N; i++) total += strlen(STR[i]) + 1;
    char *chars = malloc(total);
    off[0] = 0;
    for (int i = 0; i < N; i++) {
      memcpy(chars + off[i], STR[i], strlen(STR[i]) + 1);
      off[i + 1] = off[i] + (int64_t)strlen(STR[i]) + 1;
    }
    cs_column_set_dict(c, N, off, chars);
  }
  if (type == CS_LIST) {
    c->offsets[0] = 0;
    for (int i = 0; i < N; i++) c->offsets[i + 1] = c->offsets[i] + LIST_LEN[i];
    int32_t *items = malloc(sizeof LIST_ITEMS);
    memcpy(items, LIST_ITEMS, sizeof LIST_ITEMS);
    cs_column_set_items(c, items);
  }
  return c;
}

/* Encodes the whole stream with chunks of cap bytes into one buffer; returns its length (-1/-2 on refusal). */
static int64_t encode_all(const pg_enc_col *cols, int ncols, int64_t row0, size_t cap, char *out, size_t outcap,
                          pg_enc *e) {
  pg_enc_init(e, cols, ncols, N, row0);
  char *chunk = malloc(cap);
  int64_t len = 0, n;
  while ((n = pg_enc_fill(e, chunk, cap)) > 0) {
    CHECK((size_t)n <= cap, "chunk of %lld bytes in a %zu-byte buffer", (long long)n, cap);
    if ((size_t)(len + n) > outcap) break;
    memcpy(out + len, chunk, (size_t)n);
    len += n;
  }
  free(chunk);
  return n < 0 ? n : len;
}

/* Every column type through its binary form and back. */
static void test_round_trip(void) {
  cs_column *src[6] = {make_column(CS_INT32), make_column(CS_INT64), make_column(CS_FLOAT64),
                       make_column(CS_DATE), make_column(CS_STRING), make_column(CS_LIST)};
  pg_enc_col cols[8] = {
    {src[0], OID_INT4, ' '}, {src[1], OID_INT8, ' '}, {src[2], OID_FLOAT8, ' '}, {src[3], OID_DATE, ' '},
    {src[4], OID_TEXT, ' '}, {src[5], OID_TEXT, ' '}, {NULL, OID_INT8, ' '}, {src[0], OID_INT8, ' '},
  };
  for (int i = 0; i < 8; i++) {
    char why[256];
    CHECK(pg_enc_check(&cols[i], why, sizeof why) == 0, "column %d refused: %s", i, why);
  }
  static char whole[1 << 16], chunked[1 << 16];
  pg_enc e;
  int64_t len = encode_all(cols, 8, 100, 1 << 16, whole, sizeof whole, &e);
  CHECK(len > 19, "stream of %lld bytes", (long long)len);
  int64_t len2 = encode_all(cols, 8, 100, 420, chunked, sizeof chunked, &e); /* a row or two per chunk */
  CHECK(len2 == len && memcmp(whole, chunked, (size_t)len) == 0, "chunking changes the stream (%lld vs %lld)",
        (long long)len2, (long long)len);
  pg_tb *tb = pg_tb_new(8);
  const Oid types[8] = {OID_INT4, OID_INT8, OID_FLOAT8, OID_DATE, OID_TEXT, OID_TEXT, OID_INT8, OID_INT8};
  for (int i = 0; i < 8; i++) CHECK(pg_tb_column(tb, i, "c", types[i], i == 5 ? ' ' : 0, 0) == 0, "declare %d", i);
  CHECK(pg_tb_copy_data(tb, whole, (int)len) == 0, "decode: %s", pg_tb_error(tb));
  CHECK(pg_tb_complete(tb), "the trailer is there");
  CHECK(pg_tb_rows(tb) == N, "%lld rows decoded", (long long)pg_tb_rows(tb));
  cs_column *got[8];
  for (int i = 0; i < 8; i++) got[i] = pg_tb_take(tb, i);
  for (int r = 0; r < N; r++) {
    CHECK(got[0]->v.i32[r] == I32[r], "int4 row %d", r);
    CHECK(got[1]->v.i64[r] == I64[r], "int8 row %d", r);
    CHECK(got[2]->v.f64[r] == F64[r], "float8 row %d", r);
    CHECK(got[3]->v.i32[r] == DAYS[r], "date row %d: %d", r, got[3]->v.i32[r]);
    CHECK(strcmp(cs_column_str(got[4], got[4]->v.i32[r]), STR[r]) == 0, "text row %d", r);
    CHECK(got[5]->offsets[r + 1] - got[5]->offsets[r] == LIST_LEN[r], "list length row %d", r);
    for (int64_t k = got[5]->offsets[r]; k < got[5]->offsets[r + 1]; k++)
      CHECK(got[5]->items[k] == LIST_ITEMS[k], "list item %lld", (long long)k);
    CHECK(got[6]->v.i64[r] == 100 + r, "row number %d: %lld", r, (long long)got[6]->v.i64[r]);
    CHECK(got[7]->v.i64[r] == I32[r], "int32 widened to int8 row %d", r);
  }
  for (int i = 0; i < 8; i++) cs_column_release(got[i]);
  pg_tb_free(tb);
  for (int i = 0; i < 6; i++) cs_column_release(src[i]);
}

/* Numbers, dates and lists written as text, against hand-written text. */
static void test_text(void) {
  cs_column *src[4] = {make_column(CS_INT64), make_column(CS_FLOAT64), make_column(CS_DATE), make_column(CS_LIST)};
  pg_enc_col cols[4] = {{src[0], OID_TEXT, ' '}, {src[1], OID_TEXT, ' '}, {src[2], OID_TEXT, ' '},
                        {src[3], OID_TEXT, '|'}};
  static char out[1 << 14];
  pg_enc e;
  int64_t len = encode_all(cols, 4, 1, 4096, out, sizeof out, &e);
  pg_tb *tb = pg_tb_new(4);
  for (int i = 0; i < 4; i++) pg_tb_column(tb, i, "t", OID_TEXT, 0, 0);
  CHECK(len > 0 && pg_tb_copy_data(tb, out, (int)len) == 0, "decode text: %s", pg_tb_error(tb));
  const char *want[4][N] = {
    {"0", "-1", "9007199254740993", "-9223372036854775808", "7"},
    {"0.1", "-2.5", "1e+300", "0.3333333333333333", "6127"},
    {"2013-01-01", "1970-01-01", "1969-12-31", "2013-06-30", "2000-01-01"},
    {"20|3|1", "5", "", "-7|2147483647", "9"},
  };
  for (int i = 0; i < 4; i++) {
    cs_column *c = pg_tb_take(tb, i);
    for (int r = 0; r < N; r++)
      CHECK(strcmp(cs_column_str(c, c->v.i32[r]), want[i][r]) == 0, "text %d/%d: '%s', want '%s'", i, r,
            cs_column_str(c, c->v.i32[r]), want[i][r]);
    cs_column_release(c);
  }
  pg_tb_free(tb);
  for (int i = 0; i < 4; i++) cs_column_release(src[i]);
}

/* Types that cannot hold the values, values out of range, rows larger than the buffer. */
static void test_refusals(void) {
  cs_column *s = make_column(CS_STRING), *i32 = make_column(CS_INT32), *f = make_column(CS_FLOAT64);
  char why[256];
  pg_enc_col bad[3] = {{s, OID_INT4, ' '}, {f, OID_INT8, ' '}, {i32, OID_DATE, ' '}};
  for (int i = 0; i < 3; i++) {
    why[0] = 0;
    CHECK(pg_enc_check(&bad[i], why, sizeof why) != 0, "mismatch %d accepted", i);
    CHECK(strstr(why, "cannot be written") != NULL, "reason given: '%s'", why);
  }
  pg_enc_col small = {i32, OID_INT2, ' '};
  CHECK(pg_enc_check(&small, why, sizeof why) == 0, "int2 target accepted (values checked one by one)");
  char out[4096];
  pg_enc e;
  CHECK(encode_all(&small, 1, 1, sizeof out, out, sizeof out, &e) == -2, "int2 overflow refused");
  CHECK(e.bad_row == 2 && e.bad_col == 0, "overflow at row %lld column %d", (long long)e.bad_row, e.bad_col);
  pg_enc_col text = {s, OID_TEXT, ' '};
  CHECK(encode_all(&text, 1, 1, 24, out, sizeof out, &e) == -1, "a row larger than the buffer is refused");
  pg_enc_init(&e, &text, 1, N, 1);
  CHECK(pg_enc_fill(&e, out, 10) == -1, "no room for the header");
  cs_column_release(s);
  cs_column_release(i32);
  cs_column_release(f);
}

/* An empty table is a header and a trailer. */
static void test_empty(void) {
  pg_enc_col rowno = {NULL, OID_INT4, ' '};
  pg_enc e;
  char out[64];
  pg_enc_init(&e, &rowno, 1, 0, 1);
  int64_t n = pg_enc_fill(&e, out, sizeof out);
  CHECK(n == 21, "empty stream of %lld bytes", (long long)n);
  CHECK(pg_enc_fill(&e, out, sizeof out) == 0, "then the end");
  pg_tb *tb = pg_tb_new(1);
  pg_tb_column(tb, 0, "n", OID_INT4, 0, 0);
  CHECK(pg_tb_copy_data(tb, out, (int)n) == 0 && pg_tb_complete(tb) && pg_tb_rows(tb) == 0, "decodes as empty");
  pg_tb_free(tb);
}

int main(void) {
  test_round_trip();
  test_text();
  test_refusals();
  test_empty();
  if (failures) fprintf(stderr, "%d failures\n", failures);
  else printf("test_pg_encode: ok\n");
  return failures ? 1 : 0;
}
