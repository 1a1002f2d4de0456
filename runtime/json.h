/*
** json.h: the JSON writer's core: number and string formatting exactly as the dashboard's files expect
** (Python's json.dump with ensure_ascii=False: shortest round-trip floats, literal UTF-8).
*/
#ifndef MERCADO_JSON_H
#define MERCADO_JSON_H

#include "buf.h"
#include <stdint.h>

/* Longest text json_format_double can produce, plus the NUL. */
#define JSON_DOUBLE_MAX 32

/* Formats a finite double as Python's repr does: the shortest digits that read back to the same double,
   fixed notation for 1e-4 <= |x| < 1e16 (with ".0" when integral), else "1.5e-05" / "1e+16".
   Returns the length written to out (JSON_DOUBLE_MAX bytes), or -1 if x is NaN or infinite. */
int json_format_double(double x, char *out);
/* The same by searching printf precisions 15..17 for one that strtod reads back (slow; the independent reference the
   tests compare json_format_double with). */
int json_format_double_search(double x, char *out);

/* Appends s as a quoted JSON string: escapes '"', '\\' and control characters; invalid UTF-8 bytes become U+FFFD,
   so the output is always valid JSON and valid UTF-8. */
void json_add_string(mc_buf *b, const char *s, size_t len);

/* Appends an integer in decimal. */
void json_add_int(mc_buf *b, int64_t v);

#endif
