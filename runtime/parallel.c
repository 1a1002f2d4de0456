/*
** parallel.c: runs the parts of a job on threads, one thread per part; each part writes only its own results,
** so what the job computes does not depend on how many threads could be started.
*/
#include "parallel.h"

#include <pthread.h>

void mc_parallel(int n, void *(*fn)(void *), void *parts, size_t size) {
  pthread_t tid[MC_MAX_PARTS];
  int started[MC_MAX_PARTS] = {0};
  if (n > MC_MAX_PARTS) n = MC_MAX_PARTS;
  for (int i = 1; i < n; i++) started[i] = pthread_create(&tid[i], NULL, fn, (char *)parts + (size_t)i * size) == 0;
  fn(parts);
  for (int i = 1; i < n; i++) {
    if (started[i]) pthread_join(tid[i], NULL);
    else fn((char *)parts + (size_t)i * size);
  }
}
