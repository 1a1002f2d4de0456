/*
** hugepages.c: large arrays backed by transparent huge pages.
** Column arrays, reader slices, aggregation tables and big strings are megabytes written once. With 4 KB pages every
** first write to a page faults, and on virtual machines those faults can cost more than the work itself (on the
** 1.1 M-basket master flow they were a third of the time). Blocks of 2 MB and more are therefore sized so that
** glibc gives them a mapping of whole 2 MB pages (which the kernel aligns on 2 MB) and marked MADV_HUGEPAGE, which
** kernels set to "madvise" (Debian's default) honour. Elsewhere this is just malloc.
** Cheaper still is a page that is already mapped: mc_retain_freed_memory keeps freed blocks in the process for the
** next allocation instead of returning them to the kernel. Large blocks then come from the heap rather than their
** own mappings; the hint, widened to whole huge pages, still covers them.
*/
#include "hugepages.h"

#include <malloc.h>
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
  /* calloc skips zeroing a fresh mapping, whose pages the kernel zeroes at first touch (so the hint, given after,
     still applies), and clears a reused block itself */
  void *p = calloc(1, bytes);
  mc_hint_huge(p, bytes);
  return p;
}

void *mc_realloc_huge(void *p, size_t bytes) {
  size_t size = huge_size(bytes);
  void *q = realloc(p, size);
  if (q && size >= HUGE_PAGE) mc_hint_huge(q, size);
  return q;
}

/* A run frees and allocates arrays of tens of megabytes stage after stage (reader slices, group ids, bitmaps,
   sort permutations). glibc serves such blocks with their own mappings and unmaps them on free, so each new one
   starts as fresh pages that fault and are zeroed again; on a virtual machine that was a third of the 1.1 M-basket
   summary and analytics run (0.47-0.62 s wall, 0.11-0.33 s system time, against 0.34-0.38 s and 0.04-0.10 s with
   reuse). Serving blocks up to 1 GB from the heap and never trimming it lets a freed block's pages serve the next
   allocation. The process keeps its peak footprint until it exits: mercado runs each flow in its own process (the
   scheduler spawns them), and peak resident memory is unchanged. */
void mc_retain_freed_memory(void) {
  mallopt(M_MMAP_THRESHOLD, 1 << 30);
  mallopt(M_TRIM_THRESHOLD, INT32_MAX);
}
