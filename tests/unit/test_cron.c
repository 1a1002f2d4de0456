/*
** test_cron.c: unit tests of runtime/cron.c. Next fire times of many expressions against hand-computed tables (UTC,
** and local time in America/New_York and Europe/Madrid across DST changes); a brute-force cross-check that scans
** minute by minute with libc's gmtime/localtime and its own matcher; parse errors naming field and token; intervals.
*/
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cron.h"
#include "check.h"

/* "YYYY-MM-DDTHH:MM" (UTC) -> seconds, through libc's timegm. */
static int64_t utc(const char *iso) {
  struct tm tm;
  memset(&tm, 0, sizeof tm);
  if (sscanf(iso, "%d-%d-%dT%d:%d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min) != 5) {
    fprintf(stderr, "bad test time %s\n", iso);
    exit(2);
  }
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  return (int64_t)timegm(&tm);
}

static void show_utc(int64_t t, char out[32]) {
  time_t tt = (time_t)t;
  struct tm tm;
  gmtime_r(&tt, &tm);
  strftime(out, 32, "%Y-%m-%dT%H:%MZ %a", &tm);
}

/* ---- hand-computed tables ---- */

typedef struct next_case {
  const char *expr;
  const char *after; /* UTC */
  const char *want[13]; /* successive fire times (UTC), NULL-terminated */
} next_case;

/* Calendar facts used below: 2026-01-01 is a Thursday; 2026-05-11 is a Monday; 2028-02-29 the next Feb 29. */
static const next_case UTC_CASES[] = {
  {"*/15 * * * *", "2026-01-01T00:00", {"2026-01-01T00:15", "2026-01-01T00:30", "2026-01-01T00:45", "2026-01-01T01:00",
                                         "2026-01-01T01:15", NULL}},
  {"*/15 * * * *", "2026-01-01T00:07", {"2026-01-01T00:15", NULL}},
  {"*/15 * * * *", "2026-12-31T23:50", {"2027-01-01T00:00", "2027-01-01T00:15", NULL}},
  {"0 0 1 * *", "2026-01-01T00:00", {"2026-02-01T00:00", "2026-03-01T00:00", "2026-04-01T00:00", "2026-05-01T00:00",
                                      "2026-06-01T00:00", NULL}},
  {"0 0 1 * *", "2026-01-31T23:59", {"2026-02-01T00:00", NULL}},
  /* Sundays at 04:05 */
  {"5 4 * * sun", "2026-01-01T00:00", {"2026-01-04T04:05", "2026-01-11T04:05", "2026-01-18T04:05", "2026-01-25T04:05",
                                        "2026-02-01T04:05", NULL}},
  {"5 4 * * sun", "2026-01-04T04:05", {"2026-01-11T04:05", NULL}},
  /* weekdays at 9, 11, 13, 15, 17; Thursday 1st and Friday 2nd, then Monday 5th */
  {"0 9-17/2 * * 1-5", "2026-01-01T00:00",
   {"2026-01-01T09:00", "2026-01-01T11:00", "2026-01-01T13:00", "2026-01-01T15:00", "2026-01-01T17:00",
    "2026-01-02T09:00", "2026-01-02T11:00", "2026-01-02T13:00", "2026-01-02T15:00", "2026-01-02T17:00",
    "2026-01-05T09:00", "2026-01-05T11:00", NULL}},
  {"0 9-17/2 * * mon-fri", "2026-01-02T17:00", {"2026-01-05T09:00", NULL}},
  {"30 2 29 2 *", "2026-01-01T00:00", {"2028-02-29T02:30", "2032-02-29T02:30", NULL}},
  /* both day fields restricted: the 13th OR any Friday */
  {"0 12 13 * fri", "2026-01-01T00:00", {"2026-01-02T12:00", "2026-01-09T12:00", "2026-01-13T12:00", "2026-01-16T12:00",
                                          "2026-01-23T12:00", "2026-01-30T12:00", "2026-02-06T12:00", "2026-02-13T12:00",
                                          NULL}},
  /* 1st-7th OR Mondays */
  {"0 0 1-7 * mon", "2026-01-01T00:00", {"2026-01-02T00:00", "2026-01-03T00:00", "2026-01-04T00:00", "2026-01-05T00:00",
                                          "2026-01-06T00:00", "2026-01-07T00:00", "2026-01-12T00:00", "2026-01-19T00:00",
                                          NULL}},
  /* a day field starting with '*' is unrestricted: days 1, 11, 21, 31 AND Monday -> first is 2026-05-11 */
  {"0 0 */10 * mon", "2026-01-01T00:00", {"2026-05-11T00:00", NULL}},
  {"0 0 */10 * *", "2026-01-01T00:00", {"2026-01-11T00:00", "2026-01-21T00:00", "2026-01-31T00:00", "2026-02-01T00:00",
                                         "2026-02-11T00:00", NULL}},
  {"0 0 * * 7", "2026-01-01T00:00", {"2026-01-04T00:00", "2026-01-11T00:00", NULL}},
  {"0 0 * * 5-7", "2026-01-01T00:00", {"2026-01-02T00:00", "2026-01-03T00:00", "2026-01-04T00:00", "2026-01-09T00:00",
                                        NULL}},
  {"15,45 */6 * jan,jul *", "2026-01-01T00:00", {"2026-01-01T00:15", "2026-01-01T00:45", "2026-01-01T06:15",
                                                  "2026-01-01T06:45", "2026-01-01T12:15", NULL}},
  {"15,45 */6 * jan,jul *", "2026-01-31T23:00", {"2026-07-01T00:15", NULL}},
  {"59 23 31 dec *", "2026-01-01T00:00", {"2026-12-31T23:59", "2027-12-31T23:59", NULL}},
  /* '*' day-of-month ANDed with the weekday: April 1st on a Wednesday, 11 years apart (found by fuzz_cron) */
  {"5 4 */30 4 3", "2026-01-01T00:00", {"2026-04-01T04:05", "2037-04-01T04:05", "2043-04-01T04:05", NULL}},
  /* February 1st or 29th on a Monday: 8 years to the first, then a leap day */
  {"0 0 */28 2 mon", "2030-01-01T00:00", {"2038-02-01T00:00", "2044-02-01T00:00", "2044-02-29T00:00", NULL}},
  {"5/20 * * * *", "2026-01-01T00:00", {"2026-01-01T00:05", "2026-01-01T00:25", "2026-01-01T00:45", "2026-01-01T01:05",
                                         NULL}},
  {"0 22-23,0-1 * * *", "2026-01-01T21:00", {"2026-01-01T22:00", "2026-01-01T23:00", "2026-01-02T00:00",
                                              "2026-01-02T01:00", "2026-01-02T22:00", NULL}},
  {"@hourly", "2026-01-01T00:00", {"2026-01-01T01:00", NULL}},
  {"@daily", "2026-01-01T00:00", {"2026-01-02T00:00", NULL}},
  {"@weekly", "2026-01-01T00:00", {"2026-01-04T00:00", NULL}},
  {"@monthly", "2026-01-15T00:00", {"2026-02-01T00:00", NULL}},
  {"@yearly", "2026-06-01T00:00", {"2027-01-01T00:00", NULL}},
  {"  0   6 * *   *  ", "2026-01-01T06:00", {"2026-01-02T06:00", NULL}},
  {"* * * * *", "2026-01-01T23:59", {"2026-01-02T00:00", "2026-01-02T00:01", NULL}},
  {"0 0 29 * *", "2026-01-29T00:00", {"2026-03-29T00:00", NULL}}, /* no Feb 29 in 2026 */
};

/* Local time. America/New_York: 2026-03-08 02:00 EST -> 03:00 EDT; 2026-11-01 02:00 EDT -> 01:00 EST.
   Europe/Madrid: 2026-03-29 02:00 CET -> 03:00 CEST; 2026-10-25 03:00 CEST -> 02:00 CET; 2027-03-28 is the next
   spring change, so 2027-03-29 02:30 exists (CEST, 00:30Z). Wanted times are given in UTC. */
typedef struct local_case {
  const char *tz;
  next_case c;
} local_case;

static const local_case LOCAL_CASES[] = {
  /* 02:30 does not exist on 2026-03-08: skipped; 03-09 02:30 EDT = 06:30Z; 03-07 02:30 EST = 07:30Z */
  {"America/New_York", {"30 2 * * *", "2026-03-06T12:00", {"2026-03-07T07:30", "2026-03-09T06:30", "2026-03-10T06:30", NULL}}},
  /* 01:30 happens twice on 2026-11-01: fires once (01:30 EDT = 05:30Z), then 11-02 01:30 EST = 06:30Z */
  {"America/New_York", {"30 1 * * *", "2026-10-31T16:00", {"2026-11-01T05:30", "2026-11-02T06:30", NULL}}},
  /* half-hourly through the repeated hour: 01:00 EDT, 01:30 EDT, then 02:00 EST (the second 01:00/01:30 skipped) */
  {"America/New_York", {"*/30 * * * *", "2026-11-01T04:59", {"2026-11-01T05:00", "2026-11-01T05:30", "2026-11-01T07:00",
                                                              "2026-11-01T07:30", NULL}}},
  /* hourly through the skipped hour: 01:00 EST, then 03:00 EDT */
  {"America/New_York", {"0 * * * *", "2026-03-08T05:30", {"2026-03-08T06:00", "2026-03-08T07:00", "2026-03-08T08:00", NULL}}},
  {"America/New_York", {"0 12 * * *", "2026-06-30T17:00", {"2026-07-01T16:00", NULL}}},
  {"America/New_York", {"0 12 * * *", "2026-12-31T18:00", {"2027-01-01T17:00", NULL}}},
  /* started inside the repeated hour (01:20 EST = 06:20Z): the rest of that hour already fired */
  {"America/New_York", {"*/15 * * * *", "2026-11-01T06:20", {"2026-11-01T07:00", NULL}}},
  {"Europe/Madrid", {"30 2 29 3 *", "2026-01-01T00:00", {"2027-03-29T00:30", NULL}}},
  {"Europe/Madrid", {"0 2 * * *", "2026-10-24T12:00", {"2026-10-25T00:00", "2026-10-26T01:00", NULL}}},
  {"UTC", {"0 9-17/2 * * 1-5", "2026-01-01T00:00", {"2026-01-01T09:00", "2026-01-01T11:00", NULL}}},
};

static void run_case(const next_case *c, cron_zone zone, const char *tz) {
  cron_expr e;
  char err[CRON_ERR_MAX];
  if (cron_parse(c->expr, strlen(c->expr), &e, err) != 0) {
    CHECK(0, "parse '%s': %s", c->expr, err);
    return;
  }
  int64_t t = utc(c->after);
  for (int i = 0; c->want[i]; i++) {
    int64_t next = 0, want = utc(c->want[i]);
    int rc = cron_next(&e, t, zone, &next);
    char got_s[32], want_s[32];
    show_utc(next, got_s);
    show_utc(want, want_s);
    CHECK(rc == 0 && next == want, "'%s' [%s] fire %d after %s: got %s, want %s", c->expr, tz, i + 1, c->after,
          rc == 0 ? got_s : "none", want_s);
    if (rc != 0) return;
    t = next;
  }
}

static void set_tz(const char *tz) {
  setenv("TZ", tz, 1);
  tzset();
}

/* Whether the zone database has tz (without it, TZ=name silently means UTC). */
static int have_zone(const char *tz) {
  char path[256] = "/usr/share/zoneinfo/";
  size_t n = strlen(path), m = strlen(tz);
  if (n + m >= sizeof path) return 0;
  memcpy(path + n, tz, m + 1);
  return access(path, R_OK) == 0;
}

static void test_tables(void) {
  for (size_t i = 0; i < sizeof UTC_CASES / sizeof UTC_CASES[0]; i++) run_case(&UTC_CASES[i], CRON_UTC, "UTC");
  /* CRON_LOCAL with TZ=UTC gives the same table */
  set_tz("UTC");
  for (size_t i = 0; i < sizeof UTC_CASES / sizeof UTC_CASES[0]; i++) run_case(&UTC_CASES[i], CRON_LOCAL, "local=UTC");
  for (size_t i = 0; i < sizeof LOCAL_CASES / sizeof LOCAL_CASES[0]; i++) {
    if (strcmp(LOCAL_CASES[i].tz, "UTC") != 0 && !have_zone(LOCAL_CASES[i].tz)) {
      printf("skip %s: no zone data (install tzdata)\n", LOCAL_CASES[i].tz);
      continue;
    }
    set_tz(LOCAL_CASES[i].tz);
    run_case(&LOCAL_CASES[i].c, CRON_LOCAL, LOCAL_CASES[i].tz);
  }
}

/* ---- brute force: scan minute by minute with libc ---- */

static uint32_t rng_state = 12345;
static uint32_t rnd(uint32_t n) {
  rng_state = rng_state * 1103515245u + 12345u;
  return (rng_state >> 8) % n;
}

/* A random field text: '*', a value, a range, a step, or a short list of them. */
static void random_field(char *out, size_t cap, int lo, int hi) {
  int items = 1 + (int)rnd(3);
  size_t n = 0;
  out[0] = '\0';
  for (int i = 0; i < items; i++) {
    int a = lo + (int)rnd((uint32_t)(hi - lo + 1)), b = lo + (int)rnd((uint32_t)(hi - lo + 1));
    if (a > b) { int t = a; a = b; b = t; }
    int step = 1 + (int)rnd((uint32_t)(hi - lo));
    switch (rnd(5)) {
    case 0: n += (size_t)snprintf(out + n, cap - n, "%s*", i ? "," : ""); break;
    case 1: n += (size_t)snprintf(out + n, cap - n, "%s%d", i ? "," : "", a); break;
    case 2: n += (size_t)snprintf(out + n, cap - n, "%s%d-%d", i ? "," : "", a, b); break;
    case 3: n += (size_t)snprintf(out + n, cap - n, "%s*/%d", i ? "," : "", step); break;
    default: n += (size_t)snprintf(out + n, cap - n, "%s%d-%d/%d", i ? "," : "", a, b, step); break;
    }
  }
}

/* The matcher written again: sets from the parsed bits, the weekday from libc's tm_wday. */
static int brute_matches(const cron_expr *e, const struct tm *tm) {
  if (!(e->minute >> tm->tm_min & 1) || !(e->hour >> tm->tm_hour & 1) || !(e->month >> (tm->tm_mon + 1) & 1)) return 0;
  int dom = (int)(e->dom >> tm->tm_mday & 1), dow = e->dow >> tm->tm_wday & 1;
  return (e->dom_restricted && e->dow_restricted) ? (dom || dow) : (dom && dow);
}

static void test_brute_utc(void) {
  int checked = 0;
  for (int k = 0; k < 150; k++) {
    char f[5][64], text[400];
    random_field(f[0], 64, 0, 59);
    random_field(f[1], 64, 0, 23);
    random_field(f[2], 64, 1, 31);
    random_field(f[3], 64, 1, 12);
    random_field(f[4], 64, 0, 7);
    snprintf(text, sizeof text, "%s %s %s %s %s", f[0], f[1], f[2], f[3], f[4]);
    cron_expr e;
    char err[CRON_ERR_MAX];
    if (cron_parse(text, strlen(text), &e, err) != 0) continue; /* e.g. backwards ranges are impossible here; never-fires */
    int64_t after = utc("2026-01-01T00:00") + (int64_t)rnd(400) * 86400 + (int64_t)rnd(86400);
    int64_t next = -1;
    int rc = cron_next(&e, after, CRON_UTC, &next);
    /* scan at most 40 days of minutes */
    int64_t t = (after / 60 + 1) * 60, found = -1;
    for (int i = 0; i < 40 * 1440; i++, t += 60) {
      time_t tt = (time_t)t;
      struct tm tm;
      gmtime_r(&tt, &tm);
      if (brute_matches(&e, &tm)) {
        found = t;
        break;
      }
    }
    if (found >= 0) CHECK(rc == 0 && next == found, "brute force '%s' after %lld: cron_next %lld, scan %lld", text,
                          (long long)after, (long long)next, (long long)found);
    else CHECK(rc != 0 || next >= t, "brute force '%s': cron_next %lld inside a scanned window without a match", text,
               (long long)next);
    checked++;
  }
  CHECK(checked > 100, "only %d random expressions parsed", checked);
}

/* Local time: fires at t iff the wall clock at t matches and t is the first instant showing that minute. The scan
   lists every fire time of the window; cron_next must return them in a chain and from random instants (some inside
   the repeated hour). */
static void test_brute_local(const char *tz, const char *from, int days) {
  static const char *exprs[] = {"*/30 * * * *", "30 1 * * *", "0 2 * * *", "15 1-3 * * *", "*/7 0-4 * * *",
                                "0 * * * 0", "45 2 * * sun", NULL};
  static int64_t fires[40 * 1440];
  if (!have_zone(tz)) {
    printf("skip %s: no zone data (install tzdata)\n", tz);
    return;
  }
  set_tz(tz);
  for (int k = 0; exprs[k]; k++) {
    cron_expr e;
    char err[CRON_ERR_MAX];
    CHECK(cron_parse(exprs[k], strlen(exprs[k]), &e, err) == 0, "parse %s", exprs[k]);
    int64_t t = utc(from), end = t + (int64_t)days * 86400;
    int nf = 0;
    for (int64_t s = (t / 60 + 1) * 60; s < end && nf < 40 * 1440; s += 60) {
      time_t tt = (time_t)s, earlier = (time_t)(s - 3600);
      struct tm tm, tm1;
      localtime_r(&tt, &tm);
      localtime_r(&earlier, &tm1);
      int repeated = tm1.tm_year == tm.tm_year && tm1.tm_yday == tm.tm_yday && tm1.tm_hour == tm.tm_hour &&
                     tm1.tm_min == tm.tm_min;
      if (brute_matches(&e, &tm) && !repeated) fires[nf++] = s;
    }
    CHECK(nf >= 2, "%s '%s': the window has fire times", tz, exprs[k]);
    int64_t cur = t;
    for (int i = 0; i < nf; i++) {
      int64_t next = -1;
      int rc = cron_next(&e, cur, CRON_LOCAL, &next);
      char a[32], b[32];
      show_utc(next, a);
      show_utc(fires[i], b);
      CHECK(rc == 0 && next == fires[i], "local brute force %s '%s' chain: cron_next %s, scan %s", tz, exprs[k], a, b);
      cur = fires[i];
    }
    for (int r = 0; r < 300; r++) {
      int64_t after = t + (int64_t)rnd((uint32_t)(fires[nf - 1] - t));
      int i = 0;
      while (fires[i] <= after) i++;
      int64_t next = -1;
      int rc = cron_next(&e, after, CRON_LOCAL, &next);
      char a[32], b[32];
      show_utc(next, a);
      show_utc(fires[i], b);
      CHECK(rc == 0 && next == fires[i], "local brute force %s '%s' after %lld: cron_next %s, scan %s", tz, exprs[k],
            (long long)after, a, b);
    }
  }
}

/* ---- errors ---- */

typedef struct err_case {
  const char *expr, *want;
} err_case;

static const err_case ERRORS[] = {
  {"61 * * * *", "minute field: '61': 61 is out of range 0-59"},
  {"* 24 * * *", "hour field: '24': 24 is out of range 0-23"},
  {"* * 0 * *", "day-of-month field: '0': 0 is out of range 1-31"},
  {"* * * 13 *", "month field: '13': 13 is out of range 1-12"},
  {"* * * * 8", "day-of-week field: '8': 8 is out of range 0-7"},
  {"* * * foo *", "month field: 'foo': unknown name (expected jan, feb, ..., dec)"},
  {"* * * * monday", "day-of-week field: 'monday': unknown name"},
  {"mon * * * *", "minute field: 'mon': names are not allowed here"},
  {"*/0 * * * *", "minute field: '*/0': step must be between 1 and 59"},
  {"*/60 * * * *", "step must be between 1 and 59"},
  {"5-1 * * * *", "minute field: '5-1': range 5-1 is backwards"},
  {"* * * * fri-mon", "day-of-week field: 'fri-mon': range 5-1 is backwards (split it, e.g. 5-6,0-1)"},
  {"1,,2 * * * *", "minute field: '1,,2': empty list item"},
  {"1, * * * *", "empty list item"},
  {"1-2-3 * * * *", "minute field: '1-2-3': unexpected '-'"},
  {"*/5/2 * * * *", "unexpected '/'"},
  {"*-5 * * * *", "unexpected '-'"},
  {"5/ * * * *", "expected a step number after '/'"},
  {"* * * *", "expected 5 fields (minute hour day-of-month month day-of-week), got 4"},
  {"0 * * * * *", "got 6 (a seconds or year field is not supported)"},
  {"", "empty cron expression"},
  {"   ", "empty cron expression"},
  {"@reboot", "unknown shorthand '@reboot'"},
  {"* * 31 2 *", "never fires"},
  {"* * 30,31 feb *", "never fires"},
  {"* * 31 apr,jun,sep,nov *", "never fires"},
  {"0 0 L * *", "day-of-month field: 'L': names are not allowed here (expected a number 1-31)"},
  {"0 0 ? * *", "day-of-month field: '?': expected a number 1-31"},
  {"99999 * * * *", "minute field: '99999': number too large"},
};

static void test_errors(void) {
  for (size_t i = 0; i < sizeof ERRORS / sizeof ERRORS[0]; i++) {
    cron_expr e;
    char err[CRON_ERR_MAX] = "";
    int rc = cron_parse(ERRORS[i].expr, strlen(ERRORS[i].expr), &e, err);
    CHECK(rc == -1, "'%s' should not parse", ERRORS[i].expr);
    CHECK(strstr(err, ERRORS[i].want) != NULL, "'%s': message '%s' lacks '%s'", ERRORS[i].expr, err, ERRORS[i].want);
  }
  /* accepted forms and their sets */
  cron_expr e;
  char err[CRON_ERR_MAX];
  CHECK(cron_parse("* * * * 7", 9, &e, err) == 0 && e.dow == 1 && e.dow_restricted, "7 is Sunday");
  CHECK(cron_parse("* * * * 0,7", 11, &e, err) == 0 && e.dow == 1, "0 and 7 are one day");
  CHECK(cron_parse("* * * * SUN-sat", 15, &e, err) == 0 && e.dow == 0x7f, "names are case-insensitive");
  CHECK(cron_parse("* * * * *", 9, &e, err) == 0 && !e.dom_restricted && !e.dow_restricted && e.minute == (1ULL << 60) - 1 &&
        e.hour == (1u << 24) - 1 && e.dom == 0xfffffffeu && e.month == 0x1ffe && e.dow == 0x7f, "'*' sets every value");
  CHECK(cron_parse("* * * JAN-Mar *", 15, &e, err) == 0 && e.month == 0xe, "month names in a range");
  CHECK(cron_parse("0 0 */2 * *", 11, &e, err) == 0 && !e.dom_restricted && e.dom == 0xaaaaaaaau, "*/2 days: odd days, unrestricted");
  CHECK(cron_parse("0 0 * * 1-7/2", 13, &e, err) == 0 && e.dow == (1 | 2 | 8 | 32), "1-7/2 = mon, wed, fri, sun");
  CHECK(cron_parse("30/10 * * * *", 13, &e, err) == 0 && e.minute == ((1ULL << 30) | (1ULL << 40) | (1ULL << 50)), "30/10");
  CHECK(cron_day_matches(&e, 2026, 2, 29) == 0, "no Feb 29 in 2026");
  CHECK(cron_day_matches(&e, 2028, 2, 29) == 1, "Feb 29 in 2028");
  int64_t next;
  CHECK(cron_parse("0 0 1 1 *", 9, &e, err) == 0 && cron_next(&e, (int64_t)1 << 50, CRON_UTC, &next) == -1,
        "a time beyond the supported range has no next fire time");
}

static void test_intervals(void) {
  static const struct {
    const char *text;
    int64_t want; /* -1: rejected */
  } cases[] = {
    {"30s", 30}, {"2m", 120}, {"1h", 3600}, {"1d", 86400}, {"1h30m", 5400}, {" 2m ", 120}, {"1h 30m", 5400},
    {"90S", 90}, {"366d", 366 * 86400}, {"1d1s", 86401},
    {"2", -1}, {"m", -1}, {"0s", -1}, {"367d", -1}, {"2x", -1}, {"-1m", -1}, {"1.5h", -1}, {"", -1}, {"2 m", -1},
    {"9999999999s", -1},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    int64_t s = 0;
    char err[CRON_ERR_MAX] = "";
    int rc = cron_parse_interval(cases[i].text, strlen(cases[i].text), &s, err);
    if (cases[i].want < 0) CHECK(rc == -1 && strstr(err, "interval") != NULL, "interval '%s' should be rejected (%s)", cases[i].text, err);
    else CHECK(rc == 0 && s == cases[i].want, "interval '%s': got %lld, want %lld (%s)", cases[i].text, (long long)s,
               (long long)cases[i].want, err);
  }
}

int main(void) {
  test_tables();
  test_errors();
  test_intervals();
  test_brute_utc();
  test_brute_local("America/New_York", "2026-03-01T00:00", 21);
  test_brute_local("America/New_York", "2026-10-22T00:00", 21);
  test_brute_local("Europe/Madrid", "2026-03-18T00:00", 21);
  test_brute_local("Europe/Madrid", "2026-10-14T00:00", 21);
  if (failures) {
    fprintf(stderr, "%d failures\n", failures);
    return 1;
  }
  printf("ok cron\n");
  return 0;
}
