/*
** csv.h: the column store's strict, parallel CSV reader. Files are memory-mapped, split into chunks at line
** boundaries and parsed by worker threads; chunk results are concatenated in file order, so the table and every
** count are identical whatever the thread count. Bad rows are kept aside with their file, line and reason.
*/
#ifndef MERCADO_CSV_H
#define MERCADO_CSV_H

#include <stdint.h>

#include "buf.h"
#include "colstore.h"

typedef enum csv_reason {
  CSV_FIELD_COUNT = 0, /* not the declared number of fields */
  CSV_BAD_DATE,        /* not YYYY-MM-DD, or no such day */
  CSV_BAD_INT,         /* not an integer (also inside a list) */
  CSV_INT_RANGE,       /* integer outside the column's range */
  CSV_EMPTY_LIST,      /* a list with no items where items are required */
  CSV_BAD_NUMBER,      /* not a finite decimal number */
  CSV_BAD_QUOTE,       /* a quoted field that is not closed or is followed by garbage */
  CSV_NREASONS
} csv_reason;

/* Short machine names ("field_count", ...) and human phrases ("wrong field count", ...). */
const char *csv_reason_key(csv_reason r);
const char *csv_reason_text(csv_reason r);

typedef struct csv_colspec {
  char name[64];
  cs_type type;
  int skip;        /* read and ignore the field */
  char list_sep;   /* item separator of a list column (runs of it count as one) */
  int allow_empty; /* a list column may be empty */
  unsigned char issep[256]; /* filled by csv_read: bytes that separate list items (list_sep, space, tab) */
} csv_colspec;

/* A column whose value comes from the file (e.g. the store id in "102_Tran.csv"), not from its content. */
typedef struct csv_constcol {
  char name[64];
  cs_type type;           /* CS_INT32 or CS_STRING */
  const int32_t *ints;    /* one value per file (CS_INT32) */
  const char *const *strs; /* one value per file (CS_STRING) */
} csv_constcol;

enum { CSV_HEADER_NO = 0, CSV_HEADER_YES, CSV_HEADER_SKIP };

typedef struct csv_options {
  char delimiter;
  char quote;      /* 0: no quoting; '"': RFC 4180 fields */
  int header;      /* CSV_HEADER_* */
  int ncols;
  csv_colspec *cols;
  int nconst;
  const csv_constcol *consts;
  int fail_fast;        /* stop at the first rejected row */
  int64_t max_rejects;  /* < 0: unlimited */
  int nthreads;
  int64_t chunk_bytes;  /* 0: automatic */
  int (*cancelled)(void);
  void (*progress)(void *ud, int64_t bytes);
  void *progress_ud;
} csv_options;

typedef struct csv_file_stats {
  int64_t bytes;
  int64_t lines_read;  /* kept + rejected (empty lines and the header are not counted) */
  int64_t kept;
  int64_t rejected[CSV_NREASONS];
  int64_t empty_lines;
  int duplicate_of;    /* index of an earlier byte-identical file, or -1 */
} csv_file_stats;

typedef struct csv_result {
  cs_table *table;        /* NULL on failure */
  csv_file_stats *files;  /* one per input file */
  int64_t nrejects;
  mc_buf rejects;         /* "path:line: reason\t<verbatim line>\n" for each rejected row, in file order */
  char first_reject[512]; /* "path:line: reason" of the first rejected row ("" if none) */
  char header_names[16][64]; /* names from the header line when header == CSV_HEADER_YES */
  int header_ncols;
  char error[1024];       /* why reading failed */
} csv_result;

/* Reads the files into one table (columns as declared, then the constant columns). Returns 0 on success (rejected
   rows do not fail the read unless fail_fast or max_rejects say so), or -1 with res->error set. Always call
   csv_result_free afterwards. */
int csv_read(const char *const *paths, int nfiles, const csv_options *opt, csv_result *res);
void csv_result_free(csv_result *res);

#endif
