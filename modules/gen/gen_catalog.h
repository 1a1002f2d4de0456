/*
** gen_catalog.h: the synthetic product catalog (Categories.csv, ProductCategory.csv) with the quirks of the real
** one: invented uppercase Spanish category names (some with commas) and no final newline; a product table made of
** two concatenated exports, with products in two categories, exact duplicate rows, sold products that are not in
** the catalog at all and tens of thousands of catalog-only product ids.
*/
#ifndef MERCADO_GEN_CATALOG_H
#define MERCADO_GEN_CATALOG_H

#include <stdint.h>

#define GEN_NCATEGORIES 50

/* How a sold product (id 1..449) appears in the catalog. */
enum {
  GEN_GROUP_UNMAPPED = 0, /* not in the catalog */
  GEN_GROUP_FIRST_MAPPED
};

typedef struct gen_catalog_stats {
  int64_t category_rows;
  int64_t product_rows;      /* data rows of ProductCategory.csv (without the header) */
  int64_t distinct_products;
  int64_t distinct_pairs;    /* distinct (product, category) rows */
  int64_t two_category_products;
  int64_t duplicate_rows;    /* rows that repeat an earlier row exactly */
  int64_t sold_unmapped;     /* of ids 1..449 */
  int64_t sold_two_category;
  int64_t sold_duplicated;
  int64_t categories_bytes, product_bytes; /* file sizes */
} gen_catalog_stats;

/* The catalog group of every sold product id (index 1..449; entry 0 unused). Fixed: does not depend on the seed,
   so the calibrated model sees the same assortments in every run. */
void gen_catalog_groups(unsigned char group[]);
/* Whether a store sells products of a group: store 102 (like the real one) sells only fresh produce among the
   mapped products; every other store sells everything. */
int gen_catalog_store_sells(int32_t store_id, unsigned char group);
/* The categories (1 or 2, sorted) of a group; returns their count (0 for unmapped). */
int gen_catalog_group_categories(unsigned char group, int cats[2]);

/* Writes dir/Categories.csv and dir/ProductCategory.csv for a seed. Returns 0, or -1 with err set. */
int gen_catalog_write(const char *dir, uint64_t seed, gen_catalog_stats *st, char *err, size_t errlen);

#endif
