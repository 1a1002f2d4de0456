/*
** progress.c: the one-line progress display native loops report through (see mercado_runtime.h).
** It draws only when stderr is a terminal and the run is not --quiet; otherwise every call is a cheap no-op.
*/
#include <stdio.h>
#include <unistd.h>

#include "interrupt.h"
#include "mercado_runtime.h"
#include "progress.h"

static int progress_enabled = -1; /* -1: not decided yet */

void progress_set_enabled(int on) { progress_enabled = on && isatty(STDERR_FILENO); }

static int enabled(void) {
  if (progress_enabled < 0) progress_enabled = isatty(STDERR_FILENO);
  return progress_enabled;
}

static void human_count(char *out, size_t size, double v) {
  if (v >= 1e9) snprintf(out, size, "%.2fG", v / 1e9);
  else if (v >= 1e6) snprintf(out, size, "%.2fM", v / 1e6);
  else if (v >= 1e4) snprintf(out, size, "%.1fk", v / 1e3);
  else snprintf(out, size, "%.0f", v);
}

static void draw(mercado_progress *p, double now) {
  double done = (double)atomic_load(&p->done), elapsed = now - p->started;
  double rate = elapsed > 0 ? done / elapsed : 0;
  char d[16], t[16], r[16], eta[32] = "";
  human_count(d, sizeof d, done);
  human_count(t, sizeof t, (double)p->total);
  human_count(r, sizeof r, rate);
  if (rate > 0 && p->total > 0 && done < (double)p->total)
    snprintf(eta, sizeof eta, "  ETA %.1fs", ((double)p->total - done) / rate);
  fprintf(stderr, "\r\033[K  %s  %s/%s  %s/s%s", p->step, d, t, r, eta);
  fflush(stderr);
}

void mercado_progress_begin(mercado_progress *p, const char *step, int64_t total) {
  p->step = step;
  p->total = total;
  atomic_store(&p->done, 0);
  atomic_store(&p->drawing, 0);
  p->started = interrupt_now();
  p->last_draw = p->started;
  p->active = enabled();
}

void mercado_progress_add(mercado_progress *p, int64_t delta) {
  atomic_fetch_add(&p->done, delta);
  if (!p->active) return;
  double now = interrupt_now();
  if (now - p->last_draw < 0.1 || now - p->started < 0.3) return; /* short steps never draw */
  if (atomic_exchange(&p->drawing, 1)) return;                     /* another thread is drawing */
  p->last_draw = now;
  draw(p, now);
  atomic_store(&p->drawing, 0);
}

void mercado_progress_end(mercado_progress *p) {
  if (p->active && p->last_draw > p->started) {
    fprintf(stderr, "\r\033[K");
    fflush(stderr);
  }
  p->active = 0;
}
