/*
** fuzz_csv.c: libFuzzer target for the CSV reader. The input is one file's bytes; the first byte picks the options
** (quoting, header, thread count, chunk size), the rest is read as baskets (date|int|int|list). Checks the reader's
** invariants: it never crashes, lines read = kept + rejected, the table has `kept` rows and the list offsets are
** monotone and end at the item count.
*/
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "csv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  uint8_t mode = data[0];
  data++, size--;
  int fd = memfd_create("fuzz_csv", 0);
  if (fd < 0) return 0;
  if (size && write(fd, data, size) != (ssize_t)size) {
    close(fd);
    return 0;
  }
  char path[64];
  snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
  csv_colspec cols[4];
  memset(cols, 0, sizeof cols);
  cols[0].type = CS_DATE, cols[1].type = CS_INT32, cols[2].type = (mode & 64) ? CS_STRING : CS_INT32;
  cols[3].type = CS_LIST, cols[3].list_sep = ' ', cols[3].allow_empty = mode & 128;
  csv_options o;
  memset(&o, 0, sizeof o);
  o.delimiter = '|';
  o.quote = (mode & 1) ? '"' : 0;
  o.header = (mode >> 1) & 3;
  if (o.header > 2) o.header = 0;
  o.ncols = 4;
  o.cols = cols;
  o.max_rejects = -1;
  o.nthreads = (mode & 8) ? 2 : 1;
  o.chunk_bytes = (mode & 16) ? 1 + (mode & 32) : 0;
  const char *paths[1] = {path};
  csv_result res;
  if (csv_read(paths, 1, &o, &res) == 0) {
    const csv_file_stats *fs = &res.files[0];
    int64_t rej = 0;
    for (int r = 0; r < CSV_NREASONS; r++) rej += fs->rejected[r];
    if (fs->lines_read != fs->kept + rej) abort();
    if (res.table->n != fs->kept) abort();
    const cs_column *l = res.table->cols[3];
    for (int64_t i = 0; i < l->n; i++)
      if (l->offsets[i + 1] < l->offsets[i]) abort();
    if (l->offsets[l->n] != cs_column_nitems(l)) abort();
  }
  csv_result_free(&res);
  close(fd);
  return 0;
}
