/*
** gen_lua.c: mercado.gen, the Lua face of the realistic data generator. gen.generate{...} checks its options,
** runs the C core with the runtime's thread count, cancel flag and progress line, and returns a summary table.
*/
#include <string.h>
#include <time.h>

#include "gen.h"
#include "lauxlib.h"
#include "lua.h"
#include "mercado_runtime.h"

static const char *const known_options[] = {"baskets", "seed", "out", "dirty", "stores", NULL};

static int cancelled(void) { return mercado_interrupted() != MERCADO_RUNNING; }

static void progress(void *ud, int64_t done) { mercado_progress_add(ud, done); }

static int option_error(lua_State *L, const char *name, const char *what) {
  return luaL_argerror(L, 1, lua_pushfstring(L, "option '%s' %s", name, what));
}

/* Every key of the options table must be a known option (catches typos such as "basket"). */
static void check_keys(lua_State *L) {
  lua_pushnil(L);
  while (lua_next(L, 1)) { /* stack: opts key value */
    lua_pop(L, 1);
    int known = 0;
    if (lua_type(L, -1) == LUA_TSTRING)
      for (int i = 0; known_options[i]; i++) known |= strcmp(lua_tostring(L, -1), known_options[i]) == 0;
    if (!known)
      luaL_argerror(L, 1, lua_pushfstring(L, "unknown option '%s' (expected baskets, seed, out, dirty, stores)",
                                          luaL_tolstring(L, -1, NULL)));
  }
}

/* An integer option (absent: def); raises naming the option unless it is an integer in [lo, hi]. */
static lua_Integer int_option(lua_State *L, const char *name, lua_Integer def, lua_Integer lo, lua_Integer hi,
                              const char *what) {
  lua_Integer v = def;
  int t = lua_getfield(L, 1, name), isint = 0;
  if (t != LUA_TNIL) {
    v = lua_tointegerx(L, -1, &isint);
    if (!isint || v < lo || v > hi) option_error(L, name, what);
  }
  lua_pop(L, 1);
  return v;
}

/* Reads the options table into o (stores into the caller's array). */
static void read_options(lua_State *L, gen_options *o, int32_t *stores) {
  luaL_checktype(L, 1, LUA_TTABLE);
  check_keys(L);
  memset(o, 0, sizeof *o);
  if (lua_getfield(L, 1, "baskets") == LUA_TNIL) option_error(L, "baskets", "is required (number of baskets)");
  lua_pop(L, 1);
  o->baskets = int_option(L, "baskets", 0, 1, GEN_MAX_BASKETS, "must be an integer from 1 to 100000000");
  o->seed = (uint64_t)int_option(L, "seed", 42, LUA_MININTEGER, LUA_MAXINTEGER, "must be an integer");
  if (lua_getfield(L, 1, "out") != LUA_TSTRING || lua_rawlen(L, -1) == 0)
    option_error(L, "out", "must be a directory name (string)");
  o->out_dir = lua_tostring(L, -1); /* stays valid: the options table keeps the string alive */
  lua_pop(L, 1);
  int t = lua_getfield(L, 1, "dirty");
  if (t != LUA_TNIL) {
    int isnum = 0;
    o->dirty = lua_tonumberx(L, -1, &isnum);
    if (!isnum || !(o->dirty >= 0 && o->dirty <= GEN_MAX_DIRTY))
      option_error(L, "dirty", "must be a number from 0 to 0.5");
  }
  lua_pop(L, 1);
  t = lua_getfield(L, 1, "stores");
  if (t != LUA_TNIL) {
    if (t != LUA_TTABLE) option_error(L, "stores", "must be a list of store ids");
    lua_Integer n = luaL_len(L, -1);
    if (n < 1 || n > GEN_MAX_STORES) option_error(L, "stores", "must list 1 to 16 store ids");
    for (lua_Integer i = 1; i <= n; i++) {
      int isint = 0;
      lua_geti(L, -1, i);
      lua_Integer id = lua_tointegerx(L, -1, &isint);
      if (!isint || id < 1 || id > 999999) option_error(L, "stores", "must hold integers from 1 to 999999");
      stores[i - 1] = (int32_t)id;
      lua_pop(L, 1);
    }
    o->nstores = (int)n;
    o->stores = stores;
  }
  lua_pop(L, 1);
  const char *bad = gen_check_options(o);
  if (bad) luaL_argerror(L, 1, bad);
}

static void set_int(lua_State *L, const char *k, int64_t v) {
  lua_pushinteger(L, (lua_Integer)v);
  lua_setfield(L, -2, k);
}

static void push_counts(lua_State *L, const gen_counts *c) {
  lua_createtable(L, 0, 8);
  set_int(L, "baskets", c->baskets);
  set_int(L, "units", c->units);
  set_int(L, "lines_read", c->lines_read);
  set_int(L, "kept", c->kept);
  set_int(L, "empty_lines", c->empty_lines);
  set_int(L, "units_kept", c->units_kept);
  lua_createtable(L, 0, GEN_NREASONS);
  for (int r = 0; r < GEN_NREASONS; r++) set_int(L, gen_dirty_reason_key(r), c->rejected[r]);
  lua_setfield(L, -2, "rejected");
}

static void push_catalog(lua_State *L, const gen_catalog_stats *c) {
  lua_createtable(L, 0, 9);
  set_int(L, "categories", c->category_rows);
  set_int(L, "rows", c->product_rows);
  set_int(L, "products", c->distinct_products);
  set_int(L, "pairs", c->distinct_pairs);
  set_int(L, "two_category_products", c->two_category_products);
  set_int(L, "duplicate_rows", c->duplicate_rows);
  set_int(L, "sold_unmapped", c->sold_unmapped);
  set_int(L, "sold_two_category", c->sold_two_category);
  set_int(L, "sold_duplicated", c->sold_duplicated);
}

/* The summary table: {baskets, units, customers, seconds, files, stores, catalog, manifest?, expected?}. */
static void push_summary(lua_State *L, const gen_summary *s, double seconds) {
  lua_createtable(L, 0, 10);
  set_int(L, "baskets", s->baskets);
  set_int(L, "units", s->units);
  set_int(L, "customers", s->customers);
  lua_pushnumber(L, seconds);
  lua_setfield(L, -2, "seconds");
  lua_createtable(L, s->nfiles, 0); /* stack: summary files */
  for (int i = 0; i < s->nfiles; i++) {
    lua_pushstring(L, s->files[i].path);
    lua_rawseti(L, -2, i + 1);
    if (strcmp(s->files[i].role, "manifest") == 0) {
      lua_pushstring(L, s->files[i].path);
      lua_setfield(L, -3, "manifest");
    }
  }
  lua_setfield(L, -2, "files");
  lua_createtable(L, s->nstores, 0); /* stack: summary stores */
  int k = 0;
  for (int i = 0; i < s->nfiles; i++) {
    const gen_file_summary *f = &s->files[i];
    if (strcmp(f->role, "transactions") != 0) continue;
    lua_createtable(L, 0, 5);
    set_int(L, "id", f->store);
    set_int(L, "baskets", f->baskets);
    set_int(L, "units", f->units);
    set_int(L, "bytes", f->bytes);
    lua_pushstring(L, f->path);
    lua_setfield(L, -2, "file");
    lua_rawseti(L, -2, ++k);
  }
  lua_setfield(L, -2, "stores");
  push_catalog(L, &s->catalog);
  lua_setfield(L, -2, "catalog");
  if (s->dirty) {
    push_counts(L, &s->expected);
    lua_setfield(L, -2, "expected");
  }
}

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* gen.generate{baskets = N, seed = S, out = DIR, dirty = RATE, stores = {...}}: writes the data set; returns the
   summary, or nil and a message if the files cannot be written. Raises on bad options and on interruption. */
static int gen_generate(lua_State *L) {
  gen_options o;
  int32_t stores[GEN_MAX_STORES];
  read_options(L, &o, stores);
  gen_summary *s = lua_newuserdatauv(L, sizeof *s, 0); /* GC-owned: nothing to free if a later call raises */
  mercado_progress prog;
  mercado_progress_begin(&prog, "generating baskets", o.baskets);
  o.nthreads = mercado_threads();
  o.cancelled = cancelled;
  o.progress = progress;
  o.progress_ud = &prog;
  double t0 = now();
  int rc = gen_run(&o, s);
  mercado_progress_end(&prog);
  if (rc == GEN_CANCELLED) return mercado_raise_interrupt(L);
  if (rc != GEN_OK) {
    luaL_pushfail(L);
    lua_pushstring(L, s->error);
    return 2;
  }
  push_summary(L, s, now() - t0);
  return 1;
}

static const luaL_Reg gen_funcs[] = {{"generate", gen_generate}, {NULL, NULL}};

int luaopen_mercado_gen(lua_State *L);
int luaopen_mercado_gen(lua_State *L) {
  luaL_newlib(L, gen_funcs);
  lua_pushinteger(L, GEN_FULL_BASKETS);
  lua_setfield(L, -2, "FULL_BASKETS");
  return 1;
}
