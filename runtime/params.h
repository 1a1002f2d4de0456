/*
** params.h: parsing of parameter values given on the command line (-p name=value) or in a params file.
** Values are literals of the declared type, never evaluated as code. Each parser returns 0 on success or -1 with a
** short reason in err (PARAMS_ERR_MAX bytes) saying what was expected.
*/
#ifndef MERCADO_PARAMS_H
#define MERCADO_PARAMS_H

#include <stddef.h>
#include <stdint.h>

#define PARAMS_ERR_MAX 160

/* Decimal integer with optional sign, surrounding spaces allowed, within int64. */
int params_parse_int(const char *s, size_t len, int64_t *out, char *err);
/* Finite decimal number (no hex, no inf/nan). */
int params_parse_number(const char *s, size_t len, double *out, char *err);
/* true/false, yes/no, on/off, 1/0 (case-insensitive). */
int params_parse_bool(const char *s, size_t len, int *out, char *err);
/* Splits "name=value" at the first '='; the name must be [A-Za-z_][A-Za-z0-9_]* with optional ".segments". */
int params_split_assignment(const char *s, size_t len, size_t *name_len, char *err);

/* Splits a comma-separated list; "\," is a literal comma and "\\" a backslash; items are trimmed of spaces.
   Calls item(ud, text, len) for each item (text is unescaped into scratch, which must hold len bytes).
   An empty string is an empty list. Returns 0, or the first non-zero value returned by item. */
int params_split_list(const char *s, size_t len, char *scratch,
                      int (*item)(void *ud, const char *text, size_t len), void *ud);

#endif
