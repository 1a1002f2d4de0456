/*
** test_hugepages.c: unit tests of runtime/hugepages.c. Blocks of every size class (small, just under, at and above
** 2 MB, several huge pages) are fully usable (run under ASan, a write past the requested size is caught elsewhere;
** here every requested byte is written and read back), calloc'd blocks are zero, realloc keeps the contents across
** the 2 MB boundary in both directions, and a calloc whose size overflows fails cleanly. The policy: "on" marks a
** large block's mapping for huge pages (its VmFlags in /proc/self/smaps hold "hg") and "off" does not, a bad
** setting is refused, and free page reporting is read from a virtio-balloon driver directory made here.
*/
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hugepages.h"
#include "check.h"

static void fill(unsigned char *p, size_t n, unsigned seed) {
  for (size_t i = 0; i < n; i++) p[i] = (unsigned char)(i * 131 + seed);
}

static int same(const unsigned char *p, size_t n, unsigned seed) {
  for (size_t i = 0; i < n; i++)
    if (p[i] != (unsigned char)(i * 131 + seed)) return 0;
  return 1;
}

/* Whether the mapping that holds p is marked MADV_HUGEPAGE ("hg" in its VmFlags); -1 when smaps cannot say. */
static int marked_huge(const void *p) {
  FILE *f = fopen("/proc/self/smaps", "r");
  if (!f) return -1;
  char line[512];
  int inside = 0, marked = -1;
  uintptr_t a = (uintptr_t)p;
  while (fgets(line, sizeof line, f)) {
    unsigned long lo, hi;
    if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2) { /* a mapping's first line: "lo-hi perms ..." */
      inside = a >= lo && a < hi;
    } else if (inside && strncmp(line, "VmFlags:", 8) == 0) {
      marked = strstr(line, " hg") != NULL;
      break;
    }
  }
  fclose(f);
  return marked;
}

/* A fake driver directory with one device whose feature string is bits (NULL: no features file). */
static void fake_balloon(const char *dir, const char *bits) {
  char path[512];
  mkdir(dir, 0700);
  snprintf(path, sizeof path, "%s/virtio3", dir);
  mkdir(path, 0700);
  snprintf(path, sizeof path, "%s/virtio3/features", dir);
  unlink(path);
  if (!bits) return;
  FILE *f = fopen(path, "w");
  if (f) {
    fprintf(f, "%s\n", bits);
    fclose(f);
  }
}

static void check_policy(void) {
  const size_t block = (size_t)8 << 20;
  const char *reason = NULL;
  CHECK(mc_huge_pages(&reason) == 1 && strcmp(reason, "default") == 0, "huge pages on until configured (%s)", reason);
  CHECK(mc_huge_pages_configure("off") == 0 && mc_huge_pages(&reason) == 0, "off");
  CHECK(strcmp(reason, "MERCADO_HUGE_PAGES=off") == 0, "off: reason %s", reason);
  unsigned char *plain = mc_malloc_huge(block);
  CHECK(plain && marked_huge(plain) != 1, "off: a large block is not marked for huge pages");
  CHECK(mc_huge_pages_configure("on") == 0 && mc_huge_pages(&reason) == 1, "on");
  unsigned char *huge = mc_malloc_huge(block);
  int marked = huge ? marked_huge(huge) : 0;
  CHECK(marked != 0, "on: a large block is marked for huge pages (smaps says %d)", marked);
  if (plain) memset(plain, 1, block);
  if (huge) memset(huge, 2, block);
  CHECK(plain && huge && plain[block - 1] == 1 && huge[block - 1] == 2, "both blocks usable");
  free(plain), free(huge);
  CHECK(mc_huge_pages_configure("sometimes") == -1, "a bad setting is refused");
  CHECK(mc_huge_pages(&reason) == !mc_free_page_reporting(NULL), "a bad setting counts as auto (%s)", reason);
  CHECK(mc_huge_pages_configure(NULL) == 0 && mc_huge_pages_configure("") == 0 && mc_huge_pages_configure("auto") == 0,
        "auto, empty and unset are accepted");
  CHECK(mc_huge_pages(&reason) == !mc_free_page_reporting(NULL), "auto follows free page reporting (%s)", reason);
  CHECK(strcmp(reason, mc_free_page_reporting(NULL) ? "free page reporting" : "auto") == 0, "auto: reason %s", reason);

  char dir[] = "/tmp/mercado-balloon-XXXXXX";
  if (!mkdtemp(dir)) {
    CHECK(0, "mkdtemp");
    return;
  }
  char driver[600];
  snprintf(driver, sizeof driver, "%s/virtio_balloon", dir);
  CHECK(mc_free_page_reporting(driver) == 0, "no driver directory: no reporting");
  fake_balloon(driver, NULL);
  CHECK(mc_free_page_reporting(driver) == 0, "no features file: no reporting");
  fake_balloon(driver, "0110010100000000000000000000000010000000");
  CHECK(mc_free_page_reporting(driver) == 1, "bit 5 set: reporting");
  fake_balloon(driver, "0110000100000000000000000000000010000000");
  CHECK(mc_free_page_reporting(driver) == 0, "bit 5 clear: no reporting");
  fake_balloon(driver, "01100");
  CHECK(mc_free_page_reporting(driver) == 0, "a short feature string: no reporting");
  fake_balloon(driver, NULL);
  char path[700];
  snprintf(path, sizeof path, "%s/virtio3", driver);
  rmdir(path);
  rmdir(driver);
  rmdir(dir);
  mc_huge_pages_configure("on"); /* the size checks below run with huge pages */
}

int main(void) {
  check_policy();
  const size_t mb = (size_t)1 << 20;
  const size_t sizes[] = {0, 1, 4095, mb, 2 * mb - 33, 2 * mb - 32, 2 * mb - 1, 2 * mb, 2 * mb + 1, 5 * mb + 7, 16 * mb};
  for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
    size_t n = sizes[i];
    unsigned char *p = mc_malloc_huge(n);
    CHECK(p != NULL, "malloc_huge(%zu)", n);
    if (p) {
      fill(p, n, 7);
      CHECK(same(p, n, 7), "malloc_huge(%zu) keeps what is written", n);
    }
    unsigned char *z = mc_calloc_huge(n, 1);
    CHECK(z != NULL, "calloc_huge(%zu)", n);
    int zero = 1;
    for (size_t j = 0; z && j < n; j++) zero &= z[j] == 0;
    CHECK(zero, "calloc_huge(%zu) is zero", n);
    /* grow and shrink across the huge-page threshold: contents kept up to the smaller size */
    size_t bigger = n * 3 + 3 * mb;
    unsigned char *q = p ? mc_realloc_huge(p, bigger) : NULL;
    CHECK(q != NULL, "realloc_huge(%zu -> %zu)", n, bigger);
    if (q) {
      CHECK(same(q, n, 7), "realloc_huge(%zu -> %zu) keeps the contents", n, bigger);
      fill(q, bigger, 11);
      unsigned char *r = mc_realloc_huge(q, n / 2 + 1);
      CHECK(r != NULL && same(r, n / 2 + 1, 11), "realloc_huge shrinking to %zu keeps the contents", n / 2 + 1);
      free(r ? r : q);
    }
    free(z);
  }
  CHECK(mc_calloc_huge(SIZE_MAX / 2, 4) == NULL, "calloc_huge overflow fails");
  mc_hint_huge(NULL, 4 * mb); /* no-ops */
  mc_hint_huge(&failures, 1);
  if (failures) {
    fprintf(stderr, "%d failures\n", failures);
    return 1;
  }
  printf("hugepages: all checks passed\n");
  return 0;
}
