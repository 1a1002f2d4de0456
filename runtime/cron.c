/* cron.c: cron expressions and intervals (see cron.h): parsing into bit sets and the next-fire-time search. */
#include "cron.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

typedef struct field_def {
  const char *name;
  int min, max;           /* values accepted in a token */
  int star_lo, star_hi;   /* what '*' covers */
  const char *const *names; /* 3-letter names, or NULL */
  int names_base;         /* value of names[0] */
} field_def;

static const char *const MONTH_NAMES[] = {"jan", "feb", "mar", "apr", "may", "jun",
                                          "jul", "aug", "sep", "oct", "nov", "dec", NULL};
static const char *const DAY_NAMES[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat", NULL};

enum { F_MINUTE, F_HOUR, F_DOM, F_MONTH, F_DOW, NFIELDS };

static const field_def FIELDS[NFIELDS] = {
  {"minute", 0, 59, 0, 59, NULL, 0},
  {"hour", 0, 23, 0, 23, NULL, 0},
  {"day-of-month", 1, 31, 1, 31, NULL, 0},
  {"month", 1, 12, 1, 12, MONTH_NAMES, 1},
  {"day-of-week", 0, 7, 0, 6, DAY_NAMES, 0},
};

static const struct {
  const char *name, *expr;
} MACROS[] = {
  {"@yearly", "0 0 1 1 *"}, {"@annually", "0 0 1 1 *"}, {"@monthly", "0 0 1 * *"}, {"@weekly", "0 0 * * 0"},
  {"@daily", "0 0 * * *"},  {"@midnight", "0 0 * * *"}, {"@hourly", "0 * * * *"},  {NULL, NULL},
};

/* ---- messages ---- */

/* Copies at most 40 bytes of s into out, replacing unprintable bytes by '?'. */
static void shown(const char *s, size_t len, char out[48]) {
  size_t n = len > 40 ? 40 : len, i;
  for (i = 0; i < n; i++) out[i] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
  if (len > n) out[i++] = '.', out[i++] = '.', out[i++] = '.';
  out[i] = '\0';
}

/* "<field> field: '<token>': <why>" */
static int field_error(char *err, int field, const char *tok, size_t toklen, const char *fmt, ...) {
  char tokbuf[48], why[120];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(why, sizeof why, fmt, ap);
  va_end(ap);
  shown(tok, toklen, tokbuf);
  snprintf(err, CRON_ERR_MAX, "%s field: '%s': %s", FIELDS[field].name, tokbuf, why);
  return -1;
}

/* ---- parsing ---- */

typedef struct cursor {
  const char *p, *end;
} cursor;

/* Reads a number or a 3-letter name at c into *v; returns 0, or -1 with err. */
static int read_value(cursor *c, int field, const char *tok, size_t toklen, int *v, char *err) {
  const field_def *f = &FIELDS[field];
  const char *p = c->p;
  if (p < c->end && isdigit((unsigned char)*p)) {
    int n = 0, digits = 0;
    while (p < c->end && isdigit((unsigned char)*p)) {
      if (++digits > 4) return field_error(err, field, tok, toklen, "number too large (allowed %d-%d)", f->min, f->max);
      n = n * 10 + (*p++ - '0');
    }
    c->p = p;
    *v = n;
    return 0;
  }
  const char *start = p;
  while (p < c->end && isalpha((unsigned char)*p)) p++;
  size_t n = (size_t)(p - start);
  if (n == 0) {
    if (f->names)
      return field_error(err, field, tok, toklen, "expected a number %d-%d or a name (%s..%s)", f->min, f->max,
                         f->names[0], field == F_MONTH ? "dec" : "sat");
    return field_error(err, field, tok, toklen, "expected a number %d-%d", f->min, f->max);
  }
  if (!f->names) return field_error(err, field, tok, toklen, "names are not allowed here (expected a number %d-%d)", f->min, f->max);
  for (int i = 0; f->names[i]; i++) {
    if (n == 3 && strncasecmp(start, f->names[i], 3) == 0) {
      c->p = p;
      *v = f->names_base + i;
      return 0;
    }
  }
  return field_error(err, field, tok, toklen, "unknown name (expected %s)",
                     field == F_MONTH ? "jan, feb, ..., dec" : "sun, mon, tue, wed, thu, fri, sat");
}

/* Parses one list item (`*`, N, A-B, with an optional /S) and sets its bits. */
static int parse_item(const char *tok, size_t toklen, int field, uint64_t *bits, int *star, char *err) {
  const field_def *f = &FIELDS[field];
  cursor c = {tok, tok + toklen};
  int lo, hi, step = 1, single = 0;
  if (toklen == 0) return field_error(err, field, tok, toklen, "empty list item");
  if (*c.p == '*') {
    c.p++;
    lo = f->star_lo, hi = f->star_hi;
    *star = 1;
  } else {
    if (read_value(&c, field, tok, toklen, &lo, err) != 0) return -1;
    hi = lo;
    single = 1;
    if (c.p < c.end && *c.p == '-') {
      c.p++;
      if (read_value(&c, field, tok, toklen, &hi, err) != 0) return -1;
      single = 0;
    }
  }
  if (c.p < c.end && *c.p == '/') {
    c.p++;
    if (c.p == c.end || !isdigit((unsigned char)*c.p))
      return field_error(err, field, tok, toklen, "expected a step number after '/'");
    step = 0;
    int digits = 0;
    while (c.p < c.end && isdigit((unsigned char)*c.p)) {
      if (++digits > 4) return field_error(err, field, tok, toklen, "step too large");
      step = step * 10 + (*c.p++ - '0');
    }
    int maxstep = f->star_hi - f->star_lo;
    if (step < 1 || step > maxstep)
      return field_error(err, field, tok, toklen, "step must be between 1 and %d", maxstep);
    if (single) hi = f->max == 7 ? 6 : f->max; /* "A/S" = A-max/S */
  }
  if (c.p != c.end) {
    char ch[48];
    shown(c.p, 1, ch);
    return field_error(err, field, tok, toklen, "unexpected '%s' (expected N, A-B, *, or a /step after a range)", ch);
  }
  if (lo < f->min || lo > f->max) return field_error(err, field, tok, toklen, "%d is out of range %d-%d", lo, f->min, f->max);
  if (hi < f->min || hi > f->max) return field_error(err, field, tok, toklen, "%d is out of range %d-%d", hi, f->min, f->max);
  if (lo > hi)
    return field_error(err, field, tok, toklen, "range %d-%d is backwards (split it, e.g. %d-%d,%d-%d)", lo, hi, lo,
                       f->max == 7 ? 6 : f->max, f->min, hi);
  for (int v = lo; v <= hi; v += step) *bits |= (uint64_t)1 << v;
  return 0;
}

/* Parses a comma-separated field; *restricted = the field does not start with '*'. */
static int parse_field(const char *s, size_t len, int field, uint64_t *bits, int *restricted, char *err) {
  *bits = 0;
  *restricted = !(len > 0 && s[0] == '*');
  size_t start = 0;
  for (size_t i = 0; i <= len; i++) {
    if (i == len || s[i] == ',') {
      int star = 0;
      if (i == start) return field_error(err, field, s, len, "empty list item");
      if (parse_item(s + start, i - start, field, bits, &star, err) != 0) return -1;
      start = i + 1;
    }
  }
  if (field == F_DOW && (*bits >> 7 & 1)) *bits = (*bits & 0x7f) | 1; /* 7 is Sunday too */
  return 0;
}

static int is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

static int is_leap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

static int days_in_month(int64_t y, int m) {
  static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && is_leap(y) ? 29 : mdays[m - 1];
}

/* Rejects an expression whose day-of-month can never occur in its months (only when the day-of-month alone
   decides, i.e. the day-of-week field is unrestricted). */
static int check_satisfiable(const cron_expr *e, char *err) {
  if (!e->dom_restricted || e->dow_restricted) return 0;
  for (int m = 1; m <= 12; m++) {
    if (!(e->month >> m & 1)) continue;
    for (int d = 1; d <= (m == 2 ? 29 : days_in_month(2001, m)); d++)
      if (e->dom >> d & 1) return 0;
  }
  snprintf(err, CRON_ERR_MAX, "day-of-month field: none of its days occurs in the months of the month field, "
                              "so the expression never fires");
  return -1;
}

/* Parses an expression into bit sets; -1 with a message naming the field and the token. */
int cron_parse(const char *text, size_t len, cron_expr *out, char *err) {
  const char *p = text, *end = text + len;
  while (p < end && is_space(*p)) p++;
  while (end > p && is_space(end[-1])) end--;
  if (p == end) {
    snprintf(err, CRON_ERR_MAX, "empty cron expression (expected 5 fields: minute hour day-of-month month day-of-week)");
    return -1;
  }
  if (*p == '@') {
    char tokbuf[48];
    for (int i = 0; MACROS[i].name; i++) {
      size_t n = strlen(MACROS[i].name);
      if ((size_t)(end - p) == n && strncasecmp(p, MACROS[i].name, n) == 0)
        return cron_parse(MACROS[i].expr, strlen(MACROS[i].expr), out, err);
    }
    shown(p, (size_t)(end - p), tokbuf);
    snprintf(err, CRON_ERR_MAX, "unknown shorthand '%s' (expected @yearly, @annually, @monthly, @weekly, @daily, "
                                "@midnight or @hourly)", tokbuf);
    return -1;
  }
  const char *fs[NFIELDS + 1];
  size_t fl[NFIELDS + 1];
  int n = 0;
  while (p < end) {
    const char *s = p;
    while (p < end && !is_space(*p)) p++;
    if (n <= NFIELDS) fs[n] = s, fl[n] = (size_t)(p - s);
    n++;
    while (p < end && is_space(*p)) p++;
  }
  if (n != NFIELDS) {
    snprintf(err, CRON_ERR_MAX, "expected 5 fields (minute hour day-of-month month day-of-week), got %d%s", n,
             n == 6 ? " (a seconds or year field is not supported)" : "");
    return -1;
  }
  cron_expr e;
  memset(&e, 0, sizeof e);
  uint64_t bits[NFIELDS];
  int restricted[NFIELDS];
  for (int i = 0; i < NFIELDS; i++)
    if (parse_field(fs[i], fl[i], i, &bits[i], &restricted[i], err) != 0) return -1;
  e.minute = bits[F_MINUTE];
  e.hour = (uint32_t)bits[F_HOUR];
  e.dom = (uint32_t)bits[F_DOM];
  e.month = (uint16_t)bits[F_MONTH];
  e.dow = (uint8_t)bits[F_DOW];
  e.dom_restricted = (uint8_t)restricted[F_DOM];
  e.dow_restricted = (uint8_t)restricted[F_DOW];
  if (check_satisfiable(&e, err) != 0) return -1;
  *out = e;
  return 0;
}

/* ---- civil calendar (proleptic Gregorian; days since 1970-01-01) ---- */

static int64_t days_from_civil(int64_t y, int m, int d) {
  y -= m <= 2;
  int64_t era = (y >= 0 ? y : y - 399) / 400;
  int64_t yoe = y - era * 400;
  int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, int *m, int *d) {
  z += 719468;
  int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  int64_t doe = z - era * 146097;
  int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  int64_t mp = (5 * doy + 2) / 153;
  *d = (int)(doy - (153 * mp + 2) / 5 + 1);
  *m = (int)(mp < 10 ? mp + 3 : mp - 9);
  *y = yoe + era * 400 + (*m <= 2);
}

/* 0 = Sunday; 1970-01-01 was a Thursday. */
static int weekday(int64_t days) { return (int)(((days % 7) + 11) % 7); }

/* The day rule: the month, then day-of-month OR day-of-week when both are restricted, AND otherwise. */
int cron_day_matches(const cron_expr *e, int year, int month, int day) {
  if (month < 1 || month > 12 || day < 1 || day > days_in_month(year, month)) return 0;
  if (!(e->month >> month & 1)) return 0;
  int dom = (int)(e->dom >> day & 1);
  int dow = e->dow >> weekday(days_from_civil(year, month, day)) & 1;
  if (e->dom_restricted && e->dow_restricted) return dom || dow;
  return dom && dow;
}

/* ---- from wall-clock minutes to instants ---- */

typedef struct civil {
  int64_t day; /* days since 1970-01-01 */
  int hour, minute;
} civil;

/* The earliest instant at which the local wall clock shows y-m-d h:mi, or -1 if it never does (a DST gap). */
static int local_instant(int64_t y, int m, int d, int h, int mi, int64_t *out) {
  int found = 0;
  for (int isdst = 0; isdst <= 1; isdst++) {
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    tm.tm_year = (int)(y - 1900), tm.tm_mon = m - 1, tm.tm_mday = d, tm.tm_hour = h, tm.tm_min = mi;
    tm.tm_isdst = isdst;
    time_t t = mktime(&tm);
    struct tm back;
    if (!localtime_r(&t, &back)) continue;
    if (back.tm_year != (int)(y - 1900) || back.tm_mon != m - 1 || back.tm_mday != d || back.tm_hour != h ||
        back.tm_min != mi || back.tm_sec != 0)
      continue; /* mktime normalised a time the clock skips */
    if (!found || (int64_t)t < *out) *out = (int64_t)t;
    found = 1;
  }
  return found ? 0 : -1;
}

/* The wall-clock minute after `after` in the zone. */
static int start_minute(int64_t after, cron_zone zone, civil *c) {
  if (zone == CRON_UTC) {
    int64_t day = after >= 0 ? after / 86400 : -((-after + 86399) / 86400);
    int64_t secs = after - day * 86400;
    c->day = day, c->hour = (int)(secs / 3600), c->minute = (int)(secs % 3600 / 60);
  } else {
    time_t t = (time_t)after;
    struct tm tm;
    if (!localtime_r(&t, &tm)) return -1;
    c->day = days_from_civil((int64_t)tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
    c->hour = tm.tm_hour, c->minute = tm.tm_min;
  }
  if (++c->minute == 60) {
    c->minute = 0;
    if (++c->hour == 24) c->hour = 0, c->day++;
  }
  return 0;
}

/* Years 1900..9000: mktime and localtime handle them everywhere. */
#define CRON_MIN_TIME (-2208988800LL)
#define CRON_MAX_TIME (221845392000LL)

/* Walks wall-clock days, hours and minutes from the minute after `after`; -1 past the horizon. */
int cron_next(const cron_expr *e, int64_t after, cron_zone zone, int64_t *next) {
  if (after < CRON_MIN_TIME || after > CRON_MAX_TIME) return -1;
  civil c;
  if (start_minute(after, zone, &c) != 0) return -1;
  int64_t last = c.day + (int64_t)CRON_HORIZON_YEARS * 366;
  int h0 = c.hour, m0 = c.minute;
  for (int64_t day = c.day; day <= last; day++, h0 = 0, m0 = 0) {
    int64_t y;
    int m, d;
    civil_from_days(day, &y, &m, &d);
    if (!(e->month >> m & 1)) { /* skip to the month's last day; the loop steps into the next month */
      day += days_in_month(y, m) - d;
      continue;
    }
    if (!cron_day_matches(e, (int)y, m, d)) continue;
    for (int hh = h0; hh < 24; hh++) {
      if (!(e->hour >> hh & 1)) continue;
      for (int mm = hh == h0 ? m0 : 0; mm < 60; mm++) {
        if (!(e->minute >> mm & 1)) continue;
        int64_t t = 0;
        if (zone == CRON_UTC) t = day * 86400 + hh * 3600 + mm * 60;
        else if (local_instant(y, m, d, hh, mm, &t) != 0 || t <= after) continue; /* skipped, or already past */
        *next = t;
        return 0;
      }
    }
  }
  return -1;
}

/* ---- intervals ---- */

/* Sums number+unit parts; -1 with a message on anything else or outside 1 s .. 366 d. */
int cron_parse_interval(const char *text, size_t len, int64_t *seconds, char *err) {
  const char *p = text, *end = text + len;
  int64_t total = 0;
  int parts = 0;
  char tokbuf[48];
  shown(text, len, tokbuf);
  while (p < end && is_space(*p)) p++;
  while (end > p && is_space(end[-1])) end--;
  while (p < end) {
    int64_t n = 0;
    int digits = 0;
    while (p < end && isdigit((unsigned char)*p)) {
      if (++digits > 9) goto bad;
      n = n * 10 + (*p++ - '0');
    }
    if (digits == 0 || p == end) goto bad;
    switch (tolower((unsigned char)*p++)) {
    case 's': total += n; break;
    case 'm': total += n * 60; break;
    case 'h': total += n * 3600; break;
    case 'd': total += n * 86400; break;
    default: goto bad;
    }
    if (total > 366LL * 86400) {
      snprintf(err, CRON_ERR_MAX, "interval '%s' is longer than 366 days", tokbuf);
      return -1;
    }
    parts++;
    while (p < end && is_space(*p)) p++;
  }
  if (parts == 0) goto bad;
  if (total < 1) {
    snprintf(err, CRON_ERR_MAX, "interval '%s' must be at least 1 second", tokbuf);
    return -1;
  }
  *seconds = total;
  return 0;
bad:
  snprintf(err, CRON_ERR_MAX, "bad interval '%s': expected a number and a unit s, m, h or d (e.g. 30s, 2m, 1h, 1d, 1h30m)",
           tokbuf);
  return -1;
}
