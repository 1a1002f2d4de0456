/*
** gen_catalog.c: writes the synthetic catalog. The sold products 1..449 fall into fixed groups (unmapped, one
** category, two categories, duplicated rows) in the proportions of the real catalog; about 69,650 catalog-only
** products with sparse ids up to 2,886,285 are drawn from the seed. ProductCategory.csv is laid out like the real
** file: an "old export" block (categories 1..25) followed by a "current export" block (1..50), each ordered by
** category and then by product id compared as text. A product in two categories has one in each block; products
** of the categories 1, 2, 5, 10, 14 and 22 appear in both blocks, which makes their rows exact duplicates.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gen_catalog.h"
#include "gen_io.h"
#include "gen_model.h"
#include "gen_rng.h"

static const char *const category_names[GEN_NCATEGORIES] = {
    "FRUVER ESPECIALES", "PROVEEDORES EN CONCESION", "HORTALIZAS DE FRUTO", "DETERGENTES Y SUAVIZANTES",
    "PANADERIA EMPACADA", "RAICES, TUBERCULOS Y BULBOS", "EMBUTIDOS AL VACIO", "QUESOS Y CUAJADAS",
    "SNACKS Y MECATO", "LECHES Y BEBIDAS LACTEAS", "LIMPIEZA DE COCINA", "YOGURES Y KUMIS", "GALLETERIA",
    "CONSERVAS Y ENLATADOS", "BEBIDAS GASEOSAS", "AREPAS Y TORTILLAS", "NECTARES Y JUGOS", "HORTALIZAS DE HOJA",
    "CEREALES Y GRANOLAS", "HIERBAS, ESPECIAS Y CONDIMENTOS", "HUEVOS FRESCOS", "SALSAS Y ADEREZOS",
    "AZUCARES Y ENDULZANTES", "HORTALIZAS, RAICES, ETC, EMPACADAS", "PASTAS ALIMENTICIAS", "LEGUMINOSAS SECAS",
    "SOPAS Y CALDOS", "INFUSIONES Y AROMATICAS", "ACEITES Y GRASAS", "LIMPIEZA DE PISOS",
    "VAINAS Y LEGUMBRES FRESCAS", "PAPELES HIGIENICOS", "SAZONADORES", "BEBES Y MATERNIDAD", "CUIDADO CAPILAR",
    "CUIDADO ORAL", "CAFE SOLUBLE", "CHOCOLATES DE MESA", "DULCES Y CONFITES", "ALIMENTO PARA MASCOTAS",
    "LULO Y FRUTAS ACIDAS", "CAFE EN GRANO Y MOLIDO", "VINOS Y LICORES", "CERVEZAS", "PAPAYA Y MELON",
    "BANANO Y PLATANO", "CUIDADO PERSONAL", "DESODORANTES Y ANTITRANSPIRANTES", "PILAS Y BOMBILLOS",
    "MANGO DE AZUCAR"};

/* Categories whose rows appear in both export blocks (exact duplicates). */
static int duplicated_category(int c) { return c == 1 || c == 2 || c == 5 || c == 10 || c == 14 || c == 22; }

/* ---- sold products ---- */

typedef struct group_def {
  int cat[2];  /* 0 = none */
  int nsold;   /* how many of ids 1..449 */
  int fresh;   /* sold by store 102 */
} group_def;

static const group_def group_defs[] = {
    {{0, 0}, 206, 1},   {{3, 4}, 52, 1},   {{6, 7}, 49, 1},  {{17, 18}, 27, 1}, {{20, 25}, 12, 1},
    {{28, 0}, 8, 1},    {{31, 0}, 9, 1},   {{11, 13}, 25, 0}, {{23, 27}, 29, 0}, {{21, 23}, 4, 0},
    {{8, 9}, 1, 0},     {{20, 26}, 1, 0},  {{24, 0}, 6, 0},  {{41, 0}, 3, 0},   {{33, 0}, 2, 0},
    {{39, 0}, 2, 0},    {{42, 0}, 1, 0},   {{45, 0}, 1, 0},  {{46, 0}, 1, 0},   {{50, 0}, 1, 0},
    {{1, 0}, 6, 0},     {{14, 0}, 3, 0},
};
#define NGROUPS (int)(sizeof group_defs / sizeof group_defs[0])

/* Best sellers placed by hand, as in the real catalog: several top products are unmapped, 5 has two categories
   with different names, 3/4/8 share a pair, and so on. Group indexes refer to group_defs. */
static const struct {
  int product, group;
} forced_groups[] = {{9, 0}, {10, 0}, {11, 0}, {12, 0}, {15, 0}, {16, 0}, {5, 4}, {3, 2}, {4, 2},
                     {8, 2}, {2, 1}, {7, 1}, {14, 1}, {17, 3}, {6, 5}};

#define CATALOG_FIXED_SEED 0x6d65726361646fULL /* "mercado": the sold products' groups never change */

void gen_catalog_groups(unsigned char group[]) {
  int left[NGROUPS], nforced = (int)(sizeof forced_groups / sizeof forced_groups[0]);
  for (int g = 0; g < NGROUPS; g++) left[g] = group_defs[g].nsold;
  memset(group, 0xff, GEN_NPRODUCTS + 1);
  group[0] = 0;
  for (int i = 0; i < nforced; i++) {
    group[forced_groups[i].product] = (unsigned char)forced_groups[i].group;
    left[forced_groups[i].group]--;
  }
  gen_rng r;
  gen_rng_init(&r, CATALOG_FIXED_SEED, GEN_TAG_CATALOG, 0);
  for (int id = 1; id <= GEN_NPRODUCTS; id++) {
    if (group[id] != 0xff) continue;
    /* groups outside fresh produce sit mostly among the less popular (higher) ids, as in the real data */
    double w[NGROUPS], total = 0;
    for (int g = 0; g < NGROUPS; g++) {
      double bias = group_defs[g].fresh ? 1.0 : id < 150 ? 0.2 : 1.6;
      w[g] = left[g] > 0 ? left[g] * bias : 0.0;
      total += w[g];
    }
    double u = gen_rng_double(&r) * total;
    int g = 0;
    while (g < NGROUPS - 1 && (u >= w[g] || w[g] == 0)) u -= w[g++];
    while (left[g] == 0) g = (g + 1) % NGROUPS; /* rounding guard: never a group already used up */
    group[id] = (unsigned char)g;
    left[g]--;
  }
}

int gen_catalog_store_sells(int32_t store_id, unsigned char group) {
  return store_id != 102 || group >= NGROUPS || group_defs[group].fresh;
}

int gen_catalog_group_categories(unsigned char group, int cats[2]) {
  if (group >= NGROUPS) return 0;
  int n = 0;
  for (int i = 0; i < 2; i++)
    if (group_defs[group].cat[i]) cats[n++] = group_defs[group].cat[i];
  return n;
}

/* ---- catalog-only products ---- */

typedef struct id_range {
  int64_t lo, hi, count;
} id_range;

static const id_range catalog_ranges[] = {
    {450, 999, 290}, {1000, 9999, 2477}, {10000, 99999, 7185}, {100000, 999999, 44660}, {1000000, 2886285, 15038}};

typedef struct weighted_pair {
  int a, b, w;
} weighted_pair;

/* Category pairs of catalog-only products in two categories (weights ~ number of products). */
static const weighted_pair pair_weights[] = {
    {8, 9, 3167},   {3, 4, 2870},   {11, 13, 2730}, {6, 7, 2690},   {9, 11, 2112},  {15, 17, 2044},
    {12, 13, 1784}, {24, 25, 1266}, {23, 27, 745},  {17, 18, 700},  {21, 23, 488},  {20, 25, 330},
    {30, 36, 900},  {34, 35, 800},  {16, 19, 820}};

/* Catalog-only products in one category: weight of each category 1..50. */
static const int single_weights[GEN_NCATEGORIES] = {
    436, 13385, 100, 100, 1912, 100, 100, 1093, 1000, 1375, 700, 1093, 1000, 2174, 500, 500, 221,
    21, 578, 148, 492, 1969, 300, 200, 321, 147, 474, 696, 936, 1862, 88, 589, 1553, 262, 180,
    1682, 906, 973, 2767, 3693, 26, 361, 577, 361, 20, 2, 1199, 3434, 547, 11};

#define TWO_CATEGORY_SHARE 0.3366

/* ---- rows ---- */

/* A row's sort key: category in the top byte, then the product id's decimal digits left-aligned, so comparing
   keys compares (category, id as text). */
static uint64_t row_key(int cat, int64_t product) {
  char d[16];
  int n = 0;
  do {
    d[n++] = (char)('0' + product % 10);
    product /= 10;
  } while (product && n < 7);
  uint64_t key = (uint64_t)cat << 56;
  for (int i = 0; i < n; i++) key |= (uint64_t)(unsigned char)d[n - 1 - i] << (8 * (6 - i));
  return key;
}

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

typedef struct rows {
  uint64_t *key;
  int64_t n, cap;
} rows;

static int rows_push(rows *r, int cat, int64_t product) {
  if (r->n == r->cap) {
    int64_t cap = r->cap ? r->cap * 2 : 65536;
    uint64_t *k = realloc(r->key, (size_t)cap * sizeof *k);
    if (!k) return -1;
    r->key = k;
    r->cap = cap;
  }
  r->key[r->n++] = row_key(cat, product);
  return 0;
}

/* Adds the rows of one product in cats (1 or 2 sorted categories) to the two blocks. */
static int add_product(rows *old_block, rows *new_block, int64_t product, const int *cats, int ncats, gen_rng *r,
                       gen_catalog_stats *st) {
  int fail = 0;
  st->distinct_products++;
  st->distinct_pairs += ncats;
  if (ncats == 1) {
    if (duplicated_category(cats[0])) {
      fail |= rows_push(old_block, cats[0], product);
      st->duplicate_rows++;
    }
    fail |= rows_push(new_block, cats[0], product);
    return fail;
  }
  st->two_category_products++;
  int a = cats[0], b = cats[1];
  if (a <= 25 && b <= 25 && gen_rng_double(r) < 0.08) a = cats[1], b = cats[0]; /* an occasional swap */
  if (a <= 25) fail |= rows_push(old_block, a, product);
  else fail |= rows_push(new_block, a, product);
  fail |= rows_push(new_block, b, product);
  return fail;
}

static int pick_weighted(gen_rng *r, const int *w, int n) {
  int64_t total = 0;
  for (int i = 0; i < n; i++) total += w[i];
  int64_t u = (int64_t)gen_rng_below(r, (uint64_t)total);
  int i = 0;
  while (u >= w[i]) u -= w[i++];
  return i;
}

static int add_catalog_only(rows *old_block, rows *new_block, gen_rng *r, gen_catalog_stats *st) {
  enum { NPAIRS = sizeof pair_weights / sizeof pair_weights[0] };
  int pw[NPAIRS];
  for (int i = 0; i < NPAIRS; i++) pw[i] = pair_weights[i].w;
  for (size_t k = 0; k < sizeof catalog_ranges / sizeof catalog_ranges[0]; k++) {
    int64_t need = catalog_ranges[k].count, span = catalog_ranges[k].hi - catalog_ranges[k].lo + 1;
    for (int64_t x = catalog_ranges[k].lo; need > 0 && x <= catalog_ranges[k].hi; x++, span--) {
      if ((int64_t)gen_rng_below(r, (uint64_t)span) >= need) continue; /* selection sampling */
      need--;
      int cats[2], n;
      if (gen_rng_double(r) < TWO_CATEGORY_SHARE) {
        int i = pick_weighted(r, pw, NPAIRS);
        cats[0] = pair_weights[i].a, cats[1] = pair_weights[i].b, n = 2;
      } else {
        cats[0] = 1 + pick_weighted(r, single_weights, GEN_NCATEGORIES), n = 1;
      }
      if (add_product(old_block, new_block, x, cats, n, r, st) != 0) return -1;
    }
  }
  return 0;
}

static void format_rows(gen_buf *b, const rows *r) {
  for (int64_t i = 0; i < r->n; i++) {
    uint64_t k = r->key[i];
    char digits[8];
    int n = 0;
    for (int j = 0; j < 7; j++) {
      char c = (char)((k >> (8 * (6 - j))) & 0xff);
      if (!c) break;
      digits[n++] = c;
    }
    gen_buf_add(b, digits, (size_t)n);
    gen_buf_addc(b, '|');
    gen_buf_addint(b, (int64_t)(k >> 56));
    gen_buf_addc(b, '\n');
  }
}

static int write_categories(const char *dir, gen_catalog_stats *st, char *err, size_t errlen) {
  char path[4200];
  gen_buf b = {0};
  for (int c = 0; c < GEN_NCATEGORIES; c++) {
    if (c) gen_buf_addc(&b, '\n'); /* like the real file: no newline after the last line */
    gen_buf_addint(&b, c + 1);
    gen_buf_addc(&b, '|');
    gen_buf_adds(&b, category_names[c]);
  }
  st->category_rows = GEN_NCATEGORIES;
  st->categories_bytes = (int64_t)b.len;
  snprintf(path, sizeof path, "%s/Categories.csv", dir);
  int rc = b.oom ? (snprintf(err, errlen, "not enough memory"), -1) : gen_io_write_file(path, b.p, b.len, err, errlen);
  gen_buf_free(&b);
  return rc;
}

int gen_catalog_write(const char *dir, uint64_t seed, gen_catalog_stats *st, char *err, size_t errlen) {
  unsigned char group[GEN_NPRODUCTS + 1];
  rows old_block = {0}, new_block = {0};
  gen_buf b = {0};
  char path[4200];
  int rc = -1;
  memset(st, 0, sizeof *st);
  if (write_categories(dir, st, err, errlen) != 0) return -1;
  gen_catalog_groups(group);
  gen_rng r;
  gen_rng_init(&r, seed, GEN_TAG_CATALOG, 1);
  for (int id = 1; id <= GEN_NPRODUCTS; id++) {
    int cats[2], n = gen_catalog_group_categories(group[id], cats);
    if (n == 0) {
      st->sold_unmapped++;
      continue;
    }
    st->sold_two_category += n == 2;
    st->sold_duplicated += n == 1 && duplicated_category(cats[0]);
    if (add_product(&old_block, &new_block, id, cats, n, &r, st) != 0) goto oom;
  }
  if (add_catalog_only(&old_block, &new_block, &r, st) != 0) goto oom;
  qsort(old_block.key, (size_t)old_block.n, sizeof *old_block.key, cmp_u64);
  qsort(new_block.key, (size_t)new_block.n, sizeof *new_block.key, cmp_u64);
  st->product_rows = old_block.n + new_block.n;
  gen_buf_adds(&b, "v.Code_pr|v.code\n");
  format_rows(&b, &old_block);
  format_rows(&b, &new_block);
  if (b.oom) goto oom;
  st->product_bytes = (int64_t)b.len;
  snprintf(path, sizeof path, "%s/ProductCategory.csv", dir);
  rc = gen_io_write_file(path, b.p, b.len, err, errlen);
  goto cleanup;
oom:
  snprintf(err, errlen, "not enough memory for the catalog");
cleanup:
  free(old_block.key);
  free(new_block.key);
  gen_buf_free(&b);
  return rc;
}
