/*
** stats_parallel.c: the stats core's parallel loop: worker threads claim task numbers in order from a shared
** counter, so every task runs exactly once and writes only its own outputs (results do not depend on threads).
*/
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "stats_internal.h"

#define MAX_THREADS 64

typedef struct loop {
  const stats_opts *opts;
  int64_t ntasks;
  stats_task_fn fn;
  void *ctx;
  atomic_llong next;
  atomic_int status; /* first failure, or STATS_OK */
} loop;

typedef struct worker_arg {
  loop *l;
  int id;
} worker_arg;

int stats_cancelled(const stats_opts *opts) {
  return opts && opts->cancelled && opts->cancelled();
}

int stats_workers(const stats_opts *opts, int64_t ntasks) {
  int n = opts && opts->threads > 1 ? opts->threads : 1;
  if (n > MAX_THREADS) n = MAX_THREADS;
  if (n > ntasks) n = ntasks > 0 ? (int)ntasks : 1;
  return n;
}

static void *worker(void *arg) {
  worker_arg *w = arg;
  loop *l = w->l;
  while (atomic_load(&l->status) == STATS_OK) {
    int64_t t = atomic_fetch_add(&l->next, 1);
    if (t >= l->ntasks) break;
    int poll = l->ntasks < 4096 || t % 64 == 0; /* many tiny tasks: poll every 64th */
    int st = poll && stats_cancelled(l->opts) ? STATS_ECANCELLED : l->fn(l->ctx, t, w->id);
    if (st != STATS_OK) {
      int expected = STATS_OK;
      atomic_compare_exchange_strong(&l->status, &expected, st);
    }
  }
  return NULL;
}

int stats_parallel(const stats_opts *opts, int64_t ntasks, stats_task_fn fn, void *ctx) {
  loop l = {.opts = opts, .ntasks = ntasks, .fn = fn, .ctx = ctx};
  atomic_init(&l.next, 0);
  atomic_init(&l.status, STATS_OK);
  int nthreads = stats_workers(opts, ntasks);
  pthread_t tid[MAX_THREADS];
  worker_arg args[MAX_THREADS];
  for (int i = 0; i < nthreads; i++) args[i] = (worker_arg){&l, i};
  int started = 1; /* the calling thread is worker 0; a failed start just means fewer workers */
  while (started < nthreads && pthread_create(&tid[started], NULL, worker, &args[started]) == 0) started++;
  worker(&args[0]);
  for (int i = 1; i < started; i++) pthread_join(tid[i], NULL);
  return atomic_load(&l.status);
}
