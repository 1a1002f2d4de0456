/*
** gen_io.h: the generator's output plumbing: a growable byte buffer with fast integer formatting, directory
** creation, and files written under a temporary name and renamed into place when complete.
*/
#ifndef MERCADO_GEN_IO_H
#define MERCADO_GEN_IO_H

#include <stddef.h>
#include <stdint.h>

typedef struct gen_buf {
  char *p;
  size_t len, cap;
  int oom; /* set once an allocation failed; later appends are ignored */
} gen_buf;

void gen_buf_free(gen_buf *b);
/* Makes room for n more bytes; returns 0, or -1 (and sets oom). */
int gen_buf_reserve(gen_buf *b, size_t n);
void gen_buf_add(gen_buf *b, const void *s, size_t n);
void gen_buf_adds(gen_buf *b, const char *s);
void gen_buf_addc(gen_buf *b, char c);
void gen_buf_addint(gen_buf *b, int64_t v);
/* Appends a JSON string literal (quotes, escapes). */
void gen_buf_addjson(gen_buf *b, const char *s);

/* Creates a directory and its parents. Returns 0, or -1 with err set. */
int gen_io_mkdirs(const char *path, char *err, size_t errlen);

/* A file being written: data goes to "<path>.tmp-<pid>" until gen_io_commit renames it to path. */
typedef struct gen_file {
  int fd;
  char path[4096];
  char tmp[4200];
} gen_file;

/* Opens a temporary file next to path. Returns 0, or -1 with err set. */
int gen_io_open(gen_file *f, const char *path, char *err, size_t errlen);
/* Appends n bytes. Returns 0, or -1 with err set. */
int gen_io_write(gen_file *f, const void *data, size_t n, char *err, size_t errlen);
/* Closes the temporary and renames it into place. Returns 0, or -1 with err set (the temporary is removed). */
int gen_io_commit(gen_file *f, char *err, size_t errlen);
/* Closes and removes the temporary (after a failure or a cancel). Safe on a file never opened (fd < 0). */
void gen_io_abort(gen_file *f);
/* Writes a whole file atomically. Returns 0, or -1 with err set. */
int gen_io_write_file(const char *path, const void *data, size_t n, char *err, size_t errlen);

#endif
