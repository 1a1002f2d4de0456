/*
** gen.c: runs the generator. The population (who shops where and when) is built first; then the baskets are cut
** into fixed blocks of file order, worker threads fill blocks in rounds (each basket from its own random stream,
** so thread count and scheduling never change a byte), and the main thread writes each round's blocks in order
** to temporary files that are renamed into place when complete. The catalog and, in dirty mode, the manifest are
** written alongside.
*/
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gen.h"
#include "gen_calendar.h"
#include "gen_io.h"
#include "gen_population.h"

#define BLOCK_BASKETS 8192
#define ROUND_BLOCKS 48
#define EMPTY_LINE_SHARE 0.25 /* empty lines inserted per changed line */

static const int32_t real_store_ids[4] = {102, 103, 107, 110};
static const int64_t real_store_baskets[4] = {314286, 407130, 254633, 132938};

/* ---- options ---- */

const char *gen_check_options(const gen_options *o) {
  if (o->baskets < 1 || o->baskets > GEN_MAX_BASKETS) return "baskets must be an integer from 1 to 100000000";
  if (!(o->dirty >= 0 && o->dirty <= GEN_MAX_DIRTY)) return "dirty must be a number from 0 to 0.5";
  if (!o->out_dir || !*o->out_dir) return "out must name a directory";
  if (strlen(o->out_dir) > 3900) return "out is too long";
  if (o->nstores < 0 || o->nstores > GEN_MAX_STORES) return "stores must list 1 to 16 store ids";
  for (int i = 0; i < o->nstores; i++) {
    if (o->stores[i] < 1 || o->stores[i] > 999999) return "stores must be integers from 1 to 999999";
    for (int j = 0; j < i; j++)
      if (o->stores[j] == o->stores[i]) return "stores must not repeat an id";
  }
  return NULL;
}

int gen_store_split(const gen_options *o, int32_t *ids, int64_t *counts) {
  int n = o->nstores ? o->nstores : 4;
  double share[GEN_MAX_STORES], total = 0, frac[GEN_MAX_STORES];
  for (int s = 0; s < n; s++) {
    ids[s] = o->nstores ? o->stores[s] : real_store_ids[s];
    share[s] = GEN_FULL_BASKETS / 4.0; /* an unknown store gets an average share */
    for (int k = 0; k < 4; k++)
      if (real_store_ids[k] == ids[s]) share[s] = (double)real_store_baskets[k];
    total += share[s];
  }
  int64_t given = 0;
  for (int s = 0; s < n; s++) { /* largest remainder: exact total, ties to the earlier store */
    double exact = (double)o->baskets * share[s] / total;
    counts[s] = (int64_t)exact;
    frac[s] = exact - (double)counts[s];
    given += counts[s];
  }
  while (given < o->baskets) {
    int best = 0;
    for (int s = 1; s < n; s++)
      if (frac[s] > frac[best]) best = s;
    counts[best]++, frac[best] = -1, given++;
  }
  return n;
}

/* ---- blocks ---- */

typedef struct block {
  int store;
  int64_t begin, end;  /* baskets in population order */
  gen_buf text;
  gen_counts counts;
  gen_fault_rec *rec;
  int64_t nrec, caprec;
  int64_t lines;       /* physical lines, empty ones included */
  int oom;
} block;

typedef struct job {
  const gen_options *o;
  const gen_model *m;
  const gen_population *pop;
  const gen_calendar *cal;
  char store_text[GEN_MAX_STORES][12];
  int crlf_store;       /* store index written with CRLF, or -1 */
  block *blocks;        /* this round's */
  int64_t first_index;  /* global index of blocks[0] */
  int nblocks;
  atomic_int next;
  atomic_int stop;      /* 1 cancelled, 2 out of memory */
} job;

static void add_rec(block *b, int64_t line, int kind) {
  if (b->nrec == b->caprec) {
    int64_t cap = b->caprec ? 2 * b->caprec : 64;
    gen_fault_rec *r = realloc(b->rec, (size_t)cap * sizeof *r);
    if (!r) {
      b->oom = 1;
      return;
    }
    b->rec = r, b->caprec = cap;
  }
  b->rec[b->nrec++] = (gen_fault_rec){line, (uint8_t)kind};
}

/* Positions of the faults forced into the first block so every kind occurs at least once. */
static void plan_forced(gen_rng *r, int64_t n, int64_t *pos) {
  for (int k = 1; k < GEN_NFAULTS; k++) {
    pos[k] = -1;
    if (k > n) continue;
    for (;;) {
      int64_t p = (int64_t)gen_rng_below(r, (uint64_t)n), taken = 0;
      for (int q = 1; q < k; q++) taken |= pos[q] == p;
      if (!taken) {
        pos[k] = p;
        break;
      }
    }
  }
}

static void make_block(job *j, block *b, int64_t gindex, uint32_t *mark, uint32_t *stamp) {
  const gen_options *o = j->o;
  const gen_population *pop = j->pop;
  uint16_t items[GEN_MAX_BASKET + 2];
  int dirty = o->dirty > 0;
  int64_t forced[GEN_NFAULTS];
  const char *eol = b->store == j->crlf_store ? "\r\n" : "\n";
  gen_rng dr;
  gen_rng_init(&dr, o->seed, GEN_TAG_DIRTY, (uint64_t)gindex);
  for (int k = 0; k < GEN_NFAULTS; k++) forced[k] = -1;
  if (dirty && gindex == 0) plan_forced(&dr, b->end - b->begin, forced);
  gen_buf_reserve(&b->text, (size_t)(b->end - b->begin) * 56);
  for (int64_t t = b->begin; t < b->end; t++) {
    int32_t ci = pop->cust_of[t];
    const gen_customer *c = &pop->cust[ci];
    gen_rng r;
    gen_rng_init(&r, o->seed, GEN_TAG_BASKET, ((uint64_t)ci << 24) | (uint64_t)pop->visit_of[t]);
    int n = gen_model_basket(j->m, c, pop->visit_of[t], pop->store_of[t], &r, items, mark, ++*stamp);
    gen_line ln = {j->cal->text[pop->day_of[t]], j->store_text[b->store], c->id, items, n};
    if (!dirty) {
      gen_dirty_emit(&b->text, &ln, GEN_FAULT_NONE, &dr, eol, &b->counts);
      b->lines++;
      continue;
    }
    int64_t at = t - b->begin;
    int kind = gen_dirty_pick(&dr, o->dirty);
    int empty = gen_rng_double(&dr) < o->dirty * EMPTY_LINE_SHARE || forced[GEN_FAULT_EMPTY_LINE] == at;
    for (int k = 1; k < GEN_FAULT_EMPTY_LINE; k++)
      if (forced[k] == at) kind = k;
    if (kind == GEN_FAULT_MULTI_SPACE && n < 2) kind = GEN_FAULT_PADDED_FIELDS; /* one product: nothing to space */
    if (empty) {
      add_rec(b, b->lines++, GEN_FAULT_EMPTY_LINE);
      gen_dirty_emit(&b->text, &ln, GEN_FAULT_EMPTY_LINE, &dr, eol, &b->counts);
    }
    if (kind != GEN_FAULT_NONE) add_rec(b, b->lines, kind);
    gen_dirty_emit(&b->text, &ln, kind, &dr, eol, &b->counts);
    b->lines++;
  }
  if (b->text.oom) b->oom = 1;
}

static void *worker(void *arg) {
  job *j = arg;
  uint32_t mark[GEN_NPRODUCTS + 1] = {0}, stamp = 0;
  for (;;) {
    int k = atomic_fetch_add(&j->next, 1);
    if (k >= j->nblocks || atomic_load(&j->stop)) break;
    if (j->o->cancelled && j->o->cancelled()) {
      atomic_store(&j->stop, 1);
      break;
    }
    block *b = &j->blocks[k];
    make_block(j, b, j->first_index + k, mark, &stamp);
    if (b->oom) {
      atomic_store(&j->stop, 2);
      break;
    }
    if (j->o->progress) j->o->progress(j->o->progress_ud, b->end - b->begin);
  }
  return NULL;
}

/* Fills blocks[0..n) with nthreads threads (the calling thread is one of them). */
static void run_round(job *j, int nthreads) {
  pthread_t tid[64];
  int started = 0;
  atomic_store(&j->next, 0);
  if (nthreads > 64) nthreads = 64;
  for (int i = 1; i < nthreads && i < j->nblocks; i++)
    if (pthread_create(&tid[started], NULL, worker, j) == 0) started++;
  worker(j);
  for (int i = 0; i < started; i++) pthread_join(tid[i], NULL);
}

static void block_free(block *b) {
  gen_buf_free(&b->text);
  free(b->rec);
  memset(b, 0, sizeof *b);
}

/* ---- files ---- */

typedef struct out_state {
  gen_file file[GEN_MAX_STORES], dup;
  int opened[GEN_MAX_STORES], dup_opened;
  gen_counts counts[GEN_MAX_STORES];
  int64_t lines[GEN_MAX_STORES], bytes[GEN_MAX_STORES];
  int bom, crlf, nofinal, dup_store; /* store indexes, -1 = none */
  char name[GEN_MAX_STORES][32], dup_name[48];
  gen_buf faults, variations; /* manifest entries, in file order */
} out_state;

static void trans_path(char *out, const char *dir, const char *name) {
  snprintf(out, GEN_PATH_MAX, "%s/transactions/%s", dir, name);
}

static void add_manifest_entries(out_state *st, const block *b) {
  for (int64_t i = 0; i < b->nrec; i++) {
    int kind = b->rec[i].kind, reason = gen_dirty_fault_reason(kind);
    gen_buf *out = reason >= 0 ? &st->faults : &st->variations;
    if (out->len) gen_buf_adds(out, ",");
    gen_buf_adds(out, "\n    {\"file\": ");
    gen_buf_addjson(out, st->name[b->store]);
    gen_buf_adds(out, ", \"line\": ");
    gen_buf_addint(out, st->lines[b->store] + b->rec[i].line + 1);
    if (reason >= 0) {
      gen_buf_adds(out, ", \"reason\": ");
      gen_buf_addjson(out, gen_dirty_reason_key(reason));
    }
    gen_buf_adds(out, ", \"kind\": ");
    gen_buf_addjson(out, gen_dirty_fault_name(kind));
    gen_buf_adds(out, "}");
  }
}

static int open_store_file(out_state *st, const gen_options *o, int s, char *err, size_t errlen) {
  char path[GEN_PATH_MAX];
  trans_path(path, o->out_dir, st->name[s]);
  if (gen_io_open(&st->file[s], path, err, errlen) != 0) return -1;
  st->opened[s] = 1;
  if (s == st->dup_store) {
    trans_path(path, o->out_dir, st->dup_name);
    if (gen_io_open(&st->dup, path, err, errlen) != 0) return -1;
    st->dup_opened = 1;
  }
  if (s != st->bom) return 0;
  st->bytes[s] += 3;
  if (gen_io_write(&st->file[s], "\xEF\xBB\xBF", 3, err, errlen) != 0) return -1;
  return s == st->dup_store ? gen_io_write(&st->dup, "\xEF\xBB\xBF", 3, err, errlen) : 0;
}

static int close_store_file(out_state *st, int s, char *err, size_t errlen) {
  st->opened[s] = 0;
  if (gen_io_commit(&st->file[s], err, errlen) != 0) return -1;
  if (s == st->dup_store) {
    st->dup_opened = 0;
    if (gen_io_commit(&st->dup, err, errlen) != 0) return -1;
  }
  return 0;
}

/* Writes one finished block; opens its file at the first block and commits it after the last. */
static int write_block(out_state *st, const gen_options *o, const gen_population *pop, const block *b, char *err,
                       size_t errlen) {
  int s = b->store;
  if (b->begin == pop->store_begin[s] && open_store_file(st, o, s, err, errlen) != 0) return -1;
  size_t len = b->text.len;
  int last = b->end == pop->store_begin[s + 1];
  if (last && s == st->nofinal && len && b->text.p[len - 1] == '\n') len -= s == st->crlf ? 2 : 1;
  if (gen_io_write(&st->file[s], b->text.p, len, err, errlen) != 0) return -1;
  if (s == st->dup_store && gen_io_write(&st->dup, b->text.p, len, err, errlen) != 0) return -1;
  add_manifest_entries(st, b);
  st->lines[s] += b->lines;
  st->bytes[s] += (int64_t)len;
  gen_dirty_counts_add(&st->counts[s], &b->counts);
  return last ? close_store_file(st, s, err, errlen) : 0;
}

static void abort_files(out_state *st, int nstores) {
  for (int s = 0; s < nstores; s++)
    if (st->opened[s]) gen_io_abort(&st->file[s]);
  if (st->dup_opened) gen_io_abort(&st->dup);
}

/* Picks the files that get a BOM, CRLF line ends, no final newline and a duplicate (dirty mode only), among the
   stores that have baskets: the first, second, third and last of them. */
static void plan_file_quirks(out_state *st, const gen_population *pop, int nstores, int dirty) {
  int nonempty[GEN_MAX_STORES], n = 0;
  st->bom = st->crlf = st->nofinal = st->dup_store = -1;
  for (int s = 0; s < nstores; s++)
    if (pop->store_begin[s + 1] > pop->store_begin[s]) nonempty[n++] = s;
  if (!dirty || !n) return;
  st->bom = nonempty[0];
  st->crlf = nonempty[1 % n];
  st->nofinal = nonempty[2 % n];
  st->dup_store = nonempty[n - 1];
}

/* ---- the manifest ---- */

static void add_counts_json(gen_buf *b, const gen_counts *c) {
  gen_buf_adds(b, "\"baskets\": ");
  gen_buf_addint(b, c->baskets);
  gen_buf_adds(b, ", \"units\": ");
  gen_buf_addint(b, c->units);
  gen_buf_adds(b, ", \"lines_read\": ");
  gen_buf_addint(b, c->lines_read);
  gen_buf_adds(b, ", \"kept\": ");
  gen_buf_addint(b, c->kept);
  gen_buf_adds(b, ", \"rejected\": {");
  for (int r = 0; r < GEN_NREASONS; r++) {
    if (r) gen_buf_adds(b, ", ");
    gen_buf_addjson(b, gen_dirty_reason_key(r));
    gen_buf_adds(b, ": ");
    gen_buf_addint(b, c->rejected[r]);
  }
  gen_buf_adds(b, "}, \"empty_lines\": ");
  gen_buf_addint(b, c->empty_lines);
  gen_buf_adds(b, ", \"units_kept\": ");
  gen_buf_addint(b, c->units_kept);
  gen_buf_adds(b, ", \"baskets_kept\": ");
  gen_buf_addint(b, c->kept);
}

static void add_name_list(gen_buf *b, const char *key, const out_state *st, int s) {
  gen_buf_adds(b, ",\n  ");
  gen_buf_addjson(b, key);
  gen_buf_adds(b, ": [");
  if (s >= 0) gen_buf_addjson(b, st->name[s]);
  gen_buf_adds(b, "]");
}

static void build_manifest(gen_buf *b, const gen_options *o, const out_state *st, int nstores,
                           const gen_counts *total) {
  char num[64];
  gen_buf_adds(b, "{\n  \"generator\": \"mercado.gen\",\n  \"seed\": ");
  snprintf(num, sizeof num, "%lld", (long long)(int64_t)o->seed); /* as the caller wrote it */
  gen_buf_adds(b, num);
  gen_buf_adds(b, ",\n  \"baskets\": ");
  gen_buf_addint(b, o->baskets);
  for (int prec = 1; prec <= 17; prec++) { /* the shortest text that reads back as the same double */
    snprintf(num, sizeof num, "%.*g", prec, o->dirty);
    if (strtod(num, NULL) == o->dirty) break;
  }
  gen_buf_adds(b, ",\n  \"dirty\": ");
  gen_buf_adds(b, num);
  gen_buf_adds(b, ",\n  \"files\": {");
  for (int s = 0; s < nstores; s++) {
    gen_buf_adds(b, s ? ",\n    " : "\n    ");
    gen_buf_addjson(b, st->name[s]);
    gen_buf_adds(b, ": {");
    add_counts_json(b, &st->counts[s]);
    gen_buf_adds(b, s == st->bom ? ", \"bom\": true" : ", \"bom\": false");
    gen_buf_adds(b, s == st->crlf ? ", \"crlf\": true" : ", \"crlf\": false");
    gen_buf_adds(b, s == st->nofinal ? ", \"final_newline\": false}" : ", \"final_newline\": true}");
  }
  gen_buf_adds(b, "\n  },\n  \"total\": {");
  add_counts_json(b, total);
  gen_buf_adds(b, "},\n  \"duplicates\": [");
  if (st->dup_store >= 0) {
    gen_buf_adds(b, "{\"file\": ");
    gen_buf_addjson(b, st->dup_name);
    gen_buf_adds(b, ", \"copy_of\": ");
    gen_buf_addjson(b, st->name[st->dup_store]);
    gen_buf_adds(b, "}");
  }
  gen_buf_adds(b, "]");
  add_name_list(b, "bom", st, st->bom);
  add_name_list(b, "crlf", st, st->crlf);
  add_name_list(b, "missing_final_newline", st, st->nofinal);
  gen_buf_adds(b, ",\n  \"faults\": [");
  if (st->faults.len) gen_buf_add(b, st->faults.p, st->faults.len);
  gen_buf_adds(b, "\n  ],\n  \"variations\": [");
  if (st->variations.len) gen_buf_add(b, st->variations.p, st->variations.len);
  gen_buf_adds(b, "\n  ]\n}\n");
}

/* ---- the run ---- */

static void add_file(gen_summary *s, const char *path, const char *role, int32_t store, int64_t baskets,
                     int64_t units, int64_t bytes) {
  if (s->nfiles >= GEN_MAX_FILES) return;
  gen_file_summary *f = &s->files[s->nfiles++];
  snprintf(f->path, sizeof f->path, "%s", path);
  f->role = role, f->store = store, f->baskets = baskets, f->units = units, f->bytes = bytes;
}

/* Writes every transaction file (and the duplicate); fills the per-store counts. */
static int write_transactions(job *j, out_state *st, int nstores, gen_summary *s) {
  const gen_population *pop = j->pop;
  const gen_options *o = j->o;
  int64_t nblocks_total = 0, made = 0;
  for (int k = 0; k < nstores; k++)
    nblocks_total += (pop->store_begin[k + 1] - pop->store_begin[k] + BLOCK_BASKETS - 1) / BLOCK_BASKETS;
  block *blocks = calloc(ROUND_BLOCKS, sizeof *blocks);
  if (!blocks) return snprintf(s->error, sizeof s->error, "not enough memory"), GEN_ERROR;
  int rc = GEN_OK, store = 0;
  int64_t at = pop->store_begin[0];
  while (made < nblocks_total && rc == GEN_OK) {
    int n = 0;
    for (; n < ROUND_BLOCKS && made + n < nblocks_total; n++) { /* cut the next blocks in file order */
      while (at == pop->store_begin[store + 1]) store++;
      int64_t end = at + BLOCK_BASKETS < pop->store_begin[store + 1] ? at + BLOCK_BASKETS : pop->store_begin[store + 1];
      blocks[n] = (block){.store = store, .begin = at, .end = end};
      at = end;
    }
    j->blocks = blocks, j->nblocks = n, j->first_index = made;
    run_round(j, o->nthreads);
    int stop = atomic_load(&j->stop);
    if (stop) rc = stop == 1 ? GEN_CANCELLED : (snprintf(s->error, sizeof s->error, "not enough memory"), GEN_ERROR);
    for (int k = 0; k < n && rc == GEN_OK; k++)
      if (write_block(st, o, pop, &blocks[k], s->error, sizeof s->error) != 0) rc = GEN_ERROR;
    for (int k = 0; k < n; k++) block_free(&blocks[k]);
    made += n;
  }
  free(blocks);
  for (int k = 0; k < nstores && rc == GEN_OK; k++) /* stores without baskets still get an (empty) file */
    if (pop->store_begin[k + 1] == pop->store_begin[k]) {
      char path[GEN_PATH_MAX];
      trans_path(path, o->out_dir, st->name[k]);
      if (gen_io_write_file(path, "", 0, s->error, sizeof s->error) != 0) rc = GEN_ERROR;
    }
  if (rc != GEN_OK) abort_files(st, nstores);
  return rc;
}

static void remove_stale(const gen_options *o, const out_state *st, int nstores) {
  char path[GEN_PATH_MAX], name[64];
  for (int k = 0; k < nstores; k++) { /* duplicates left by an earlier dirty run */
    snprintf(name, sizeof name, "Copia de %s", st->name[k]);
    trans_path(path, o->out_dir, name);
    unlink(path);
  }
  if (o->dirty <= 0) {
    snprintf(path, sizeof path, "%s/dirty_manifest.json", o->out_dir);
    unlink(path);
  }
}

/* The catalog is written by its own thread while the population is built. */
typedef struct catalog_job {
  char dir[GEN_PATH_MAX];
  uint64_t seed;
  gen_catalog_stats stats;
  char error[512];
  int rc;
} catalog_job;

static void *catalog_thread(void *arg) {
  catalog_job *c = arg;
  c->rc = gen_catalog_write(c->dir, c->seed, &c->stats, c->error, sizeof c->error);
  return NULL;
}

static int prepare_dirs(const gen_options *o, char *err, size_t errlen) {
  char path[GEN_PATH_MAX];
  snprintf(path, sizeof path, "%s/transactions", o->out_dir);
  if (gen_io_mkdirs(path, err, errlen) != 0) return -1;
  snprintf(path, sizeof path, "%s/products", o->out_dir);
  return gen_io_mkdirs(path, err, errlen);
}

static void summarize(gen_summary *s, const gen_options *o, const out_state *st, const gen_population *pop,
                      int nstores) {
  char path[GEN_PATH_MAX];
  memset(&s->expected, 0, sizeof s->expected);
  for (int k = 0; k < nstores; k++) {
    const gen_counts *c = &st->counts[k];
    trans_path(path, o->out_dir, st->name[k]);
    add_file(s, path, "transactions", s->stores[k], c->baskets, c->units, st->bytes[k]);
    s->baskets += c->baskets;
    s->units += c->units;
    gen_dirty_counts_add(&s->expected, c);
  }
  if (st->dup_store >= 0) {
    trans_path(path, o->out_dir, st->dup_name);
    add_file(s, path, "duplicate", s->stores[st->dup_store], st->counts[st->dup_store].baskets,
             st->counts[st->dup_store].units, st->bytes[st->dup_store]);
  }
  s->customers = pop->ncustomers;
}

/* Splits the baskets over the stores and builds the model and the calendar. */
static void setup(const gen_options *o, gen_summary *s, gen_model *m, gen_calendar *cal) {
  unsigned char group[GEN_NPRODUCTS + 1];
  double share[GEN_MAX_STORES];
  s->nstores = gen_store_split(o, s->stores, s->store_baskets);
  for (int k = 0; k < s->nstores; k++) share[k] = (double)s->store_baskets[k] / (double)o->baskets;
  gen_catalog_groups(group);
  gen_model_init(m, NULL, NULL, s->nstores, s->stores, share, group);
  gen_calendar_init(cal, o->seed);
}

/* Builds the population while another thread writes the catalog. */
static int population_and_catalog(const gen_options *o, gen_summary *s, const gen_model *m, const gen_calendar *cal,
                                  gen_population *pop, catalog_job *cat) {
  pthread_t tid;
  snprintf(cat->dir, sizeof cat->dir, "%s/products", o->out_dir);
  cat->seed = o->seed;
  int threaded = o->nthreads > 1 && pthread_create(&tid, NULL, catalog_thread, cat) == 0;
  int rc = gen_population_build(pop, m, cal, s->store_baskets, o->seed, o->nthreads, o->cancelled, s->error,
                                sizeof s->error);
  if (threaded) pthread_join(tid, NULL);
  else if (rc == GEN_OK) catalog_thread(cat);
  if (rc != GEN_OK) return rc;
  s->catalog = cat->stats;
  if (cat->rc != 0) return snprintf(s->error, sizeof s->error, "%s", cat->error), GEN_ERROR;
  return GEN_OK;
}

/* Names the files, plans the dirty quirks and writes every transaction file. */
static int transactions(const gen_options *o, gen_summary *s, job *j, out_state *st) {
  for (int k = 0; k < s->nstores; k++) {
    snprintf(st->name[k], sizeof st->name[k], "%d_Tran.csv", (int)s->stores[k]);
    snprintf(j->store_text[k], sizeof j->store_text[k], "%d", (int)s->stores[k]);
  }
  remove_stale(o, st, s->nstores);
  plan_file_quirks(st, j->pop, s->nstores, o->dirty > 0);
  if (st->dup_store >= 0) snprintf(st->dup_name, sizeof st->dup_name, "Copia de %s", st->name[st->dup_store]);
  j->crlf_store = st->crlf;
  int rc = write_transactions(j, st, s->nstores, s);
  if (rc == GEN_OK) summarize(s, o, st, j->pop, s->nstores);
  return rc;
}

static int write_manifest(const gen_options *o, gen_summary *s, const out_state *st) {
  char path[GEN_PATH_MAX];
  gen_buf b = {0};
  s->dirty = 1;
  build_manifest(&b, o, st, s->nstores, &s->expected);
  snprintf(path, sizeof path, "%s/dirty_manifest.json", o->out_dir);
  int rc = b.oom ? (snprintf(s->error, sizeof s->error, "not enough memory for the manifest"), GEN_ERROR)
                 : gen_io_write_file(path, b.p, b.len, s->error, sizeof s->error) == 0 ? GEN_OK : GEN_ERROR;
  if (rc == GEN_OK) add_file(s, path, "manifest", 0, 0, 0, (int64_t)b.len);
  gen_buf_free(&b);
  return rc;
}

int gen_run(const gen_options *o, gen_summary *s) {
  const char *bad = gen_check_options(o);
  memset(s, 0, sizeof *s);
  if (bad) return snprintf(s->error, sizeof s->error, "%s", bad), GEN_ERROR;
  gen_model *m = malloc(sizeof *m);
  gen_calendar *cal = malloc(sizeof *cal);
  out_state *st = calloc(1, sizeof *st);
  job *j = calloc(1, sizeof *j);
  catalog_job *cat = calloc(1, sizeof *cat);
  gen_population pop = {0};
  char path[GEN_PATH_MAX];
  int rc = GEN_ERROR;
  if (!m || !cal || !st || !j || !cat) {
    snprintf(s->error, sizeof s->error, "not enough memory");
    goto cleanup;
  }
  setup(o, s, m, cal);
  if (prepare_dirs(o, s->error, sizeof s->error) != 0) goto cleanup;
  if ((rc = population_and_catalog(o, s, m, cal, &pop, cat)) != GEN_OK) goto cleanup;
  j->o = o, j->m = m, j->pop = &pop, j->cal = cal;
  if ((rc = transactions(o, s, j, st)) != GEN_OK) goto cleanup;
  snprintf(path, sizeof path, "%s/products/Categories.csv", o->out_dir);
  add_file(s, path, "categories", 0, 0, 0, s->catalog.categories_bytes);
  snprintf(path, sizeof path, "%s/products/ProductCategory.csv", o->out_dir);
  add_file(s, path, "product_categories", 0, 0, 0, s->catalog.product_bytes);
  if (o->dirty > 0) rc = write_manifest(o, s, st);
cleanup:
  if (st) {
    gen_buf_free(&st->faults);
    gen_buf_free(&st->variations);
  }
  gen_population_free(&pop);
  free(m);
  free(cal);
  free(st);
  free(j);
  free(cat);
  return rc;
}
