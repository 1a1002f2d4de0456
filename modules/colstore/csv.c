/*
** csv.c: the strict parallel CSV reader (see csv.h).
** Pipeline: map every file, drop byte-identical duplicates, cut files into chunks at line starts, let worker
** threads parse chunks into private growable arrays (rejected rows go to a per-chunk list with their text), then
** concatenate chunk results in file order into the final columns and number lines.
*/
#include "hugepages.h"
#include "csv.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define CSV_MAX_FIELDS 256

static const char *const reason_keys[CSV_NREASONS] = {
  "field_count", "bad_date", "bad_int", "int_range", "empty_list", "bad_number", "bad_quote",
};
static const char *const reason_texts[CSV_NREASONS] = {
  "wrong field count", "bad date", "bad integer", "integer out of range",
  "empty list", "bad number", "bad quoting",
};

const char *csv_reason_key(csv_reason r) { return (unsigned)r < CSV_NREASONS ? reason_keys[r] : "?"; }
const char *csv_reason_text(csv_reason r) { return (unsigned)r < CSV_NREASONS ? reason_texts[r] : "?"; }

/* ---- growable arrays ---- */

typedef struct vec {
  char *p;
  size_t len, cap; /* in bytes */
  int fixed;       /* a view into final storage sized by the counting pass: never grows */
} vec;

static int vec_reserve(vec *v, size_t more) {
  if (v->len + more <= v->cap) return 0;
  if (v->fixed) return -1;
  size_t cap = v->cap ? v->cap : 4096;
  while (cap < v->len + more) cap *= 2;
  char *p = mc_realloc_huge(v->p, cap);
  if (!p) return -1;
  v->p = p;
  v->cap = cap;
  return 0;
}

#define VEC_PUSH(v, T, x, oom)                                        \
  do {                                                                \
    if ((v)->len + sizeof(T) > (v)->cap && vec_reserve((v), sizeof(T))) { \
      oom;                                                            \
    } else {                                                          \
      *(T *)((v)->p + (v)->len) = (x);                                \
      (v)->len += sizeof(T);                                          \
    }                                                                 \
  } while (0)

/* ---- string dictionary (open addressing; codes in first-appearance order) ---- */

typedef struct strdict {
  vec pool;      /* NUL-terminated strings */
  vec offs;      /* int64 offset of each code's string */
  int32_t *slots; /* code + 1, 0 = empty */
  uint32_t *hashes;
  size_t nslots;
  int32_t n;
} strdict;

static uint32_t hash_bytes(const char *s, size_t len) {
  uint32_t h = 2166136261u;
  for (size_t i = 0; i < len; i++) h = (h ^ (unsigned char)s[i]) * 16777619u;
  return h;
}

static int dict_grow(strdict *d) {
  size_t n = d->nslots ? d->nslots * 2 : 64;
  int32_t *slots = calloc(n, sizeof *slots);
  uint32_t *hashes = calloc(n, sizeof *hashes);
  if (!slots || !hashes) {
    free(slots);
    free(hashes);
    return -1;
  }
  for (size_t i = 0; i < d->nslots; i++) {
    if (!d->slots[i]) continue;
    size_t j = d->hashes[i] & (n - 1);
    while (slots[j]) j = (j + 1) & (n - 1);
    slots[j] = d->slots[i];
    hashes[j] = d->hashes[i];
  }
  free(d->slots);
  free(d->hashes);
  d->slots = slots;
  d->hashes = hashes;
  d->nslots = n;
  return 0;
}

/* Code of the string, adding it if new; -1 when out of memory. */
static int32_t dict_intern(strdict *d, const char *s, size_t len) {
  if ((size_t)(d->n + 1) * 2 > d->nslots && dict_grow(d) != 0) return -1;
  uint32_t h = hash_bytes(s, len);
  size_t j = h & (d->nslots - 1);
  while (d->slots[j]) {
    if (d->hashes[j] == h) {
      int32_t code = d->slots[j] - 1;
      const char *t = d->pool.p + ((int64_t *)d->offs.p)[code];
      if (strncmp(t, s, len) == 0 && t[len] == '\0') return code;
    }
    j = (j + 1) & (d->nslots - 1);
  }
  int64_t off = (int64_t)d->pool.len;
  if (vec_reserve(&d->pool, len + 1) != 0) return -1;
  memcpy(d->pool.p + d->pool.len, s, len);
  d->pool.p[d->pool.len + len] = '\0';
  d->pool.len += len + 1;
  int fail = 0;
  VEC_PUSH(&d->offs, int64_t, off, fail = 1);
  if (fail) return -1;
  d->slots[j] = d->n + 1;
  d->hashes[j] = h;
  return d->n++;
}

static void dict_free(strdict *d) {
  free(d->pool.p);
  free(d->offs.p);
  free(d->slots);
  free(d->hashes);
  memset(d, 0, sizeof *d);
}

/* ---- per-chunk state ---- */

typedef struct reject_rec {
  int64_t line; /* chunk-local physical line index (0-based) until numbered at merge */
  csv_reason reason;
  size_t text_off, text_len;
  size_t full_len; /* the line's length: only its first REJECT_TEXT_MAX bytes are kept */
} reject_rec;

/* Bytes of a rejected line kept for the rejects file (a 1 GB line must not be copied whole). */
#define REJECT_TEXT_MAX 4096

typedef struct colbuf {
  vec vals;     /* scalar values, or per-row item counts (int32) for lists */
  vec items;    /* list items */
  strdict dict; /* string columns */
} colbuf;

typedef struct chunk {
  int file;
  const char *begin, *end;
  int at_file_start;
  int64_t est_rows;   /* counting pass: non-empty lines (an upper bound on kept rows) */
  int64_t *est_items; /* counting pass: tokens per list column (an upper bound on kept items) */
  int64_t row_off;    /* where this chunk's rows start in the final arrays (before compaction) */
  int64_t *item_off;  /* where its items start, per list column */
  int64_t nlines; /* physical lines started in this chunk */
  int64_t kept, rejected[CSV_NREASONS], empty;
  colbuf *cols;
  vec rejects; /* reject_rec */
  vec rtext;   /* verbatim text of rejected lines */
  int oom;
  int done;
  char last_date[10]; /* the previous row's date text and value: dates repeat line after line */
  int32_t last_days;
  int has_last_date;
  vec tail;           /* a copy of a last line without newline, so every field is followed by a non-digit */
} chunk;

typedef struct reader {
  const csv_options *opt;
  const char *const *paths;
  int nfiles;
  const char **maps;
  size_t *sizes;
  chunk *chunks;
  int nchunks;
  atomic_int next;
  atomic_int stop;       /* cancelled or out of memory: every worker stops */
  atomic_int stop_chunk; /* fail_fast: index of the earliest chunk with a rejected row (chunks after it stop) */
  atomic_llong nrejects;
  csv_result *res;
  char (*header)[64];
  int header_n;
  int direct;          /* plain CSV: count first, then parse straight into the final columns */
  cs_column **final;   /* direct mode: the columns being filled */
  int32_t **counts;    /* direct mode: item count of each row, per list column */
} reader;

/* ---- field parsing ---- */

typedef struct span {
  const char *p;
  size_t len;
} span;

static void trim_span(span *s) {
  while (s->len && (s->p[0] == ' ' || s->p[0] == '\t')) s->p++, s->len--;
  while (s->len && (s->p[s->len - 1] == ' ' || s->p[s->len - 1] == '\t')) s->len--;
}

/* Parses an int32; returns 0, or the reason. */
static int parse_i64(const char *p, size_t len, int64_t *out, int64_t lo, int64_t hi) {
  size_t i = 0;
  int neg = 0;
  if (len && (p[0] == '-' || p[0] == '+')) neg = p[i++] == '-';
  if (i == len) return CSV_BAD_INT;
  int64_t v = 0;
  for (; i < len; i++) {
    unsigned d = (unsigned)(p[i] - '0');
    if (d > 9) return CSV_BAD_INT;
    if (v > (INT64_MAX - 9) / 10) { /* keep scanning so "12x" still says bad integer */
      for (; i < len; i++)
        if ((unsigned)(p[i] - '0') > 9) return CSV_BAD_INT;
      return CSV_INT_RANGE;
    }
    v = v * 10 + d;
  }
  if (neg) v = -v;
  if (v < lo || v > hi) return CSV_INT_RANGE;
  *out = v;
  return -1;
}

static int parse_date(const char *p, size_t len, int32_t *out) {
  if (len != 10 || p[4] != '-' || p[7] != '-') return CSV_BAD_DATE;
  int v[8], k = 0;
  for (size_t i = 0; i < 10; i++) {
    if (i == 4 || i == 7) continue;
    unsigned d = (unsigned)(p[i] - '0');
    if (d > 9) return CSV_BAD_DATE;
    v[k++] = (int)d;
  }
  int y = v[0] * 1000 + v[1] * 100 + v[2] * 10 + v[3], m = v[4] * 10 + v[5], d = v[6] * 10 + v[7];
  if (!cs_date_valid(y, m, d)) return CSV_BAD_DATE;
  *out = cs_days_from_civil(y, m, d);
  return -1;
}

static int parse_number(const char *p, size_t len, double *out) {
  char tmp[64];
  if (len == 0 || len >= sizeof tmp) return CSV_BAD_NUMBER;
  for (size_t i = 0; i < len; i++) {
    char c = p[i];
    if (!((c >= '0' && c <= '9') || c == '.' || c == '-' || c == '+' || c == 'e' || c == 'E')) return CSV_BAD_NUMBER;
  }
  memcpy(tmp, p, len);
  tmp[len] = '\0';
  char *end;
  double v = strtod(tmp, &end);
  if (*end || !isfinite(v)) return CSV_BAD_NUMBER;
  *out = v;
  return -1;
}

/* The leading digits of the 8 bytes at p (at most 7 of them; 0 when there are none or all 8 are digits) and their
   value, without a branch per digit: item ids have 1 to 3 digits in no predictable order, and a loop that stops at
   the first non-digit mispredicts about once an item. A byte is a digit when its high nibble is 3 and its low
   nibble at most 9 (adding 6 then does not carry into the high nibble). */
static int swar_digits(const unsigned char *p, uint32_t *value) {
  uint64_t w;
  memcpy(&w, p, sizeof w);
  uint64_t hi = w & 0xF0F0F0F0F0F0F0F0u, lo = w & 0x0F0F0F0F0F0F0F0Fu;
  uint64_t bad = (hi ^ 0x3030303030303030u) | ((lo + 0x0606060606060606u) & 0xF0F0F0F0F0F0F0F0u);
  if (!bad) return 0;
  int n = __builtin_ctzll(bad) / 8;
  if (n == 0) return 0;
  /* the n digits to the top bytes (zeros before them read as leading zeros), then pairs, quads, the 8 */
  uint64_t d = (w << (8 * (8 - n))) & 0x0F0F0F0F0F0F0F0Fu;
  d = (d * 10 + (d >> 8)) & 0x00FF00FF00FF00FFu;
  d = (d * 100 + (d >> 16)) & 0x0000FFFF0000FFFFu;
  d = (d * 10000 + (d >> 32)) & 0xFFFFFFFFu;
  *value = (uint32_t)d;
  return n;
}

/* Appends the items of a list field, then their count; returns -1 on success or the reason (having taken back
   the items it appended). The byte after the field is never a digit (a delimiter, a line end, or the copy's
   newline), so digit runs need no bound check. */
static int parse_list(chunk *ch, colbuf *cb, const csv_colspec *spec, span f) {
  const unsigned char *p = (const unsigned char *)f.p, *e = p + f.len;
  const unsigned char *issep = spec->issep;
  size_t start = cb->items.len;
  int32_t count = 0;
  for (;;) {
    while (p < e && issep[*p]) p++;
    if (p >= e) break;
    const unsigned char *q = p;
    int64_t v;
    uint32_t sv; /* the common case: a plain id of up to 7 digits, 8 bytes or more before the field's end */
    int sn = e - p >= 8 ? swar_digits(p, &sv) : 0;
    if (sn && issep[p[sn]]) {
      v = sv, q = p + sn;
    } else {
      int neg = 0;
      if (*q == '-' || *q == '+') neg = *q++ == '-';
      const unsigned char *digits = q;
      uint64_t u = 0;
      while ((unsigned)(*q - '0') <= 9) u = u * 10 + (uint64_t)(*q++ - '0');
      if (q == digits || q - digits > 10 || (q < e && !issep[*q])) {
        /* not a plain short integer (a long one, or garbage): the general parser decides */
        while (q < e && !issep[*q]) q++;
        int r = parse_i64((const char *)p, (size_t)(q - p), &v, INT32_MIN, INT32_MAX);
        if (r >= 0) {
          cb->items.len = start;
          return r;
        }
      } else {
        v = neg ? -(int64_t)u : (int64_t)u;
        if (v < INT32_MIN || v > INT32_MAX) {
          cb->items.len = start;
          return CSV_INT_RANGE;
        }
      }
    }
    int fail = 0;
    VEC_PUSH(&cb->items, int32_t, (int32_t)v, fail = 1);
    if (fail) {
      ch->oom = 1;
      return -1;
    }
    count++;
    p = q;
  }
  if (count == 0 && !spec->allow_empty) return CSV_EMPTY_LIST;
  int fail = 0;
  VEC_PUSH(&cb->vals, int32_t, count, fail = 1);
  if (fail) ch->oom = 1;
  return -1;
}

/* An int32 field: a fast path for plain short numbers, else the general parser. */
static int parse_int32(span f, int32_t *out) {
  if (f.len >= 1 && f.len <= 9) {
    uint32_t v = 0;
    size_t i = 0;
    for (; i < f.len; i++) {
      unsigned d = (unsigned)(f.p[i] - '0');
      if (d > 9) break;
      v = v * 10 + d;
    }
    if (i == f.len) {
      *out = (int32_t)v;
      return -1;
    }
  }
  int64_t v;
  int r = parse_i64(f.p, f.len, &v, INT32_MIN, INT32_MAX);
  if (r < 0) *out = (int32_t)v;
  return r;
}

/* Converts one field into its column; returns -1 on success or the reason. */
static int convert_field(chunk *ch, colbuf *cb, const csv_colspec *spec, span f) {
  int fail = 0, r;
  if (spec->skip) return -1;
  if (spec->type != CS_STRING) trim_span(&f);
  switch (spec->type) {
    case CS_INT32: {
      int32_t v;
      if ((r = parse_int32(f, &v)) >= 0) return r;
      VEC_PUSH(&cb->vals, int32_t, v, fail = 1);
      break;
    }
    case CS_INT64: {
      int64_t v;
      if ((r = parse_i64(f.p, f.len, &v, INT64_MIN + 1, INT64_MAX)) >= 0) return r;
      VEC_PUSH(&cb->vals, int64_t, v, fail = 1);
      break;
    }
    case CS_DATE: {
      int32_t v;
      if (ch->has_last_date && f.len == 10 && memcmp(f.p, ch->last_date, 10) == 0) {
        v = ch->last_days;
      } else {
        if ((r = parse_date(f.p, f.len, &v)) >= 0) return r;
        memcpy(ch->last_date, f.p, 10);
        ch->last_days = v;
        ch->has_last_date = 1;
      }
      VEC_PUSH(&cb->vals, int32_t, v, fail = 1);
      break;
    }
    case CS_FLOAT64: {
      double v;
      if ((r = parse_number(f.p, f.len, &v)) >= 0) return r;
      VEC_PUSH(&cb->vals, double, v, fail = 1);
      break;
    }
    case CS_STRING: {
      trim_span(&f);
      int32_t code = dict_intern(&cb->dict, f.p, f.len);
      if (code < 0) fail = 1;
      else VEC_PUSH(&cb->vals, int32_t, code, fail = 1);
      break;
    }
    case CS_LIST: return parse_list(ch, cb, spec, f);
  }
  if (fail) ch->oom = 1;
  return -1;
}

static void record_reject(reader *rd, chunk *ch, int64_t line, csv_reason why, const char *text, size_t len) {
  ch->rejected[why]++;
  size_t off = ch->rtext.len, full = len;
  if (len > REJECT_TEXT_MAX) len = REJECT_TEXT_MAX;
  if (vec_reserve(&ch->rtext, len) != 0) {
    ch->oom = 1;
    return;
  }
  memcpy(ch->rtext.p + off, text, len);
  ch->rtext.len += len;
  reject_rec rec = {line, why, off, len, full};
  VEC_PUSH(&ch->rejects, reject_rec, rec, ch->oom = 1);
  atomic_fetch_add(&rd->nrejects, 1);
  if (rd->opt->fail_fast) {
    int k = (int)(ch - rd->chunks), cur = atomic_load(&rd->stop_chunk);
    while (k < cur && !atomic_compare_exchange_weak(&rd->stop_chunk, &cur, k)) {
    }
  }
}

/* Whether a chunk should stop parsing: every chunk up to the earliest one with a reject must finish, so the first
   rejected row in file order is always found, whatever the thread count. */
static int chunk_should_stop(reader *rd, chunk *ch) {
  if (ch->oom || atomic_load(&rd->stop)) return 1;
  return atomic_load(&rd->stop_chunk) <= (int)(ch - rd->chunks);
}

/* Converts the fields of one record; on a bad value takes back what the row appended and records the reject. */
static void convert_row(reader *rd, chunk *ch, int64_t line, span *fields, int nf, const char *text, size_t tlen) {
  const csv_options *o = rd->opt;
  int reason = nf != o->ncols ? CSV_FIELD_COUNT : -1;
  for (int c = 0; c < o->ncols && reason < 0; c++) reason = convert_field(ch, &ch->cols[c], &o->cols[c], fields[c]);
  if (reason < 0) {
    ch->kept++;
    return;
  }
  /* every column holds exactly `kept` rows again; a list column that took the row drops the row's items with its
     count (a list that failed took back its own) */
  for (int c = 0; c < o->ncols; c++) {
    colbuf *cb = &ch->cols[c];
    size_t esz = o->cols[c].type == CS_INT64 || o->cols[c].type == CS_FLOAT64 ? 8 : 4, keep = (size_t)ch->kept * esz;
    if (cb->vals.len <= keep) continue;
    if (o->cols[c].type == CS_LIST) {
      int32_t count;
      memcpy(&count, cb->vals.p + keep, sizeof count);
      cb->items.len -= (size_t)count * sizeof(int32_t);
    }
    cb->vals.len = keep;
  }
  record_reject(rd, ch, line, (csv_reason)reason, text, tlen);
}

/* Splits an unquoted line into fields; returns the field count (capped at ncols + 1). */
static int split_plain(const char *s, const char *e, char delim, int ncols, span *f) {
  int n = 0;
  const char *p = s;
  for (;;) {
    const char *q = p;
    if (n < ncols - 1) { /* leading fields are short: a byte loop beats a call */
      while (q < e && *q != delim) q++;
    } else {
      q = memchr(p, delim, (size_t)(e - p));
      if (!q) q = e;
    }
    if (n <= ncols) f[n] = (span){p, (size_t)(q - p)};
    n++;
    if (q == e || n > ncols) break;
    p = q + 1;
  }
  return n > ncols + 1 ? ncols + 1 : n;
}

static const char *line_content_end(const char *s, const char *e) {
  while (e > s && (e[-1] == '\r' || e[-1] == ' ' || e[-1] == '\t')) e--;
  return e;
}

/* Parses a chunk of unquoted lines. */
static void parse_plain(reader *rd, chunk *ch, const char *p) {
  const csv_options *o = rd->opt;
  span fields[CSV_MAX_FIELDS + 1];
  while (p < ch->end) {
    const char *nl = memchr(p, '\n', (size_t)(ch->end - p));
    const char *next = nl ? nl + 1 : ch->end;
    if (!nl) { /* the file's last line has no newline: parse a copy that has one */
      size_t len = (size_t)(ch->end - p);
      ch->tail.len = 0;
      if (vec_reserve(&ch->tail, len + 1) != 0) {
        ch->oom = 1;
        return;
      }
      memcpy(ch->tail.p, p, len);
      ch->tail.p[len] = '\n';
      p = ch->tail.p;
      nl = p + len;
    }
    const char *e = line_content_end(p, nl);
    int64_t line = ch->nlines++;
    if (e == p) {
      ch->empty++;
    } else {
      int nf = split_plain(p, e, o->delimiter, o->ncols, fields);
      convert_row(rd, ch, line, fields, nf, p, (size_t)(e - p));
      if (chunk_should_stop(rd, ch)) return;
    }
    p = next;
  }
}

/* Parses a chunk with RFC 4180 quoting: fields may be quoted, "" is a quote, quoted fields may span lines.
   Decoded fields go to a scratch buffer. */
static void parse_quoted(reader *rd, chunk *ch, const char *p) {
  const csv_options *o = rd->opt;
  span fields[CSV_MAX_FIELDS + 1];
  vec scratch = {0};
  size_t starts[CSV_MAX_FIELDS + 2], ends[CSV_MAX_FIELDS + 2];
  while (p < ch->end) {
    const char *rec = p;
    int64_t line = ch->nlines;
    int nf = 0, bad = 0;
    scratch.len = 0;
    for (;;) { /* one field per iteration */
      size_t fstart = scratch.len;
      while (p < ch->end && (*p == ' ' || *p == '\t')) p++;
      if (p < ch->end && *p == o->quote) {
        p++;
        for (;;) {
          if (p >= ch->end) {
            bad = 1;
            break;
          }
          if (*p == o->quote) {
            if (p + 1 < ch->end && p[1] == o->quote) {
              if (vec_reserve(&scratch, 1) == 0) scratch.p[scratch.len++] = *p;
              p += 2;
              continue;
            }
            p++;
            break;
          }
          if (*p == '\n') ch->nlines++;
          if (vec_reserve(&scratch, 1) == 0) scratch.p[scratch.len++] = *p;
          p++;
        }
        while (p < ch->end && (*p == ' ' || *p == '\t' || *p == '\r')) p++;
        if (!bad && p < ch->end && *p != o->delimiter && *p != '\n') bad = 1;
      } else {
        while (p < ch->end && *p != o->delimiter && *p != '\n') {
          if (vec_reserve(&scratch, 1) == 0) scratch.p[scratch.len++] = *p;
          p++;
        }
      }
      if (nf <= CSV_MAX_FIELDS) starts[nf] = fstart, ends[nf] = scratch.len;
      nf++;
      if (vec_reserve(&scratch, 1) == 0) scratch.p[scratch.len++] = '\0'; /* a non-digit after every field */
      if (bad) { /* skip to the end of the physical line */
        while (p < ch->end && *p != '\n') p++;
      }
      if (p >= ch->end || *p == '\n') break;
      p++; /* delimiter */
    }
    if (p < ch->end) p++; /* newline */
    ch->nlines++;
    const char *rec_end = line_content_end(rec, p > rec && p[-1] == '\n' ? p - 1 : p);
    if (rec_end == rec) {
      ch->empty++;
      continue;
    }
    if (bad) {
      record_reject(rd, ch, line, CSV_BAD_QUOTE, rec, (size_t)(rec_end - rec));
    } else {
      int n = nf > o->ncols + 1 ? o->ncols + 1 : nf;
      for (int i = 0; i < n && i <= CSV_MAX_FIELDS; i++) {
        size_t a = starts[i], b = ends[i];
        if (i == nf - 1) /* the last field keeps no trailing \r or spaces */
          while (b > a && (scratch.p[b - 1] == '\r' || scratch.p[b - 1] == ' ')) b--;
        fields[i] = (span){scratch.p + a, b - a};
      }
      convert_row(rd, ch, line, fields, n, rec, (size_t)(rec_end - rec));
    }
    if (chunk_should_stop(rd, ch)) break;
  }
  free(scratch.p);
}

/* Skips a BOM and the header line at the start of a file (capturing the header's names when asked). */
static const char *skip_preamble(reader *rd, chunk *ch, int capture) {
  const char *p = ch->begin;
  if (ch->end - p >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0) p += 3;
  if (rd->opt->header == CSV_HEADER_NO) return p;
  const char *nl = memchr(p, '\n', (size_t)(ch->end - p));
  const char *e = line_content_end(p, nl ? nl : ch->end);
  if (capture && rd->opt->header == CSV_HEADER_YES && ch->file == 0) {
    span f[CSV_MAX_FIELDS + 1];
    int n = split_plain(p, e, rd->opt->delimiter, CSV_MAX_FIELDS, f);
    rd->header_n = n > 16 ? 16 : n;
    for (int i = 0; i < rd->header_n; i++) {
      trim_span(&f[i]);
      size_t len = f[i].len < 63 ? f[i].len : 63;
      if (len >= 2 && f[i].p[0] == '"' && f[i].p[len - 1] == '"') f[i].p++, len -= 2;
      memcpy(rd->header[i], f[i].p, len);
      rd->header[i][len] = '\0';
    }
  }
  if (capture) ch->nlines++;
  return nl ? nl + 1 : ch->end;
}

/* Newlines in p .. end-1, and the bytes that may separate list items (the list separator, space and tab), in one
   pass: blocks of 255 bytes counted into byte-wide sums, a loop the compiler vectorises (a memchr per line and a
   second pass took nine times as long). */
static void count_bytes(const char *p, const char *end, char list_sep, int64_t *lines, int64_t *seps) {
  int64_t nl = 0, ns = 0;
  while (p < end) {
    size_t len = (size_t)(end - p) < 255 ? (size_t)(end - p) : 255;
    unsigned char bl = 0, bs = 0;
    for (size_t i = 0; i < len; i++) {
      unsigned char c = (unsigned char)p[i];
      bl += c == '\n';
      bs += (c == (unsigned char)list_sep) | (c == ' ') | (c == '\t');
    }
    nl += bl, ns += bs, p += len;
  }
  *lines = nl, *seps = ns;
}

/* Counting pass (direct mode): lines (an upper bound on kept rows) and, for list columns, separator bytes plus
   lines (an upper bound on items: a row's items are at most its separator runs plus one), so every chunk can
   write straight into its slice of the final columns. The slices are closed up afterwards; a tight bound leaves
   small gaps, so closing them moves data within pages already touched instead of faulting in new ones. */
static void count_chunk(reader *rd, chunk *ch) {
  const csv_options *o = rd->opt;
  const char *p = ch->at_file_start ? skip_preamble(rd, ch, 0) : ch->begin;
  int first = -1; /* the first list column: its separators are counted with the lines */
  for (int c = 0; c < o->ncols && first < 0; c++)
    if (o->cols[c].type == CS_LIST && !o->cols[c].skip) first = c;
  int64_t lines, seps;
  count_bytes(p, ch->end, first >= 0 ? o->cols[first].list_sep : '\n', &lines, &seps);
  if (p < ch->end && ch->end[-1] != '\n') lines++; /* a last line without newline */
  ch->est_rows = lines;
  for (int c = first; c >= 0 && c < o->ncols; c++)
    if (o->cols[c].type == CS_LIST && !o->cols[c].skip) {
      int64_t n = seps, ignored;
      if (o->cols[c].list_sep != o->cols[first].list_sep) count_bytes(p, ch->end, o->cols[c].list_sep, &ignored, &n);
      ch->est_items[c] = n + lines + 1;
    }
}

/* Drops a parsed chunk's pages of the mapped file from our memory (they stay in the page cache): the file never
   sits in memory whole next to the columns it becomes. */
static void release_text(chunk *ch) {
  long page = sysconf(_SC_PAGESIZE);
  uintptr_t lo = ((uintptr_t)ch->begin + (uintptr_t)page - 1) & ~((uintptr_t)page - 1);
  uintptr_t hi = (uintptr_t)ch->end & ~((uintptr_t)page - 1);
  if (hi > lo) madvise((void *)lo, hi - lo, MADV_DONTNEED);
}

static void parse_chunk(reader *rd, chunk *ch) {
  const char *p = ch->at_file_start ? skip_preamble(rd, ch, 1) : ch->begin;
  if (rd->opt->quote) parse_quoted(rd, ch, p);
  else parse_plain(rd, ch, p);
  ch->done = 1;
}

static void *count_worker(void *arg) {
  reader *rd = arg;
  for (;;) {
    int i = atomic_fetch_add(&rd->next, 1);
    if (i >= rd->nchunks || atomic_load(&rd->stop)) break;
    count_chunk(rd, &rd->chunks[i]);
  }
  return NULL;
}

static void *worker(void *arg) {
  reader *rd = arg;
  for (;;) {
    if (atomic_load(&rd->stop)) break;
    if (rd->opt->cancelled && rd->opt->cancelled()) {
      atomic_store(&rd->stop, 1);
      break;
    }
    int i = atomic_fetch_add(&rd->next, 1);
    if (i >= rd->nchunks || i > atomic_load(&rd->stop_chunk)) break;
    chunk *ch = &rd->chunks[i];
    parse_chunk(rd, ch);
    if (ch->oom) atomic_store(&rd->stop, 1);
    release_text(ch);
    if (rd->opt->progress) rd->opt->progress(rd->opt->progress_ud, ch->end - ch->begin);
  }
  return NULL;
}

/* ---- setup ---- */

static int map_files(reader *rd) {
  csv_result *res = rd->res;
  for (int i = 0; i < rd->nfiles; i++) {
    /* O_NONBLOCK: a FIFO named like a CSV must not hang the open; it is refused below as not a regular file */
    int fd = open(rd->paths[i], O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
      snprintf(res->error, sizeof res->error, "cannot open %s: %s", rd->paths[i], strerror(errno));
      return -1;
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
      snprintf(res->error, sizeof res->error, "cannot read %s: %s", rd->paths[i], strerror(errno));
      close(fd);
      return -1;
    }
    if (!S_ISREG(st.st_mode)) {
      snprintf(res->error, sizeof res->error, "cannot read %s: %s", rd->paths[i],
               S_ISDIR(st.st_mode) ? "is a directory" : "not a regular file");
      close(fd);
      return -1;
    }
    rd->sizes[i] = (size_t)st.st_size;
    res->files[i].bytes = st.st_size;
    res->files[i].duplicate_of = -1;
    if (st.st_size > 0) {
      void *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
      if (m == MAP_FAILED) {
        snprintf(res->error, sizeof res->error, "cannot map %s: %s", rd->paths[i], strerror(errno));
        close(fd);
        return -1;
      }
      madvise(m, (size_t)st.st_size, MADV_WILLNEED);
      rd->maps[i] = m;
    }
    close(fd);
  }
  return 0;
}

/* A file byte-identical to an earlier one is skipped (equal sizes first, then the bytes). */
static void find_duplicates(reader *rd) {
  for (int i = 0; i < rd->nfiles; i++)
    for (int j = 0; j < i; j++) {
      if (rd->res->files[j].duplicate_of >= 0 || rd->sizes[i] != rd->sizes[j]) continue;
      if (rd->sizes[i] == 0 || memcmp(rd->maps[i], rd->maps[j], rd->sizes[i]) == 0) {
        rd->res->files[i].duplicate_of = j;
        break;
      }
    }
}

static int make_chunks(reader *rd) {
  const csv_options *o = rd->opt;
  size_t total = 0;
  for (int i = 0; i < rd->nfiles; i++)
    if (rd->res->files[i].duplicate_of < 0) total += rd->sizes[i];
  size_t target = o->chunk_bytes > 0 ? (size_t)o->chunk_bytes : total / ((size_t)o->nthreads * 8) + 1;
  if (o->chunk_bytes <= 0 && target < (1u << 20)) target = 1u << 20;
  int cap = 16;
  rd->chunks = calloc((size_t)cap, sizeof(chunk));
  if (!rd->chunks) return -1;
  for (int f = 0; f < rd->nfiles; f++) {
    if (rd->res->files[f].duplicate_of >= 0 || rd->sizes[f] == 0) continue;
    const char *p = rd->maps[f], *end = p + rd->sizes[f];
    int first = 1;
    do {
      const char *cut = end;
      if (!o->quote && (size_t)(end - p) > target) {
        const char *nl = memchr(p + target, '\n', (size_t)(end - p) - target);
        cut = nl ? nl + 1 : end;
      }
      if (rd->nchunks == cap) {
        chunk *more = realloc(rd->chunks, sizeof(chunk) * (size_t)cap * 2);
        if (!more) return -1;
        memset(more + cap, 0, sizeof(chunk) * (size_t)cap);
        rd->chunks = more;
        cap *= 2;
      }
      chunk *ch = &rd->chunks[rd->nchunks++];
      ch->file = f;
      ch->begin = p;
      ch->end = cut;
      ch->at_file_start = first;
      ch->cols = calloc((size_t)(o->ncols > 0 ? o->ncols : 1), sizeof(colbuf));
      ch->est_items = calloc((size_t)(o->ncols > 0 ? o->ncols : 1), sizeof(int64_t));
      ch->item_off = calloc((size_t)(o->ncols > 0 ? o->ncols : 1), sizeof(int64_t));
      if (!ch->cols || !ch->est_items || !ch->item_off) return -1;
      first = 0;
      p = cut;
    } while (p < end);
  }
  return 0;
}

/* ---- merge ---- */

static size_t spec_esize(const csv_colspec *s) {
  return s->type == CS_INT64 || s->type == CS_FLOAT64 ? 8 : 4;
}

static void free_vec(vec *v) {
  if (!v->fixed) free(v->p);
  *v = (vec){0};
}

/* Builds the final string dictionary of column c from the chunks' dictionaries and recodes each chunk's codes
   (written at codes + the chunk's row offset). Returns the dictionary pieces through the column. */
static int merge_dicts(reader *rd, int c, cs_column *col, int32_t *codes_base, int direct) {
  strdict global = {0};
  int64_t row = 0;
  for (int k = 0; k < rd->nchunks; k++) {
    colbuf *cb = &rd->chunks[k].cols[c];
    int32_t *remap = malloc(sizeof(int32_t) * (size_t)(cb->dict.n > 0 ? cb->dict.n : 1));
    if (!remap) goto fail;
    for (int32_t i = 0; i < cb->dict.n; i++) {
      const char *str = cb->dict.pool.p + ((int64_t *)cb->dict.offs.p)[i];
      remap[i] = dict_intern(&global, str, strlen(str));
      if (remap[i] < 0) {
        free(remap);
        goto fail;
      }
    }
    const int32_t *codes = (const int32_t *)cb->vals.p;
    int32_t *dst = direct ? (int32_t *)cb->vals.p : codes_base + row;
    for (size_t r = 0; r < cb->vals.len / 4; r++) dst[r] = remap[codes[r]];
    row += (int64_t)(cb->vals.len / 4);
    free(remap);
    if (!direct) free_vec(&cb->vals);
    dict_free(&cb->dict);
  }
  int64_t *offs = malloc(sizeof(int64_t) * (size_t)(global.n + 1));
  char *chars = global.pool.p ? global.pool.p : calloc(1, 1);
  if (!offs || !chars) {
    free(offs);
    if (!global.pool.p) free(chars);
    goto fail;
  }
  if (global.n) memcpy(offs, global.offs.p, sizeof(int64_t) * (size_t)global.n);
  offs[global.n] = (int64_t)global.pool.len;
  global.pool.p = NULL;
  cs_column_set_dict(col, global.n, offs, chars);
  dict_free(&global);
  return 0;
fail:
  dict_free(&global);
  return -1;
}

/* Direct mode: closes the gaps rejected rows left between chunk slices, fixes list offsets, recodes strings. */
static cs_column *finish_direct(reader *rd, int c, int64_t nrows) {
  const csv_colspec *s = &rd->opt->cols[c];
  cs_column *col = rd->final[c];
  rd->final[c] = NULL;
  if (s->type == CS_STRING && merge_dicts(rd, c, col, NULL, 1) != 0) goto fail;
  size_t esz = s->type == CS_LIST ? 4 : spec_esize(s);
  char *base = s->type == CS_LIST ? (char *)rd->counts[c] : (char *)col->v.i64;
  int64_t row = 0, item = 0;
  for (int k = 0; k < rd->nchunks; k++) {
    chunk *ch = &rd->chunks[k];
    colbuf *cb = &ch->cols[c];
    if (ch->row_off != row && cb->vals.len) memmove(base + (size_t)row * esz, cb->vals.p, cb->vals.len);
    row += (int64_t)(cb->vals.len / esz);
    if (s->type == CS_LIST) {
      if (ch->item_off[c] != item && cb->items.len) memmove(col->items + item, cb->items.p, cb->items.len);
      item += (int64_t)(cb->items.len / 4);
    }
    cb->vals = cb->items = (vec){0};
  }
  if (s->type == CS_LIST) {
    const int32_t *cnt = rd->counts[c];
    col->offsets[0] = 0;
    for (int64_t r = 0; r < nrows; r++) col->offsets[r + 1] = col->offsets[r] + cnt[r];
    free(rd->counts[c]);
    rd->counts[c] = NULL;
    int32_t *fit = realloc(col->items, sizeof(int32_t) * (size_t)(item > 0 ? item : 1)); /* give back the slack */
    if (fit) col->items = fit;
  }
  col->n = nrows;
  return col;
fail:
  cs_column_release(col);
  return NULL;
}

/* Buffered mode: builds the final column c from the chunks in order, freeing chunk buffers as it goes. */
static cs_column *merge_column(reader *rd, int c, int64_t nrows) {
  const csv_colspec *s = &rd->opt->cols[c];
  cs_column *col = cs_column_new(s->type, nrows);
  if (!col) return NULL;
  if (s->type == CS_LIST) {
    int64_t nitems = 0;
    for (int k = 0; k < rd->nchunks; k++) nitems += (int64_t)(rd->chunks[k].cols[c].items.len / sizeof(int32_t));
    int32_t *items = mc_malloc_huge(sizeof(int32_t) * (size_t)nitems);
    if (!items) goto fail;
    cs_column_set_items(col, items);
    int64_t row = 0, at = 0;
    for (int k = 0; k < rd->nchunks; k++) {
      colbuf *cb = &rd->chunks[k].cols[c];
      const int32_t *cnt = (const int32_t *)cb->vals.p;
      for (size_t r = 0; r < cb->vals.len / sizeof(int32_t); r++) {
        at += cnt[r];
        col->offsets[++row] = at;
      }
      if (cb->items.len) memcpy(items + (col->offsets[row] - (int64_t)(cb->items.len / 4)), cb->items.p, cb->items.len);
      free(cb->vals.p), free(cb->items.p);
      cb->vals = cb->items = (vec){0};
    }
    return col;
  }
  if (s->type == CS_STRING) {
    if (merge_dicts(rd, c, col, col->v.i32, 0) != 0) goto fail;
    return col;
  }
  size_t esz = spec_esize(s);
  char *dst = (char *)col->v.i64;
  for (int k = 0; k < rd->nchunks; k++) {
    colbuf *cb = &rd->chunks[k].cols[c];
    if (cb->vals.len) memcpy(dst, cb->vals.p, cb->vals.len);
    dst += cb->vals.len;
    free(cb->vals.p);
    cb->vals = (vec){0};
  }
  (void)esz;
  return col;
fail:
  cs_column_release(col);
  return NULL;
}

static cs_column *const_column(reader *rd, const csv_constcol *cc, int64_t nrows) {
  cs_column *col = cs_column_new(CS_INT32, nrows);
  if (!col) return NULL;
  if (cc->type == CS_STRING) col->type = CS_STRING;
  int64_t row = 0;
  /* string constants: the dictionary holds each file's value once, codes = file order of first use */
  strdict d = {0};
  for (int k = 0; k < rd->nchunks; k++) {
    chunk *ch = &rd->chunks[k];
    int32_t v;
    if (cc->type == CS_STRING) {
      v = dict_intern(&d, cc->strs[ch->file], strlen(cc->strs[ch->file]));
      if (v < 0) {
        dict_free(&d);
        cs_column_release(col);
        return NULL;
      }
    } else {
      v = cc->ints[ch->file];
    }
    for (int64_t r = 0; r < ch->kept; r++) col->v.i32[row++] = v;
  }
  if (cc->type == CS_STRING) {
    int64_t *offs = malloc(sizeof(int64_t) * (size_t)(d.n + 1));
    char *chars = d.pool.p ? d.pool.p : calloc(1, 1);
    if (!offs || !chars) {
      free(offs);
      dict_free(&d);
      cs_column_release(col);
      return NULL;
    }
    if (d.n) memcpy(offs, d.offs.p, sizeof(int64_t) * (size_t)d.n);
    offs[d.n] = (int64_t)d.pool.len;
    d.pool.p = NULL;
    cs_column_set_dict(col, d.n, offs, chars);
    dict_free(&d);
  }
  return col;
}

/* Numbers lines, fills per-file statistics and writes the rejects text in file order. */
static void collect_stats(reader *rd) {
  csv_result *res = rd->res;
  int64_t base = 0;
  int prev_file = -1;
  for (int k = 0; k < rd->nchunks; k++) {
    chunk *ch = &rd->chunks[k];
    if (ch->file != prev_file) base = 0, prev_file = ch->file;
    csv_file_stats *fs = &res->files[ch->file];
    fs->kept += ch->kept;
    fs->empty_lines += ch->empty;
    for (int r = 0; r < CSV_NREASONS; r++) {
      fs->rejected[r] += ch->rejected[r];
      fs->lines_read += ch->rejected[r];
    }
    fs->lines_read += ch->kept;
    const reject_rec *rr = (const reject_rec *)ch->rejects.p;
    for (size_t i = 0; i < ch->rejects.len / sizeof(reject_rec); i++) {
      int64_t line = base + rr[i].line + 1;
      const char *path = rd->paths[ch->file];
      if (res->nrejects == 0)
        snprintf(res->first_reject, sizeof res->first_reject, "%s:%lld: %s", path, (long long)line,
                 csv_reason_text(rr[i].reason));
      buf_addf(&res->rejects, "%s:%lld: %s\t", path, (long long)line, csv_reason_text(rr[i].reason));
      buf_add(&res->rejects, ch->rtext.p + rr[i].text_off, rr[i].text_len);
      if (rr[i].full_len > rr[i].text_len)
        buf_addf(&res->rejects, " [... %zu more bytes]", rr[i].full_len - rr[i].text_len);
      buf_addc(&res->rejects, '\n');
      res->nrejects++;
    }
    base += ch->nlines;
  }
}

static void free_chunks(reader *rd) {
  for (int k = 0; k < rd->nchunks; k++) {
    chunk *ch = &rd->chunks[k];
    if (ch->cols)
      for (int c = 0; c < rd->opt->ncols; c++) {
        free_vec(&ch->cols[c].vals);
        free_vec(&ch->cols[c].items);
        dict_free(&ch->cols[c].dict);
      }
    free(ch->cols);
    free(ch->est_items);
    free(ch->item_off);
    free(ch->rejects.p);
    free(ch->rtext.p);
    free(ch->tail.p);
  }
  free(rd->chunks);
  rd->chunks = NULL;
  if (rd->final)
    for (int c = 0; c < rd->opt->ncols; c++) cs_column_release(rd->final[c]);
  if (rd->counts)
    for (int c = 0; c < rd->opt->ncols; c++) free(rd->counts[c]);
  free(rd->final);
  free(rd->counts);
  rd->final = NULL;
  rd->counts = NULL;
}

static void unmap_files(reader *rd) {
  for (int i = 0; i < rd->nfiles; i++)
    if (rd->maps[i]) {
      munmap((void *)rd->maps[i], rd->sizes[i]);
      rd->maps[i] = NULL;
    }
}

static void run_parallel(reader *rd, void *(*fn)(void *)) {
  int nt = rd->opt->nthreads > 1 ? rd->opt->nthreads : 1;
  if (nt > rd->nchunks) nt = rd->nchunks > 0 ? rd->nchunks : 1;
  pthread_t tids[64];
  int started = 0;
  atomic_store(&rd->next, 0);
  for (int t = 1; t < nt && t < 64; t++) {
    if (pthread_create(&tids[started], NULL, fn, rd) != 0) break;
    started++;
  }
  fn(rd); /* the calling thread works too */
  for (int t = 0; t < started; t++) pthread_join(tids[t], NULL);
}

/* Direct mode: allocates the final columns from the counts and points each chunk's buffers at its slice. */
static int prepare_direct(reader *rd) {
  const csv_options *o = rd->opt;
  int64_t rows = 0, *items = calloc((size_t)o->ncols, sizeof(int64_t));
  rd->final = calloc((size_t)o->ncols, sizeof(cs_column *));
  rd->counts = calloc((size_t)o->ncols, sizeof(int32_t *));
  if (!items || !rd->final || !rd->counts) {
    free(items);
    return -1;
  }
  for (int k = 0; k < rd->nchunks; k++) {
    chunk *ch = &rd->chunks[k];
    ch->row_off = rows;
    rows += ch->est_rows;
    for (int c = 0; c < o->ncols; c++) {
      ch->item_off[c] = items[c];
      items[c] += ch->est_items[c];
    }
  }
  int rc = -1;
  for (int c = 0; c < o->ncols; c++) {
    const csv_colspec *s = &o->cols[c];
    if (s->skip) continue;
    rd->final[c] = cs_column_new(s->type, rows);
    if (!rd->final[c]) goto done;
    if (s->type == CS_LIST) {
      int32_t *it = mc_malloc_huge(sizeof(int32_t) * (size_t)(items[c] > 0 ? items[c] : 1));
      rd->counts[c] = mc_malloc_huge(sizeof(int32_t) * (size_t)(rows > 0 ? rows : 1));
      if (!it || !rd->counts[c]) {
        free(it);
        goto done;
      }
      cs_column_set_items(rd->final[c], it);
    }
    for (int k = 0; k < rd->nchunks; k++) {
      chunk *ch = &rd->chunks[k];
      colbuf *cb = &ch->cols[c];
      size_t esz = spec_esize(s);
      if (s->type == CS_LIST) {
        cb->vals = (vec){(char *)(rd->counts[c] + ch->row_off), 0, (size_t)ch->est_rows * 4, 1};
        cb->items = (vec){(char *)(rd->final[c]->items + ch->item_off[c]), 0, (size_t)ch->est_items[c] * 4, 1};
      } else {
        cb->vals = (vec){(char *)rd->final[c]->v.i64 + (size_t)ch->row_off * esz, 0, (size_t)ch->est_rows * esz, 1};
      }
    }
  }
  rc = 0;
done:
  free(items);
  return rc;
}

int csv_read(const char *const *paths, int nfiles, const csv_options *opt, csv_result *res) {
  reader rd = {0};
  int rc = -1;
  memset(res, 0, sizeof *res);
  buf_init(&res->rejects);
  if (opt->ncols < 1 || opt->ncols > CSV_MAX_FIELDS) {
    snprintf(res->error, sizeof res->error, "between 1 and %d columns expected, got %d", CSV_MAX_FIELDS, opt->ncols);
    return -1;
  }
  rd.opt = opt;
  rd.paths = paths;
  rd.nfiles = nfiles;
  rd.res = res;
  rd.header = res->header_names;
  atomic_store(&rd.stop_chunk, 1 << 30);
  res->files = calloc((size_t)(nfiles > 0 ? nfiles : 1), sizeof(csv_file_stats));
  rd.maps = calloc((size_t)(nfiles > 0 ? nfiles : 1), sizeof(char *));
  rd.sizes = calloc((size_t)(nfiles > 0 ? nfiles : 1), sizeof(size_t));
  if (!res->files || !rd.maps || !rd.sizes) {
    snprintf(res->error, sizeof res->error, "out of memory");
    goto cleanup;
  }
  if (map_files(&rd) != 0) goto cleanup;
  find_duplicates(&rd);
  if (make_chunks(&rd) != 0) {
    snprintf(res->error, sizeof res->error, "out of memory");
    goto cleanup;
  }
  for (int c = 0; c < opt->ncols; c++) { /* list item separators: the declared one, spaces and tabs */
    csv_colspec *cs_ = &opt->cols[c];
    memset(cs_->issep, 0, sizeof cs_->issep);
    cs_->issep[(unsigned char)cs_->list_sep] = cs_->issep[' '] = cs_->issep['\t'] = 1;
  }
  rd.direct = !opt->quote;
  if (rd.direct) {
    run_parallel(&rd, count_worker);
    if (prepare_direct(&rd) != 0) {
      snprintf(res->error, sizeof res->error, "out of memory");
      goto cleanup;
    }
  }
  run_parallel(&rd, worker);
  res->header_ncols = rd.header_n;
  for (int k = 0; k < rd.nchunks; k++)
    if (rd.chunks[k].oom) {
      snprintf(res->error, sizeof res->error, "out of memory while reading %s", paths[rd.chunks[k].file]);
      goto cleanup;
    }
  if (opt->cancelled && opt->cancelled()) {
    snprintf(res->error, sizeof res->error, "interrupted");
    goto cleanup;
  }
  unmap_files(&rd); /* rejected lines were copied; the mapped text is no longer needed */
  collect_stats(&rd);
  if (!buf_ok(&res->rejects)) {
    snprintf(res->error, sizeof res->error, "out of memory");
    goto cleanup;
  }
  if (res->nrejects > 0 && opt->fail_fast) {
    snprintf(res->error, sizeof res->error, "%s", res->first_reject);
    goto cleanup;
  }
  if (opt->max_rejects >= 0 && res->nrejects > opt->max_rejects) {
    snprintf(res->error, sizeof res->error, "more than max_rejects=%lld rejected rows; the first is %s",
             (long long)opt->max_rejects, res->first_reject);
    goto cleanup;
  }
  int64_t nrows = 0;
  for (int k = 0; k < rd.nchunks; k++) nrows += rd.chunks[k].kept;
  cs_table *t = cs_table_new(opt->ncols + opt->nconst);
  if (!t) {
    snprintf(res->error, sizeof res->error, "out of memory");
    goto cleanup;
  }
  res->table = t;
  for (int c = 0; c < opt->ncols; c++) {
    if (opt->cols[c].skip) continue;
    cs_column *col = rd.direct ? finish_direct(&rd, c, nrows) : merge_column(&rd, c, nrows);
    const char *name = opt->cols[c].name[0] ? opt->cols[c].name
                       : c < rd.header_n && rd.header[c][0] ? rd.header[c] : NULL;
    char fallback[32];
    if (!name) snprintf(fallback, sizeof fallback, "column%d", c + 1), name = fallback;
    if (!col || cs_table_add(t, name, col) != 0) {
      snprintf(res->error, sizeof res->error, "out of memory");
      goto cleanup;
    }
  }
  for (int c = 0; c < opt->nconst; c++) {
    cs_column *col = const_column(&rd, &opt->consts[c], nrows);
    if (!col || cs_table_add(t, opt->consts[c].name, col) != 0) {
      snprintf(res->error, sizeof res->error, "out of memory");
      goto cleanup;
    }
  }
  if (t->n < 0) t->n = nrows;
  rc = 0;
cleanup:
  if (rc != 0) {
    cs_table_free(res->table);
    res->table = NULL;
  }
  free_chunks(&rd);
  if (rd.maps) unmap_files(&rd);
  free(rd.maps);
  free(rd.sizes);
  return rc;
}

void csv_result_free(csv_result *res) {
  cs_table_free(res->table);
  res->table = NULL;
  free(res->files);
  res->files = NULL;
  buf_free(&res->rejects);
}
