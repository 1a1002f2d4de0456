/*
** hugepages.h: allocation of large arrays on transparent huge pages (see hugepages.c).
** Blocks from these functions are ordinary malloc blocks: free them with free().
*/
#ifndef MERCADO_HUGEPAGES_H
#define MERCADO_HUGEPAGES_H
#include <stddef.h>

/* Decides once per process, before any thread starts, whether large blocks use huge pages. setting is the value of
   MERCADO_HUGE_PAGES: "on", "off", or "auto" (also NULL or empty): on, unless the kernel reports free pages to a
   hypervisor (see hugepages.c). Returns 0, or -1 for any other setting, which then counts as "auto". */
int mc_huge_pages_configure(const char *setting);
/* Whether large blocks use huge pages; reason (if not NULL) receives why: "default" (not configured), "auto",
   "free page reporting", "MERCADO_HUGE_PAGES=on" or "MERCADO_HUGE_PAGES=off". */
int mc_huge_pages(const char **reason);
/* Whether a virtio-balloon device bound to the driver at driver_dir (NULL: the system's, under /sys) uses free page
   reporting (feature bit 5 of its negotiated features). */
int mc_free_page_reporting(const char *driver_dir);

/* Advises the kernel to back the block at p (bytes long) with huge pages; a no-op below 2 MB or when huge pages are
   off. */
void mc_hint_huge(void *p, size_t bytes);

/* malloc, calloc and realloc for arrays that will be written soon: blocks of 2 MB or more are sized and hinted so
   that every page of them can be a huge page. */
void *mc_malloc_huge(size_t bytes);
void *mc_calloc_huge(size_t n, size_t size);
void *mc_realloc_huge(void *p, size_t bytes);

/* Process-wide: freed large blocks stay mapped for reuse instead of being returned to the kernel (call early). */
void mc_retain_freed_memory(void);

#endif
