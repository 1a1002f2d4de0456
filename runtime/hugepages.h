/*
** hugepages.h: allocation of large arrays on transparent huge pages (see hugepages.c).
** Blocks from these functions are ordinary malloc blocks: free them with free().
*/
#ifndef MERCADO_HUGEPAGES_H
#define MERCADO_HUGEPAGES_H
#include <stddef.h>

/* Advises the kernel to back the block at p (bytes long) with huge pages; a no-op below 2 MB. */
void mc_hint_huge(void *p, size_t bytes);

/* malloc, calloc and realloc for arrays that will be written soon: blocks of 2 MB or more are sized and hinted so
   that every page of them can be a huge page. */
void *mc_malloc_huge(size_t bytes);
void *mc_calloc_huge(size_t n, size_t size);
void *mc_realloc_huge(void *p, size_t bytes);

/* Process-wide: freed large blocks stay mapped for reuse instead of being returned to the kernel (call early). */
void mc_retain_freed_memory(void);

#endif
