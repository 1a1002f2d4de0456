/* dtoa.h: exact shortest round-trip formatting of doubles (Ryu), used by the JSON and CSV writers. */
#ifndef MERCADO_DTOA_H
#define MERCADO_DTOA_H

#include <stdint.h>

/* The shortest decimal digits that read back as x (finite, non-zero): x = *digits * 10^*exp10; 0, or -1 for zero,
   NaN and infinities. Exact (128-bit arithmetic, no printf). */
int dtoa_shortest(double x, uint64_t *digits, int32_t *exp10);
/* x as Python's repr writes it (shortest round-trip digits, fixed notation for 1e-4 <= |x| < 1e16 with ".0" when
   integral, else "1.5e-05"), into out (at least 32 bytes, NUL-terminated); returns the length, or -1 for NaN and
   infinities. */
int dtoa_format(double x, char *out);

#endif
