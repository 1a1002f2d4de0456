/*
** stats_lua.c: mercado.stats, descriptive statistics over colstore numeric columns or Lua arrays of numbers.
** The arithmetic lives in stats.c & co. (plain C); this file converts arguments and builds result tables.
**
** A value argument x is a Column of type int32, int64, float64 or date (days since 1970-01-01), or a Lua array
** of numbers; it is never modified (selection works on a copy); values are taken as doubles (int64 beyond 2^53
** round). Misuse raises naming the argument; expected failures return nil, message:
**   "empty input", "sample variance needs at least 2 values", "x: non-finite value (nan) at position 7",
**   "too many histogram bins", "result overflows a double", "value range too wide for equal-width bins".
** Numbers follow numpy's definitions (numpy 1.24), so results can be checked against it.
**
**   local stats = require "mercado.stats"
**   stats.mean(x)                          --> number                 (compensated sum / n)
**   stats.var_sample(x), stats.std_sample(x)          --> number      (divisor n - 1; nil for one value)
**   stats.var_population(x), stats.std_population(x)  --> number      (divisor n)
**   stats.quantile(x, 0.9)                 --> number                 (numpy.quantile, method 'linear')
**   stats.quantile(x, {0.25, 0.5, 0.75})   --> {q1, median, q3}
**   stats.median(x)                        --> number                 (numpy.median: mean of the middle two)
**
**   stats.boxplot(x [, groups [, {whis = 1.5}]])
**     --> {count = 11, min = -8, q1 = 1.5, median = 3, q3 = 3.5, max = 25, mean = 4.27, iqr = 2,
**          whisker_low = 1, whisker_high = 4, outliers_low = 1, outliers_high = 2}
**     Quartiles by numpy 'linear'; whiskers at the most extreme data within [q1 - whis*iqr, q3 + whis*iqr]
**     (matplotlib's boxplot_stats); outliers_* count the values beyond the whiskers.
**     With groups (an int32/int64/date Column or an array of integers, one per value of x) the result is an
**     array of those summaries, one per distinct group in ascending order, each with `group = <value>`;
**     empty x gives an empty array.
**
**   stats.histogram(x [, bins])            --> {edges = {e1, ..., ek+1}, counts = {c1, ..., ck}}
**     bins: a count (default 10, equal widths over [min, max]), "auto" (numpy's: the narrower of
**     Freedman-Diaconis and Sturges), or an array of non-decreasing edges (values outside are not counted).
**     Bins are [e_i, e_i+1) except the last, which is closed: numpy.histogram's semantics exactly (a single
**     distinct value widens the range by 0.5 each side; empty x with a count gives zero counts over [0, 1]).
**
**   stats.correlation(tbl, {"a", "b", "c"} [, opts])     a Table and names of its numeric columns
**   stats.correlation(tbl [, nil, opts])                 ... all of its numeric columns
**   stats.correlation({col_or_array, ...} [, opts])      columns of equal length, named by opts.names or 1..k
**     opts.method = "pearson" (default) | "spearman" (Pearson on average ranks)
**     --> {variables = {"a", "b", "c"}, matrix = {a = {a = 1, b = 0.84, c = nil}, ...},
**          reasons = {c = "constant column"}}
**     A column whose values are all equal has no correlation: its own row and column (diagonal included) are
**     nil (null in JSON, e.g. through json.shape(variables)) and reasons names it; the others are computed as
**     if it were absent. The diagonal of every other column is exactly 1.
**
** Long loops run in C on mercado_threads() threads (results do not depend on it) and stop on Ctrl-C or a task
** timeout (the usual interruption error). Scratch memory is GC-owned userdata.
*/
#include <math.h>
#include <string.h>

#include "colstore.h"
#include "colstore_lua.h"
#include "lauxlib.h"
#include "lua.h"
#include "mercado_runtime.h"
#include "stats.h"

#define DEFAULT_BINS 10

/* ---- arguments ---- */

/* Pushes a GC-owned scratch buffer of n elements of size sz (at least one byte, so n = 0 is fine). */
static void *scratch(lua_State *L, int64_t n, size_t sz) {
  if (n < 0 || (uint64_t)n > (SIZE_MAX - 1) / sz) luaL_error(L, "not enough memory");
  return lua_newuserdatauv(L, (size_t)n * sz + 1, 0);
}

/* The numeric column at arg, or NULL if arg is not a Column; raises for a Column of another type. */
static const cs_column *numeric_column(lua_State *L, int arg) {
  const cs_column *c = cs_lua_tocolumn(L, arg);
  if (c && !cs_type_is_numeric(c->type))
    luaL_argerror(L, arg, lua_pushfstring(L, "%s column, expected int32, int64, float64 or date",
                                          cs_type_name(c->type)));
  return c;
}

/* Converts a numeric column's values to doubles into v. */
static void column_doubles(const cs_column *c, double *v) {
  switch (c->type) {
    case CS_FLOAT64: memcpy(v, c->v.f64, (size_t)c->n * sizeof *v); break;
    case CS_INT64: for (int64_t i = 0; i < c->n; i++) v[i] = (double)c->v.i64[i]; break;
    default: for (int64_t i = 0; i < c->n; i++) v[i] = (double)c->v.i32[i]; break;
  }
}

/* Reads the n numbers of the Lua array at idx into v. Returns 0, or the 1-based position of the first value that
   is not a number (its type name left on the stack top). */
static int64_t array_doubles(lua_State *L, int idx, int64_t n, double *v) {
  idx = lua_absindex(L, idx);
  for (int64_t i = 0; i < n; i++) {
    int t = lua_rawgeti(L, idx, (lua_Integer)i + 1);
    if (t != LUA_TNUMBER) {
      lua_pushstring(L, lua_typename(L, t));
      return i + 1;
    }
    v[i] = lua_tonumber(L, -1);
    lua_pop(L, 1);
  }
  return 0;
}

/* The values of x at arg as doubles: a float64 column's own array when read-only use suffices (writable = 0),
   otherwise a fresh copy pushed as scratch. Raises for other argument types or non-numbers in an array. */
static double *check_values(lua_State *L, int arg, int writable, int64_t *n) {
  const cs_column *c = numeric_column(L, arg);
  if (c) {
    *n = c->n;
    if (c->type == CS_FLOAT64 && !writable) return c->v.f64;
    double *v = scratch(L, c->n, sizeof *v);
    column_doubles(c, v);
    return v;
  }
  if (!lua_istable(L, arg)) luaL_typeerror(L, arg, "Column or array of numbers");
  *n = (int64_t)lua_rawlen(L, arg);
  double *v = scratch(L, *n, sizeof *v);
  int64_t bad = array_doubles(L, arg, *n, v);
  if (bad)
    luaL_argerror(L, arg, lua_pushfstring(L, "value %I is %s, expected a number", (lua_Integer)bad,
                                          lua_tostring(L, -1)));
  return v;
}

/* Pushes nil and "<what>: non-finite value (<v>) at position i" if x has NaN or infinity; returns 2 then, else 0. */
static int push_nonfinite(lua_State *L, const double *x, int64_t n, const char *what) {
  int64_t bad = stats_first_nonfinite(x, n);
  if (bad < 0) return 0;
  lua_pushnil(L);
  lua_pushfstring(L, "%s: non-finite value (%s) at position %I", what,
                  isnan(x[bad]) ? "nan" : x[bad] > 0 ? "inf" : "-inf", (lua_Integer)bad + 1);
  return 2;
}

static int push_failure(lua_State *L, int status) {
  if (status == STATS_ECANCELLED) return mercado_raise_interrupt(L);
  if (status == STATS_ENOMEM) return luaL_error(L, "not enough memory");
  lua_pushnil(L);
  lua_pushstring(L, stats_strerror(status));
  return 2;
}

static stats_opts run_opts(void) {
  stats_opts o = {mercado_threads(), mercado_interrupted};
  return o;
}

/* ---- moments and quantiles ---- */

static int moment(lua_State *L, int ddof, int take_sqrt) {
  int64_t n;
  const double *x = check_values(L, 1, 0, &n);
  int r = push_nonfinite(L, x, n, "x");
  if (r) return r;
  double v;
  int st = ddof < 0 ? stats_mean(x, n, &v) : stats_var(x, n, ddof, &v);
  if (st != STATS_OK) return push_failure(L, st);
  if (!isfinite(v)) return lua_pushnil(L), lua_pushliteral(L, "result overflows a double"), 2;
  lua_pushnumber(L, take_sqrt ? sqrt(v) : v);
  return 1;
}

static int l_mean(lua_State *L) { return moment(L, -1, 0); }
static int l_var_sample(lua_State *L) { return moment(L, 1, 0); }
static int l_var_population(lua_State *L) { return moment(L, 0, 0); }
static int l_std_sample(lua_State *L) { return moment(L, 1, 1); }
static int l_std_population(lua_State *L) { return moment(L, 0, 1); }

static double check_prob(lua_State *L, int arg, int idx) {
  if (lua_type(L, idx) != LUA_TNUMBER)
    luaL_argerror(L, arg, lua_pushfstring(L, "quantile is %s, expected a number in [0, 1]", luaL_typename(L, idx)));
  double q = lua_tonumber(L, idx);
  if (!(q >= 0 && q <= 1)) luaL_argerror(L, arg, lua_pushfstring(L, "quantile %f is outside [0, 1]", q));
  return q;
}

static int l_quantile(lua_State *L) {
  int64_t n;
  int array = lua_istable(L, 2);
  if (!array) check_prob(L, 2, 2);
  int nq = array ? (int)lua_rawlen(L, 2) : 1;
  double *q = scratch(L, nq, sizeof *q), *out = scratch(L, nq, sizeof *out);
  for (int i = 0; i < nq; i++) {
    if (array) lua_rawgeti(L, 2, i + 1);
    q[i] = check_prob(L, 2, array ? -1 : 2);
    if (array) lua_pop(L, 1);
  }
  double *x = check_values(L, 1, 1, &n);
  int r = push_nonfinite(L, x, n, "x");
  if (r) return r;
  int st = stats_quantiles(x, n, q, nq, out);
  if (st != STATS_OK) return push_failure(L, st);
  if (!array) {
    lua_pushnumber(L, out[0]);
    return 1;
  }
  lua_createtable(L, nq, 0);
  for (int i = 0; i < nq; i++) {
    lua_pushnumber(L, out[i]);
    lua_rawseti(L, -2, i + 1);
  }
  return 1;
}

static int l_median(lua_State *L) {
  int64_t n;
  double *x = check_values(L, 1, 1, &n), m;
  int r = push_nonfinite(L, x, n, "x");
  if (r) return r;
  int st = stats_median(x, n, &m);
  if (st != STATS_OK) return push_failure(L, st);
  lua_pushnumber(L, m);
  return 1;
}

/* ---- boxplots ---- */

static void set_num(lua_State *L, const char *k, double v) {
  lua_pushnumber(L, v);
  lua_setfield(L, -2, k);
}

static void set_int(lua_State *L, const char *k, int64_t v) {
  lua_pushinteger(L, (lua_Integer)v);
  lua_setfield(L, -2, k);
}

static void push_box(lua_State *L, const stats_box *b) {
  lua_createtable(L, 0, 13);
  set_int(L, "count", b->count);
  set_num(L, "min", b->min);
  set_num(L, "q1", b->q1);
  set_num(L, "median", b->median);
  set_num(L, "q3", b->q3);
  set_num(L, "max", b->max);
  set_num(L, "mean", b->mean);
  set_num(L, "iqr", b->iqr);
  set_num(L, "whisker_low", b->whisker_low);
  set_num(L, "whisker_high", b->whisker_high);
  set_int(L, "outliers_low", b->outliers_low);
  set_int(L, "outliers_high", b->outliers_high);
}

/* The group keys at arg (an int32/int64/date Column, used in place, or an array of integers, copied), n of them. */
static stats_keys check_groups(lua_State *L, int arg, int64_t n) {
  stats_keys k = {NULL, NULL};
  const cs_column *c = numeric_column(L, arg);
  int64_t len = c ? c->n : lua_istable(L, arg) ? (int64_t)lua_rawlen(L, arg) : -1;
  if (len < 0) luaL_typeerror(L, arg, "integer Column or array of integers");
  if (c && c->type == CS_FLOAT64) luaL_argerror(L, arg, "float64 column, expected int32, int64 or date groups");
  if (len != n)
    luaL_argerror(L, arg, lua_pushfstring(L, "groups has %I values but x has %I", (lua_Integer)len,
                                          (lua_Integer)n));
  if (c) {
    if (c->type == CS_INT64)
      k.i64 = c->v.i64;
    else
      k.i32 = c->v.i32;
    return k;
  }
  int64_t *g = scratch(L, n, sizeof *g);
  for (int64_t i = 0; i < n; i++) {
    lua_rawgeti(L, arg, (lua_Integer)i + 1);
    int ok;
    g[i] = (int64_t)lua_tointegerx(L, -1, &ok);
    if (!ok || lua_type(L, -1) != LUA_TNUMBER)
      luaL_argerror(L, arg, lua_pushfstring(L, "group %I is not an integer", (lua_Integer)i + 1));
    lua_pop(L, 1);
  }
  k.i64 = g;
  return k;
}

static double check_whis(lua_State *L, int arg) {
  double whis = 1.5;
  if (lua_isnoneornil(L, arg)) return whis;
  luaL_checktype(L, arg, LUA_TTABLE);
  if (lua_getfield(L, arg, "whis") != LUA_TNIL) {
    if (lua_type(L, -1) != LUA_TNUMBER || !(lua_tonumber(L, -1) >= 0) || !isfinite(lua_tonumber(L, -1)))
      luaL_argerror(L, arg, "whis must be a finite number >= 0");
    whis = lua_tonumber(L, -1);
  }
  lua_pop(L, 1);
  return whis;
}

static int boxplot_groups(lua_State *L, const double *x, int64_t n, double whis) {
  stats_opts o = run_opts();
  stats_keys g = check_groups(L, 2, n);
  int64_t lo = 0, hi = 0, ng;
  if (n > 0) stats_keys_range(g, n, &lo, &hi);
  uint64_t span = (uint64_t)hi - (uint64_t)lo;
  int64_t room = span < (uint64_t)n ? (int64_t)span + 1 : n; /* at most this many distinct keys */
  double *xs = scratch(L, n, sizeof *xs);
  int64_t *keys = scratch(L, room, sizeof *keys), *starts = scratch(L, room + 1, sizeof *starts);
  int st = stats_group_sort(g, x, n, xs, keys, starts, &ng, &o);
  stats_box *boxes = st == STATS_OK ? scratch(L, ng, sizeof *boxes) : NULL;
  if (st == STATS_OK) st = stats_boxplot_groups(xs, starts, ng, whis, boxes, &o);
  if (st != STATS_OK) return push_failure(L, st);
  lua_createtable(L, (int)(ng < 1 << 24 ? ng : 1 << 24), 0);
  for (int64_t i = 0; i < ng; i++) {
    push_box(L, &boxes[i]);
    set_int(L, "group", keys[i]);
    lua_rawseti(L, -2, (lua_Integer)i + 1);
  }
  return 1;
}

static int l_boxplot(lua_State *L) {
  int64_t n;
  double whis = check_whis(L, 3);
  int grouped = !lua_isnoneornil(L, 2);
  double *x = check_values(L, 1, !grouped, &n);
  int r = push_nonfinite(L, x, n, "x");
  if (r) return r;
  if (grouped) return boxplot_groups(L, x, n, whis);
  stats_box b;
  int st = stats_boxplot(x, n, whis, &b);
  if (st != STATS_OK) return push_failure(L, st);
  push_box(L, &b);
  return 1;
}

/* ---- histograms ---- */

static void push_hist(lua_State *L, const double *edges, const int64_t *counts, int64_t nbins) {
  lua_createtable(L, 0, 2);
  lua_createtable(L, (int)nbins + 1, 0);
  for (int64_t i = 0; i <= nbins; i++) {
    lua_pushnumber(L, edges[i]);
    lua_rawseti(L, -2, (lua_Integer)i + 1);
  }
  lua_setfield(L, -2, "edges");
  lua_createtable(L, (int)nbins, 0);
  for (int64_t i = 0; i < nbins; i++) {
    lua_pushinteger(L, (lua_Integer)counts[i]);
    lua_rawseti(L, -2, (lua_Integer)i + 1);
  }
  lua_setfield(L, -2, "counts");
}

/* The explicit edges at arg: at least two finite, non-decreasing numbers. */
static double *check_edges(lua_State *L, int arg, int64_t *nedges) {
  *nedges = (int64_t)lua_rawlen(L, arg);
  if (*nedges < 2 || *nedges > STATS_MAX_BINS + 1)
    luaL_argerror(L, arg, lua_pushfstring(L, "%I edges, expected 2 to %d", (lua_Integer)*nedges, STATS_MAX_BINS + 1));
  double *e = scratch(L, *nedges, sizeof *e);
  for (int64_t i = 0; i < *nedges; i++) {
    lua_rawgeti(L, arg, (lua_Integer)i + 1);
    if (lua_type(L, -1) != LUA_TNUMBER || !isfinite(lua_tonumber(L, -1)))
      luaL_argerror(L, arg, lua_pushfstring(L, "edge %I is not a finite number", (lua_Integer)i + 1));
    e[i] = lua_tonumber(L, -1);
    lua_pop(L, 1);
    if (i > 0 && e[i] < e[i - 1])
      luaL_argerror(L, arg, lua_pushfstring(L, "edge %I is smaller than the one before", (lua_Integer)i + 1));
  }
  return e;
}

static int l_histogram(lua_State *L) {
  int64_t n, nbins = DEFAULT_BINS;
  int t = lua_type(L, 2), is_auto = 0;
  double *edges = NULL;
  if (t == LUA_TSTRING) {
    if (strcmp(lua_tostring(L, 2), "auto") != 0) luaL_argerror(L, 2, "expected a bin count, \"auto\" or edges");
    is_auto = 1;
  } else if (t == LUA_TTABLE) {
    int64_t ne;
    edges = check_edges(L, 2, &ne);
    nbins = ne - 1;
  } else if (t != LUA_TNONE && t != LUA_TNIL) {
    lua_Integer b = luaL_checkinteger(L, 2);
    if (b < 1 || b > STATS_MAX_BINS)
      luaL_argerror(L, 2, lua_pushfstring(L, "bin count must be 1 to %d", STATS_MAX_BINS));
    nbins = b;
  }
  double *x = check_values(L, 1, is_auto, &n);
  int r = push_nonfinite(L, x, n, "x");
  if (r) return r;
  int64_t *counts;
  if (edges) {
    counts = scratch(L, nbins, sizeof *counts);
    stats_hist_edges(x, n, edges, nbins + 1, counts);
  } else {
    double first, last;
    stats_hist_range(x, n, &first, &last);
    if (!isfinite(last - first))
      return lua_pushnil(L), lua_pushliteral(L, "value range too wide for equal-width bins"), 2;
    if (is_auto) {
      int st = stats_hist_auto_bins(x, n, &nbins); /* reorders x: the range is taken first */
      if (st != STATS_OK) return push_failure(L, st);
    }
    edges = scratch(L, nbins + 1, sizeof *edges);
    counts = scratch(L, nbins, sizeof *counts);
    stats_hist_uniform_edges(first, last, nbins, edges);
    stats_hist_uniform(x, n, edges, nbins, counts);
  }
  push_hist(L, edges, counts, nbins);
  return 1;
}

/* ---- correlation ---- */

typedef struct corr_args {
  int k;
  int64_t n;
  int names_idx;   /* stack index of the variables array */
  double **cols;   /* k columns of n doubles (scratch, overwritten by the core) */
} corr_args;

/* Allocates the k columns of n doubles as one scratch block. */
static void corr_alloc(lua_State *L, corr_args *a) {
  double *block = scratch(L, (int64_t)a->k * a->n, sizeof *block);
  a->cols = scratch(L, a->k, sizeof *a->cols);
  for (int j = 0; j < a->k; j++) a->cols[j] = block + (size_t)j * (size_t)a->n;
}

/* Reads the columns of a Table (arg 1, names at arg 2 or all numeric ones). */
static void corr_from_table(lua_State *L, corr_args *a) {
  cs_table *t = cs_lua_checktable(L, 1);
  if (!lua_isnoneornil(L, 2)) luaL_checktype(L, 2, LUA_TTABLE);
  int max = lua_istable(L, 2) ? (int)lua_rawlen(L, 2) : t->ncols;
  cs_column **cols = scratch(L, max, sizeof *cols);
  const char **names = scratch(L, max, sizeof *names);
  a->k = cs_lua_numeric_columns(L, 1, lua_istable(L, 2) ? 2 : 0, cols, names, max);
  a->n = t->n;
  lua_createtable(L, a->k, 0);
  a->names_idx = lua_gettop(L);
  for (int j = 0; j < a->k; j++) {
    lua_pushstring(L, names[j]);
    lua_rawseti(L, a->names_idx, j + 1);
  }
  corr_alloc(L, a);
  for (int j = 0; j < a->k; j++) column_doubles(cols[j], a->cols[j]);
}

/* Builds the variables array from opts.names (opts at oidx) or 1..k. */
static void corr_names(lua_State *L, int oidx, corr_args *a) {
  lua_createtable(L, a->k, 0);
  a->names_idx = lua_gettop(L);
  if (!lua_istable(L, oidx) || lua_getfield(L, oidx, "names") == LUA_TNIL) {
    lua_settop(L, a->names_idx);
    for (int j = 0; j < a->k; j++) {
      lua_pushinteger(L, j + 1);
      lua_rawseti(L, a->names_idx, j + 1);
    }
    return;
  }
  if (!lua_istable(L, -1) || (int)lua_rawlen(L, -1) != a->k)
    luaL_argerror(L, oidx, lua_pushfstring(L, "names must be an array of %d strings, one per column", a->k));
  for (int j = 0; j < a->k; j++) {
    if (lua_rawgeti(L, -1, j + 1) != LUA_TSTRING)
      luaL_argerror(L, oidx, lua_pushfstring(L, "names[%d] is not a string", j + 1));
    lua_rawseti(L, a->names_idx, j + 1);
  }
  lua_settop(L, a->names_idx);
}

/* Length of element j+1 of the array at arg 1 (a numeric Column or an array of numbers); raises naming it. */
static int64_t corr_element_len(lua_State *L, const corr_args *a, int j) {
  lua_rawgeti(L, 1, j + 1);
  const cs_column *c = cs_lua_tocolumn(L, -1);
  int64_t n = c ? c->n : lua_istable(L, -1) ? (int64_t)lua_rawlen(L, -1) : -1;
  lua_rawgeti(L, a->names_idx, j + 1);
  const char *name = luaL_tolstring(L, -1, NULL);
  if (n < 0)
    luaL_argerror(L, 1, lua_pushfstring(L, "column %s is %s, expected a Column or an array of numbers", name,
                                        luaL_typename(L, -3)));
  if (c && !cs_type_is_numeric(c->type))
    luaL_argerror(L, 1, lua_pushfstring(L, "column %s is a %s column, expected a numeric one", name,
                                        cs_type_name(c->type)));
  if (j > 0 && n != a->n)
    luaL_argerror(L, 1, lua_pushfstring(L, "column %s has %I values, the first has %I", name, (lua_Integer)n,
                                        (lua_Integer)a->n));
  lua_pop(L, 3);
  return n;
}

/* Reads an array of Columns / arrays of numbers (arg 1), named by opts.names or 1..k. */
static void corr_from_array(lua_State *L, int oidx, corr_args *a) {
  a->k = (int)lua_rawlen(L, 1);
  corr_names(L, oidx, a);
  for (int j = 0; j < a->k; j++) {
    int64_t n = corr_element_len(L, a, j);
    if (j == 0) a->n = n;
  }
  corr_alloc(L, a);
  for (int j = 0; j < a->k; j++) {
    lua_rawgeti(L, 1, j + 1);
    const cs_column *c = cs_lua_tocolumn(L, -1);
    if (c) {
      column_doubles(c, a->cols[j]);
    } else {
      int64_t bad = array_doubles(L, -1, a->n, a->cols[j]);
      if (bad) { /* stack: elem value typename */
        const char *tname = lua_tostring(L, -1);
        lua_rawgeti(L, a->names_idx, j + 1);
        const char *name = luaL_tolstring(L, -1, NULL);
        luaL_argerror(L, 1, lua_pushfstring(L, "column %s: value %I is %s, expected a number", name,
                                            (lua_Integer)bad, tname));
      }
    }
    lua_pop(L, 1);
  }
}

static stats_corr_method check_method(lua_State *L, int oidx) {
  if (!lua_istable(L, oidx)) {
    if (!lua_isnoneornil(L, oidx)) luaL_typeerror(L, oidx, "table of options");
    return STATS_PEARSON;
  }
  lua_getfield(L, oidx, "method");
  const char *m = lua_tostring(L, -1);
  stats_corr_method method = STATS_PEARSON;
  if (m && strcmp(m, "spearman") == 0)
    method = STATS_SPEARMAN;
  else if (!lua_isnil(L, -1) && !(m && strcmp(m, "pearson") == 0))
    luaL_argerror(L, oidx, "method must be \"pearson\" or \"spearman\"");
  lua_pop(L, 1);
  return method;
}

/* Pushes {variables, matrix, reasons} from r and the constant flags. */
static void push_corr(lua_State *L, const corr_args *a, const double *r, const unsigned char *constant) {
  lua_createtable(L, 0, 3);
  lua_pushvalue(L, a->names_idx);
  lua_setfield(L, -2, "variables");
  lua_newtable(L); /* stack: result matrix */
  for (int i = 0; i < a->k; i++) {
    lua_rawgeti(L, a->names_idx, i + 1);
    lua_createtable(L, 0, a->k); /* stack: result matrix name row */
    for (int j = 0; j < a->k; j++) {
      if (isnan(r[i * a->k + j])) continue;
      lua_rawgeti(L, a->names_idx, j + 1);
      lua_pushnumber(L, r[i * a->k + j]);
      lua_rawset(L, -3);
    }
    lua_rawset(L, -3);
  }
  lua_setfield(L, -2, "matrix");
  lua_newtable(L);
  for (int j = 0; j < a->k; j++) {
    if (!constant[j]) continue;
    lua_rawgeti(L, a->names_idx, j + 1);
    lua_pushstring(L, constant[j] == 1 ? "constant column" : "variance out of floating-point range");
    lua_rawset(L, -3);
  }
  lua_setfield(L, -2, "reasons");
}

/* Raises naming the first variable that appears twice (its row would overwrite the other). */
static void check_unique(lua_State *L, const corr_args *a) {
  for (int i = 2; i <= a->k; i++)
    for (int j = 1; j < i; j++) {
      lua_rawgeti(L, a->names_idx, i);
      lua_rawgeti(L, a->names_idx, j);
      if (lua_rawequal(L, -1, -2))
        luaL_argerror(L, 1, lua_pushfstring(L, "variable %s appears twice", luaL_tolstring(L, -1, NULL)));
      lua_pop(L, 2);
    }
}

static int l_correlation(lua_State *L) {
  corr_args a = {0, 0, 0, NULL};
  int from_table = cs_lua_totable(L, 1) != NULL, oidx = from_table ? 3 : 2;
  stats_corr_method method = check_method(L, oidx);
  if (from_table) {
    corr_from_table(L, &a);
  } else {
    luaL_checktype(L, 1, LUA_TTABLE);
    if (lua_rawlen(L, 1) == 0) luaL_argerror(L, 1, "expected at least one column");
    corr_from_array(L, oidx, &a);
  }
  if (a.k == 0) luaL_argerror(L, 1, "no numeric columns to correlate");
  check_unique(L, &a);
  for (int j = 0; j < a.k; j++) {
    if (stats_first_nonfinite(a.cols[j], a.n) < 0) continue;
    lua_rawgeti(L, a.names_idx, j + 1);
    return push_nonfinite(L, a.cols[j], a.n, lua_pushfstring(L, "column %s", luaL_tolstring(L, -1, NULL)));
  }
  double *r = scratch(L, (int64_t)a.k * a.k, sizeof *r);
  unsigned char *constant = scratch(L, a.k, 1);
  stats_opts o = run_opts();
  int st = stats_correlation(a.cols, a.k, a.n, method, r, constant, &o);
  if (st != STATS_OK) return push_failure(L, st);
  push_corr(L, &a, r, constant);
  return 1;
}

static const luaL_Reg stats_funcs[] = {
  {"mean", l_mean},
  {"var_sample", l_var_sample},
  {"var_population", l_var_population},
  {"std_sample", l_std_sample},
  {"std_population", l_std_population},
  {"quantile", l_quantile},
  {"median", l_median},
  {"boxplot", l_boxplot},
  {"histogram", l_histogram},
  {"correlation", l_correlation},
  {NULL, NULL},
};

int luaopen_mercado_stats(lua_State *L) {
  luaL_newlib(L, stats_funcs);
  return 1;
}
