/*
** hugepages.c: large arrays backed by transparent huge pages, where that is cheaper.
** Column arrays, reader slices, aggregation tables and big strings are megabytes written once. With 4 KB pages every
** first write to a page faults; blocks of 2 MB and more are therefore sized so that glibc gives them a mapping of
** whole 2 MB pages (which the kernel aligns on 2 MB) and marked MADV_HUGEPAGE, which kernels set to "madvise"
** (Debian's default) honour: one fault per 2 MB instead of 512.
** Except on a virtual machine whose balloon driver reports free memory to the host (virtio-balloon free page
** reporting). There the host takes back memory a few seconds after the guest frees it, and the first touch of such
** memory costs far more as huge pages than as 4 KB pages: 0.42 GB/s against 1.7-2.8 GB/s on this project's machine
** (a C loop touching 1 GB, four seconds after freeing 2 GB). Memory still backed goes the other way (6.8-15.8 GB/s
** against 2.9-3.0 GB/s), but a run starts on memory the host took back. So mc_huge_pages_configure leaves the hint
** off where free page reporting is on, unless MERCADO_HUGE_PAGES says otherwise.
** Cheaper still is a page that is already mapped: mc_retain_freed_memory keeps freed blocks in the process for the
** next allocation instead of returning them to the kernel. Large blocks then come from the heap rather than their
** own mappings; the hint, widened to whole huge pages, still covers them.
*/
#include "hugepages.h"

#include <dirent.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define HUGE_PAGE ((size_t)2 << 20)
/* glibc's header on a block served by its own mapping, plus rounding: request + 32 fits a whole number of pages */
#define BLOCK_OVERHEAD ((size_t)32)
#define VIRTIO_BALLOON_DRIVER "/sys/bus/virtio/drivers/virtio_balloon"
#define VIRTIO_BALLOON_F_REPORTING 5 /* feature bit: free page reporting */

/* Process-wide, set once by mc_huge_pages_configure before any thread starts: whether large blocks get the hint,
   and why. Until then (unit tests, fuzzers) they do. */
static int use_huge_pages = 1;
static const char *huge_pages_reason = "default";

int mc_free_page_reporting(const char *driver_dir) {
  if (!driver_dir) driver_dir = VIRTIO_BALLOON_DRIVER;
  DIR *d = opendir(driver_dir);
  if (!d) return 0;
  int on = 0;
  struct dirent *e;
  while (!on && (e = readdir(d))) {
    if (strncmp(e->d_name, "virtio", 6) != 0) continue; /* the devices bound to the driver: virtio0, ... */
    char path[4096], bits[128] = "";
    snprintf(path, sizeof path, "%s/%s/features", driver_dir, e->d_name);
    FILE *f = fopen(path, "r");
    if (!f) continue;
    /* one character per feature bit, bit 0 first */
    if (fgets(bits, sizeof bits, f) && strlen(bits) > VIRTIO_BALLOON_F_REPORTING)
      on = bits[VIRTIO_BALLOON_F_REPORTING] == '1';
    fclose(f);
  }
  closedir(d);
  return on;
}

int mc_huge_pages_configure(const char *setting) {
  if (setting && strcmp(setting, "on") == 0) {
    use_huge_pages = 1, huge_pages_reason = "MERCADO_HUGE_PAGES=on";
    return 0;
  }
  if (setting && strcmp(setting, "off") == 0) {
    use_huge_pages = 0, huge_pages_reason = "MERCADO_HUGE_PAGES=off";
    return 0;
  }
  int reporting = mc_free_page_reporting(NULL);
  use_huge_pages = !reporting;
  huge_pages_reason = reporting ? "free page reporting" : "auto";
  return !setting || setting[0] == '\0' || strcmp(setting, "auto") == 0 ? 0 : -1;
}

int mc_huge_pages(const char **reason) {
  if (reason) *reason = huge_pages_reason;
  return use_huge_pages;
}

void mc_hint_huge(void *p, size_t bytes) {
#ifdef MADV_HUGEPAGE
  /* widened to whole huge pages: the block's own mapping starts on a 2 MB boundary when mc_malloc_huge sized it,
     and a hint that spills onto a neighbour's memory is harmless */
  if (!use_huge_pages || !p || bytes < HUGE_PAGE) return;
  uintptr_t lo = (uintptr_t)p & ~(HUGE_PAGE - 1), hi = ((uintptr_t)p + bytes + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1);
  madvise((void *)lo, hi - lo, MADV_HUGEPAGE);
#else
  (void)p, (void)bytes;
#endif
}

/* The size to ask malloc for: small requests unchanged, large ones up to a whole number of huge pages (when they
   are used). */
static size_t huge_size(size_t bytes) {
  if (!use_huge_pages || bytes < HUGE_PAGE) return bytes > 0 ? bytes : 1;
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
