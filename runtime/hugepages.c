/*
** hugepages.c: large arrays backed by transparent huge pages.
** Column arrays, reader slices, aggregation tables and big strings are megabytes written once. With 4 KB pages every
** first write to a page faults, and on virtual machines those faults can cost more than the work itself (on the
** 1.1 M-basket master flow they were a third of the time). Blocks of 2 MB and more are therefore sized so that
** glibc gives them a mapping of whole 2 MB pages (which the kernel aligns on 2 MB) and marked MADV_HUGEPAGE, which
** kernels set to "madvise" (Debian's default) honour. Elsewhere this is just malloc.
*/
#include "hugepages.h"

#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>

#define HUGE_PAGE ((size_t)2 << 20)
/* glibc's header on a block served by its own mapping, plus rounding: request + 32 fits a whole number of pages */
#define BLOCK_OVERHEAD ((size_t)32)

void mc_hint_huge(void *p, size_t bytes) {
#ifdef MADV_HUGEPAGE
  /* widened to whole huge pages: the block's own mapping starts on a 2 MB boundary when mc_malloc_huge sized it,
     and a hint that spills onto a neighbour's memory is harmless */
  if (!p || bytes < HUGE_PAGE) return;
  uintptr_t lo = (uintptr_t)p & ~(HUGE_PAGE - 1), hi = ((uintptr_t)p + bytes + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1);
  madvise((void *)lo, hi - lo, MADV_HUGEPAGE);
#else
  (void)p, (void)bytes;
#endif
}

/* The size to ask malloc for: small requests unchanged, large ones up to a whole number of huge pages. */
static size_t huge_size(size_t bytes) {
  if (bytes < HUGE_PAGE) return bytes > 0 ? bytes : 1;
  if (bytes > SIZE_MAX - 2 * HUGE_PAGE) return bytes; /* no rounding near the limit: malloc refuses it anyway */
  return ((bytes + BLOCK_OVERHEAD + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1)) - BLOCK_OVERHEAD;
}

void *mc_malloc_huge(size_t bytes) {
  size_t size = huge_size(bytes);
  void *p = malloc(size);
  if (size >= HUGE_PAGE) mc_hint_huge(p, size);
  return p;
}

void *mc_calloc_huge(size_t n, size_t size) {
  if (size && n > SIZE_MAX / size) return NULL;
  size_t bytes = huge_size(n * size);
  if (bytes < HUGE_PAGE) return calloc(n > 0 ? n : 1, size > 0 ? size : 1);
  void *p = calloc(1, bytes); /* a fresh mapping: calloc does not touch its pages, so the hint still applies */
  mc_hint_huge(p, bytes);
  return p;
}

void *mc_realloc_huge(void *p, size_t bytes) {
  size_t size = huge_size(bytes);
  void *q = realloc(p, size);
  if (q && size >= HUGE_PAGE) mc_hint_huge(q, size);
  return q;
}
