/*
** stats_internal.h: helpers shared by the stats core's files (sorting, parallel loops); not part of the API.
*/
#ifndef MERCADO_STATS_INTERNAL_H
#define MERCADO_STATS_INTERNAL_H

#include <stdint.h>

#include "stats.h"

/* Sorts keys[n] ascending, stably, carrying the 8-byte records pay[n] along; tk[n] and tp[n] are scratch.
   Byte positions where every key agrees are skipped, so small key ranges cost one or two passes. */
void stats_radix_sort(uint64_t *keys, void *pay, int64_t n, uint64_t *tk, void *tp);
/* Maps a finite double to a uint64 with the same order (-0.0 and 0.0 map alike). */
uint64_t stats_order_key(double v);
/* Places the order statistics ks[0..nk) (ascending, distinct, within [lo, hi)) at their sorted positions. */
void stats_multiselect(double *x, int64_t lo, int64_t hi, const int64_t *ks, int nk);

/* A unit of parallel work: task in [0, ntasks), run by worker in [0, stats_workers(...)) (for per-worker
   scratch); returns a stats_status (non-zero stops the loop). */
typedef int (*stats_task_fn)(void *ctx, int64_t task, int worker);
/* Number of workers stats_parallel uses for ntasks tasks. */
int stats_workers(const stats_opts *opts, int64_t ntasks);
/* Runs fn for every task on stats_workers() threads (tasks are claimed in order; each must write only its own
   outputs, so results do not depend on the thread count). Polls opts->cancelled before each task. Returns the
   first failing status, STATS_ECANCELLED, or STATS_OK. */
int stats_parallel(const stats_opts *opts, int64_t ntasks, stats_task_fn fn, void *ctx);
/* Whether opts asks to stop now. */
int stats_cancelled(const stats_opts *opts);

#endif
