/* fsutil.c: atomic writes, directory creation and SHA-256 of files (see fsutil.h). */
#include "fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int fail(char *err, size_t errlen, const char *what, const char *path) {
  snprintf(err, errlen, "%s %s: %s", what, path, strerror(errno));
  return -1;
}

/* At most 1 MB per write(2). On a virtual machine whose host takes back freed memory (virtio-balloon free page
   reporting), a write of 2 MB or more makes the page cache take 2 MB pages, which the host supplies slowly: 100 MB
   in one write took 0.13-0.21 s there, in writes of 1 MB or less 0.02-0.035 s (and 0.021-0.023 s either way on
   memory the host still backs). A C loop, five seconds after another process freed 2 GB. */
#define WRITE_CHUNK ((size_t)1 << 20)

int fs_write_all(int fd, const void *data, size_t len) {
  const char *p = data;
  while (len > 0) {
    ssize_t n = write(fd, p, len < WRITE_CHUNK ? len : WRITE_CHUNK);
    if (n < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    p += n;
    len -= (size_t)n;
  }
  return 0;
}

int fs_write_atomic(const char *path, const void *data, size_t len, int sync, char *err, size_t errlen) {
  size_t plen = strlen(path);
  char *tmp = malloc(plen + 32), *dircopy = strdup(path);
  int fd = -1, rc = -1;
  if (!tmp || !dircopy) {
    snprintf(err, errlen, "out of memory writing %s", path);
    goto cleanup;
  }
  snprintf(tmp, plen + 32, "%s.tmp.%ld", path, (long)getpid());
  fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
  if (fd < 0) {
    fail(err, errlen, "cannot create", tmp);
    goto cleanup;
  }
  if (fs_write_all(fd, data, len) != 0) {
    fail(err, errlen, "cannot write", tmp);
    goto cleanup;
  }
  if (sync && fsync(fd) != 0) {
    fail(err, errlen, "cannot sync", tmp);
    goto cleanup;
  }
  if (close(fd) != 0) {
    fd = -1;
    fail(err, errlen, "cannot close", tmp);
    goto cleanup;
  }
  fd = -1;
  if (rename(tmp, path) != 0) {
    fail(err, errlen, "cannot rename into", path);
    goto cleanup;
  }
  int dfd = sync ? open(dirname(dircopy), O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
  if (dfd >= 0) { /* make the rename itself durable; failure here loses nothing already written */
    fsync(dfd);
    close(dfd);
  }
  rc = 0;
cleanup:
  if (fd >= 0) close(fd);
  if (rc != 0 && tmp) unlink(tmp);
  free(tmp);
  free(dircopy);
  return rc;
}

int fs_mkdirs(const char *path, char *err, size_t errlen) {
  char *p = strdup(path);
  if (!p) {
    snprintf(err, errlen, "out of memory");
    return -1;
  }
  for (char *s = p + 1;; s++) {
    if (*s == '/' || *s == '\0') {
      char c = *s;
      *s = '\0';
      if (mkdir(p, 0777) != 0 && errno != EEXIST) {
        fail(err, errlen, "cannot create directory", p);
        free(p);
        return -1;
      }
      *s = c;
      if (c == '\0') break;
    }
  }
  struct stat st;
  int ok = stat(path, &st) == 0 && S_ISDIR(st.st_mode);
  if (!ok) {
    errno = ENOTDIR;
    fail(err, errlen, "cannot create directory", path);
  }
  free(p);
  return ok ? 0 : -1;
}

/* ---- SHA-256 (FIPS 180-4) ---- */

static const uint32_t K[64] = {
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

#define ROR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))

static void sha256_block(sha256_ctx *c, const unsigned char *p) {
  uint32_t w[64], a, b, cc, d, e, f, g, h;
  for (int i = 0; i < 16; i++)
    w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 | (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
  for (int i = 16; i < 64; i++) {
    uint32_t s0 = ROR(w[i - 15], 7) ^ ROR(w[i - 15], 18) ^ (w[i - 15] >> 3);
    uint32_t s1 = ROR(w[i - 2], 17) ^ ROR(w[i - 2], 19) ^ (w[i - 2] >> 10);
    w[i] = w[i - 16] + s0 + w[i - 7] + s1;
  }
  a = c->h[0], b = c->h[1], cc = c->h[2], d = c->h[3], e = c->h[4], f = c->h[5], g = c->h[6], h = c->h[7];
  for (int i = 0; i < 64; i++) {
    uint32_t t1 = h + (ROR(e, 6) ^ ROR(e, 11) ^ ROR(e, 25)) + ((e & f) ^ (~e & g)) + K[i] + w[i];
    uint32_t t2 = (ROR(a, 2) ^ ROR(a, 13) ^ ROR(a, 22)) + ((a & b) ^ (a & cc) ^ (b & cc));
    h = g, g = f, f = e, e = d + t1, d = cc, cc = b, b = a, a = t1 + t2;
  }
  c->h[0] += a, c->h[1] += b, c->h[2] += cc, c->h[3] += d;
  c->h[4] += e, c->h[5] += f, c->h[6] += g, c->h[7] += h;
}

void sha256_init(sha256_ctx *c) {
  static const uint32_t init[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                   0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
  memcpy(c->h, init, sizeof init);
  c->len = 0;
  c->fill = 0;
}

void sha256_update(sha256_ctx *c, const void *data, size_t len) {
  const unsigned char *p = data;
  c->len += len;
  if (c->fill) {
    size_t take = 64 - c->fill < len ? 64 - c->fill : len;
    memcpy(c->block + c->fill, p, take);
    c->fill += take, p += take, len -= take;
    if (c->fill < 64) return;
    sha256_block(c, c->block);
    c->fill = 0;
  }
  for (; len >= 64; p += 64, len -= 64) sha256_block(c, p);
  memcpy(c->block, p, len);
  c->fill = len;
}

void sha256_final(sha256_ctx *c, unsigned char digest[32]) {
  uint64_t bits = c->len * 8;
  unsigned char pad[72] = {0x80};
  size_t padlen = (c->fill < 56 ? 56 : 120) - c->fill;
  for (int i = 0; i < 8; i++) pad[padlen + (size_t)i] = (unsigned char)(bits >> (56 - 8 * i));
  sha256_update(c, pad, padlen + 8);
  for (int i = 0; i < 8; i++) {
    digest[4 * i] = (unsigned char)(c->h[i] >> 24);
    digest[4 * i + 1] = (unsigned char)(c->h[i] >> 16);
    digest[4 * i + 2] = (unsigned char)(c->h[i] >> 8);
    digest[4 * i + 3] = (unsigned char)c->h[i];
  }
}

int fs_sha256_file(const char *path, char *out, int64_t *size, char *err, size_t errlen) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return fail(err, errlen, "cannot open", path);
  sha256_ctx c;
  sha256_init(&c);
  enum { CHUNK = 1 << 16 };
  unsigned char *buf = malloc(CHUNK);
  if (!buf) {
    close(fd);
    snprintf(err, errlen, "out of memory");
    return -1;
  }
  for (;;) {
    ssize_t n = read(fd, buf, CHUNK);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      free(buf);
      close(fd);
      return fail(err, errlen, "cannot read", path);
    }
    if (n == 0) break;
    sha256_update(&c, buf, (size_t)n);
  }
  free(buf);
  close(fd);
  unsigned char d[32];
  *size = (int64_t)c.len;
  sha256_final(&c, d);
  for (int i = 0; i < 32; i++) sprintf(out + 2 * i, "%02x", d[i]);
  return 0;
}
