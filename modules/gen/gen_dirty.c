/*
** gen_dirty.c: writes basket lines, clean or with one injected fault, and keeps the counts the CSV reader must
** arrive at. Each fault is built so exactly one of the reader's rules applies (fields are checked in order: field
** count, date, store, customer, products), which makes the expected reason unambiguous.
*/
#include <stdio.h>
#include <string.h>

#include "gen_dirty.h"

static const char *const reason_keys[GEN_NREASONS] = {"field_count", "bad_date", "bad_int", "int_range",
                                                      "empty_list"};

static const struct {
  const char *name;
  int reason;
} faults[GEN_NFAULTS] = {
    {"none", -1},
    {"missing_field", GEN_R_FIELD_COUNT},
    {"extra_field", GEN_R_FIELD_COUNT},
    {"impossible_date", GEN_R_BAD_DATE},
    {"date_format", GEN_R_BAD_DATE},
    {"bad_store", GEN_R_BAD_INT},
    {"bad_customer", GEN_R_BAD_INT},
    {"bad_item", GEN_R_BAD_INT},
    {"huge_customer", GEN_R_INT_RANGE},
    {"huge_item", GEN_R_INT_RANGE},
    {"empty_list", GEN_R_EMPTY_LIST},
    {"blank_list", GEN_R_EMPTY_LIST},
    {"trailing_space", -1},
    {"padded_fields", -1},
    {"multi_space", -1},
    {"empty_line", -1},
};

void gen_dirty_counts_add(gen_counts *to, const gen_counts *from) {
  to->baskets += from->baskets;
  to->units += from->units;
  to->lines_read += from->lines_read;
  to->kept += from->kept;
  to->empty_lines += from->empty_lines;
  to->units_kept += from->units_kept;
  for (int r = 0; r < GEN_NREASONS; r++) to->rejected[r] += from->rejected[r];
}

const char *gen_dirty_reason_key(int reason) {
  return reason >= 0 && reason < GEN_NREASONS ? reason_keys[reason] : "?";
}
const char *gen_dirty_fault_name(int kind) { return kind >= 0 && kind < GEN_NFAULTS ? faults[kind].name : "?"; }
int gen_dirty_fault_reason(int kind) { return kind > 0 && kind < GEN_NFAULTS ? faults[kind].reason : -1; }

int gen_dirty_pick(gen_rng *r, double rate) {
  if (rate <= 0 || gen_rng_double(r) >= rate) return GEN_FAULT_NONE;
  return 1 + (int)gen_rng_below(r, GEN_FAULT_MULTI_SPACE);
}

/* ---- pieces ---- */

static const char *pick(gen_rng *r, const char *const *options, int n) {
  return options[gen_rng_below(r, (uint64_t)n)];
}

static void add_items(gen_buf *b, const uint16_t *items, int n, const char *sep) {
  for (int i = 0; i < n; i++) {
    if (i) gen_buf_adds(b, sep);
    gen_buf_addint(b, items[i]);
  }
}

/* A date the reader cannot parse: the right day written another way (out: 24 bytes). */
static void bad_format_date(char *out, const char *d, gen_rng *r) {
  switch (gen_rng_below(r, 4)) {
    case 0: snprintf(out, 24, "%.2s/%.2s/%.4s", d + 8, d + 5, d); break;
    case 1: snprintf(out, 24, "%.4s/%.2s/%.2s", d, d + 5, d + 8); break;
    case 2: snprintf(out, 24, "%.4s%.2s%.2s", d, d + 5, d + 8); break;
    default: snprintf(out, 24, "%.10sT08:30", d); break;
  }
}

static const char *const impossible_dates[] = {"2013-02-30", "2013-02-29", "2013-04-31", "2013-06-31",
                                               "2013-13-01", "2013-00-10", "2013-03-00", "2013-09-31"};
static const char *const bad_ints[] = {"N/A", "", "12x", "7.5", "?", "abc"};
static const char *const huge_ints[] = {"2147483648", "99999999999", "-2147483649", "4294967296"};
static const char *const blanks[] = {"  ", " \t ", "\t", "   "};

/* The product list with item `at` replaced by text. */
static void add_items_replacing(gen_buf *b, const gen_line *ln, int at, const char *text) {
  for (int i = 0; i < ln->nitems; i++) {
    if (i) gen_buf_addc(b, ' ');
    if (i == at) gen_buf_adds(b, text);
    else gen_buf_addint(b, ln->items[i]);
  }
}

void gen_dirty_clean_line(gen_buf *b, const gen_line *ln, const char *eol) {
  if (gen_buf_reserve(b, 40 + (size_t)ln->nitems * 5) != 0) return;
  char *p = b->p + b->len;
  memcpy(p, ln->date, 10);
  p += 10;
  *p++ = '|';
  for (const char *s = ln->store; *s;) *p++ = *s++;
  *p++ = '|';
  char tmp[12];
  int n = 0;
  uint32_t v = (uint32_t)ln->customer;
  do tmp[n++] = (char)('0' + v % 10), v /= 10;
  while (v);
  while (n) *p++ = tmp[--n];
  *p++ = '|';
  for (int i = 0; i < ln->nitems; i++) {
    if (i) *p++ = ' ';
    unsigned x = ln->items[i];
    if (x >= 100) *p++ = (char)('0' + x / 100);
    if (x >= 10) *p++ = (char)('0' + x / 10 % 10);
    *p++ = (char)('0' + x % 10);
  }
  for (const char *s = eol; *s;) *p++ = *s++;
  b->len = (size_t)(p - b->p);
}

/* Writes the four fields with the given overrides (NULL: the clean value). */
static void add_fields(gen_buf *b, const gen_line *ln, const char *date, const char *store, const char *cust) {
  if (date) gen_buf_adds(b, date);
  else gen_buf_add(b, ln->date, 10);
  gen_buf_addc(b, '|');
  gen_buf_adds(b, store ? store : ln->store);
  gen_buf_addc(b, '|');
  if (cust) gen_buf_adds(b, cust);
  else gen_buf_addint(b, ln->customer);
  gen_buf_addc(b, '|');
}

static void emit_rejected(gen_buf *b, const gen_line *ln, int kind, gen_rng *r) {
  int at = (int)gen_rng_below(r, (uint64_t)ln->nitems);
  char tmp[32];
  switch (kind) {
    case GEN_FAULT_MISSING_FIELD:
      add_fields(b, ln, NULL, NULL, NULL);
      b->len--; /* drop the separator before the list too */
      break;
    case GEN_FAULT_EXTRA_FIELD:
      add_fields(b, ln, NULL, NULL, NULL);
      if (ln->nitems >= 2 && gen_rng_below(r, 2)) { /* a separator inside the list */
        int cut = 1 + (int)gen_rng_below(r, (uint64_t)(ln->nitems - 1));
        add_items(b, ln->items, cut, " ");
        gen_buf_addc(b, '|');
        add_items(b, ln->items + cut, ln->nitems - cut, " ");
      } else {
        add_items(b, ln->items, ln->nitems, " ");
        gen_buf_adds(b, gen_rng_below(r, 2) ? "|" : "|0");
      }
      break;
    case GEN_FAULT_IMPOSSIBLE_DATE:
      add_fields(b, ln, pick(r, impossible_dates, 8), NULL, NULL);
      add_items(b, ln->items, ln->nitems, " ");
      break;
    case GEN_FAULT_DATE_FORMAT:
      bad_format_date(tmp, ln->date, r);
      add_fields(b, ln, tmp, NULL, NULL);
      add_items(b, ln->items, ln->nitems, " ");
      break;
    case GEN_FAULT_BAD_STORE:
      snprintf(tmp, sizeof tmp, gen_rng_below(r, 2) ? "S%s" : "%so", ln->store);
      add_fields(b, ln, NULL, tmp, NULL);
      add_items(b, ln->items, ln->nitems, " ");
      break;
    case GEN_FAULT_BAD_CUSTOMER:
      add_fields(b, ln, NULL, NULL, pick(r, bad_ints, 6));
      add_items(b, ln->items, ln->nitems, " ");
      break;
    case GEN_FAULT_BAD_ITEM: {
      const char *bad = pick(r, bad_ints + 2, 4); /* never empty: an empty item is just a separator */
      add_fields(b, ln, NULL, NULL, NULL);
      add_items_replacing(b, ln, at, bad);
      break;
    }
    case GEN_FAULT_HUGE_CUSTOMER:
      add_fields(b, ln, NULL, NULL, pick(r, huge_ints, 4));
      add_items(b, ln->items, ln->nitems, " ");
      break;
    case GEN_FAULT_HUGE_ITEM:
      add_fields(b, ln, NULL, NULL, NULL);
      add_items_replacing(b, ln, at, pick(r, huge_ints, 4));
      break;
    case GEN_FAULT_EMPTY_LIST: add_fields(b, ln, NULL, NULL, NULL); break;
    default: /* GEN_FAULT_BLANK_LIST */
      add_fields(b, ln, NULL, NULL, NULL);
      gen_buf_adds(b, pick(r, blanks, 4));
      break;
  }
}

static void emit_kept(gen_buf *b, const gen_line *ln, int kind, gen_rng *r) {
  if (kind == GEN_FAULT_MULTI_SPACE && ln->nitems < 2) kind = GEN_FAULT_PADDED_FIELDS; /* the caller records it so */
  switch (kind) {
    case GEN_FAULT_TRAILING_SPACE:
      add_fields(b, ln, NULL, NULL, NULL);
      add_items(b, ln->items, ln->nitems, " ");
      gen_buf_adds(b, pick(r, blanks, 4));
      break;
    case GEN_FAULT_PADDED_FIELDS:
      gen_buf_addc(b, ' ');
      gen_buf_add(b, ln->date, 10);
      gen_buf_adds(b, " | ");
      gen_buf_adds(b, ln->store);
      gen_buf_adds(b, " |  ");
      gen_buf_addint(b, ln->customer);
      gen_buf_adds(b, " | ");
      add_items(b, ln->items, ln->nitems, " ");
      break;
    default: /* GEN_FAULT_MULTI_SPACE */
      add_fields(b, ln, NULL, NULL, NULL);
      for (int i = 0; i < ln->nitems; i++) {
        if (i) gen_buf_adds(b, i == 1 || gen_rng_below(r, 2) ? "  " : (gen_rng_below(r, 2) ? " " : "   "));
        gen_buf_addint(b, ln->items[i]);
      }
      break;
  }
}

void gen_dirty_emit(gen_buf *b, const gen_line *ln, int kind, gen_rng *r, const char *eol, gen_counts *c) {
  if (kind == GEN_FAULT_EMPTY_LINE) {
    gen_buf_adds(b, gen_rng_below(r, 2) ? "" : pick(r, blanks, 4));
    gen_buf_adds(b, eol);
    c->empty_lines++;
    return;
  }
  int reason = gen_dirty_fault_reason(kind);
  c->baskets++;
  c->units += ln->nitems;
  c->lines_read++;
  if (kind == GEN_FAULT_NONE) gen_dirty_clean_line(b, ln, eol);
  else {
    if (reason >= 0) emit_rejected(b, ln, kind, r);
    else emit_kept(b, ln, kind, r);
    gen_buf_adds(b, eol);
  }
  if (reason >= 0) {
    c->rejected[reason]++;
  } else {
    c->kept++;
    c->units_kept += ln->nitems;
  }
}
