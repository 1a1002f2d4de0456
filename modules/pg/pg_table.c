/*
** pg_table.c: builds colstore columns from PostgreSQL binary values, either a COPY ... TO STDOUT (FORMAT binary)
** stream or single-row-mode results: integers, floats, numerics, dates, dictionary-encoded strings and text
** columns of integers parsed into list<int32>. Values go straight into growable flat arrays.
*/
#include "pg.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
  OID_BOOL = 16, OID_NAME = 19, OID_INT8 = 20, OID_INT2 = 21, OID_INT4 = 23, OID_TEXT = 25,
  OID_FLOAT4 = 700, OID_FLOAT8 = 701, OID_UNKNOWN = 705, OID_BPCHAR = 1042, OID_VARCHAR = 1043,
  OID_DATE = 1082, OID_NUMERIC = 1700
};

typedef enum kind { K_BOOL, K_INT2, K_INT4, K_INT8, K_FLOAT4, K_FLOAT8, K_NUMERIC, K_DATE, K_TEXT, K_LIST } kind;

/* A growable byte array. */
typedef struct vec {
  char *p;
  size_t len, cap;
} vec;

typedef struct tb_col {
  char name[64];
  kind kind;
  cs_type type;
  char sep;
  int allow_null;
  int64_t nnull;
  vec vals;      /* one int32/int64/double per row; lists: the int64 end offset of each row */
  vec items;     /* list items (int32) */
  vec chars;     /* dictionary strings, each NUL-terminated */
  vec dict_off;  /* int64 start of each dictionary string */
  int32_t *slots; /* open-addressing hash of dictionary codes (code + 1; 0 = empty) */
  size_t nslots;
  int32_t ndict;
} tb_col;

struct pg_tb {
  int ncols;
  tb_col *cols;
  int64_t nrows;
  int header_done;
  int trailer;
  char error[512];
};

static const char COPY_SIGNATURE[11] = {'P', 'G', 'C', 'O', 'P', 'Y', '\n', '\377', '\r', '\n', '\0'};

static int vec_grow(vec *v, size_t need) {
  if (v->len + need <= v->cap) return 0;
  size_t cap = v->cap ? v->cap : 4096;
  while (cap < v->len + need) cap *= 2;
  char *p = realloc(v->p, cap);
  if (!p) return -1;
  v->p = p;
  v->cap = cap;
  return 0;
}

static void vec_free(vec *v) {
  free(v->p);
  v->p = NULL;
  v->len = v->cap = 0;
}

static uint16_t rd16(const char *p) {
  const unsigned char *u = (const unsigned char *)p;
  return (uint16_t)((u[0] << 8) | u[1]);
}

static uint32_t rd32(const char *p) {
  const unsigned char *u = (const unsigned char *)p;
  return ((uint32_t)u[0] << 24) | ((uint32_t)u[1] << 16) | ((uint32_t)u[2] << 8) | u[3];
}

static uint64_t rd64(const char *p) { return ((uint64_t)rd32(p) << 32) | rd32(p + 4); }

static int fail(pg_tb *tb, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(tb->error, sizeof tb->error, fmt, ap);
  va_end(ap);
  return -1;
}

/* ---- builder ---- */

pg_tb *pg_tb_new(int ncols) {
  pg_tb *tb = calloc(1, sizeof *tb);
  if (!tb) return NULL;
  tb->cols = calloc((size_t)(ncols > 0 ? ncols : 1), sizeof *tb->cols);
  if (!tb->cols) {
    free(tb);
    return NULL;
  }
  tb->ncols = ncols;
  return tb;
}

void pg_tb_free(pg_tb *tb) {
  if (!tb) return;
  for (int i = 0; i < tb->ncols; i++) {
    tb_col *c = &tb->cols[i];
    vec_free(&c->vals);
    vec_free(&c->items);
    vec_free(&c->chars);
    vec_free(&c->dict_off);
    free(c->slots);
  }
  free(tb->cols);
  free(tb);
}

static int kind_of(Oid type, kind *k) {
  switch (type) {
    case OID_BOOL: *k = K_BOOL; return 0;
    case OID_INT2: *k = K_INT2; return 0;
    case OID_INT4: *k = K_INT4; return 0;
    case OID_INT8: *k = K_INT8; return 0;
    case OID_FLOAT4: *k = K_FLOAT4; return 0;
    case OID_FLOAT8: *k = K_FLOAT8; return 0;
    case OID_NUMERIC: *k = K_NUMERIC; return 0;
    case OID_DATE: *k = K_DATE; return 0;
    case OID_TEXT: case OID_VARCHAR: case OID_BPCHAR: case OID_NAME: case OID_UNKNOWN: *k = K_TEXT; return 0;
    default: return -1;
  }
}

static cs_type type_of(kind k) {
  switch (k) {
    case K_INT8: return CS_INT64;
    case K_FLOAT4: case K_FLOAT8: case K_NUMERIC: return CS_FLOAT64;
    case K_DATE: return CS_DATE;
    case K_TEXT: return CS_STRING;
    case K_LIST: return CS_LIST;
    default: return CS_INT32;
  }
}

int pg_tb_column(pg_tb *tb, int i, const char *name, Oid type, char list_sep, int allow_null) {
  tb_col *c = &tb->cols[i];
  snprintf(c->name, sizeof c->name, "%s", name);
  if (kind_of(type, &c->kind) != 0)
    return fail(tb, "column %s: PostgreSQL type OID %u is not supported (cast it in SQL to int, bigint, "
                "float8, date or text)", name, (unsigned)type);
  if (list_sep) {
    if (c->kind != K_TEXT)
      return fail(tb, "column %s: a list column must be text (type OID %u)", name, (unsigned)type);
    c->kind = K_LIST;
    c->sep = list_sep;
  }
  c->type = type_of(c->kind);
  c->allow_null = allow_null;
  return 0;
}

const char *pg_tb_error(const pg_tb *tb) { return tb->error; }
int64_t pg_tb_rows(const pg_tb *tb) { return tb->nrows; }
int64_t pg_tb_nulls(const pg_tb *tb, int col) { return tb->cols[col].nnull; }
const char *pg_tb_name(const pg_tb *tb, int col) { return tb->cols[col].name; }
int pg_tb_complete(const pg_tb *tb) { return tb->trailer; }

/* ---- scalar decoding ---- */

int pg_date_from_pg(int32_t pgdays, int32_t *days) {
  if (pgdays == INT32_MIN || pgdays == INT32_MAX) return -1;
  int64_t d = (int64_t)pgdays + 10957;  /* 2000-01-01 is day 10957 of 1970 */
  if (d > INT32_MAX || d < INT32_MIN) return -1;
  *days = (int32_t)d;
  return 0;
}

int pg_numeric_to_double(const char *v, int len, double *out) {
  enum { MAX_GROUPS = 200 };
  if (len < 8) return -1;
  int ndigits = (int16_t)rd16(v), weight = (int16_t)rd16(v + 2), sign = rd16(v + 4);
  if (ndigits < 0 || len < 8 + 2 * ndigits) return -1;
  if (sign == 0xC000) { *out = strtod("nan", NULL); return 0; }
  if (sign == 0xD000 || sign == 0xF000) { *out = strtod(sign == 0xD000 ? "inf" : "-inf", NULL); return 0; }
  if (sign != 0 && sign != 0x4000) return -1;
  char buf[8 * MAX_GROUPS + 32], *p = buf;
  if (sign == 0x4000) *p++ = '-';
  *p++ = '0';
  int used = ndigits < MAX_GROUPS ? ndigits : MAX_GROUPS, sticky = 0;
  for (int i = 0; i < ndigits; i++) {
    int d = rd16(v + 8 + 2 * i);
    if (d > 9999) return -1;
    if (i < used) p += sprintf(p, "%04d", d);
    else if (d) sticky = 1;
  }
  int exp10 = 4 * (weight - used + 1);
  if (sticky) {
    *p++ = '1';  /* below the last kept digit: keeps halfway cases rounding the right way */
    exp10--;
  }
  sprintf(p, "e%d", exp10);
  *out = strtod(buf, NULL);
  return 0;
}

static int is_list_blank(char ch, char sep) { return ch == sep || ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n'; }

int64_t pg_parse_int_list(const char *s, int len, char sep, int32_t *items, char *bad, size_t badsize) {
  const char *p = s, *e = s + len;
  int64_t n = 0;
  for (;;) {
    while (p < e && is_list_blank(*p, sep)) p++;
    if (p >= e) return n;
    const char *tok = p;
    int neg = *p == '-';
    if (*p == '-' || *p == '+') p++;
    const char *digits = p;
    int64_t v = 0;
    while (p < e && *p >= '0' && *p <= '9') {
      if (v <= 2147483648LL) v = v * 10 + (*p - '0');
      p++;
    }
    if (neg) v = -v;
    if (p == digits || (p < e && !is_list_blank(*p, sep)) || v > INT32_MAX || v < INT32_MIN) {
      while (p < e && !is_list_blank(*p, sep)) p++;
      if (badsize) snprintf(bad, badsize, "%.*s", (int)(p - tok) > 40 ? 40 : (int)(p - tok), tok);
      return -1;
    }
    items[n++] = (int32_t)v;
  }
}

/* ---- appending values ---- */

static size_t dict_len(const tb_col *c, int32_t k) {
  const int64_t *off = (const int64_t *)c->dict_off.p;
  size_t end = k + 1 < c->ndict ? (size_t)off[k + 1] : c->chars.len;
  return end - (size_t)off[k] - 1;
}

static uint64_t hash_bytes(const char *s, size_t n) {
  uint64_t h = 1469598103934665603ULL;
  for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 1099511628211ULL;
  return h ^ (h >> 29);
}

static int dict_rehash(tb_col *c) {
  size_t nslots = c->nslots ? c->nslots * 2 : 1024;
  int32_t *slots = calloc(nslots, sizeof *slots);
  if (!slots) return -1;
  const int64_t *off = (const int64_t *)c->dict_off.p;
  for (int32_t k = 0; k < c->ndict; k++) {
    size_t i = hash_bytes(c->chars.p + off[k], dict_len(c, k)) & (nslots - 1);
    while (slots[i]) i = (i + 1) & (nslots - 1);
    slots[i] = k + 1;
  }
  free(c->slots);
  c->slots = slots;
  c->nslots = nslots;
  return 0;
}

/* The dictionary code of s, adding it when new (codes follow first appearance). -1 when out of memory. */
static int dict_code(tb_col *c, const char *s, size_t n, int32_t *code) {
  if ((size_t)c->ndict * 2 >= c->nslots && dict_rehash(c) != 0) return -1;
  size_t mask = c->nslots - 1, i = hash_bytes(s, n) & mask;
  const int64_t *off = (const int64_t *)c->dict_off.p;
  for (; c->slots[i]; i = (i + 1) & mask) {
    int32_t k = c->slots[i] - 1;
    if (dict_len(c, k) == n && memcmp(c->chars.p + off[k], s, n) == 0) {
      *code = k;
      return 0;
    }
  }
  if (c->ndict == INT32_MAX || vec_grow(&c->chars, n + 1) != 0 || vec_grow(&c->dict_off, 8) != 0) return -1;
  int64_t start = (int64_t)c->chars.len;
  memcpy(c->dict_off.p + c->dict_off.len, &start, 8);
  c->dict_off.len += 8;
  memcpy(c->chars.p + c->chars.len, s, n);
  c->chars.p[c->chars.len + n] = '\0';
  c->chars.len += n + 1;
  c->slots[i] = c->ndict + 1;
  *code = c->ndict++;
  return 0;
}

static int push4(tb_col *c, const void *v) {
  if (vec_grow(&c->vals, 4) != 0) return -1;
  memcpy(c->vals.p + c->vals.len, v, 4);
  c->vals.len += 4;
  return 0;
}

static int push8(tb_col *c, const void *v) {
  if (vec_grow(&c->vals, 8) != 0) return -1;
  memcpy(c->vals.p + c->vals.len, v, 8);
  c->vals.len += 8;
  return 0;
}

static int push_list(pg_tb *tb, tb_col *c, const char *v, int len) {
  char bad[48];
  if (vec_grow(&c->items, ((size_t)len / 2 + 1) * 4) != 0) return fail(tb, "out of memory");
  int64_t n = pg_parse_int_list(v, len, c->sep, (int32_t *)(c->items.p + c->items.len), bad, sizeof bad);
  if (n < 0) return fail(tb, "column %s, row %lld: \"%s\" is not an int32 list item", c->name,
                         (long long)tb->nrows + 1, bad);
  c->items.len += (size_t)n * 4;
  int64_t end = (int64_t)(c->items.len / 4);
  return push8(c, &end) == 0 ? 0 : fail(tb, "out of memory");
}

/* A NULL: refused unless allowed, then 0, "" or an empty list. */
static int push_null(pg_tb *tb, tb_col *c) {
  if (!c->allow_null)
    return fail(tb, "column %s, row %lld: NULL (filter it in SQL, use COALESCE, or pass allow_null)", c->name,
                (long long)tb->nrows + 1);
  c->nnull++;
  int64_t zero8 = 0;
  int32_t zero4 = 0;
  switch (c->kind) {
    case K_INT8: case K_FLOAT4: case K_FLOAT8: case K_NUMERIC:
      return push8(c, &zero8) == 0 ? 0 : fail(tb, "out of memory");
    case K_TEXT: {
      int32_t code;
      if (dict_code(c, "", 0, &code) != 0 || push4(c, &code) != 0) return fail(tb, "out of memory");
      return 0;
    }
    case K_LIST: return push_list(tb, c, "", 0);
    default: return push4(c, &zero4) == 0 ? 0 : fail(tb, "out of memory");
  }
}

static int bad_length(pg_tb *tb, const tb_col *c, int len) {
  return fail(tb, "column %s, row %lld: unexpected binary value of %d bytes", c->name, (long long)tb->nrows + 1,
              len);
}

int pg_tb_value(pg_tb *tb, int col, const char *v, int len) {
  tb_col *c = &tb->cols[col];
  int32_t i32;
  int64_t i64;
  double f64;
  float f32;
  uint32_t u32;
  uint64_t u64;
  if (len < 0) return push_null(tb, c);
  switch (c->kind) {
    case K_BOOL:
      if (len != 1) return bad_length(tb, c, len);
      i32 = v[0] != 0;
      break;
    case K_INT2:
      if (len != 2) return bad_length(tb, c, len);
      i32 = (int16_t)rd16(v);
      break;
    case K_INT4:
      if (len != 4) return bad_length(tb, c, len);
      i32 = (int32_t)rd32(v);
      break;
    case K_DATE:
      if (len != 4) return bad_length(tb, c, len);
      if (pg_date_from_pg((int32_t)rd32(v), &i32) != 0)
        return fail(tb, "column %s, row %lld: infinite or out-of-range date", c->name, (long long)tb->nrows + 1);
      break;
    case K_INT8:
      if (len != 8) return bad_length(tb, c, len);
      i64 = (int64_t)rd64(v);
      return push8(c, &i64) == 0 ? 0 : fail(tb, "out of memory");
    case K_FLOAT4:
      if (len != 4) return bad_length(tb, c, len);
      u32 = rd32(v);
      memcpy(&f32, &u32, 4);
      f64 = f32;
      return push8(c, &f64) == 0 ? 0 : fail(tb, "out of memory");
    case K_FLOAT8:
      if (len != 8) return bad_length(tb, c, len);
      u64 = rd64(v);
      memcpy(&f64, &u64, 8);
      return push8(c, &f64) == 0 ? 0 : fail(tb, "out of memory");
    case K_NUMERIC:
      if (pg_numeric_to_double(v, len, &f64) != 0) return bad_length(tb, c, len);
      return push8(c, &f64) == 0 ? 0 : fail(tb, "out of memory");
    case K_TEXT:
      if (dict_code(c, v, (size_t)len, &i32) != 0) return fail(tb, "out of memory");
      break;
    case K_LIST:
      return push_list(tb, c, v, len);
  }
  return push4(c, &i32) == 0 ? 0 : fail(tb, "out of memory");
}

void pg_tb_end_row(pg_tb *tb) { tb->nrows++; }

int pg_tb_copy_data(void *ud, const char *data, int len) {
  pg_tb *tb = ud;
  const char *p = data, *e = data + len;
  if (!tb->header_done) {
    if (len < 19 || memcmp(p, COPY_SIGNATURE, sizeof COPY_SIGNATURE) != 0)
      return fail(tb, "not a binary COPY stream");
    if (rd32(p + 11) & (1u << 16)) return fail(tb, "binary COPY stream with OIDs");
    uint32_t ext = rd32(p + 15);
    p += 19;
    if ((uint32_t)(e - p) < ext) return fail(tb, "truncated binary COPY header");
    p += ext;
    tb->header_done = 1;
  }
  while (p < e) {
    if (tb->trailer) return fail(tb, "data after the end of the binary COPY stream");
    if (e - p < 2) return fail(tb, "truncated binary COPY row");
    int nf = (int16_t)rd16(p);
    p += 2;
    if (nf == -1) {
      tb->trailer = 1;
      continue;
    }
    if (nf != tb->ncols) return fail(tb, "binary COPY row of %d fields, expected %d", nf, tb->ncols);
    for (int i = 0; i < nf; i++) {
      if (e - p < 4) return fail(tb, "truncated binary COPY row");
      int32_t flen = (int32_t)rd32(p);
      p += 4;
      if (flen < -1 || (flen > 0 && e - p < flen)) return fail(tb, "truncated binary COPY row");
      if (pg_tb_value(tb, i, p, flen) != 0) return -1;
      if (flen > 0) p += flen;
    }
    tb->nrows++;
  }
  return 0;
}

int pg_tb_result_row(void *ud, const PGresult *r) {
  pg_tb *tb = ud;
  if (PQnfields(r) != tb->ncols) return fail(tb, "result of %d columns, expected %d", PQnfields(r), tb->ncols);
  for (int i = 0; i < tb->ncols; i++) {
    int len = PQgetisnull(r, 0, i) ? -1 : PQgetlength(r, 0, i);
    if (pg_tb_value(tb, i, PQgetvalue(r, 0, i), len) != 0) return -1;
  }
  tb->nrows++;
  return 0;
}

/* ---- handing columns over ---- */

/* Gives v's buffer away, trimmed to its length (at least min bytes allocated). NULL when out of memory. */
static void *vec_release(vec *v, size_t min) {
  size_t n = v->len > min ? v->len : min;
  char *p = realloc(v->p, n ? n : 1);
  if (!p) return NULL;
  v->p = NULL;
  v->len = v->cap = 0;
  return p;
}

static int take_list(tb_col *c, cs_column *out, int64_t n) {
  if (n > 0) memcpy(out->offsets + 1, c->vals.p, (size_t)n * 8);
  int32_t *items = vec_release(&c->items, 4);
  if (!items) return -1;
  cs_column_set_items(out, items);
  return 0;
}

static int take_strings(tb_col *c, cs_column *out, int64_t n) {
  int64_t end = (int64_t)c->chars.len;
  if (vec_grow(&c->dict_off, 8) != 0) return -1;
  memcpy(c->dict_off.p + c->dict_off.len, &end, 8);
  c->dict_off.len += 8;
  if (n > 0) memcpy(out->v.i32, c->vals.p, (size_t)n * 4);
  char *chars = vec_release(&c->chars, 1);
  if (!chars) return -1;
  int64_t *off = vec_release(&c->dict_off, 8);
  if (!off) {
    free(chars);
    return -1;
  }
  cs_column_set_dict(out, c->ndict, off, chars);
  free(c->slots);
  c->slots = NULL;
  c->nslots = 0;
  c->ndict = 0;
  return 0;
}

cs_column *pg_tb_take(pg_tb *tb, int col) {
  tb_col *c = &tb->cols[col];
  int64_t n = tb->nrows;
  cs_column *out = cs_column_new(c->type, n);
  if (!out) return NULL;
  int rc = 0;
  if (c->kind == K_LIST) rc = take_list(c, out, n);
  else if (c->kind == K_TEXT) rc = take_strings(c, out, n);
  else if (n > 0) memcpy(out->v.i64, c->vals.p, (size_t)n * (c->type == CS_INT32 || c->type == CS_DATE ? 4 : 8));
  if (rc != 0) {
    cs_column_release(out);
    return NULL;
  }
  vec_free(&c->vals);
  return out;
}
