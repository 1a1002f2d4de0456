/*
** gen_weights.h: product popularity: the ranking of the 449 sold product ids, the share of baskets each should
** appear in (the calibration target, shaped like the real data) and the background weights that reach those
** shares once missions, staples and store assortments are mixed in (fitted by gen_calibrate, see MODEL.md).
*/
#ifndef MERCADO_GEN_WEIGHTS_H
#define MERCADO_GEN_WEIGHTS_H

#include <stdint.h>

/* Fitted background weight of product id i + 1. */
extern const double gen_weights_background[449];

/* The product ids from most to least popular. */
void gen_weights_order(uint16_t order[449]);
/* Target share of baskets containing each product id (index 1..449). */
void gen_weights_targets(double support[450]);

#endif
