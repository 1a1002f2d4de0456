/* params.c: literal parsers for parameter values (see params.h). */
#include "params.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static void trim(const char **s, size_t *len) {
  while (*len && isspace((unsigned char)**s)) (*s)++, (*len)--;
  while (*len && isspace((unsigned char)(*s)[*len - 1])) (*len)--;
}

int params_parse_int(const char *s, size_t len, int64_t *out, char *err) {
  trim(&s, &len);
  size_t i = 0;
  int neg = 0;
  if (i < len && (s[i] == '+' || s[i] == '-')) neg = s[i++] == '-';
  if (i == len) {
    snprintf(err, PARAMS_ERR_MAX, "expected an integer");
    return -1;
  }
  uint64_t v = 0, limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
  for (; i < len; i++) {
    if (s[i] < '0' || s[i] > '9') {
      snprintf(err, PARAMS_ERR_MAX, "expected an integer");
      return -1;
    }
    unsigned d = (unsigned)(s[i] - '0');
    if (v > (limit - d) / 10) {
      snprintf(err, PARAMS_ERR_MAX, "integer out of range");
      return -1;
    }
    v = v * 10 + d;
  }
  *out = neg ? (int64_t)(0 - v) : (int64_t)v;
  return 0;
}

int params_parse_number(const char *s, size_t len, double *out, char *err) {
  trim(&s, &len);
  char tmp[128];
  if (len == 0 || len >= sizeof tmp) {
    snprintf(err, PARAMS_ERR_MAX, "expected a number");
    return -1;
  }
  /* only digits, sign, '.', and an exponent: strtod would also take hex, inf and nan */
  for (size_t i = 0; i < len; i++) {
    char c = s[i];
    if (!((c >= '0' && c <= '9') || c == '.' || c == '-' || c == '+' || c == 'e' || c == 'E')) {
      snprintf(err, PARAMS_ERR_MAX, "expected a number");
      return -1;
    }
  }
  memcpy(tmp, s, len);
  tmp[len] = '\0';
  char *end;
  errno = 0;
  double v = strtod(tmp, &end);
  if (*end != '\0' || end == tmp) {
    snprintf(err, PARAMS_ERR_MAX, "expected a number");
    return -1;
  }
  if (!isfinite(v) || errno == ERANGE) {
    snprintf(err, PARAMS_ERR_MAX, "number out of range");
    return -1;
  }
  *out = v;
  return 0;
}

int params_parse_bool(const char *s, size_t len, int *out, char *err) {
  static const char *yes[] = {"true", "yes", "on", "1"};
  static const char *no[] = {"false", "no", "off", "0"};
  trim(&s, &len);
  for (int i = 0; i < 4; i++) {
    if (len == strlen(yes[i]) && strncasecmp(s, yes[i], len) == 0) {
      *out = 1;
      return 0;
    }
    if (len == strlen(no[i]) && strncasecmp(s, no[i], len) == 0) {
      *out = 0;
      return 0;
    }
  }
  snprintf(err, PARAMS_ERR_MAX, "expected true/false (also yes/no, on/off, 1/0)");
  return -1;
}

int params_split_assignment(const char *s, size_t len, size_t *name_len, char *err) {
  const char *eq = memchr(s, '=', len);
  if (!eq) {
    snprintf(err, PARAMS_ERR_MAX, "expected name=value");
    return -1;
  }
  size_t n = (size_t)(eq - s);
  int at_start = 1;
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    int ok = isalpha((unsigned char)c) || c == '_' || (!at_start && isdigit((unsigned char)c));
    if (c == '.' && !at_start && i + 1 < n) {
      at_start = 1;
      continue;
    }
    if (!ok) {
      snprintf(err, PARAMS_ERR_MAX, "bad parameter name (letters, digits, '_' and '.' for a subflow)");
      return -1;
    }
    at_start = 0;
  }
  if (n == 0 || at_start) {
    snprintf(err, PARAMS_ERR_MAX, "bad parameter name (letters, digits, '_' and '.' for a subflow)");
    return -1;
  }
  *name_len = n;
  return 0;
}

int params_split_list(const char *s, size_t len, char *scratch,
                      int (*item)(void *ud, const char *text, size_t len), void *ud) {
  size_t i = 0;
  const char *t = s;
  size_t tl = len;
  trim(&t, &tl);
  if (tl == 0) return 0;
  while (i <= len) {
    size_t n = 0;
    while (i < len && s[i] != ',') {
      if (s[i] == '\\' && i + 1 < len) i++;
      scratch[n++] = s[i++];
    }
    const char *txt = scratch;
    size_t tlen = n;
    trim(&txt, &tlen);
    int rc = item(ud, txt, tlen);
    if (rc) return rc;
    i++; /* skip the comma (or step past the end) */
  }
  return 0;
}
