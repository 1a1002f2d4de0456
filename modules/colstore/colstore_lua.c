/*
** colstore_lua.c: mercado.colstore, the Lua face of the column store. Columns and tables are userdata
** ("mercado.Column", "mercado.Table"); data stays in C arrays and only small results become Lua values.
**
**   local cs = require "mercado.colstore"
**   local t, report = cs.read_csv("data/transactions/[0-9]*_Tran.csv", {
**     delimiter = "|", header = "no",
**     columns = { {"date", "date"}, {"store_id", "int32"}, {"customer_id", "int32"},
**                 {"products", "list<int32>", sep = " "} },
**     store_from_name = "^(%d+)_Tran%.csv$",          -- extra column "store" taken from each file name
**     on_error = "reject", rejects_path = "output/runs/<id>/rejects.txt" })
**   t:group_by("date", { {"n", "count"}, {"customers", "count_distinct", "customer_id"} }):sort("date")
**   t:column("products"):value_counts():rows(10)      -- {{value = 5, count = 300526}, ...}
**
** Column methods: #c, c:type(), c:get(i), c:totable([n]), c:sum(), c:min(), c:max(), c:nitems(),
**   c:lengths(), c:distinct_lengths(), c:explode(), c:remap(keys, values), c:remap_lengths(keys, values),
**   c:value_counts(),
**   c:year(), c:month(), c:day(), c:iso_year(), c:iso_week(), c:day_of_week()  (1 = Sunday)
** Table methods: #t, t:names(), t:column(name) (also t[name]), t:select(names), t:with(name, col),
**   t:rename(old, new), t:rows([n [, offset]]), t:head(n), t:sort(spec), t:top(k, spec), t:filter(conds),
**   t:group_by(keys, aggs), t:distinct(names), t:join(other, {on = key | {lkey, rkey}, columns = {...}}),
**   t:explode(listname), t:sample(n, {seed, strata}), t:to_csv(), c:recode(map), c:fingerprint()
** Sort specs: "col", "col desc", or {"col", "desc"}; several as an array. Ties are broken by the earlier row, so
** value_counts() orders by count descending, then value ascending.
** Group-by results are sorted by key ascending. Aggregates: count, sum, min, max, mean, count_distinct,
** collect_distinct (sorted distinct values as a list column). A list column among keys or aggregates expands rows
** to one element per item.
** Filter conditions: { {"store_id", "in", {102, 103}}, {"date", ">=", "2013-02-01"} } (ops == ~= != < <= > >= in
** "not in"; a set may be a Column).
** Errors name the operation, the column and what was expected.
*/
#include <errno.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "colstore.h"
#include "colstore_lua.h"
#include "csv.h"
#include "buf.h"
#include "fsutil.h"
#include "lauxlib.h"
#include "mercado_runtime.h"
#include "ops.h"

typedef struct column_ud {
  cs_column *c;
} column_ud;

typedef struct table_ud {
  cs_table *t;
} table_ud;

/* ---- userdata plumbing ---- */

cs_column *cs_lua_tocolumn(lua_State *L, int idx) {
  column_ud *u = luaL_testudata(L, idx, CS_COLUMN_MT);
  return u ? u->c : NULL;
}

cs_column *cs_lua_checkcolumn(lua_State *L, int idx) {
  column_ud *u = luaL_checkudata(L, idx, CS_COLUMN_MT);
  if (!u->c) luaL_argerror(L, idx, "column is closed");
  return u->c;
}

cs_table *cs_lua_totable(lua_State *L, int idx) {
  table_ud *u = luaL_testudata(L, idx, CS_TABLE_MT);
  return u ? u->t : NULL;
}

cs_table *cs_lua_checktable(lua_State *L, int idx) {
  table_ud *u = luaL_checkudata(L, idx, CS_TABLE_MT);
  if (!u->t) luaL_argerror(L, idx, "table is closed");
  return u->t;
}

/* Pushes an empty Column userdata and returns its slot (so a column allocated later is owned by the GC). */
static column_ud *push_column_slot(lua_State *L) {
  column_ud *u = lua_newuserdatauv(L, sizeof *u, 0);
  u->c = NULL;
  luaL_setmetatable(L, CS_COLUMN_MT);
  return u;
}

void cs_lua_pushcolumn(lua_State *L, cs_column *c) {
  if (!c) luaL_error(L, "colstore: not enough memory");
  column_ud *u = lua_newuserdatauv(L, sizeof *u, 0);
  u->c = NULL;
  luaL_setmetatable(L, CS_COLUMN_MT);
  u->c = c;
}

cs_column *cs_lua_newcolumn(lua_State *L, cs_type type, int64_t n) {
  column_ud *u = push_column_slot(L);
  u->c = cs_column_new(type, n);
  if (!u->c) luaL_error(L, "colstore: not enough memory for a column of %I rows", (lua_Integer)n);
  return u->c;
}

static table_ud *push_table_slot(lua_State *L) {
  table_ud *u = lua_newuserdatauv(L, sizeof *u, 0);
  u->t = NULL;
  luaL_setmetatable(L, CS_TABLE_MT);
  return u;
}

cs_table *cs_lua_newtable(lua_State *L, int ncols) {
  table_ud *u = push_table_slot(L);
  u->t = cs_table_new(ncols);
  if (!u->t) luaL_error(L, "colstore: not enough memory");
  return u->t;
}

void cs_lua_table_add(lua_State *L, int tidx, const char *name, int idx) {
  cs_table *t = cs_lua_checktable(L, tidx);
  cs_column *c = cs_lua_checkcolumn(L, idx);
  if (t->n >= 0 && c->n != t->n)
    luaL_error(L, "colstore: column '%s' has %I rows, the table has %I", name, (lua_Integer)c->n, (lua_Integer)t->n);
  if (cs_table_find(t, name) >= 0) luaL_error(L, "colstore: duplicate column name '%s'", name);
  if (cs_table_add(t, name, cs_column_retain(c)) != 0) luaL_error(L, "colstore: not enough memory");
}

int cs_lua_numeric_columns(lua_State *L, int tidx, int names_idx, cs_column **cols, const char **names, int max) {
  cs_table *t = cs_lua_checktable(L, tidx);
  int n = 0;
  if (names_idx == 0) {
    for (int i = 0; i < t->ncols && n < max; i++)
      if (cs_type_is_numeric(t->cols[i]->type)) cols[n] = t->cols[i], names[n++] = t->names[i];
    return n;
  }
  luaL_checktype(L, names_idx, LUA_TTABLE);
  int len = (int)luaL_len(L, names_idx);
  for (int i = 1; i <= len; i++) {
    lua_rawgeti(L, names_idx, i);
    const char *name = lua_tostring(L, -1);
    lua_pop(L, 1); /* the names table keeps the string alive */
    if (!name) luaL_error(L, "column name %d is not a string", i);
    int k = cs_table_find(t, name);
    if (k < 0) luaL_error(L, "no column '%s' in the table", name);
    if (!cs_type_is_numeric(t->cols[k]->type))
      luaL_error(L, "column '%s' is %s, a numeric column was expected", name, cs_type_name(t->cols[k]->type));
    if (n >= max) luaL_error(L, "at most %d columns", max);
    cols[n] = t->cols[k];
    names[n++] = t->names[k];
  }
  return n;
}

static int column_gc(lua_State *L) {
  column_ud *u = luaL_checkudata(L, 1, CS_COLUMN_MT);
  cs_column_release(u->c);
  u->c = NULL;
  return 0;
}

static int table_gc(lua_State *L) {
  table_ud *u = luaL_checkudata(L, 1, CS_TABLE_MT);
  cs_table_free(u->t);
  u->t = NULL;
  return 0;
}

/* ---- values to Lua ---- */

static void push_cell(lua_State *L, const cs_column *c, int64_t r) {
  char tmp[32];
  switch (c->type) {
    case CS_INT32: lua_pushinteger(L, c->v.i32[r]); break;
    case CS_INT64: lua_pushinteger(L, (lua_Integer)c->v.i64[r]); break;
    case CS_FLOAT64: lua_pushnumber(L, c->v.f64[r]); break;
    case CS_DATE:
      cs_format_date(c->v.i32[r], tmp);
      lua_pushstring(L, tmp);
      break;
    case CS_STRING: lua_pushstring(L, cs_column_str(c, c->v.i32[r])); break;
    case CS_LIST: {
      int64_t lo = c->offsets[r], hi = c->offsets[r + 1];
      lua_createtable(L, (int)(hi - lo), 0);
      for (int64_t k = lo; k < hi; k++) {
        lua_pushinteger(L, c->items[k]);
        lua_rawseti(L, -2, k - lo + 1);
      }
      break;
    }
  }
}

/* ---- reading CSV ---- */

typedef struct read_state {
  csv_result res;
  int live;
} read_state;

static int read_state_gc(lua_State *L) {
  read_state *s = lua_touserdata(L, 1);
  if (s->live) csv_result_free(&s->res);
  s->live = 0;
  return 0;
}

/* Appends the files a path or glob names to the array at list_idx (a path that exists is never a pattern; in a
   pattern, `\\` escapes a special character). Returns 0 if a glob matches nothing. */
static int expand_path(lua_State *L, const char *p, int list_idx) {
  lua_Integer n = (lua_Integer)lua_rawlen(L, list_idx);
  struct stat st;
  if (!strpbrk(p, "*?[\\") || lstat(p, &st) == 0) { /* an existing path is taken literally, brackets and all */
    lua_pushstring(L, p);
    lua_rawseti(L, list_idx, n + 1);
    return 1;
  }
  glob_t g;
  int rc = glob(p, 0, NULL, &g);
  if (rc == 0)
    for (size_t i = 0; i < g.gl_pathc; i++) {
      lua_pushstring(L, g.gl_pathv[i]);
      lua_rawseti(L, list_idx, ++n);
    }
  globfree(&g);
  return rc == 0;
}

static int parse_columns(lua_State *L, int opts, csv_colspec **specs_out) {
  lua_getfield(L, opts, "columns");
  if (!lua_istable(L, -1)) return luaL_error(L, "read_csv: option 'columns' must be an array of {name, type}");
  int ncols = (int)luaL_len(L, -1);
  if (ncols < 1 || ncols > 256) return luaL_error(L, "read_csv: 1 to 256 columns expected, got %d", ncols);
  csv_colspec *specs = lua_newuserdatauv(L, sizeof(csv_colspec) * (size_t)ncols, 0);
  memset(specs, 0, sizeof(csv_colspec) * (size_t)ncols);
  int cols_idx = lua_gettop(L) - 1;
  for (int i = 0; i < ncols; i++) {
    lua_rawgeti(L, cols_idx, i + 1);
    int spec = lua_gettop(L);
    const char *name = NULL, *type = "string";
    if (lua_isstring(L, spec)) {
      name = lua_tostring(L, spec);
    } else if (lua_istable(L, spec)) {
      lua_rawgeti(L, spec, 1);
      lua_getfield(L, spec, "name");
      name = lua_isstring(L, -1) ? lua_tostring(L, -1) : lua_tostring(L, -2);
      lua_rawgeti(L, spec, 2);
      lua_getfield(L, spec, "type");
      type = lua_isstring(L, -1) ? lua_tostring(L, -1) : lua_isstring(L, -2) ? lua_tostring(L, -2) : "string";
      lua_getfield(L, spec, "sep");
      const char *sep = lua_tostring(L, -1);
      specs[i].list_sep = sep && sep[0] ? sep[0] : ' ';
      lua_getfield(L, spec, "allow_empty");
      specs[i].allow_empty = lua_toboolean(L, -1);
    } else {
      return luaL_error(L, "read_csv: column %d must be a name or {name, type}", i + 1);
    }
    if (strcmp(type, "skip") == 0) specs[i].skip = 1;
    else if (cs_type_parse(type, &specs[i].type) != 0)
      return luaL_error(L, "read_csv: column %d ('%s') has unknown type '%s' (int32, int64, float64, date, string, "
                        "list<int32>, skip)", i + 1, name ? name : "?", type);
    if (!specs[i].list_sep) specs[i].list_sep = ' ';
    if (name) snprintf(specs[i].name, sizeof specs[i].name, "%s", name);
    lua_settop(L, cols_idx + 1);
  }
  *specs_out = specs;
  return ncols; /* stack: ... columns specs */
}

/* Collects "<name>_from_name" (or "<name>_from_path") options: a column per option whose value is the first
   capture of a Lua pattern matched against each file's base name (or whole path). The per-file values stay
   anchored on the Lua stack. Options are taken in name order, so the columns' order is stable. */
static int parse_name_columns(lua_State *L, int opts, int paths_idx, int nfiles, csv_constcol *out, int max,
                              int unmatched) {
  lua_newtable(L);
  int keys = lua_gettop(L), nk = 0;
  lua_pushnil(L);
  while (lua_next(L, opts)) {
    lua_pop(L, 1);
    size_t klen;
    const char *key = lua_type(L, -1) == LUA_TSTRING ? lua_tolstring(L, -1, &klen) : NULL;
    if (key && klen > 10 && (strcmp(key + klen - 10, "_from_name") == 0 || strcmp(key + klen - 10, "_from_path") == 0)) {
      lua_pushvalue(L, -1);
      lua_rawseti(L, keys, ++nk);
    }
  }
  if (nk > max) return luaL_error(L, "read_csv: at most %d *_from_name columns", max);
  lua_getglobal(L, "table");
  lua_getfield(L, -1, "sort");
  lua_pushvalue(L, keys);
  lua_call(L, 1, 0);
  lua_pop(L, 1);
  for (int i = 0; i < nk; i++) {
    luaL_checkstack(L, 8, "read_csv");
    lua_rawgeti(L, keys, i + 1);
    size_t klen;
    const char *key = lua_tolstring(L, -1, &klen);
    int from_path = strcmp(key + klen - 10, "_from_path") == 0;
    lua_getfield(L, opts, key);
    const char *pattern = lua_tostring(L, -1);
    if (!pattern) return luaL_error(L, "read_csv: option '%s' must be a Lua pattern string", key);
    csv_constcol *cc = &out[i];
    snprintf(cc->name, sizeof cc->name, "%.*s", (int)(klen - 10), key);
    int32_t *ints = lua_newuserdatauv(L, sizeof(int32_t) * (size_t)(nfiles + 1), 0);
    const char **strs = lua_newuserdatauv(L, sizeof(char *) * (size_t)(nfiles + 1), 0);
    lua_createtable(L, nfiles, 0); /* keeps the captured strings alive */
    int keep = lua_gettop(L), all_int = 1;
    for (int f = 0; f < nfiles; f++) {
      lua_rawgeti(L, paths_idx, f + 1);
      const char *path = lua_tostring(L, -1), *base = strrchr(path, '/');
      base = from_path || !base ? path : base + 1;
      lua_getglobal(L, "string");
      lua_getfield(L, -1, "match");
      lua_pushstring(L, base);
      lua_pushstring(L, pattern);
      lua_call(L, 2, 1);
      if (!lua_isstring(L, -1)) { /* an error unless the file turns out to be a skipped duplicate */
        lua_pop(L, 1);
        lua_pushliteral(L, "");
        lua_pushfstring(L, "%s does not match %s = \"%s\"", path, key, pattern);
        lua_rawseti(L, unmatched, f + 1);
      }
      lua_pushvalue(L, -1);
      lua_rawseti(L, keep, f + 1);
      strs[f] = lua_tostring(L, -1);
      char *end;
      errno = 0;
      long v = strtol(strs[f], &end, 10);
      if (*end || end == strs[f] || errno || v < INT32_MIN || v > INT32_MAX) all_int = 0;
      else ints[f] = (int32_t)v;
      lua_pop(L, 3);
    }
    cc->type = all_int ? CS_INT32 : CS_STRING;
    cc->ints = ints;
    cc->strs = strs;
    /* stack: ... key pattern ints strs keep: leave them all as anchors */
  }
  return nk;
}

static void progress_cb(void *ud, int64_t bytes) { mercado_progress_add(ud, bytes); }

static void push_reason_counts(lua_State *L, const int64_t *rejected) {
  lua_createtable(L, 0, CSV_NREASONS);
  for (int r = 0; r < CSV_NREASONS; r++)
    if (rejected[r]) {
      lua_pushinteger(L, (lua_Integer)rejected[r]);
      lua_setfield(L, -2, csv_reason_key((csv_reason)r));
    }
}

static void push_report(lua_State *L, const csv_result *res, int paths_idx, int nfiles) {
  int64_t tot[CSV_NREASONS] = {0}, lines = 0, kept = 0, empty = 0, rej = 0;
  lua_createtable(L, 0, 10);
  lua_createtable(L, nfiles, 0);
  lua_createtable(L, 0, 0); /* skipped duplicates */
  int dups = 0;
  for (int f = 0; f < nfiles; f++) {
    const csv_file_stats *fs = &res->files[f];
    lua_createtable(L, 0, 8);
    lua_rawgeti(L, paths_idx, f + 1);
    lua_setfield(L, -2, "path");
    lua_pushinteger(L, (lua_Integer)fs->bytes);
    lua_setfield(L, -2, "bytes");
    lua_pushinteger(L, (lua_Integer)fs->lines_read);
    lua_setfield(L, -2, "lines_read");
    lua_pushinteger(L, (lua_Integer)fs->kept);
    lua_setfield(L, -2, "kept");
    int64_t fr = 0;
    for (int r = 0; r < CSV_NREASONS; r++) fr += fs->rejected[r], tot[r] += fs->rejected[r];
    push_reason_counts(L, fs->rejected);
    lua_setfield(L, -2, "rejected");
    lua_pushinteger(L, (lua_Integer)fr);
    lua_setfield(L, -2, "rejected_total");
    lua_pushinteger(L, (lua_Integer)fs->empty_lines);
    lua_setfield(L, -2, "empty_lines");
    if (fs->duplicate_of >= 0) {
      lua_rawgeti(L, paths_idx, fs->duplicate_of + 1);
      lua_setfield(L, -2, "duplicate_of");
      lua_pushvalue(L, -1);
      lua_rawseti(L, -3, ++dups);
    }
    lua_rawseti(L, -3, f + 1);
    lines += fs->lines_read, kept += fs->kept, empty += fs->empty_lines, rej += fr;
  }
  lua_setfield(L, -3, "skipped_duplicates");
  lua_setfield(L, -2, "files");
  lua_pushinteger(L, (lua_Integer)lines);
  lua_setfield(L, -2, "lines_read");
  lua_pushinteger(L, (lua_Integer)kept);
  lua_setfield(L, -2, "kept");
  push_reason_counts(L, tot);
  lua_setfield(L, -2, "rejected");
  lua_pushinteger(L, (lua_Integer)rej);
  lua_setfield(L, -2, "rejected_total");
  lua_pushinteger(L, (lua_Integer)empty);
  lua_setfield(L, -2, "empty_lines");
  if (res->first_reject[0]) {
    lua_pushstring(L, res->first_reject);
    lua_setfield(L, -2, "first_reject");
  }
}

/* colstore.read_csv(paths, opts) -> table, report | nil, err [, report]
   Expected failures (missing file, nothing matched, a row rejected with on_error = "fail", too many rejects)
   return nil and a message naming the file (and line); bad options raise. */
static int cs_read_csv(lua_State *L) {
  luaL_checkany(L, 1);
  luaL_checktype(L, 2, LUA_TTABLE);
  lua_settop(L, 2);
  int opts = 2;
  /* paths */
  lua_newtable(L);
  int paths_idx = lua_gettop(L);
  if (lua_type(L, 1) == LUA_TSTRING) {
    if (!expand_path(L, lua_tostring(L, 1), paths_idx))
      return lua_pushnil(L), lua_pushfstring(L, "no files match %s", lua_tostring(L, 1)), 2;
  } else if (lua_istable(L, 1)) {
    int n = (int)luaL_len(L, 1);
    for (int i = 1; i <= n; i++) {
      lua_rawgeti(L, 1, i);
      const char *p = lua_tostring(L, -1);
      if (!p) return luaL_argerror(L, 1, "paths must be strings");
      if (!expand_path(L, p, paths_idx)) return lua_pushnil(L), lua_pushfstring(L, "no files match %s", p), 2;
      lua_pop(L, 1);
    }
  } else {
    return luaL_argerror(L, 1, "a path, a glob or a list of them expected");
  }
  int nfiles = (int)lua_rawlen(L, paths_idx);
  if (nfiles == 0) return lua_pushnil(L), lua_pushstring(L, "no input files"), 2;
  const char **paths = lua_newuserdatauv(L, sizeof(char *) * (size_t)nfiles, 0);
  for (int i = 0; i < nfiles; i++) {
    lua_rawgeti(L, paths_idx, i + 1);
    paths[i] = lua_tostring(L, -1); /* the paths table keeps it alive */
    lua_pop(L, 1);
  }
  csv_options o;
  memset(&o, 0, sizeof o);
  lua_getfield(L, opts, "delimiter");
  const char *delim = luaL_optstring(L, -1, ",");
  if (strlen(delim) != 1) return luaL_error(L, "read_csv: option 'delimiter' must be one character");
  o.delimiter = delim[0];
  lua_getfield(L, opts, "quote");
  if (lua_toboolean(L, -1)) o.quote = lua_isstring(L, -1) ? lua_tostring(L, -1)[0] : '"';
  lua_getfield(L, opts, "header");
  if (lua_isboolean(L, -1)) o.header = lua_toboolean(L, -1) ? CSV_HEADER_YES : CSV_HEADER_NO;
  else {
    static const char *const hdr[] = {"no", "yes", "skip", NULL};
    o.header = luaL_checkoption(L, -1, "no", hdr);
  }
  lua_getfield(L, opts, "on_error");
  static const char *const onerr[] = {"reject", "fail", NULL};
  o.fail_fast = luaL_checkoption(L, -1, "reject", onerr) == 1;
  lua_getfield(L, opts, "max_rejects");
  o.max_rejects = lua_isnil(L, -1) ? -1 : (int64_t)luaL_checkinteger(L, -1);
  lua_getfield(L, opts, "threads");
  o.nthreads = (int)luaL_optinteger(L, -1, mercado_threads());
  lua_getfield(L, opts, "chunk_bytes");
  o.chunk_bytes = (int64_t)luaL_optinteger(L, -1, 0);
  lua_getfield(L, opts, "rejects_path");
  const char *rejects_path = lua_tostring(L, -1);
  lua_getfield(L, opts, "progress");
  const char *label = luaL_optstring(L, -1, "reading CSV");
  o.ncols = parse_columns(L, opts, &o.cols);
  csv_constcol *consts = lua_newuserdatauv(L, sizeof(csv_constcol) * 8, 0);
  memset(consts, 0, sizeof(csv_constcol) * 8);
  lua_newtable(L); /* file index -> why its name does not match a *_from_name pattern */
  int unmatched = lua_gettop(L);
  o.nconst = parse_name_columns(L, opts, paths_idx, nfiles, consts, 8, unmatched);
  o.consts = consts;
  o.cancelled = mercado_interrupted;
  mercado_progress prog;
  int64_t total_bytes = 0;
  read_state *st = lua_newuserdatauv(L, sizeof *st, 0);
  st->live = 0;
  lua_createtable(L, 0, 1);
  lua_pushcfunction(L, read_state_gc);
  lua_setfield(L, -2, "__gc");
  lua_setmetatable(L, -2);
  int st_idx = lua_gettop(L);
  table_ud *tu = push_table_slot(L);
  for (int i = 0; i < nfiles; i++) {
    struct stat stt;
    if (stat(paths[i], &stt) == 0) total_bytes += stt.st_size;
  }
  mercado_progress_begin(&prog, label, total_bytes);
  o.progress = progress_cb;
  o.progress_ud = &prog;
  st->live = 1;
  int rc = csv_read(paths, nfiles, &o, &st->res);
  mercado_progress_end(&prog);
  if (rc != 0 && mercado_interrupted()) return mercado_raise_interrupt(L);
  if (rc == 0) {
    tu->t = st->res.table; /* the Table userdata owns it now */
    st->res.table = NULL;
  }
  if (!st->res.files) return lua_pushnil(L), lua_pushstring(L, st->res.error), 2;
  for (int f = 0; f < nfiles; f++) /* a file whose name gave no value must have been skipped as a duplicate */
    if (lua_rawgeti(L, unmatched, f + 1) == LUA_TSTRING && st->res.files[f].duplicate_of < 0) return lua_pushnil(L), lua_insert(L, -2), 2;
    else lua_pop(L, 1);
  push_report(L, &st->res, paths_idx, nfiles);
  int report = lua_gettop(L);
  if (rejects_path && st->res.nrejects > 0) {
    char err[512];
    if (fs_write_atomic(rejects_path, st->res.rejects.data, st->res.rejects.len, 1, err, sizeof err) != 0)
      return luaL_error(L, "read_csv: %s", err);
    lua_pushstring(L, rejects_path);
    lua_setfield(L, report, "rejects_path");
  }
  if (rc != 0) {
    lua_pushnil(L);
    lua_pushstring(L, st->res.error);
    lua_pushvalue(L, report);
    return 3;
  }
  lua_pushvalue(L, st_idx + 1); /* the table */
  lua_pushvalue(L, report);
  return 2;
}

/* ---- building columns and tables from Lua ---- */

static double checkdate(lua_State *L, int idx, const char *what) {
  if (lua_isinteger(L, idx)) return (double)lua_tointeger(L, idx);
  const char *s = lua_tostring(L, idx);
  int y = 0, m = 0, d = 0;
  char extra;
  if (!s || sscanf(s, "%4d-%2d-%2d%c", &y, &m, &d, &extra) != 3 || strlen(s) != 10 || !cs_date_valid(y, m, d))
    luaL_error(L, "%s: expected a date YYYY-MM-DD, got %s", what, s ? s : luaL_typename(L, idx));
  return (double)cs_days_from_civil(y, m, d);
}

/* colstore.column(type, values) -> Column (values: a Lua array; dates as "YYYY-MM-DD" or day numbers). */
static int cs_column_from_lua(lua_State *L) {
  cs_type t;
  const char *tname = luaL_checkstring(L, 1);
  if (cs_type_parse(tname, &t) != 0) return luaL_argerror(L, 1, "unknown column type");
  luaL_checktype(L, 2, LUA_TTABLE);
  lua_Integer n = luaL_len(L, 2);
  if (t == CS_STRING) { /* dictionary in first-appearance order */
    lua_newtable(L);
    int map = lua_gettop(L);
    luaL_Buffer b;
    cs_column *c = cs_lua_newcolumn(L, CS_STRING, n);
    int32_t nd = 0;
    for (lua_Integer i = 1; i <= n; i++) {
      lua_rawgeti(L, 2, i);
      if (!lua_isstring(L, -1)) return luaL_error(L, "column: value %I is not a string", i);
      lua_pushvalue(L, -1);
      if (lua_rawget(L, map) == LUA_TNIL) {
        lua_pop(L, 1);
        lua_pushinteger(L, nd++);
        lua_pushvalue(L, -1);
        lua_insert(L, -3);
        lua_rawset(L, map); /* map[str] = code */
      } else {
        lua_remove(L, -2);
      }
      c->v.i32[i - 1] = (int32_t)lua_tointeger(L, -1);
      lua_pop(L, 1);
    }
    /* pool: strings by code */
    lua_createtable(L, nd, 0);
    int bycode = lua_gettop(L);
    lua_pushnil(L);
    while (lua_next(L, map)) {
      lua_pushvalue(L, -2);
      lua_rawseti(L, bycode, lua_tointeger(L, -2) + 1);
      lua_pop(L, 1);
    }
    size_t total = 0;
    for (int32_t i = 1; i <= nd; i++) {
      lua_rawgeti(L, bycode, i);
      total += lua_rawlen(L, -1) + 1;
      lua_pop(L, 1);
    }
    int64_t *off = malloc(sizeof(int64_t) * (size_t)(nd + 1));
    char *pool = malloc(total + 1);
    if (!off || !pool) {
      free(off), free(pool);
      return luaL_error(L, "column: not enough memory");
    }
    cs_column_set_dict(c, nd, off, pool); /* owned by the column from here on */
    size_t at = 0;
    for (int32_t i = 0; i < nd; i++) {
      lua_rawgeti(L, bycode, i + 1);
      size_t len;
      const char *s = lua_tolstring(L, -1, &len);
      off[i] = (int64_t)at;
      memcpy(pool + at, s, len + 1);
      at += len + 1;
      lua_pop(L, 1);
    }
    off[nd] = (int64_t)at;
    (void)b;
    lua_pop(L, 1); /* bycode */
    return 1;
  }
  if (t == CS_LIST) {
    cs_column *c = cs_lua_newcolumn(L, CS_LIST, n);
    int64_t total = 0;
    for (lua_Integer i = 1; i <= n; i++) {
      lua_rawgeti(L, 2, i);
      if (!lua_istable(L, -1)) return luaL_error(L, "column: value %I is not an array", i);
      total += (int64_t)luaL_len(L, -1);
      lua_pop(L, 1);
    }
    int32_t *items = malloc(sizeof(int32_t) * (size_t)(total > 0 ? total : 1));
    if (!items) return luaL_error(L, "column: not enough memory");
    cs_column_set_items(c, items);
    int64_t at = 0;
    for (lua_Integer i = 1; i <= n; i++) {
      lua_rawgeti(L, 2, i);
      lua_Integer len = luaL_len(L, -1);
      for (lua_Integer k = 1; k <= len; k++) {
        lua_rawgeti(L, -1, k);
        if (!lua_isinteger(L, -1)) return luaL_error(L, "column: item %I of value %I is not an integer", k, i);
        items[at++] = (int32_t)lua_tointeger(L, -1);
        lua_pop(L, 1);
      }
      c->offsets[i] = at;
      lua_pop(L, 1);
    }
    return 1;
  }
  cs_column *c = cs_lua_newcolumn(L, t, n);
  for (lua_Integer i = 1; i <= n; i++) {
    lua_rawgeti(L, 2, i);
    switch (t) {
      case CS_INT32: {
        lua_Integer v = luaL_checkinteger(L, -1);
        if (v < INT32_MIN || v > INT32_MAX) return luaL_error(L, "column: value %I out of int32 range", i);
        c->v.i32[i - 1] = (int32_t)v;
        break;
      }
      case CS_INT64: c->v.i64[i - 1] = (int64_t)luaL_checkinteger(L, -1); break;
      case CS_FLOAT64: c->v.f64[i - 1] = luaL_checknumber(L, -1); break;
      default: c->v.i32[i - 1] = (int32_t)checkdate(L, -1, "column");
    }
    lua_pop(L, 1);
  }
  return 1;
}

/* colstore.table{ {"name", column}, ... } -> Table (columns in that order). */
static int cs_table_from_lua(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  int n = (int)luaL_len(L, 1);
  cs_lua_newtable(L, n);
  int t = lua_gettop(L);
  for (int i = 1; i <= n; i++) {
    lua_rawgeti(L, 1, i);
    if (!lua_istable(L, -1)) return luaL_error(L, "table: entry %d must be {name, column}", i);
    lua_rawgeti(L, -1, 1);
    lua_rawgeti(L, -2, 2);
    const char *name = lua_tostring(L, -2);
    if (!name || !cs_lua_tocolumn(L, -1)) return luaL_error(L, "table: entry %d must be {name, column}", i);
    cs_lua_table_add(L, t, name, lua_gettop(L));
    lua_pop(L, 3);
  }
  lua_settop(L, t);
  return 1;
}

/* ---- column methods ---- */

static int col_len(lua_State *L) {
  lua_pushinteger(L, (lua_Integer)cs_lua_checkcolumn(L, 1)->n);
  return 1;
}

static int col_type(lua_State *L) {
  lua_pushstring(L, cs_type_name(cs_lua_checkcolumn(L, 1)->type));
  return 1;
}

static int col_get(lua_State *L) {
  cs_column *c = cs_lua_checkcolumn(L, 1);
  lua_Integer i = luaL_checkinteger(L, 2);
  if (i < 1 || i > c->n) return luaL_argerror(L, 2, "row index out of range");
  push_cell(L, c, i - 1);
  return 1;
}

static int col_totable(lua_State *L) {
  cs_column *c = cs_lua_checkcolumn(L, 1);
  lua_Integer n = luaL_optinteger(L, 2, c->n);
  if (n > c->n) n = c->n;
  if (n < 0) n = 0;
  lua_createtable(L, (int)n, 0);
  for (lua_Integer i = 0; i < n; i++) {
    push_cell(L, c, i);
    lua_rawseti(L, -2, i + 1);
  }
  return 1;
}

/* c:fingerprint() -> 16 hex digits identifying the column's type and contents (for cache keys). */
static int col_fingerprint(lua_State *L) {
  char hex[17];
  snprintf(hex, sizeof hex, "%016llx", (unsigned long long)cs_column_fingerprint(cs_lua_checkcolumn(L, 1)));
  lua_pushstring(L, hex);
  return 1;
}

static int col_nitems(lua_State *L) {
  lua_pushinteger(L, (lua_Integer)cs_column_nitems(cs_lua_checkcolumn(L, 1)));
  return 1;
}

static cs_column *check_type(lua_State *L, int idx, cs_type want, const char *op) {
  cs_column *c = cs_lua_checkcolumn(L, idx);
  if (c->type != want && !(want == CS_INT32 && c->type == CS_DATE && 0))
    luaL_error(L, "%s: a %s column was expected, got %s", op, cs_type_name(want), cs_type_name(c->type));
  return c;
}

/* sum/min/max of a numeric column (or of a list's items): integer for integer columns. */
static int col_reduce(lua_State *L, int which) {
  static const char *const names[] = {"sum", "min", "max"};
  cs_column *c = cs_lua_checkcolumn(L, 1);
  int64_t n = c->type == CS_LIST ? cs_column_nitems(c) : c->n;
  if (c->type == CS_STRING) return luaL_error(L, "%s: a numeric column was expected, got string", names[which]);
  if (n == 0) {
    if (which == 0) lua_pushinteger(L, 0);
    else lua_pushnil(L);
    return 1;
  }
  if (c->type == CS_FLOAT64) {
    double acc = which == 0 ? 0 : c->v.f64[0];
    for (int64_t i = 0; i < n; i++) {
      double v = c->v.f64[i];
      if (which == 0) acc += v;
      else if (which == 1 ? v < acc : v > acc) acc = v;
    }
    lua_pushnumber(L, acc);
    return 1;
  }
  int64_t acc = 0;
  for (int64_t i = 0; i < n; i++) {
    int64_t v = c->type == CS_LIST ? c->items[i] : c->type == CS_INT64 ? c->v.i64[i] : c->v.i32[i];
    if (i == 0 && which) acc = v;
    if (which == 0) acc += v;
    else if (which == 1 ? v < acc : v > acc) acc = v;
  }
  if (c->type == CS_DATE && which) {
    char tmp[32];
    cs_format_date((int32_t)acc, tmp);
    lua_pushstring(L, tmp);
  } else {
    lua_pushinteger(L, (lua_Integer)acc);
  }
  return 1;
}
static int col_sum(lua_State *L) { return col_reduce(L, 0); }
static int col_min(lua_State *L) { return col_reduce(L, 1); }
static int col_max(lua_State *L) { return col_reduce(L, 2); }

static int push_new(lua_State *L, cs_column *c) {
  cs_lua_pushcolumn(L, c);
  return 1;
}

static int col_lengths(lua_State *L) { return push_new(L, cs_list_lengths(check_type(L, 1, CS_LIST, "lengths"))); }
static int col_distinct_lengths(lua_State *L) {
  return push_new(L, cs_list_distinct_lengths(check_type(L, 1, CS_LIST, "distinct_lengths")));
}
static int col_explode(lua_State *L) { return push_new(L, cs_list_explode(check_type(L, 1, CS_LIST, "explode"))); }

static int date_part(lua_State *L, cs_datepart part, const char *op) {
  return push_new(L, cs_date_part(check_type(L, 1, CS_DATE, op), part));
}
static int col_year(lua_State *L) { return date_part(L, CS_YEAR, "year"); }
static int col_month(lua_State *L) { return date_part(L, CS_MONTH, "month"); }
static int col_day(lua_State *L) { return date_part(L, CS_DAY, "day"); }
static int col_iso_year(lua_State *L) { return date_part(L, CS_ISO_YEAR, "iso_year"); }
static int col_iso_week(lua_State *L) { return date_part(L, CS_ISO_WEEK, "iso_week"); }
static int col_day_of_week(lua_State *L) { return date_part(L, CS_DAY_OF_WEEK, "day_of_week"); }

/* c:remap(keys, values) -> list column: each item replaced by its mapped values (distinct, sorted per row);
   c:remap_lengths(keys, values) -> int32 column: the number of those values per row, without the lists. */
static int remap_column(lua_State *L, const char *op, int count_only) {
  cs_column *list = check_type(L, 1, CS_LIST, op);
  cs_column *keys = cs_lua_checkcolumn(L, 2), *vals = cs_lua_checkcolumn(L, 3);
  if (keys->type != CS_INT32 || vals->type != CS_INT32 || keys->n != vals->n)
    return luaL_error(L, "%s: keys and values must be int32 columns of equal length", op);
  char err[256];
  column_ud *slot = push_column_slot(L);
  slot->c = count_only ? cs_list_remap_lengths(list, keys, vals, mercado_threads(), err, sizeof err)
                       : cs_list_remap(list, keys, vals, mercado_threads(), err, sizeof err);
  if (!slot->c) return luaL_error(L, "%s", err);
  return 1;
}

static int col_remap(lua_State *L) { return remap_column(L, "remap", 0); }
static int col_remap_lengths(lua_State *L) { return remap_column(L, "remap_lengths", 1); }

/* ---- table methods ---- */

static int tbl_len(lua_State *L) {
  cs_table *t = cs_lua_checktable(L, 1);
  lua_pushinteger(L, (lua_Integer)(t->n < 0 ? 0 : t->n));
  return 1;
}

static int tbl_names(lua_State *L) {
  cs_table *t = cs_lua_checktable(L, 1);
  lua_createtable(L, t->ncols, 0);
  for (int i = 0; i < t->ncols; i++) {
    lua_pushstring(L, t->names[i]);
    lua_rawseti(L, -2, i + 1);
  }
  return 1;
}

static int find_column(lua_State *L, cs_table *t, const char *name, const char *op) {
  int k = cs_table_find(t, name);
  if (k < 0) {
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    for (int i = 0; i < t->ncols; i++) {
      if (i) luaL_addstring(&b, ", ");
      luaL_addstring(&b, t->names[i]);
    }
    luaL_pushresult(&b);
    luaL_error(L, "%s: no column '%s' (columns: %s)", op, name, lua_tostring(L, -1));
  }
  return k;
}

static int tbl_column(lua_State *L) {
  cs_table *t = cs_lua_checktable(L, 1);
  int k = find_column(L, t, luaL_checkstring(L, 2), "column");
  cs_lua_pushcolumn(L, cs_column_retain(t->cols[k]));
  return 1;
}

/* Resolves a column reference: a name in table t or a Column of the table's length. */
static cs_column *resolve_col(lua_State *L, cs_table *t, int idx, const char *op) {
  cs_column *c = cs_lua_tocolumn(L, idx);
  if (c) {
    if (t->n >= 0 && c->n != t->n)
      luaL_error(L, "%s: column has %I rows, the table has %I", op, (lua_Integer)c->n, (lua_Integer)t->n);
    return c;
  }
  const char *name = lua_tostring(L, idx);
  if (!name) luaL_error(L, "%s: a column name or a Column expected, got %s", op, luaL_typename(L, idx));
  return t->cols[find_column(L, t, name, op)];
}

/* New table with the given columns of t, taking rows idx (or all rows when idx is NULL). */
static void push_taken(lua_State *L, cs_table *t, const int64_t *idx, int64_t k) {
  cs_table *out = cs_lua_newtable(L, t->ncols);
  for (int i = 0; i < t->ncols; i++) {
    cs_column *c = idx ? cs_column_take(t->cols[i], idx, k) : cs_column_retain(t->cols[i]);
    if (!c || cs_table_add(out, t->names[i], c) != 0) luaL_error(L, "colstore: not enough memory");
  }
  if (out->n < 0) out->n = k;
}

static int tbl_select(lua_State *L) {
  cs_table *t = cs_lua_checktable(L, 1);
  luaL_checktype(L, 2, LUA_TTABLE);
  int n = (int)luaL_len(L, 2);
  cs_lua_newtable(L, n);
  int out = lua_gettop(L);
  for (int i = 1; i <= n; i++) {
    lua_rawgeti(L, 2, i);
    const char *name = luaL_checkstring(L, -1);
    int k = find_column(L, t, name, "select");
    cs_lua_pushcolumn(L, cs_column_retain(t->cols[k]));
    cs_lua_table_add(L, out, name, lua_gettop(L));
    lua_pop(L, 2);
  }
  return 1;
}

/* t:with(name, column) -> a new table with the column added (or replaced). */
static int tbl_with(lua_State *L) {
  cs_table *t = cs_lua_checktable(L, 1);
  const char *name = luaL_checkstring(L, 2);
  cs_column *c = cs_lua_checkcolumn(L, 3);
  if (t->n >= 0 && c->n != t->n)
    return luaL_error(L, "with: column '%s' has %I rows, the table has %I", name, (lua_Integer)c->n, (lua_Integer)t->n);
  cs_table *out = cs_lua_newtable(L, t->ncols + 1);
  int replaced = 0;
  for (int i = 0; i < t->ncols; i++) {
    int same = strcmp(t->names[i], name) == 0;
    replaced |= same;
    if (cs_table_add(out, t->names[i], cs_column_retain(same ? c : t->cols[i])) != 0)
      return luaL_error(L, "colstore: not enough memory");
  }
  if (!replaced && cs_table_add(out, name, cs_column_retain(c)) != 0) return luaL_error(L, "colstore: not enough memory");
  return 1;
}

static int tbl_rename(lua_State *L) {
  cs_table *t = cs_lua_checktable(L, 1);
  const char *from = luaL_checkstring(L, 2), *to = luaL_checkstring(L, 3);
  int k = find_column(L, t, from, "rename");
  if (cs_table_find(t, to) >= 0 && strcmp(from, to) != 0) return luaL_error(L, "rename: column '%s' exists", to);
  cs_table *out = cs_lua_newtable(L, t->ncols);
  for (int i = 0; i < t->ncols; i++)
    if (cs_table_add(out, i == k ? to : t->names[i], cs_column_retain(t->cols[i])) != 0)
      return luaL_error(L, "colstore: not enough memory");
  return 1;
}

/* t:rows([n [, offset]]) -> array of {column = value} (dates as "YYYY-MM-DD", lists as arrays). */
static int tbl_rows(lua_State *L) {
  cs_table *t = cs_lua_checktable(L, 1);
  int64_t total = t->n < 0 ? 0 : t->n;
  lua_Integer n = luaL_optinteger(L, 2, total), off = luaL_optinteger(L, 3, 0);
  if (off < 0) off = 0;
  if (off > total) off = total;
  if (n > total - off) n = total - off;
  if (n < 0) n = 0;
  lua_createtable(L, (int)n, 0);
  for (lua_Integer r = 0; r < n; r++) {
    lua_createtable(L, 0, t->ncols);
    for (int c = 0; c < t->ncols; c++) {
      push_cell(L, t->cols[c], off + r);
      lua_setfield(L, -2, t->names[c]);
    }
    lua_rawseti(L, -2, r + 1);
  }
  return 1;
}

static int tbl_head(lua_State *L) {
  cs_table *t = cs_lua_checktable(L, 1);
  int64_t total = t->n < 0 ? 0 : t->n;
  lua_Integer n = luaL_checkinteger(L, 2);
  if (n > total) n = total;
  if (n < 0) n = 0;
  int64_t *idx = lua_newuserdatauv(L, sizeof(int64_t) * (size_t)(n + 1), 0);
  for (lua_Integer i = 0; i < n; i++) idx[i] = i;
  push_taken(L, t, idx, n);
  return 1;
}

/* Parses a sort spec at idx into columns and directions; returns the count. */
static int parse_sort_spec(lua_State *L, cs_table *t, int idx, const cs_column **cols, int *desc, int max) {
  int n = 0;
  lua_newtable(L); /* the keys as a list: "col [desc]" or {"col", "desc"} each */
  int list = lua_gettop(L);
  if (lua_type(L, idx) == LUA_TSTRING) {
    lua_pushvalue(L, idx);
    lua_rawseti(L, list, 1);
  } else {
    luaL_checktype(L, idx, LUA_TTABLE);
    lua_rawgeti(L, idx, 2);
    int single = lua_type(L, -1) == LUA_TSTRING &&
                 (strcmp(lua_tostring(L, -1), "desc") == 0 || strcmp(lua_tostring(L, -1), "asc") == 0);
    lua_pop(L, 1);
    if (single) {
      lua_pushvalue(L, idx);
      lua_rawseti(L, list, 1);
    } else {
      int len = (int)luaL_len(L, idx);
      for (int i = 1; i <= len; i++) {
        lua_rawgeti(L, idx, i);
        lua_rawseti(L, list, i);
      }
    }
  }
  int len = (int)lua_rawlen(L, list);
  for (int i = 1; i <= len; i++) {
    if (n >= max) luaL_error(L, "sort: at most %d keys", max);
    lua_rawgeti(L, list, i);
    char name[128];
    int d = 0;
    if (lua_type(L, -1) == LUA_TSTRING) {
      const char *s = lua_tostring(L, -1), *sp = strchr(s, ' ');
      size_t len2 = sp ? (size_t)(sp - s) : strlen(s);
      if (len2 >= sizeof name) return luaL_error(L, "sort: column name too long");
      memcpy(name, s, len2);
      name[len2] = '\0';
      if (sp) {
        while (*sp == ' ') sp++;
        if (strcmp(sp, "desc") == 0) d = 1;
        else if (strcmp(sp, "asc") != 0) luaL_error(L, "sort: expected 'asc' or 'desc' after '%s', got '%s'", name, sp);
      }
    } else if (lua_istable(L, -1)) {
      lua_rawgeti(L, -1, 1);
      lua_rawgeti(L, -2, 2);
      snprintf(name, sizeof name, "%s", luaL_checkstring(L, -2));
      const char *dir = luaL_optstring(L, -1, "asc");
      if (strcmp(dir, "desc") == 0) d = 1;
      else if (strcmp(dir, "asc") != 0) luaL_error(L, "sort: expected 'asc' or 'desc' for '%s', got '%s'", name, dir);
      lua_pop(L, 2);
    } else {
      luaL_error(L, "sort: a key must be \"col [asc|desc]\" or {col, dir}");
    }
    lua_pop(L, 1);
    cols[n] = t->cols[find_column(L, t, name, "sort")];
    desc[n++] = d;
  }
  lua_pop(L, 1);
  return n;
}

static int sort_table(lua_State *L, int64_t limit) {
  cs_table *t = cs_lua_checktable(L, 1);
  const cs_column *cols[16];
  int desc[16];
  int n = parse_sort_spec(L, t, limit >= 0 ? 3 : 2, cols, desc, 16);
  int64_t rows = t->n < 0 ? 0 : t->n;
  int64_t *perm = lua_newuserdatauv(L, sizeof(int64_t) * (size_t)(rows + 1), 0);
  int rc = limit >= 0 ? cs_top_perm(cols, desc, n, rows, limit, perm) : cs_sort_perm(cols, desc, n, rows, perm);
  if (rc != 0) return luaL_error(L, "sort: not enough memory");
  push_taken(L, t, perm, limit >= 0 && limit < rows ? limit : rows);
  return 1;
}

static int tbl_sort(lua_State *L) { return sort_table(L, -1); }

static int tbl_top(lua_State *L) {
  lua_Integer k = luaL_checkinteger(L, 2);
  return sort_table(L, k < 0 ? 0 : k);
}

/* Converts a filter value for column c (dates from strings, strings to dictionary codes). */
static double filter_value(lua_State *L, const cs_column *c, int idx, int *found) {
  *found = 1;
  if (c->type == CS_DATE) return checkdate(L, idx, "filter");
  if (c->type == CS_STRING) {
    const char *s = luaL_checkstring(L, idx);
    for (int32_t i = 0; i < c->ndict; i++)
      if (strcmp(cs_column_str(c, i), s) == 0) return i;
    *found = 0;
    return -1;
  }
  return luaL_checknumber(L, idx);
}

static int cmp_dbl(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* t:filter(conds) -> table of the rows meeting every condition. */
static int tbl_filter(lua_State *L) {
  cs_table *t = cs_lua_checktable(L, 1);
  luaL_checktype(L, 2, LUA_TTABLE);
  static const char *const ops[] = {"==", "~=", "<", "<=", ">", ">=", "in", "not in", "!=", NULL};
  static const cs_cmp opv[] = {CS_EQ, CS_NE, CS_LT, CS_LE, CS_GT, CS_GE, CS_IN, CS_NOT_IN, CS_NE};
  int n = (int)luaL_len(L, 2);
  cs_cond *conds = lua_newuserdatauv(L, sizeof(cs_cond) * (size_t)(n + 1), 0);
  for (int i = 0; i < n; i++) {
    lua_rawgeti(L, 2, i + 1);
    int ci = lua_gettop(L);
    if (!lua_istable(L, ci)) return luaL_error(L, "filter: condition %d must be {column, op, value}", i + 1);
    lua_rawgeti(L, ci, 1);
    cs_column *c = resolve_col(L, t, -1, "filter");
    if (c->type == CS_LIST) return luaL_error(L, "filter: condition %d: list columns cannot be compared", i + 1);
    lua_rawgeti(L, ci, 2);
    int op = luaL_checkoption(L, -1, NULL, ops);
    conds[i].col = c;
    conds[i].op = opv[op];
    lua_rawgeti(L, ci, 3);
    int vi = lua_gettop(L);
    if (opv[op] == CS_IN || opv[op] == CS_NOT_IN) {
      cs_column *set = cs_lua_tocolumn(L, vi);
      int64_t m = set ? set->n : (lua_istable(L, vi) ? (int64_t)luaL_len(L, vi) : -1);
      if (m < 0) return luaL_error(L, "filter: condition %d: 'in' needs an array or a Column", i + 1);
      double *vals = lua_newuserdatauv(L, sizeof(double) * (size_t)(m + 1), 0);
      int64_t k = 0;
      for (int64_t j = 0; j < m; j++) {
        int found = 1;
        if (set) vals[k++] = cs_column_get_f64(set, j);
        else {
          lua_rawgeti(L, vi, j + 1);
          double v = filter_value(L, c, -1, &found);
          lua_pop(L, 1);
          if (found) vals[k++] = v;
        }
      }
      qsort(vals, (size_t)k, sizeof(double), cmp_dbl);
      conds[i].set = vals;
      conds[i].nset = k;
      lua_rawseti(L, 2, -(i + 1)); /* anchor the set in the conditions table while filtering */
    } else {
      int found;
      conds[i].value = filter_value(L, c, vi, &found);
      if (!found) conds[i].value = -1; /* no such string: == matches nothing, ~= everything */
    }
    lua_settop(L, ci - 1);
  }
  int64_t rows = t->n < 0 ? 0 : t->n;
  int64_t *idx = lua_newuserdatauv(L, sizeof(int64_t) * (size_t)(rows + 1), 0);
  int64_t k = cs_filter_rows(conds, n, rows, idx);
  for (int i = 0; i < n; i++) { /* drop the anchors */
    lua_pushnil(L);
    lua_rawseti(L, 2, -(i + 1));
  }
  push_taken(L, t, idx, k);
  return 1;
}

static const char *const agg_names[] = {"count", "sum", "min", "max", "mean", "count_distinct", "collect_distinct", NULL};

/* t:group_by(keys, aggs) -> table (keys then aggregates, sorted by key). */
static int tbl_group_by(lua_State *L) {
  cs_table *t = cs_lua_checktable(L, 1);
  const cs_column *keys[16];
  const char *knames[16];
  int nkeys = 0;
  if (lua_type(L, 2) == LUA_TSTRING) {
    knames[0] = lua_tostring(L, 2);
    keys[nkeys++] = t->cols[find_column(L, t, knames[0], "group_by")];
  } else {
    luaL_checktype(L, 2, LUA_TTABLE);
    int n = (int)luaL_len(L, 2);
    if (n < 1 || n > 16) return luaL_error(L, "group_by: 1 to 16 keys expected");
    for (int i = 1; i <= n; i++) {
      lua_rawgeti(L, 2, i);
      if (lua_istable(L, -1)) { /* {"name", Column} */
        lua_rawgeti(L, -1, 1);
        lua_rawgeti(L, -2, 2);
        knames[nkeys] = luaL_checkstring(L, -2);
        keys[nkeys++] = resolve_col(L, t, lua_gettop(L), "group_by");
        lua_pop(L, 3);
      } else {
        knames[nkeys] = luaL_checkstring(L, -1);
        keys[nkeys] = t->cols[find_column(L, t, knames[nkeys], "group_by")];
        nkeys++;
        lua_pop(L, 1);
      }
    }
  }
  int naggs = lua_istable(L, 3) ? (int)luaL_len(L, 3) : 0;
  if (naggs > 64) return luaL_error(L, "group_by: at most 64 aggregates");
  cs_agg aggs[64];
  const char *anames[64];
  for (int a = 0; a < naggs; a++) {
    lua_rawgeti(L, 3, a + 1);
    int ai = lua_gettop(L);
    if (!lua_istable(L, ai)) return luaL_error(L, "group_by: aggregate %d must be {name, kind [, column]}", a + 1);
    lua_rawgeti(L, ai, 1);
    anames[a] = luaL_checkstring(L, -1);
    lua_rawgeti(L, ai, 2);
    aggs[a].kind = (cs_agg_kind)luaL_checkoption(L, -1, NULL, agg_names);
    lua_rawgeti(L, ai, 3);
    aggs[a].col = NULL;
    if (aggs[a].kind != CS_AGG_COUNT) {
      if (lua_isnil(L, -1)) return luaL_error(L, "group_by: aggregate '%s' needs a column", anames[a]);
      aggs[a].col = resolve_col(L, t, lua_gettop(L), "group_by");
      cs_type ct = aggs[a].col->type;
      if (ct == CS_STRING && aggs[a].kind != CS_AGG_COUNT_DISTINCT)
        return luaL_error(L, "group_by: aggregate '%s' (%s) needs a numeric column, got string", anames[a],
                          agg_names[aggs[a].kind]);
      if (ct == CS_DATE && (aggs[a].kind == CS_AGG_SUM || aggs[a].kind == CS_AGG_MEAN))
        return luaL_error(L, "group_by: aggregate '%s' cannot %s dates", anames[a], agg_names[aggs[a].kind]);
      if (aggs[a].kind == CS_AGG_COLLECT_DISTINCT && ct != CS_INT32 && ct != CS_LIST)
        return luaL_error(L, "group_by: collect_distinct '%s' needs an int32 or list column", anames[a]);
    }
    lua_settop(L, ai); /* keep the aggregate spec (and its strings) alive on the stack */
  }
  /* result slots first, so the columns are GC-owned as soon as they exist */
  cs_table *out = cs_lua_newtable(L, nkeys + naggs);
  int out_idx = lua_gettop(L);
  cs_column **cols = lua_newuserdatauv(L, sizeof(cs_column *) * (size_t)(nkeys + naggs), 0);
  char err[256];
  if (cs_group_by(keys, nkeys, aggs, naggs, mercado_threads(), cols, err, sizeof err) != 0) return luaL_error(L, "%s", err);
  int added = 0, failed = 0;
  for (int i = 0; i < nkeys + naggs; i++) {
    if (failed) {
      cs_column_release(cols[i]);
      continue;
    }
    if (cs_table_add(out, i < nkeys ? knames[i] : anames[i - nkeys], cols[i]) != 0) failed = 1;
    else added++;
  }
  if (failed) return luaL_error(L, "group_by: not enough memory");
  for (int i = 0; i < nkeys + naggs; i++)
    for (int j = 0; j < i; j++)
      if (strcmp(out->names[i], out->names[j]) == 0) return luaL_error(L, "group_by: duplicate output name '%s'", out->names[i]);
  lua_settop(L, out_idx);
  return 1;
}

/* t:distinct(names) -> the distinct rows of those columns, sorted. */
static int tbl_distinct(lua_State *L) {
  lua_settop(L, 2);
  lua_newtable(L); /* no aggregates */
  return tbl_group_by(L);
}

/* t:join(other, {on = key | {lkey, rkey}, columns = {...}}) -> inner join; rows ordered by t's row, then other's. */
static int tbl_join(lua_State *L) {
  cs_table *t = cs_lua_checktable(L, 1), *o = cs_lua_checktable(L, 2);
  luaL_checktype(L, 3, LUA_TTABLE);
  lua_getfield(L, 3, "on");
  const char *lk, *rk;
  if (lua_istable(L, -1)) {
    lua_rawgeti(L, -1, 1);
    lua_rawgeti(L, -2, 2);
    lk = luaL_checkstring(L, -2);
    rk = luaL_checkstring(L, -1);
  } else {
    lk = rk = luaL_checkstring(L, -1);
  }
  cs_column *lcol = t->cols[find_column(L, t, lk, "join")], *rcol = o->cols[find_column(L, o, rk, "join")];
  if (!cs_type_is_numeric(lcol->type) || !cs_type_is_numeric(rcol->type) || lcol->type == CS_FLOAT64 ||
      rcol->type == CS_FLOAT64)
    return luaL_error(L, "join: keys '%s' and '%s' must be integer or date columns", lk, rk);
  lua_getfield(L, 3, "columns");
  int sel = lua_istable(L, -1) ? lua_gettop(L) : 0;
  int64_t *li = NULL, *ri = NULL;
  /* the pair arrays are malloc'd: copy them into GC-owned memory before anything can raise */
  int64_t np = cs_join_pairs(lcol, rcol, &li, &ri);
  if (np < 0) return luaL_error(L, "join: not enough memory");
  int64_t *lidx = lua_newuserdatauv(L, sizeof(int64_t) * (size_t)(np + 1), 0);
  int64_t *ridx = lua_newuserdatauv(L, sizeof(int64_t) * (size_t)(np + 1), 0);
  memcpy(lidx, li, sizeof(int64_t) * (size_t)np);
  memcpy(ridx, ri, sizeof(int64_t) * (size_t)np);
  free(li);
  free(ri);
  int nsel = sel ? (int)luaL_len(L, sel) : o->ncols;
  cs_table *out = cs_lua_newtable(L, t->ncols + nsel);
  for (int i = 0; i < t->ncols; i++) {
    cs_column *c = cs_column_take(t->cols[i], lidx, np);
    if (!c || cs_table_add(out, t->names[i], c) != 0) return luaL_error(L, "join: not enough memory");
  }
  for (int i = 0; i < nsel; i++) {
    int k;
    if (sel) {
      lua_rawgeti(L, sel, i + 1);
      k = find_column(L, o, luaL_checkstring(L, -1), "join");
      lua_pop(L, 1);
    } else {
      k = i;
      if (strcmp(o->names[k], rk) == 0) continue;
    }
    if (cs_table_find(out, o->names[k]) >= 0)
      return luaL_error(L, "join: both tables have a column '%s' (select or rename it)", o->names[k]);
    cs_column *c = cs_column_take(o->cols[k], ridx, np);
    if (!c || cs_table_add(out, o->names[k], c) != 0) return luaL_error(L, "join: not enough memory");
  }
  if (out->n < 0) out->n = np;
  return 1;
}

/* t:explode(listname) -> one row per item, other columns repeated; the list column becomes int32. */
static int tbl_explode(lua_State *L) {
  cs_table *t = cs_lua_checktable(L, 1);
  const char *name = luaL_checkstring(L, 2);
  int k = find_column(L, t, name, "explode");
  cs_column *list = t->cols[k];
  if (list->type != CS_LIST) return luaL_error(L, "explode: column '%s' is %s, a list was expected", name, cs_type_name(list->type));
  int64_t m = cs_column_nitems(list);
  int64_t *rows = lua_newuserdatauv(L, sizeof(int64_t) * (size_t)(m + 1), 0);
  for (int64_t r = 0; r < list->n; r++)
    for (int64_t e = list->offsets[r]; e < list->offsets[r + 1]; e++) rows[e] = r;
  cs_table *out = cs_lua_newtable(L, t->ncols);
  for (int i = 0; i < t->ncols; i++) {
    cs_column *c = i == k ? cs_list_explode(list) : cs_column_take(t->cols[i], rows, m);
    if (!c || cs_table_add(out, t->names[i], c) != 0) return luaL_error(L, "explode: not enough memory");
  }
  if (out->n < 0) out->n = m;
  return 1;
}

/* c:value_counts() -> table {value, count} ordered by count descending, then value ascending. */
static int col_value_counts(lua_State *L) {
  cs_column *c = cs_lua_checkcolumn(L, 1);
  const cs_column *keys[1] = {c};
  cs_agg agg = {CS_AGG_COUNT, NULL};
  cs_column **cols = lua_newuserdatauv(L, sizeof(cs_column *) * 2, 0);
  char err[256];
  if (cs_group_by(keys, 1, &agg, 1, 1, cols, err, sizeof err) != 0) return luaL_error(L, "value_counts: %s", err);
  cs_table *grouped = cs_lua_newtable(L, 2);
  if (cs_table_add(grouped, "value", cols[0]) != 0) {
    cs_column_release(cols[1]);
    return luaL_error(L, "value_counts: not enough memory");
  }
  if (cs_table_add(grouped, "count", cols[1]) != 0) return luaL_error(L, "value_counts: not enough memory");
  const cs_column *sc[1] = {grouped->cols[1]};
  int desc[1] = {1};
  int64_t *perm = lua_newuserdatauv(L, sizeof(int64_t) * (size_t)(grouped->n + 1), 0);
  if (cs_sort_perm(sc, desc, 1, grouped->n, perm) != 0) return luaL_error(L, "value_counts: not enough memory");
  push_taken(L, grouped, perm, grouped->n);
  return 1;
}

/* t:sample(n [, {seed = 42, strata = "col"}]) -> about n rows drawn without replacement (stratified by an int32
   column: each value's share proportional to its rows, at least one each), in the table's row order. */
static int tbl_sample(lua_State *L) {
  cs_table *t = cs_lua_checktable(L, 1);
  lua_Integer n = luaL_checkinteger(L, 2);
  uint64_t seed = 42;
  const cs_column *strata = NULL;
  if (lua_istable(L, 3)) {
    lua_getfield(L, 3, "seed");
    seed = (uint64_t)luaL_optinteger(L, -1, 42);
    lua_getfield(L, 3, "strata");
    if (!lua_isnil(L, -1)) {
      strata = resolve_col(L, t, lua_gettop(L), "sample");
      if (strata->type != CS_INT32) return luaL_error(L, "sample: strata must be an int32 column");
    }
  }
  int64_t rows = t->n < 0 ? 0 : t->n;
  if (n < 0) n = 0;
  int64_t cap = (n < rows ? n : rows) + rows + 1; /* room for n plus one per stratum at most */
  int64_t *idx = lua_newuserdatauv(L, sizeof(int64_t) * (size_t)cap, 0);
  int64_t k = cs_sample_rows(rows, strata, n, seed, idx);
  if (k < 0) return luaL_error(L, "sample: not enough memory (or strata range too wide)");
  push_taken(L, t, idx, k);
  return 1;
}

/* t:to_csv() -> CSV text with a header (RFC 4180 quoting where needed). */
static int tbl_to_csv(lua_State *L) {
  cs_table *t = cs_lua_checktable(L, 1);
  mc_buf b;
  buf_init(&b);
  cs_table_write_csv(t, &b);
  if (!buf_ok(&b)) {
    buf_free(&b);
    return luaL_error(L, "to_csv: not enough memory");
  }
  lua_pushlstring(L, b.data ? b.data : "", b.len);
  buf_free(&b);
  return 1;
}

/* c:recode(map) -> int32 column with each value v replaced by map[v] (a Lua table over a small value range);
   a value with no entry raises naming it. */
static int col_recode(lua_State *L) {
  cs_column *c = check_type(L, 1, CS_INT32, "recode");
  luaL_checktype(L, 2, LUA_TTABLE);
  int32_t lo = 0, hi = -1;
  for (int64_t i = 0; i < c->n; i++) {
    if (i == 0 || c->v.i32[i] < lo) lo = c->v.i32[i];
    if (i == 0 || c->v.i32[i] > hi) hi = c->v.i32[i];
  }
  int64_t range = c->n ? (int64_t)hi - lo + 1 : 0;
  if (range > (1 << 22)) return luaL_error(L, "recode: value range %I too wide", (lua_Integer)range);
  int32_t *table = lua_newuserdatauv(L, sizeof(int32_t) * (size_t)(range + 1), 0);
  char *known = lua_newuserdatauv(L, (size_t)(range + 1), 0);
  memset(known, 0, (size_t)(range + 1));
  for (int64_t v = 0; v < range; v++) {
    if (lua_rawgeti(L, 2, lo + v) != LUA_TNIL) {
      lua_Integer x = luaL_checkinteger(L, -1);
      if (x < INT32_MIN || x > INT32_MAX) return luaL_error(L, "recode: value for %I out of int32 range", (lua_Integer)(lo + v));
      table[v] = (int32_t)x, known[v] = 1;
    }
    lua_pop(L, 1);
  }
  cs_column *out = cs_lua_newcolumn(L, CS_INT32, c->n);
  for (int64_t i = 0; i < c->n; i++) {
    int64_t v = (int64_t)c->v.i32[i] - lo;
    if (!known[v]) return luaL_error(L, "recode: no new value for %d", (int)c->v.i32[i]);
    out->v.i32[i] = table[v];
  }
  return 1;
}

/* ---- previews ---- */

static void add_cell_preview(luaL_Buffer *b, lua_State *L, const cs_column *c, int64_t r) {
  if (c->type == CS_LIST) {
    int64_t lo = c->offsets[r], hi = c->offsets[r + 1];
    luaL_addchar(b, '[');
    for (int64_t k = lo; k < hi && k < lo + 8; k++) {
      if (k > lo) luaL_addchar(b, ' ');
      lua_pushfstring(L, "%d", (int)c->items[k]);
      luaL_addvalue(b);
    }
    if (hi - lo > 8) luaL_addstring(b, " ...");
    luaL_addchar(b, ']');
    return;
  }
  push_cell(L, c, r);
  luaL_addvalue(b);
}

static int col_tostring(lua_State *L) {
  cs_column *c = cs_lua_checkcolumn(L, 1);
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  lua_pushfstring(L, "Column<%s>[%I] ", cs_type_name(c->type), (lua_Integer)c->n);
  luaL_addvalue(&b);
  for (int64_t i = 0; i < c->n && i < 6; i++) {
    if (i) luaL_addstring(&b, ", ");
    add_cell_preview(&b, L, c, i);
  }
  if (c->n > 6) luaL_addstring(&b, ", ...");
  luaL_pushresult(&b);
  return 1;
}

static int tbl_tostring(lua_State *L) {
  cs_table *t = cs_lua_checktable(L, 1);
  int64_t n = t->n < 0 ? 0 : t->n;
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  lua_pushfstring(L, "Table[%I rows x %d columns]\n", (lua_Integer)n, t->ncols);
  luaL_addvalue(&b);
  for (int c = 0; c < t->ncols; c++) {
    lua_pushfstring(L, "%s%s:%s", c ? "  " : "", t->names[c], cs_type_name(t->cols[c]->type));
    luaL_addvalue(&b);
  }
  for (int64_t r = 0; r < n && r < 5; r++) {
    luaL_addchar(&b, '\n');
    for (int c = 0; c < t->ncols; c++) {
      if (c) luaL_addstring(&b, " | ");
      add_cell_preview(&b, L, t->cols[c], r);
    }
  }
  if (n > 5) luaL_addstring(&b, "\n...");
  luaL_pushresult(&b);
  return 1;
}

/* t[name]: methods first, then columns by name. */
static int tbl_index(lua_State *L) {
  lua_getmetatable(L, 1);
  lua_getfield(L, -1, "__methods");
  lua_pushvalue(L, 2);
  if (lua_rawget(L, -2) != LUA_TNIL) return 1;
  cs_table *t = cs_lua_checktable(L, 1);
  const char *name = lua_tostring(L, 2);
  int k = name ? cs_table_find(t, name) : -1;
  if (k < 0) return 0;
  cs_lua_pushcolumn(L, cs_column_retain(t->cols[k]));
  return 1;
}

static const luaL_Reg column_methods[] = {
  {"type", col_type},           {"get", col_get},
  {"totable", col_totable},     {"sum", col_sum},
  {"min", col_min},             {"max", col_max},
  {"nitems", col_nitems},       {"lengths", col_lengths},
  {"distinct_lengths", col_distinct_lengths},
  {"explode", col_explode},     {"remap", col_remap},
  {"remap_lengths", col_remap_lengths},
  {"value_counts", col_value_counts},
  {"year", col_year},           {"month", col_month},
  {"day", col_day},             {"iso_year", col_iso_year},
  {"iso_week", col_iso_week},   {"day_of_week", col_day_of_week},
  {"recode", col_recode},      {"fingerprint", col_fingerprint},
  {"close", column_gc},         {NULL, NULL},
};

static const luaL_Reg table_methods[] = {
  {"names", tbl_names},       {"column", tbl_column},   {"select", tbl_select},
  {"with", tbl_with},         {"rename", tbl_rename},   {"rows", tbl_rows},
  {"head", tbl_head},         {"sort", tbl_sort},       {"top", tbl_top},
  {"filter", tbl_filter},     {"group_by", tbl_group_by}, {"distinct", tbl_distinct},
  {"join", tbl_join},         {"explode", tbl_explode}, {"close", table_gc},
  {"sample", tbl_sample},     {"to_csv", tbl_to_csv},
  {NULL, NULL},
};

static const luaL_Reg colstore_funcs[] = {
  {"read_csv", cs_read_csv},
  {"column", cs_column_from_lua},
  {"table", cs_table_from_lua},
  {NULL, NULL},
};

int luaopen_mercado_colstore(lua_State *L) {
  if (luaL_newmetatable(L, CS_COLUMN_MT)) {
    luaL_newlib(L, column_methods);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, col_len);
    lua_setfield(L, -2, "__len");
    lua_pushcfunction(L, col_tostring);
    lua_setfield(L, -2, "__tostring");
    lua_pushcfunction(L, column_gc);
    lua_setfield(L, -2, "__gc");
    lua_pushcfunction(L, column_gc);
    lua_setfield(L, -2, "__close");
  }
  lua_pop(L, 1);
  if (luaL_newmetatable(L, CS_TABLE_MT)) {
    luaL_newlib(L, table_methods);
    lua_setfield(L, -2, "__methods");
    lua_pushcfunction(L, tbl_index);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, tbl_len);
    lua_setfield(L, -2, "__len");
    lua_pushcfunction(L, tbl_tostring);
    lua_setfield(L, -2, "__tostring");
    lua_pushcfunction(L, table_gc);
    lua_setfield(L, -2, "__gc");
    lua_pushcfunction(L, table_gc);
    lua_setfield(L, -2, "__close");
  }
  lua_pop(L, 1);
  luaL_newlib(L, colstore_funcs);
  return 1;
}
