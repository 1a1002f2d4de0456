/*
** gen_dirty.h: fault injection for `mercado gen --dirty RATE`. Each basket line may be rewritten into one of the
** faults the CSV reader must reject (with the reader's reason) or one of the harmless variations it must accept,
** and empty lines may be inserted; every change is recorded so dirty_manifest.json can state the reader's exact
** counts. File-level quirks (BOM, CRLF, missing final newline, a duplicate file) are applied by gen.c.
*/
#ifndef MERCADO_GEN_DIRTY_H
#define MERCADO_GEN_DIRTY_H

#include <stdint.h>

#include "gen_io.h"
#include "gen_rng.h"

/* The reader's reject reasons, in the reader's order and with its keys. */
enum { GEN_R_FIELD_COUNT, GEN_R_BAD_DATE, GEN_R_BAD_INT, GEN_R_INT_RANGE, GEN_R_EMPTY_LIST, GEN_NREASONS };

/* What can happen to a line. */
enum {
  GEN_FAULT_NONE = 0,
  GEN_FAULT_MISSING_FIELD,   /* field_count: the product list and its separator are gone */
  GEN_FAULT_EXTRA_FIELD,     /* field_count: a fifth field */
  GEN_FAULT_IMPOSSIBLE_DATE, /* bad_date: 2013-02-30 and the like */
  GEN_FAULT_DATE_FORMAT,     /* bad_date: 05/01/2013, 20130105, ... */
  GEN_FAULT_BAD_STORE,       /* bad_int */
  GEN_FAULT_BAD_CUSTOMER,    /* bad_int */
  GEN_FAULT_BAD_ITEM,        /* bad_int: one product id is not an integer */
  GEN_FAULT_HUGE_CUSTOMER,   /* int_range */
  GEN_FAULT_HUGE_ITEM,       /* int_range */
  GEN_FAULT_EMPTY_LIST,      /* empty_list: nothing after the last separator */
  GEN_FAULT_BLANK_LIST,      /* empty_list: only spaces or tabs after it */
  GEN_FAULT_TRAILING_SPACE,  /* kept: spaces/tabs at the end of the line */
  GEN_FAULT_PADDED_FIELDS,   /* kept: spaces around the fields */
  GEN_FAULT_MULTI_SPACE,     /* kept: several spaces between product ids */
  GEN_FAULT_EMPTY_LINE,      /* an empty (or blank) line inserted before the line: not counted as read */
  GEN_NFAULTS
};

/* What the reader should report for a file (or for all files). */
typedef struct gen_counts {
  int64_t baskets;     /* basket lines written (each non-empty line is one) */
  int64_t units;       /* product ids generated for them (rejected lines included) */
  int64_t lines_read;  /* kept + rejected */
  int64_t kept;
  int64_t rejected[GEN_NREASONS];
  int64_t empty_lines;
  int64_t units_kept;  /* product ids in kept lines */
} gen_counts;

/* One injected change: the physical line (0-based within its block until gen.c makes it absolute) and kind. */
typedef struct gen_fault_rec {
  int64_t line;
  uint8_t kind;
} gen_fault_rec;

/* A basket line before formatting. */
typedef struct gen_line {
  const char *date;  /* "2013-01-05" */
  const char *store; /* "102" */
  int32_t customer;
  const uint16_t *items;
  int nitems;
} gen_line;

/* Adds the counters of from to to. */
void gen_dirty_counts_add(gen_counts *to, const gen_counts *from);

const char *gen_dirty_reason_key(int reason);
const char *gen_dirty_fault_name(int kind);
/* The reject reason a fault causes, or -1 if the reader keeps the line (or, for an empty line, skips it). */
int gen_dirty_fault_reason(int kind);
/* Draws whether a line is changed (probability rate) and how: a kind in 1..GEN_FAULT_MULTI_SPACE, or NONE. */
int gen_dirty_pick(gen_rng *r, double rate);

/* Appends one line (with eol) as it looks after fault kind (GEN_FAULT_NONE: clean), and counts it. An
   GEN_FAULT_EMPTY_LINE is written alone: call again for the basket line itself. */
void gen_dirty_emit(gen_buf *b, const gen_line *ln, int kind, gen_rng *r, const char *eol, gen_counts *c);

/* Appends a line in the clean format (the fast path). */
void gen_dirty_clean_line(gen_buf *b, const gen_line *ln, const char *eol);

#endif
