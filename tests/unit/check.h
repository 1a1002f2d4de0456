/*
** check.h: the C unit tests' assertion. CHECK(cond, fmt, ...) counts a failure and prints the file, line, the
** condition and a message when cond is false; a test's main returns non-zero when `failures` is not 0.
*/
#ifndef MERCADO_TEST_CHECK_H
#define MERCADO_TEST_CHECK_H
#include <stdio.h>

static int failures;

#define CHECK(cond, ...)                                                 \
  do {                                                                   \
    if (!(cond)) {                                                       \
      fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);    \
      fprintf(stderr, __VA_ARGS__);                                      \
      fputc('\n', stderr);                                               \
      failures++;                                                        \
    }                                                                    \
  } while (0)

#endif
