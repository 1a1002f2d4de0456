/*
** gen_calendar.h: the generator's calendar: the 181 days of 2013-01-01..2013-06-30, their names as text and the
** relative traffic of each day (day of week, paydays, holidays, a month trend and seeded day-to-day noise).
*/
#ifndef MERCADO_GEN_CALENDAR_H
#define MERCADO_GEN_CALENDAR_H

#include <stdint.h>

#define GEN_NDAYS 181

typedef struct gen_calendar {
  double weight[GEN_NDAYS];   /* relative traffic, mean 1 */
  double cdf[GEN_NDAYS + 1];  /* cumulative share: cdf[0] = 0, cdf[GEN_NDAYS] = 1 */
  char text[GEN_NDAYS][11];   /* "2013-01-01" */
} gen_calendar;

/* Fills the calendar for a seed (only the day-to-day noise depends on it). Cannot fail. */
void gen_calendar_init(gen_calendar *cal, uint64_t seed);
/* Day of week of day d (0 = Sunday .. 6 = Saturday). */
int gen_calendar_dow(int d);
/* The day whose cumulative share interval holds u in [0, 1). */
int gen_calendar_day_at(const gen_calendar *cal, double u);

#endif
