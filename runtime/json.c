/* json.c: JSON number and string formatting (see json.h). */
#include "json.h"

#include "dtoa.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Finds the shortest precision (significant digits) whose %e rendering reads back as x; writes it to sci.
   For a normal double, a 15-digit rendering that round-trips is, once its trailing zeros are stripped, the
   shortest one (15 digits are finer than half its ulp), so only 15, 16 and 17 need trying. */
static int shortest_sci(double x, char *sci, size_t size) {
  /* subnormals carry fewer significant bits, so a shorter rendering may differ in more than trailing zeros */
  int first = fabs(x) < 2.2250738585072014e-308 ? 1 : 15;
  for (int prec = first; prec <= 17; prec++) {
    snprintf(sci, size, "%.*e", prec - 1, x);
    if (strtod(sci, NULL) == x) return prec;
  }
  return 17;
}

int json_format_double_search(double x, char *out) {
  if (!isfinite(x)) return -1;
  if (x == 0) {
    return (int)(signbit(x) ? stpcpy(out, "-0.0") - out : stpcpy(out, "0.0") - out);
  }
  char sci[40];
  shortest_sci(x, sci, sizeof sci);
  /* sci is "[-]d.ddddde[+-]XX": collect the digits and the decimal exponent */
  const char *p = sci;
  int neg = 0;
  if (*p == '-') {
    neg = 1;
    p++;
  }
  char digits[24];
  int nd = 0;
  for (; *p && *p != 'e'; p++)
    if (*p != '.') digits[nd++] = *p;
  int exp10 = atoi(p + 1);
  while (nd > 1 && digits[nd - 1] == '0') nd--; /* strip trailing zeros */
  int decpt = exp10 + 1;                        /* value = 0.d1d2... x 10^decpt */
  char *o = out;
  if (neg) *o++ = '-';
  if (decpt > -4 && decpt <= 16) {
    if (decpt <= 0) {
      *o++ = '0';
      *o++ = '.';
      for (int i = 0; i < -decpt; i++) *o++ = '0';
      memcpy(o, digits, (size_t)nd);
      o += nd;
    } else if (decpt >= nd) {
      memcpy(o, digits, (size_t)nd);
      o += nd;
      for (int i = nd; i < decpt; i++) *o++ = '0';
      *o++ = '.';
      *o++ = '0';
    } else {
      memcpy(o, digits, (size_t)decpt);
      o += decpt;
      *o++ = '.';
      memcpy(o, digits + decpt, (size_t)(nd - decpt));
      o += nd - decpt;
    }
  } else {
    *o++ = digits[0];
    if (nd > 1) {
      *o++ = '.';
      memcpy(o, digits + 1, (size_t)(nd - 1));
      o += nd - 1;
    }
    o += sprintf(o, "e%c%02d", exp10 < 0 ? '-' : '+', exp10 < 0 ? -exp10 : exp10);
  }
  *o = '\0';
  return (int)(o - out);
}

void json_add_int(mc_buf *b, int64_t v) {
  char tmp[24], *end = tmp + sizeof tmp, *p = end;
  uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v; /* INT64_MIN too */
  do {
    *--p = (char)('0' + u % 10);
    u /= 10;
  } while (u);
  if (v < 0) *--p = '-';
  buf_add(b, p, (size_t)(end - p));
}

/* Length of the valid UTF-8 sequence starting at s (1..4), or 0 if the bytes there are not valid UTF-8. */
static int utf8_seqlen(const unsigned char *s, size_t left) {
  unsigned c = s[0];
  int n;
  unsigned min;
  if (c < 0x80) return 1;
  if (c >= 0xC2 && c <= 0xDF) n = 2, min = 0x80;
  else if (c >= 0xE0 && c <= 0xEF) n = 3, min = 0x800;
  else if (c >= 0xF0 && c <= 0xF4) n = 4, min = 0x10000;
  else return 0;
  if ((size_t)n > left) return 0;
  unsigned cp = c & (0x7F >> n);
  for (int i = 1; i < n; i++) {
    if ((s[i] & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (s[i] & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return n;
}

void json_add_string(mc_buf *b, const char *str, size_t len) {
  static const char hex[] = "0123456789abcdef";
  const unsigned char *s = (const unsigned char *)str;
  buf_reserve(b, len + 2);
  buf_addc(b, '"');
  size_t i = 0;
  while (i < len) {
    unsigned c = s[i];
    if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
      size_t j = i + 1; /* copy a run of plain ASCII at once */
      while (j < len && s[j] >= 0x20 && s[j] < 0x80 && s[j] != '"' && s[j] != '\\') j++;
      buf_add(b, s + i, j - i);
      i = j;
      continue;
    }
    if (c < 0x80) {
      switch (c) {
        case '"': buf_add(b, "\\\"", 2); break;
        case '\\': buf_add(b, "\\\\", 2); break;
        case '\n': buf_add(b, "\\n", 2); break;
        case '\r': buf_add(b, "\\r", 2); break;
        case '\t': buf_add(b, "\\t", 2); break;
        case '\b': buf_add(b, "\\b", 2); break;
        case '\f': buf_add(b, "\\f", 2); break;
        default: {
          char u[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
          buf_add(b, u, 6);
        }
      }
      i++;
      continue;
    }
    int n = utf8_seqlen(s + i, len - i);
    if (n == 0) {
      buf_add(b, "\xEF\xBF\xBD", 3); /* U+FFFD for an invalid byte */
      i++;
    } else {
      buf_add(b, s + i, (size_t)n);
      i += (size_t)n;
    }
  }
  buf_addc(b, '"');
}

int json_format_double(double x, char *out) { return dtoa_format(x, out); }
