/*
** gen_io.c: buffers, directories and atomic file replacement for the generator. A file is written to a temporary
** name in its final directory and renamed over the target only when every byte is out, so a reader never sees a
** half-written file and an interrupted run leaves the previous file in place.
*/
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gen_io.h"

void gen_buf_free(gen_buf *b) {
  free(b->p);
  b->p = NULL;
  b->len = b->cap = 0;
  b->oom = 0;
}

int gen_buf_reserve(gen_buf *b, size_t n) {
  if (b->oom) return -1;
  if (b->len + n <= b->cap) return 0;
  size_t cap = b->cap ? b->cap : 4096;
  while (cap < b->len + n) cap *= 2;
  char *p = realloc(b->p, cap);
  if (!p) {
    b->oom = 1;
    return -1;
  }
  b->p = p;
  b->cap = cap;
  return 0;
}

void gen_buf_add(gen_buf *b, const void *s, size_t n) {
  if (gen_buf_reserve(b, n) != 0) return;
  memcpy(b->p + b->len, s, n);
  b->len += n;
}

void gen_buf_adds(gen_buf *b, const char *s) { gen_buf_add(b, s, strlen(s)); }

void gen_buf_addc(gen_buf *b, char c) {
  if (gen_buf_reserve(b, 1) != 0) return;
  b->p[b->len++] = c;
}

void gen_buf_addint(gen_buf *b, int64_t v) {
  char tmp[24];
  int n = 0;
  uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
  do {
    tmp[n++] = (char)('0' + u % 10);
    u /= 10;
  } while (u);
  if (v < 0) tmp[n++] = '-';
  if (gen_buf_reserve(b, (size_t)n) != 0) return;
  while (n) b->p[b->len++] = tmp[--n];
}

void gen_buf_addjson(gen_buf *b, const char *s) {
  gen_buf_addc(b, '"');
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\') {
      gen_buf_addc(b, '\\');
      gen_buf_addc(b, (char)c);
    } else if (c < 0x20) {
      char esc[8];
      snprintf(esc, sizeof esc, "\\u%04x", c);
      gen_buf_adds(b, esc);
    } else {
      gen_buf_addc(b, (char)c);
    }
  }
  gen_buf_addc(b, '"');
}

int gen_io_mkdirs(const char *path, char *err, size_t errlen) {
  char tmp[4096];
  size_t n = strlen(path);
  if (n == 0 || n >= sizeof tmp) {
    snprintf(err, errlen, "output directory path is empty or too long");
    return -1;
  }
  memcpy(tmp, path, n + 1);
  for (size_t i = 1; i <= n; i++) {
    if (tmp[i] != '/' && tmp[i] != '\0') continue;
    char saved = tmp[i];
    tmp[i] = '\0';
    if (mkdir(tmp, 0777) != 0 && errno != EEXIST) {
      snprintf(err, errlen, "cannot create directory %s: %s", tmp, strerror(errno));
      return -1;
    }
    tmp[i] = saved;
  }
  struct stat st;
  if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode)) {
    snprintf(err, errlen, "%s is not a directory", path);
    return -1;
  }
  return 0;
}

int gen_io_open(gen_file *f, const char *path, char *err, size_t errlen) {
  f->fd = -1;
  if (strlen(path) >= sizeof f->path) {
    snprintf(err, errlen, "path too long: %s", path);
    return -1;
  }
  snprintf(f->path, sizeof f->path, "%s", path);
  snprintf(f->tmp, sizeof f->tmp, "%s.tmp-%ld", path, (long)getpid());
  f->fd = open(f->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
  if (f->fd < 0) {
    snprintf(err, errlen, "cannot create %s: %s", f->tmp, strerror(errno));
    return -1;
  }
  return 0;
}

int gen_io_write(gen_file *f, const void *data, size_t n, char *err, size_t errlen) {
  const char *p = data;
  while (n) {
    ssize_t w = write(f->fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      snprintf(err, errlen, "cannot write %s: %s", f->tmp, w < 0 ? strerror(errno) : "no progress");
      return -1;
    }
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

int gen_io_commit(gen_file *f, char *err, size_t errlen) {
  int fd = f->fd;
  f->fd = -1;
  if (close(fd) != 0) {
    snprintf(err, errlen, "cannot close %s: %s", f->tmp, strerror(errno));
    unlink(f->tmp);
    return -1;
  }
  if (rename(f->tmp, f->path) != 0) {
    snprintf(err, errlen, "cannot rename %s to %s: %s", f->tmp, f->path, strerror(errno));
    unlink(f->tmp);
    return -1;
  }
  return 0;
}

void gen_io_abort(gen_file *f) {
  if (f->fd < 0) return;
  close(f->fd);
  f->fd = -1;
  unlink(f->tmp);
}

int gen_io_write_file(const char *path, const void *data, size_t n, char *err, size_t errlen) {
  gen_file f;
  if (gen_io_open(&f, path, err, errlen) != 0) return -1;
  if (gen_io_write(&f, data, n, err, errlen) != 0) {
    gen_io_abort(&f);
    return -1;
  }
  return gen_io_commit(&f, err, errlen);
}
