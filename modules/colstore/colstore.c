/* colstore.c: columns, tables, calendar arithmetic and native JSON rows for the column store (see colstore.h). */
#include "hugepages.h"
#include "colstore.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>

#include "buf.h"
#include "json.h"

static const char *const type_names[] = {"int32", "int64", "float64", "date", "string", "list<int32>"};

const char *cs_type_name(cs_type t) { return (unsigned)t < 6 ? type_names[t] : "?"; }

int cs_type_parse(const char *name, cs_type *t) {
  for (int i = 0; i < 6; i++)
    if (strcmp(name, type_names[i]) == 0) {
      *t = (cs_type)i;
      return 0;
    }
  if (strcmp(name, "list") == 0 || strcmp(name, "list<int>") == 0) {
    *t = CS_LIST;
    return 0;
  }
  if (strcmp(name, "int") == 0) {
    *t = CS_INT32;
    return 0;
  }
  if (strcmp(name, "double") == 0 || strcmp(name, "number") == 0) {
    *t = CS_FLOAT64;
    return 0;
  }
  return -1;
}

int cs_type_is_numeric(cs_type t) { return t == CS_INT32 || t == CS_INT64 || t == CS_FLOAT64 || t == CS_DATE; }

static size_t elem_size(cs_type t) {
  switch (t) {
    case CS_INT64: return sizeof(int64_t);
    case CS_FLOAT64: return sizeof(double);
    case CS_LIST: return 0;
    default: return sizeof(int32_t);
  }
}

cs_column *cs_column_new(cs_type type, int64_t n) {
  cs_column *c = calloc(1, sizeof *c);
  if (!c) return NULL;
  c->type = type;
  c->refs = 1;
  c->n = n;
  if (type == CS_LIST) {
    c->offsets = mc_malloc_huge(sizeof(int64_t) * (size_t)(n + 1));
    if (!c->offsets) goto fail;
    c->offsets[0] = 0;
  } else {
    c->v.i64 = mc_malloc_huge(elem_size(type) * (size_t)(n > 0 ? n : 1));
    if (!c->v.i64) goto fail;
  }
  return c;
fail:
  free(c);
  return NULL;
}

void cs_column_set_items(cs_column *c, int32_t *items) {
  free(c->items);
  c->items = items;
}

void cs_column_set_dict(cs_column *c, int32_t ndict, int64_t *dict_off, char *dict_chars) {
  free(c->dict_off);
  free(c->dict_chars);
  c->ndict = ndict;
  c->dict_off = dict_off;
  c->dict_chars = dict_chars;
}

cs_column *cs_column_retain(cs_column *c) {
  if (c) c->refs++;
  return c;
}

void cs_column_release(cs_column *c) {
  if (!c || --c->refs > 0) return;
  free(c->v.i64);
  free(c->offsets);
  free(c->items);
  free(c->dict_off);
  free(c->dict_chars);
  free(c);
}

int64_t cs_column_nitems(const cs_column *c) { return c->type == CS_LIST ? c->offsets[c->n] : 0; }

static uint64_t hash_bytes64(uint64_t h, const void *data, size_t len) {
  const unsigned char *p = data;
  while (len >= 8) {
    uint64_t w;
    memcpy(&w, p, 8);
    h = (h ^ w) * 0x9E3779B97F4A7C15ull;
    h ^= h >> 29;
    p += 8, len -= 8;
  }
  uint64_t w = 0;
  memcpy(&w, p, len);
  h = (h ^ w ^ ((uint64_t)len << 56)) * 0xBF58476D1CE4E5B9ull;
  return h ^ (h >> 31);
}

uint64_t cs_column_fingerprint(const cs_column *c) {
  uint64_t head[2] = {(uint64_t)c->type, (uint64_t)c->n};
  uint64_t h = hash_bytes64(0x6D65726361646Full, head, sizeof head);
  if (c->type == CS_LIST) {
    h = hash_bytes64(h, c->offsets, sizeof(int64_t) * (size_t)(c->n + 1));
    return hash_bytes64(h, c->items, sizeof(int32_t) * (size_t)cs_column_nitems(c));
  }
  h = hash_bytes64(h, c->v.i64, elem_size(c->type) * (size_t)c->n);
  if (c->type == CS_STRING) h = hash_bytes64(h, c->dict_chars, (size_t)c->dict_off[c->ndict]);
  return h;
}

int cs_column_range(cs_column *c, int64_t *lo, int64_t *hi) {
  if (!c->range_known) {
    int is_list = c->type == CS_LIST;
    int64_t m = is_list ? cs_column_nitems(c) : c->n, a = INT64_MAX, b = INT64_MIN;
    if (is_list || c->type == CS_INT32 || c->type == CS_DATE || c->type == CS_STRING) {
      const int32_t *v = is_list ? c->items : c->v.i32;
      int32_t x = INT32_MAX, y = INT32_MIN;
      for (int64_t i = 0; i < m; i++) {
        if (v[i] < x) x = v[i];
        if (v[i] > y) y = v[i];
      }
      a = x, b = y;
    } else if (c->type == CS_INT64) {
      for (int64_t i = 0; i < m; i++) {
        if (c->v.i64[i] < a) a = c->v.i64[i];
        if (c->v.i64[i] > b) b = c->v.i64[i];
      }
    } else {
      m = 0; /* floats have no integer range */
    }
    c->range_min = m ? a : 0, c->range_max = m ? b : -1;
    c->range_known = 1;
  }
  *lo = c->range_min, *hi = c->range_max;
  return c->range_max >= c->range_min;
}

double cs_column_get_f64(const cs_column *c, int64_t i) {
  switch (c->type) {
    case CS_INT64: return (double)c->v.i64[i];
    case CS_FLOAT64: return c->v.f64[i];
    default: return (double)c->v.i32[i];
  }
}

/* ---- tables ---- */

cs_table *cs_table_new(int ncols) {
  cs_table *t = calloc(1, sizeof *t);
  if (!t) return NULL;
  t->names = calloc((size_t)(ncols > 0 ? ncols : 1), sizeof(char *));
  t->cols = calloc((size_t)(ncols > 0 ? ncols : 1), sizeof(cs_column *));
  if (!t->names || !t->cols) {
    free(t->names);
    free(t->cols);
    free(t);
    return NULL;
  }
  t->n = -1; /* no column yet */
  return t;
}

int cs_table_add(cs_table *t, const char *name, cs_column *c) {
  char *nm = strdup(name);
  char **names = realloc(t->names, sizeof(char *) * (size_t)(t->ncols + 1));
  if (names) t->names = names;
  cs_column **cols = realloc(t->cols, sizeof(cs_column *) * (size_t)(t->ncols + 1));
  if (cols) t->cols = cols;
  if (!nm || !names || !cols) {
    free(nm);
    cs_column_release(c);
    return -1;
  }
  t->names[t->ncols] = nm;
  t->cols[t->ncols] = c;
  t->ncols++;
  if (t->n < 0) t->n = c->n;
  return 0;
}

int cs_table_find(const cs_table *t, const char *name) {
  for (int i = 0; i < t->ncols; i++)
    if (strcmp(t->names[i], name) == 0) return i;
  return -1;
}

void cs_table_free(cs_table *t) {
  if (!t) return;
  for (int i = 0; i < t->ncols; i++) {
    free(t->names[i]);
    cs_column_release(t->cols[i]);
  }
  free(t->names);
  free(t->cols);
  free(t);
}

/* ---- calendar (Howard Hinnant's days-from-civil algorithms, proleptic Gregorian) ---- */

int32_t cs_days_from_civil(int y, int m, int d) {
  y -= m <= 2;
  int era = (y >= 0 ? y : y - 399) / 400;
  unsigned yoe = (unsigned)(y - era * 400);
  unsigned doy = (unsigned)((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1);
  unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return (int32_t)(era * 146097 + (int)doe - 719468);
}

void cs_civil_from_days(int32_t days, int *y, int *m, int *d) {
  int z = days + 719468;
  int era = (z >= 0 ? z : z - 146096) / 146097;
  unsigned doe = (unsigned)(z - era * 146097);
  unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  unsigned mp = (5 * doy + 2) / 153;
  *d = (int)(doy - (153 * mp + 2) / 5 + 1);
  *m = (int)(mp < 10 ? mp + 3 : mp - 9);
  *y = (int)yoe + era * 400 + (*m <= 2);
}

static int is_leap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

int cs_date_valid(int y, int m, int d) {
  static const int mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (m < 1 || m > 12 || d < 1) return 0;
  return d <= mdays[m - 1] + (m == 2 && is_leap(y));
}

int cs_day_of_week(int32_t days) {
  /* 1970-01-01 was a Thursday (5 in Sunday=1 numbering) */
  int w = (int)(((int64_t)days + 4) % 7); /* 0 = Sunday */
  if (w < 0) w += 7;
  return w + 1;
}

void cs_iso_week(int32_t days, int *iso_year, int *iso_week) {
  int y, m, d;
  int wd = cs_day_of_week(days) - 1; /* 0 = Sunday */
  int iso_wd = wd == 0 ? 7 : wd;     /* 1 = Monday .. 7 = Sunday */
  int32_t thursday = days + (4 - iso_wd);
  cs_civil_from_days(thursday, &y, &m, &d);
  *iso_year = y;
  *iso_week = (int)((thursday - cs_days_from_civil(y, 1, 1)) / 7) + 1;
}

void cs_format_date(int32_t days, char *buf) {
  int y, m, d;
  cs_civil_from_days(days, &y, &m, &d);
  if (y >= 0 && y <= 9999) {
    buf[0] = (char)('0' + y / 1000), buf[1] = (char)('0' + y / 100 % 10);
    buf[2] = (char)('0' + y / 10 % 10), buf[3] = (char)('0' + y % 10);
    buf[4] = '-', buf[5] = (char)('0' + m / 10), buf[6] = (char)('0' + m % 10);
    buf[7] = '-', buf[8] = (char)('0' + d / 10), buf[9] = (char)('0' + d % 10);
    buf[10] = '\0';
  } else {
    snprintf(buf, 32, "%d-%02d-%02d", y, m, d);
  }
}

/* ---- JSON rows ---- */

static void json_indent(mc_buf *b, int indent, int depth) {
  static const char spaces[] = "\n                                                                ";
  if (!indent) return;
  int n = indent * depth;
  if (n <= 64) buf_add(b, spaces, (size_t)n + 1);
  else {
    buf_addc(b, '\n');
    for (int i = 0; i < n; i++) buf_addc(b, ' ');
  }
}

static void json_cell(mc_buf *b, const cs_column *c, int64_t r, int indent, int depth) {
  char tmp[JSON_DOUBLE_MAX];
  switch (c->type) {
    case CS_INT32: json_add_int(b, c->v.i32[r]); break;
    case CS_INT64: json_add_int(b, c->v.i64[r]); break;
    case CS_FLOAT64: {
      int n = json_format_double(c->v.f64[r], tmp);
      if (n < 0) buf_add(b, "null", 4); /* NaN never reaches JSON as a number */
      else buf_add(b, tmp, (size_t)n);
      break;
    }
    case CS_DATE:
      cs_format_date(c->v.i32[r], tmp);
      json_add_string(b, tmp, strlen(tmp));
      break;
    case CS_STRING: {
      const char *s = cs_column_str(c, c->v.i32[r]);
      json_add_string(b, s, strlen(s));
      break;
    }
    case CS_LIST: {
      int64_t lo = c->offsets[r], hi = c->offsets[r + 1];
      buf_addc(b, '[');
      for (int64_t k = lo; k < hi; k++) {
        if (k > lo) buf_addc(b, ',');
        json_indent(b, indent, depth + 1);
        json_add_int(b, c->items[k]);
      }
      if (hi > lo) json_indent(b, indent, depth);
      buf_addc(b, ']');
      break;
    }
  }
}

void cs_table_write_json_rows(const cs_table *t, mc_buf *b, int indent, int depth) {
  int64_t n = t->n < 0 ? 0 : t->n;
  /* each key, quoted and followed by its separator, is encoded once */
  mc_buf keys;
  buf_init(&keys);
  size_t key_off[t->ncols + 1];
  for (int c = 0; c < t->ncols; c++) {
    key_off[c] = keys.len;
    json_add_string(&keys, t->names[c], strlen(t->names[c]));
    buf_add(&keys, indent ? ": " : ":", indent ? 2 : 1);
  }
  key_off[t->ncols] = keys.len;
  buf_addc(b, '[');
  size_t start = b->len;
  for (int64_t r = 0; r < n; r++) {
    if (r == 1024 && n > 2048) /* room for the rest at the first rows' size, rather than growing step by step */
      buf_reserve(b, (b->len - start) / 1024 * (size_t)(n - r) + (b->len - start) / 8);
    if (r) buf_addc(b, ',');
    json_indent(b, indent, depth + 1);
    buf_addc(b, '{');
    for (int c = 0; c < t->ncols; c++) {
      if (c) buf_addc(b, ',');
      json_indent(b, indent, depth + 2);
      buf_add(b, keys.data + key_off[c], key_off[c + 1] - key_off[c]);
      json_cell(b, t->cols[c], r, indent, depth + 2);
    }
    if (t->ncols) json_indent(b, indent, depth + 1);
    buf_addc(b, '}');
  }
  if (n) json_indent(b, indent, depth);
  buf_addc(b, ']');
  if (!buf_ok(&keys)) b->failed = 1;
  buf_free(&keys);
}
