/*
** fuzz_cron.c: libFuzzer target for the cron parser and next-fire-time search (runtime/cron.c) and the interval
** parser. Checks what an accepted expression claims: bits only inside each field's range, a next fire time after
** the start that matches every field, and no matching minute skipped before it (scanned when it is near).
*/
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cron.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The day rule written again, with libc's calendar. */
static int matches(const cron_expr *e, int64_t t) {
  time_t tt = (time_t)t;
  struct tm tm;
  gmtime_r(&tt, &tm);
  if (!(e->minute >> tm.tm_min & 1) || !(e->hour >> tm.tm_hour & 1) || !(e->month >> (tm.tm_mon + 1) & 1)) return 0;
  int dom = (int)(e->dom >> tm.tm_mday & 1), dow = e->dow >> tm.tm_wday & 1;
  return (e->dom_restricted && e->dow_restricted) ? (dom || dow) : (dom && dow);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *s = (const char *)data;
  char err[CRON_ERR_MAX];
  int64_t secs;
  if (cron_parse_interval(s, size, &secs, err) == 0 && (secs < 1 || secs > 366LL * 86400)) abort();
  cron_expr e;
  if (cron_parse(s, size, &e, err) != 0) {
    if (memchr(err, '\0', CRON_ERR_MAX) == NULL) abort(); /* the message is a terminated string */
    return 0;
  }
  if ((e.minute >> 60) || (e.hour >> 24) || (e.dom & 1) || (e.month & 1) || (e.month >> 13) || (e.dow >> 7)) abort();
  if (!e.minute || !e.hour || !e.dom || !e.month || !e.dow) abort();
  const int64_t start = 1767225600; /* 2026-01-01T00:00Z */
  int64_t next;
  if (cron_next(&e, start, CRON_UTC, &next) != 0) abort(); /* parse rejects what never fires */
  if (next <= start || next % 60 != 0 || !matches(&e, next)) abort();
  if (next - start <= 3 * 86400)
    for (int64_t t = start + 60; t < next; t += 60)
      if (matches(&e, t)) abort();
  int64_t again;
  if (cron_next(&e, next, CRON_UTC, &again) != 0 || again <= next || !matches(&e, again)) abort();
  return 0;
}
