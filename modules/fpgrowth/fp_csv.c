/*
** fp_csv.c: itemsets and rules as CSV text (see fpgrowth.h): rows formatted into the caller's buffer, and files
** written through a small reused buffer (a 15 MB rules.csv never exists whole in memory; fresh memory is expensive)
** to a temporary file renamed over the path.
*/
#include "fpgrowth.h"
#include "fsutil.h"
#include "json.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define WRITE_BUFFER (1 << 20)

/* Writes v in decimal at o; returns the end. */
static char *put_int(char *o, int64_t v) {
  char tmp[24];
  int n = 0;
  uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
  do tmp[n++] = (char)('0' + u % 10);
  while (u /= 10);
  if (v < 0) *o++ = '-';
  while (n > 0) *o++ = tmp[--n];
  return o;
}

/* Writes the items space-separated at o; returns the end. */
static char *put_items(char *o, const int32_t *a, int64_t n) {
  for (int64_t i = 0; i < n; i++) {
    if (i) *o++ = ' ';
    o = put_int(o, a[i]);
  }
  return o;
}

/* Writes x at o: the shortest round trip, or nan/inf/-inf; returns the end. */
static char *put_double(char *o, double x) {
  int n = json_format_double(x, o);
  if (n >= 0) return o + n;
  const char *t = isnan(x) ? "nan" : x > 0 ? "inf" : "-inf";
  size_t len = strlen(t);
  memcpy(o, t, len);
  return o + len;
}

const char *const fp_itemsets_csv_header = "items,count,support\n";
const char *const fp_rules_csv_header = "antecedent,consequent,support,confidence,lift,leverage,conviction\n";

size_t fp_itemsets_csv_room(const fp_itemsets *s, int64_t i) {
  return (size_t)(s->offsets[i + 1] - s->offsets[i]) * 12 + 24 + 32 + 4;
}

size_t fp_itemsets_csv_row(const fp_itemsets *s, int64_t i, char *out) {
  char *o = put_items(out, s->items + s->offsets[i], s->offsets[i + 1] - s->offsets[i]);
  *o++ = ',';
  o = put_int(o, s->counts[i]);
  *o++ = ',';
  o = put_double(o, (double)s->counts[i] / (double)s->nbaskets);
  *o++ = '\n';
  return (size_t)(o - out);
}

size_t fp_rules_csv_room(const fp_rules *r, int64_t i) {
  return (size_t)(r->a_off[i + 1] - r->a_off[i] + r->c_off[i + 1] - r->c_off[i]) * 12 + 5 * 33 + 4;
}

size_t fp_rules_csv_row(const fp_rules *r, int64_t i, char *out) {
  char *o = put_items(out, r->a_items + r->a_off[i], r->a_off[i + 1] - r->a_off[i]);
  *o++ = ',';
  o = put_items(o, r->c_items + r->c_off[i], r->c_off[i + 1] - r->c_off[i]);
  const double m[] = {r->support[i], r->confidence[i], r->lift[i], r->leverage[i], r->conviction[i]};
  for (int j = 0; j < 5; j++) {
    *o++ = ',';
    o = put_double(o, m[j]);
  }
  *o++ = '\n';
  return (size_t)(o - out);
}

typedef size_t (*room_fn)(const void *x, int64_t i);
typedef size_t (*row_fn)(const void *x, int64_t i, char *out);

static size_t s_room(const void *x, int64_t i) { return fp_itemsets_csv_room(x, i); }
static size_t s_row(const void *x, int64_t i, char *out) { return fp_itemsets_csv_row(x, i, out); }
static size_t r_room(const void *x, int64_t i) { return fp_rules_csv_room(x, i); }
static size_t r_row(const void *x, int64_t i, char *out) { return fp_rules_csv_row(x, i, out); }

/* The header and rows 0..n-1 of x into path, through path.tmp.<pid>. */
static int write_csv(const char *path, const char *header, const void *x, int64_t n, room_fn room, row_fn row,
                     char *err, size_t errlen) {
  size_t plen = strlen(path), cap = WRITE_BUFFER, len = strlen(header);
  char *tmp = malloc(plen + 32), *buf = malloc(cap);
  int fd = -1, rc = -1;
  if (!tmp || !buf) {
    snprintf(err, errlen, "out of memory writing %s", path);
    goto cleanup;
  }
  snprintf(tmp, plen + 32, "%s.tmp.%ld", path, (long)getpid());
  if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666)) < 0) {
    snprintf(err, errlen, "cannot create %s: %s", tmp, strerror(errno));
    goto cleanup;
  }
  memcpy(buf, header, len);
  for (int64_t i = 0; i < n; i++) {
    size_t need = room(x, i);
    if (len + need > cap) {
      if (fs_write_all(fd, buf, len) != 0) goto write_error;
      len = 0;
      if (need > cap) { /* a very long row */
        char *more = realloc(buf, need);
        if (!more) {
          snprintf(err, errlen, "out of memory writing %s", path);
          goto cleanup;
        }
        buf = more;
        cap = need;
      }
    }
    len += row(x, i, buf + len);
  }
  if (fs_write_all(fd, buf, len) != 0) goto write_error;
  int cl = close(fd);
  fd = -1;
  if (cl != 0 || rename(tmp, path) != 0) goto write_error;
  rc = 0;
  goto cleanup;
write_error:
  snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
cleanup:
  if (fd >= 0) close(fd);
  if (rc != 0 && tmp) unlink(tmp);
  free(tmp);
  free(buf);
  return rc;
}

int fp_itemsets_write_csv(const fp_itemsets *s, const char *path, char *err, size_t errlen) {
  return write_csv(path, fp_itemsets_csv_header, s, s->n, s_room, s_row, err, errlen);
}

int fp_rules_write_csv(const fp_rules *r, const char *path, char *err, size_t errlen) {
  return write_csv(path, fp_rules_csv_header, r, r->n, r_room, r_row, err, errlen);
}
