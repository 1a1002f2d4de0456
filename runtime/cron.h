/*
** cron.h: 5-field cron expressions and interval literals for the scheduler. Parsing reports errors naming the field
** and the token; cron_next finds the next fire time after an instant, in UTC or in the process's local time zone.
** Plain C over bit sets, no Lua: unit-tested in tests/unit/test_cron.c and fuzzed by tests/fuzz/fuzz_cron.c.
**
** Syntax (Vixie cron): "minute hour day-of-month month day-of-week", each field a comma-separated list of
** `*`, `N`, `A-B`, `*`/S, `A-B/S` or `A/S` (= A-max/S); months jan..dec, days sun..sat (case-insensitive),
** day-of-week 0 and 7 are Sunday; @yearly @annually @monthly @weekly @daily @midnight @hourly.
** Day rule: when both day fields are restricted (neither starts with `*`) a day matches if EITHER matches;
** otherwise both must (a field starting with `*`, e.g. `*`/2, counts as unrestricted, as in Vixie cron).
** Local time: each matching wall-clock minute fires once, at its first occurrence; one that does not exist (the hour
** skipped when clocks go forward) is skipped; one that occurs twice (clocks go back) fires only the first time.
*/
#ifndef MERCADO_CRON_H
#define MERCADO_CRON_H

#include <stddef.h>
#include <stdint.h>

#define CRON_ERR_MAX 200
/* How far cron_next looks ahead. A day-of-month starting with '*' is ANDed with the day of the week, and the 1st
   of a given month falls on a given weekday up to 12 years apart; a Feb 29 on a given weekday, up to 40 years apart
   across a century year that is not a leap year. So every expression cron_parse accepts fires within this. */
#define CRON_HORIZON_YEARS 41

typedef struct cron_expr {
  uint64_t minute;    /* bit m: minute m, 0..59 */
  uint32_t hour;      /* bit h: hour h, 0..23 */
  uint32_t dom;       /* bit d: day of month d, 1..31 */
  uint16_t month;     /* bit m: month m, 1..12 */
  uint8_t dow;        /* bit d: day of week d, 0..6 (0 = Sunday) */
  uint8_t dom_restricted; /* the day-of-month field does not start with '*' */
  uint8_t dow_restricted; /* the day-of-week field does not start with '*' */
} cron_expr;

typedef enum cron_zone { CRON_UTC = 0, CRON_LOCAL = 1 } cron_zone;

/* Parses an expression of len bytes. Returns 0, or -1 with err (CRON_ERR_MAX bytes) naming the field, the token and
   what was expected. Rejects expressions that can never fire (e.g. day 31 in February only). */
int cron_parse(const char *text, size_t len, cron_expr *out, char *err);

/* Whether a civil date (year, month 1..12, day 1..31) matches the day fields, month included. */
int cron_day_matches(const cron_expr *e, int year, int month, int day);

/* The first fire time strictly after `after` (seconds since the epoch) into *next. Returns 0, or -1 when none
   exists within CRON_HORIZON_YEARS or the time cannot be represented. CRON_LOCAL uses localtime/mktime (TZ). */
int cron_next(const cron_expr *e, int64_t after, cron_zone zone, int64_t *next);

/* Parses an interval such as "30s", "2m", "1h", "1d" or "1h30m" (units s, m, h, d; optional spaces between parts)
   into seconds, 1 s .. 366 d. Returns 0, or -1 with err. */
int cron_parse_interval(const char *text, size_t len, int64_t *seconds, char *err);

#endif
