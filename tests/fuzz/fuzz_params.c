/*
** fuzz_params.c: libFuzzer target for the parameter literal parsers (int, number, bool, name=value, lists).
** Checks that accepted values are what they claim: integers re-print to an equivalent text, numbers are finite,
** list items never exceed the input.
*/
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "params.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int count_item(void *ud, const char *text, size_t len) {
  size_t *total = ud;
  (void)text;
  *total += len;
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *s = (const char *)data;
  char err[PARAMS_ERR_MAX];
  int64_t i;
  double d;
  int b;
  size_t name_len;
  if (params_parse_int(s, size, &i, err) == 0) {
    int64_t j;
    char tmp[32];
    int n = snprintf(tmp, sizeof tmp, "%lld", (long long)i);
    if (params_parse_int(tmp, (size_t)n, &j, err) != 0 || j != i) abort();
  }
  if (params_parse_number(s, size, &d, err) == 0 && !isfinite(d)) abort();
  if (params_parse_bool(s, size, &b, err) == 0 && b != 0 && b != 1) abort();
  if (params_split_assignment(s, size, &name_len, err) == 0 && (name_len == 0 || name_len >= size || s[name_len] != '='))
    abort();
  char *scratch = malloc(size + 1);
  size_t total = 0;
  params_split_list(s, size, scratch, count_item, &total);
  if (total > size) abort();
  free(scratch);
  return 0;
}
