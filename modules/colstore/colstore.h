/*
** colstore.h: the column store's core: immutable typed columns and tables of them.
** Plain C over flat arrays; no Lua here (the binding lives in colstore_lua.c).
**
** Layout of each column type (n = number of rows):
**   CS_INT32, CS_DATE, CS_STRING  i32[n]   (date: days since 1970-01-01; string: codes into the dictionary)
**   CS_INT64                      i64[n]
**   CS_FLOAT64                    f64[n]
**   CS_LIST                       offsets[n+1] into items[offsets[n]]  (list<int32>, CSR)
** A CS_STRING column owns a dictionary: dict_off[ndict+1] into dict_chars (each entry NUL-terminated).
** Columns are reference counted: tables share them, nothing mutates them once built.
*/
#ifndef MERCADO_COLSTORE_H
#define MERCADO_COLSTORE_H

#include <stddef.h>
#include <stdint.h>

typedef enum cs_type {
  CS_INT32 = 0,
  CS_INT64,
  CS_FLOAT64,
  CS_DATE,
  CS_STRING,
  CS_LIST
} cs_type;

typedef struct cs_column {
  cs_type type;
  int refs;
  int64_t n;
  union {
    int32_t *i32;
    int64_t *i64;
    double *f64;
  } v;
  int64_t *offsets;   /* CS_LIST */
  int32_t *items;     /* CS_LIST */
  int32_t ndict;      /* CS_STRING */
  int64_t *dict_off;  /* CS_STRING */
  char *dict_chars;   /* CS_STRING */
  int range_known;    /* min and max below are computed (integer types and list items; see cs_column_range) */
  int64_t range_min, range_max;
} cs_column;

/* A table: named columns of equal length n. The table owns one reference to each column. */
typedef struct cs_table {
  int ncols;
  int64_t n;
  char **names;
  cs_column **cols;
} cs_table;

/* Makes an empty table with room for ncols columns; NULL when out of memory. */
cs_table *cs_table_new(int ncols);
/* Adds a column (takes over the caller's reference). Returns 0, or -1 if out of memory. */
int cs_table_add(cs_table *t, const char *name, cs_column *c);
/* Index of a named column, or -1. */
int cs_table_find(const cs_table *t, const char *name);
void cs_table_free(cs_table *t);

/* Name of a type as users write it ("int32", "list<int32>", ...). */
const char *cs_type_name(cs_type t);
/* Parses a type name; returns 0 and sets *t, or -1 if unknown. */
int cs_type_parse(const char *name, cs_type *t);

/* Allocates a column of n rows (values uninitialised; lists get offsets only, items via cs_column_set_items).
   Returns NULL when out of memory. refs starts at 1. */
cs_column *cs_column_new(cs_type type, int64_t n);
/* Gives a list column its items array (takes ownership of items, nitems = offsets[n]). */
void cs_column_set_items(cs_column *c, int32_t *items);
/* Gives a string column its dictionary (takes ownership of both arrays). */
void cs_column_set_dict(cs_column *c, int32_t ndict, int64_t *dict_off, char *dict_chars);
cs_column *cs_column_retain(cs_column *c);
void cs_column_release(cs_column *c);
/* Number of list items (offsets[n]) of a CS_LIST column, 0 otherwise. */
int64_t cs_column_nitems(const cs_column *c);
/* Dictionary string of a code in a CS_STRING column. */
static inline const char *cs_column_str(const cs_column *c, int32_t code) {
  return c->dict_chars + c->dict_off[code];
}
/* A 64-bit fingerprint of the column's type and contents (for cache keys; not cryptographic). */
uint64_t cs_column_fingerprint(const cs_column *c);
/* Smallest and largest value of an integer column (int32, int64, date, string codes) or of a list's items,
   computed once and remembered (columns never change). Returns 0 when there is no value. */
int cs_column_range(cs_column *c, int64_t *lo, int64_t *hi);
/* Value of row i of a numeric column (int32/int64/float64/date) as a double. */
double cs_column_get_f64(const cs_column *c, int64_t i);
/* Whether the type is a scalar number (int32, int64, float64, date). */
int cs_type_is_numeric(cs_type t);

/* Calendar helpers on days since 1970-01-01 (proleptic Gregorian). */
int32_t cs_days_from_civil(int y, int m, int d);
void cs_civil_from_days(int32_t days, int *y, int *m, int *d);
/* ISO 8601 week number and week-based year. */
void cs_iso_week(int32_t days, int *iso_year, int *iso_week);
/* Day of week 1=Sunday .. 7=Saturday (Spark's dayofweek). */
int cs_day_of_week(int32_t days);
/* Validates a calendar date (including month lengths and leap years). */
int cs_date_valid(int y, int m, int d);
/* Formats days as YYYY-MM-DD into buf (at least 11 bytes). */
void cs_format_date(int32_t days, char *buf);

struct mc_buf;
/* Appends the table as a JSON array of row objects (keys in column order), indented as json.encode does. */
void cs_table_write_json_rows(const cs_table *t, struct mc_buf *b, int indent, int depth);

#endif
