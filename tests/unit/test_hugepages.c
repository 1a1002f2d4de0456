/*
** test_hugepages.c: unit tests of runtime/hugepages.c. Blocks of every size class (small, just under, at and above
** 2 MB, several huge pages) are fully usable (run under ASan, a write past the requested size is caught elsewhere;
** here every requested byte is written and read back), calloc'd blocks are zero, realloc keeps the contents across
** the 2 MB boundary in both directions, and a calloc whose size overflows fails cleanly.
*/
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

int main(void) {
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
