/*
** pg_encode.c: writes colstore columns as a COPY ... FROM STDIN (FORMAT binary) stream, each column converted to
** its target column's type (integers, floats, dates; text from strings, numbers, dates or lists joined by a
** separator), plus optional row numbers: the inverse of pg_table.c. The server then parses no text at all.
** Plain C over the columns' arrays; the caller sends the chunks.
*/
#include "pg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
  OID_INT8 = 20, OID_INT2 = 21, OID_INT4 = 23, OID_TEXT = 25, OID_FLOAT4 = 700, OID_FLOAT8 = 701,
  OID_BPCHAR = 1042, OID_VARCHAR = 1043, OID_DATE = 1082
};

static const char COPY_HEADER[19] = {'P', 'G', 'C', 'O', 'P', 'Y', '\n', '\377', '\r', '\n', '\0',
                                     0, 0, 0, 0, /* flags */ 0, 0, 0, 0 /* header extension length */};

static int is_text(Oid t) { return t == OID_TEXT || t == OID_VARCHAR || t == OID_BPCHAR; }
static int is_int(Oid t) { return t == OID_INT2 || t == OID_INT4 || t == OID_INT8; }

int pg_enc_check(const pg_enc_col *c, char *why, size_t whysize) {
  cs_type st = c->col ? c->col->type : CS_INT64; /* row numbers are integers */
  Oid t = c->type;
  int ok = 0;
  switch (st) {
    case CS_INT32: case CS_INT64: ok = is_int(t) || t == OID_FLOAT8 || is_text(t); break;
    case CS_FLOAT64: ok = t == OID_FLOAT8 || t == OID_FLOAT4 || is_text(t); break;
    case CS_DATE: ok = t == OID_DATE || is_text(t); break;
    case CS_STRING: case CS_LIST: ok = is_text(t); break;
  }
  if (!ok)
    snprintf(why, whysize, "%s values cannot be written to a column of type OID %u (int2/int4/int8, float8, date "
             "or text expected)", c->col ? cs_type_name(st) : "row numbers", (unsigned)t);
  return ok ? 0 : -1;
}

void pg_enc_init(pg_enc *e, const pg_enc_col *cols, int ncols, int64_t nrows, int64_t row0) {
  memset(e, 0, sizeof *e);
  e->cols = cols;
  e->ncols = ncols;
  e->nrows = nrows;
  e->row0 = row0;
  e->bad_row = -1;
}

static char *put16(char *p, uint16_t v) {
  p[0] = (char)(v >> 8);
  p[1] = (char)v;
  return p + 2;
}

static char *put32(char *p, uint32_t v) {
  p[0] = (char)(v >> 24);
  p[1] = (char)(v >> 16);
  p[2] = (char)(v >> 8);
  p[3] = (char)v;
  return p + 4;
}

static char *put64(char *p, uint64_t v) { return put32(put32(p, (uint32_t)(v >> 32)), (uint32_t)v); }

/* Writes v in decimal; returns the end. Two digits per step (product lists are millions of small numbers). */
static char *put_dec(char *p, int64_t v) {
  static const char pairs[201] =
    "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
    "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
    "8081828384858687888990919293949596979899";
  char tmp[24];
  int n = 0;
  uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
  while (u >= 100) {
    unsigned d = (unsigned)(u % 100) * 2;
    u /= 100;
    tmp[n++] = pairs[d + 1];
    tmp[n++] = pairs[d];
  }
  if (u >= 10) {
    tmp[n++] = pairs[u * 2 + 1];
    tmp[n++] = pairs[u * 2];
  } else {
    tmp[n++] = (char)('0' + u);
  }
  if (v < 0) *p++ = '-';
  while (n) *p++ = tmp[--n];
  return p;
}

/* Shortest text that reads back as the same double (at most 24 bytes). */
static int put_double_text(char *p, double v) {
  char buf[32];
  int n = 0;
  for (int prec = 15; prec <= 17; prec++) {
    n = snprintf(buf, sizeof buf, "%.*g", prec, v);
    if (strtod(buf, NULL) == v) break;
  }
  memcpy(p, buf, (size_t)n);
  return n;
}

/* Bytes the value of row r may need at most, its 4-byte length included. */
static size_t value_bound(const pg_enc_col *c, int64_t r) {
  const cs_column *col = c->col;
  if (col && col->type == CS_STRING) return 4 + strlen(cs_column_str(col, col->v.i32[r]));
  if (col && col->type == CS_LIST) return 4 + (size_t)(col->offsets[r + 1] - col->offsets[r]) * 12;
  return 4 + 32;
}

/* Writes an integer as the target type; NULL when it does not fit (int2/int4). */
static char *put_int(char *p, Oid t, int64_t v) {
  switch (t) {
    case OID_INT2:
      if (v < INT16_MIN || v > INT16_MAX) return NULL;
      return put16(put32(p, 2), (uint16_t)v);
    case OID_INT4:
      if (v < INT32_MIN || v > INT32_MAX) return NULL;
      return put32(put32(p, 4), (uint32_t)v);
    case OID_INT8: return put64(put32(p, 8), (uint64_t)v);
    case OID_FLOAT8: {
      double d = (double)v;
      uint64_t u;
      memcpy(&u, &d, 8);
      return put64(put32(p, 8), u);
    }
    default: {
      char *end = put_dec(p + 4, v);
      put32(p, (uint32_t)(end - p - 4));
      return end;
    }
  }
}

static char *put_float(char *p, Oid t, double d) {
  if (t == OID_FLOAT8) {
    uint64_t u;
    memcpy(&u, &d, 8);
    return put64(put32(p, 8), u);
  }
  if (t == OID_FLOAT4) {
    float f = (float)d;
    uint32_t u;
    memcpy(&u, &f, 4);
    return put32(put32(p, 4), u);
  }
  int n = put_double_text(p + 4, d);
  put32(p, (uint32_t)n);
  return p + 4 + n;
}

/* Writes the value of row r (row number rowno for a row-number column); NULL when it does not fit its type. */
static char *put_value(char *p, const pg_enc_col *c, int64_t r, int64_t rowno) {
  const cs_column *col = c->col;
  if (!col) return put_int(p, c->type, rowno);
  switch (col->type) {
    case CS_INT32: return put_int(p, c->type, col->v.i32[r]);
    case CS_INT64: return put_int(p, c->type, col->v.i64[r]);
    case CS_FLOAT64: return put_float(p, c->type, col->v.f64[r]);
    case CS_DATE:
      if (c->type == OID_DATE) return put32(put32(p, 4), (uint32_t)(col->v.i32[r] - 10957)); /* days since 2000 */
      cs_format_date(col->v.i32[r], p + 4);
      put32(p, 10);
      return p + 14;
    case CS_STRING: {
      const char *s = cs_column_str(col, col->v.i32[r]);
      size_t n = strlen(s);
      put32(p, (uint32_t)n);
      memcpy(p + 4, s, n);
      return p + 4 + n;
    }
    case CS_LIST: {
      char *q = p + 4;
      for (int64_t i = col->offsets[r]; i < col->offsets[r + 1]; i++) {
        if (i > col->offsets[r]) *q++ = c->list_sep;
        q = put_dec(q, col->items[i]);
      }
      put32(p, (uint32_t)(q - p - 4));
      return q;
    }
  }
  return NULL;
}

int64_t pg_enc_fill(pg_enc *e, char *buf, size_t cap) {
  char *p = buf, *end = buf + cap;
  if (e->state == 0) {
    if (cap < sizeof COPY_HEADER) return -1;
    memcpy(p, COPY_HEADER, sizeof COPY_HEADER);
    p += sizeof COPY_HEADER;
    e->state = 1;
  }
  while (e->state == 1 && e->next < e->nrows) {
    int64_t r = e->next;
    size_t need = 2;
    for (int i = 0; i < e->ncols; i++) need += value_bound(&e->cols[i], r);
    if ((size_t)(end - p) < need) {
      if (p == buf) return -1; /* one row larger than the whole buffer */
      return (int64_t)(p - buf);
    }
    char *q = put16(p, (uint16_t)e->ncols);
    for (int i = 0; i < e->ncols && q; i++) {
      q = put_value(q, &e->cols[i], r, e->row0 + r);
      if (!q) {
        e->bad_row = r;
        e->bad_col = i;
        return -2;
      }
    }
    p = q;
    e->next++;
  }
  if (e->state == 1) {
    if (end - p < 2) return (int64_t)(p - buf);
    p = put16(p, 0xFFFF); /* trailer */
    e->state = 2;
  }
  return (int64_t)(p - buf);
}
