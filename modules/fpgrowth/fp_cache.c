/*
** fp_cache.c: a binary file holding mined itemsets and their rules, so a run over unchanged data with unchanged
** parameters skips mining. The file starts with a magic, a format version and the caller's key (a fingerprint of
** the data and every parameter); a file with another key, version or a wrong size is a miss, never an error.
** Layout (little-endian, native sizes): header, then the arrays of fp_itemsets and fp_rules in declaration order.
** Both ways stream the arrays (no copy of the whole file in memory); the write goes to a temporary file renamed over
** the path, so a reader never sees half a cache.
*/
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fpgrowth.h"
#include "fsutil.h"

#define FP_CACHE_MAGIC "MERCADOFPCACHE01"
#define FP_CACHE_KEY 64

typedef struct cache_header {
  char magic[16];
  char key[FP_CACHE_KEY];
  int64_t s_n, s_nbaskets, s_min_count, s_items;
  int64_t r_n, r_nbaskets, r_a_items, r_c_items;
} cache_header;

/* The arrays after the header, in file order: their addresses in s and r, and their sizes from the header. */
typedef struct segment {
  void **p;
  size_t bytes;
} segment;

static int segments(const cache_header *h, fp_itemsets *s, fp_rules *r, segment *seg) {
  size_t n8 = sizeof(int64_t), n4 = sizeof(int32_t), sn = (size_t)h->s_n, rn = (size_t)h->r_n;
  int k = 0;
  seg[k++] = (segment){(void **)&s->offsets, n8 * (sn + 1)};
  seg[k++] = (segment){(void **)&s->items, n4 * (size_t)h->s_items};
  seg[k++] = (segment){(void **)&s->counts, n8 * sn};
  seg[k++] = (segment){(void **)&r->a_off, n8 * (rn + 1)};
  seg[k++] = (segment){(void **)&r->a_items, n4 * (size_t)h->r_a_items};
  seg[k++] = (segment){(void **)&r->c_off, n8 * (rn + 1)};
  seg[k++] = (segment){(void **)&r->c_items, n4 * (size_t)h->r_c_items};
  seg[k++] = (segment){(void **)&r->count, n8 * rn};
  seg[k++] = (segment){(void **)&r->a_count, n8 * rn};
  seg[k++] = (segment){(void **)&r->c_count, n8 * rn};
  seg[k++] = (segment){(void **)&r->support, sizeof(double) * rn};
  seg[k++] = (segment){(void **)&r->confidence, sizeof(double) * rn};
  seg[k++] = (segment){(void **)&r->lift, sizeof(double) * rn};
  seg[k++] = (segment){(void **)&r->leverage, sizeof(double) * rn};
  seg[k++] = (segment){(void **)&r->conviction, sizeof(double) * rn};
  return k;
}

#define NSEGMENTS 15

static int read_all(int fd, void *data, size_t len) {
  char *p = data;
  while (len > 0) {
    ssize_t n = read(fd, p, len);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return -1;
    p += n;
    len -= (size_t)n;
  }
  return 0;
}

int fp_cache_write(const char *path, const char *key, const fp_itemsets *s, const fp_rules *r, char *err,
                   size_t errlen) {
  cache_header h;
  memset(&h, 0, sizeof h);
  memcpy(h.magic, FP_CACHE_MAGIC, 16);
  snprintf(h.key, sizeof h.key, "%s", key);
  h.s_n = s->n, h.s_nbaskets = s->nbaskets, h.s_min_count = s->min_count, h.s_items = s->offsets[s->n];
  h.r_n = r->n, h.r_nbaskets = r->nbaskets, h.r_a_items = r->a_off[r->n], h.r_c_items = r->c_off[r->n];
  segment seg[NSEGMENTS];
  segments(&h, (fp_itemsets *)s, (fp_rules *)r, seg); /* only read through */
  size_t plen = strlen(path);
  char *tmp = malloc(plen + 32);
  int fd = -1, rc = -1;
  if (!tmp) {
    snprintf(err, errlen, "out of memory writing %s", path);
    return -1;
  }
  snprintf(tmp, plen + 32, "%s.tmp.%ld", path, (long)getpid());
  if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666)) < 0) {
    snprintf(err, errlen, "cannot create %s: %s", tmp, strerror(errno));
    goto cleanup;
  }
  int ok = fs_write_all(fd, &h, sizeof h) == 0;
  for (int k = 0; ok && k < NSEGMENTS; k++) ok = fs_write_all(fd, *seg[k].p, seg[k].bytes) == 0;
  if (!ok) {
    snprintf(err, errlen, "cannot write %s: %s", tmp, strerror(errno));
    goto cleanup;
  }
  int cl = close(fd);
  fd = -1;
  if (cl != 0 || rename(tmp, path) != 0) {
    snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
    goto cleanup;
  }
  rc = 0;
cleanup:
  if (fd >= 0) close(fd);
  if (rc != 0) unlink(tmp);
  free(tmp);
  return rc;
}

int fp_cache_read(const char *path, const char *key, fp_itemsets *s, fp_rules *r) {
  memset(s, 0, sizeof *s);
  memset(r, 0, sizeof *r);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  struct stat st;
  cache_header h;
  int ok = fstat(fd, &st) == 0 && read_all(fd, &h, sizeof h) == 0;
  ok = ok && memcmp(h.magic, FP_CACHE_MAGIC, 16) == 0 && strncmp(h.key, key, FP_CACHE_KEY - 1) == 0 &&
       h.s_n >= 0 && h.r_n >= 0 && h.s_items >= 0 && h.r_a_items >= 0 && h.r_c_items >= 0 &&
       h.s_n < ((int64_t)1 << 40) && h.r_n < ((int64_t)1 << 40) && h.s_items < ((int64_t)1 << 40) &&
       h.r_a_items < ((int64_t)1 << 40) && h.r_c_items < ((int64_t)1 << 40);
  segment seg[NSEGMENTS];
  if (ok) {
    segments(&h, s, r, seg);
    uint64_t total = sizeof h;
    for (int k = 0; k < NSEGMENTS; k++) total += seg[k].bytes;
    ok = total == (uint64_t)st.st_size; /* a short or padded file is damaged */
  }
  for (int k = 0; ok && k < NSEGMENTS; k++) {
    *seg[k].p = malloc(seg[k].bytes ? seg[k].bytes : 1);
    ok = *seg[k].p && read_all(fd, *seg[k].p, seg[k].bytes) == 0;
  }
  close(fd);
  if (ok) {
    s->n = h.s_n, s->nbaskets = h.s_nbaskets, s->min_count = h.s_min_count;
    r->n = h.r_n, r->nbaskets = h.r_nbaskets;
    ok = s->offsets[h.s_n] == h.s_items && r->a_off[h.r_n] == h.r_a_items && r->c_off[h.r_n] == h.r_c_items;
  }
  if (!ok) {
    fp_itemsets_free(s);
    fp_rules_free(r);
    return -1;
  }
  return 0;
}
