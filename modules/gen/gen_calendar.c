/*
** gen_calendar.c: daily traffic of the synthetic half year. A day's weight is the product of a day-of-week factor,
** a payday factor (1st-2nd, 15th-16th, 30th-31st of the month), a month trend, a factor for the few named days in
** the table below (New Year, Holy Week, Mother's and Father's Day eves, Monday holidays, one outage) and a seeded
** log-normal noise. The numbers are chosen so the day-of-week totals and the quiet and peak days look like the
** real 2013 series; see MODEL.md.
*/
#include <math.h>
#include <string.h>

#include "gen_calendar.h"
#include "gen_rng.h"

/* Sunday .. Saturday, relative to Monday. */
static const double dow_factor[7] = {1.31, 1.00, 1.055, 0.945, 1.08, 0.96, 1.255};
/* January .. June. */
static const double month_factor[6] = {0.99, 1.00, 1.01, 1.00, 1.00, 1.035};
static const int month_days[6] = {31, 28, 31, 30, 31, 30};

typedef struct special_day {
  int month, day;
  double factor;
} special_day;

static const special_day special_days[] = {
    {1, 1, 0.41},  /* New Year: the quietest day */
    {1, 7, 1.12},  /* Monday holiday (Epiphany) */
    {3, 25, 1.12}, /* Monday holiday (St Joseph) */
    {3, 28, 1.12}, /* Holy Thursday: stocking up */
    {3, 29, 0.62}, /* Good Friday: many shops closed early */
    {5, 1, 1.20},  /* Labour Day */
    {5, 11, 1.06}, /* eve of Mother's Day */
    {5, 13, 1.12}, /* Monday holiday (Ascension) */
    {5, 22, 0.62}, /* a register outage: part of the day's sales were not recorded */
    {6, 3, 1.25},  /* Monday holiday (Corpus Christi) after the month's first weekend */
    {6, 10, 1.12}, /* Monday holiday (Sacred Heart) */
    {6, 15, 1.17}, /* eve of Father's Day */
};

#define DAY_NOISE_SIGMA 0.07

int gen_calendar_dow(int d) { return (d + 2) % 7; /* 2013-01-01 was a Tuesday */ }

static double payday_factor(int dom) {
  if (dom <= 2) return 1.10;
  if (dom == 15 || dom == 16) return 1.08;
  if (dom >= 30) return 1.05;
  return 1.0;
}

static double special_factor(int month, int dom) {
  for (size_t i = 0; i < sizeof special_days / sizeof special_days[0]; i++)
    if (special_days[i].month == month && special_days[i].day == dom) return special_days[i].factor;
  return 1.0;
}

void gen_calendar_init(gen_calendar *cal, uint64_t seed) {
  gen_rng r;
  gen_rng_init(&r, seed, GEN_TAG_CALENDAR, 0);
  int d = 0;
  double sum = 0;
  for (int m = 0; m < 6; m++) {
    for (int dom = 1; dom <= month_days[m]; dom++, d++) {
      double noise = exp(DAY_NOISE_SIGMA * gen_rng_normal(&r) - 0.5 * DAY_NOISE_SIGMA * DAY_NOISE_SIGMA);
      double w = dow_factor[gen_calendar_dow(d)] * month_factor[m] * payday_factor(dom) *
                 special_factor(m + 1, dom) * noise;
      cal->weight[d] = w;
      sum += w;
      memcpy(cal->text[d], "2013-00-00", 11);
      cal->text[d][6] = (char)('1' + m);
      cal->text[d][8] = (char)('0' + dom / 10);
      cal->text[d][9] = (char)('0' + dom % 10);
    }
  }
  double acc = 0;
  cal->cdf[0] = 0;
  for (d = 0; d < GEN_NDAYS; d++) {
    cal->weight[d] *= GEN_NDAYS / sum;
    acc += cal->weight[d];
    cal->cdf[d + 1] = acc / GEN_NDAYS;
  }
  cal->cdf[GEN_NDAYS] = 1.0;
}

int gen_calendar_day_at(const gen_calendar *cal, double u) {
  int lo = 0, hi = GEN_NDAYS - 1; /* the first d with cdf[d + 1] > u */
  while (lo < hi) {
    int mid = (lo + hi) / 2;
    if (cal->cdf[mid + 1] > u) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}
