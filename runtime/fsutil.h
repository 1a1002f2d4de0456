/* fsutil.h: file-system helpers with clear failure reporting: atomic writes, directory creation, SHA-256. */
#ifndef MERCADO_FSUTIL_H
#define MERCADO_FSUTIL_H

#include <stddef.h>
#include <stdint.h>

/* Writes data to path atomically: a temporary file in the same directory, fsync, rename, fsync of the directory.
   On failure the previous file (if any) is untouched, the temporary is removed, and err holds the reason. With
   sync 0 the fsyncs are skipped: still all-or-nothing if the process dies, but not across a power loss (for records
   rewritten often, such as run.json, where durability of each version does not matter). */
int fs_write_atomic(const char *path, const void *data, size_t len, int sync, char *err, size_t errlen);
/* Writes all of data to fd, retrying after signals, in writes of at most 1 MB (see fsutil.c); 0, or -1 with errno. */
int fs_write_all(int fd, const void *data, size_t len);
/* Creates a directory and its parents (mode 0777 & umask). */
int fs_mkdirs(const char *path, char *err, size_t errlen);
/* SHA-256 of a file as 64 hex digits (out holds 65 bytes); size receives the file size. */
int fs_sha256_file(const char *path, char *out, int64_t *size, char *err, size_t errlen);

typedef struct sha256_ctx {
  uint32_t h[8];
  uint64_t len;
  unsigned char block[64];
  size_t fill;
} sha256_ctx;
void sha256_init(sha256_ctx *c);
void sha256_update(sha256_ctx *c, const void *data, size_t len);
void sha256_final(sha256_ctx *c, unsigned char digest[32]);

#endif
