/*
** mercado_runtime.h: what the host offers native modules: interruption (Ctrl-C, SIGTERM, task timeouts),
** the worker-thread count, and the progress line. Safe to call from worker threads unless noted.
*/
#ifndef MERCADO_RUNTIME_H
#define MERCADO_RUNTIME_H

#include <stdatomic.h>
#include <stdint.h>

#include "lua.h"

enum { MERCADO_RUNNING = 0, MERCADO_CANCELLED = 1, MERCADO_TIMED_OUT = 2 };

/* Whether the running task should stop: MERCADO_CANCELLED (a signal arrived), MERCADO_TIMED_OUT (its deadline
   passed) or MERCADO_RUNNING. Long native loops poll this every few milliseconds of work and return early. */
int mercado_interrupted(void);
/* Raises the Lua error for the pending interruption (a table {kind = "cancelled"|"timeout", message = ...}).
   Main thread only. If nothing is pending it raises a generic "interrupted" error. */
int mercado_raise_interrupt(lua_State *L);
/* Number of worker threads native loops use: MERCADO_THREADS if set, else the number of online cores (1..64). */
int mercado_threads(void);

/* One updating line on stderr (step, done/total, rate, ETA), silent when stderr is not a terminal or with --quiet. */
typedef struct mercado_progress {
  const char *step;
  int64_t total;
  atomic_llong done;
  atomic_int drawing;
  double started;
  _Atomic double last_draw;
  int active;
} mercado_progress;

void mercado_progress_begin(mercado_progress *p, const char *step, int64_t total);
/* Adds finished work; redraws at most ten times a second. */
void mercado_progress_add(mercado_progress *p, int64_t delta);
/* Clears the line. */
void mercado_progress_end(mercado_progress *p);

#endif
