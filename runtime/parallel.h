/*
** parallel.h: running a few equal parts of a job on threads (see parallel.c).
*/
#ifndef MERCADO_PARALLEL_H
#define MERCADO_PARALLEL_H
#include <stddef.h>

/* Most parts mc_parallel runs at once. */
#define MC_MAX_PARTS 64

/* Runs fn(parts + i * size) for i in [0, n) (n at most MC_MAX_PARTS): part 0 on the calling thread, the others on
   threads of their own. A part whose thread cannot be started runs on the caller, so the result is the same. */
void mc_parallel(int n, void *(*fn)(void *), void *parts, size_t size);

#endif
