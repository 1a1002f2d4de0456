/*
** kmeans_lua.c: mercado.kmeans, k-means clustering over colstore numeric columns. The algorithms live in
** kmeans.c & co. (plain C); this file converts arguments and builds result tables.
**
** Data (argument `data` below) is one of:
**   a Table: its numeric columns named by opts.columns (an array of names), or all of them;
**   an array of numeric Columns of equal length (named by opts.names, else "1", "2", ...);
**   an array of rows, each an array of numbers ({{1, 2}, {3, 4}}: for tests and small inputs);
**   a Matrix from kmeans.matrix(...) (row-major doubles; reuse it to convert the data once).
**
**   local kmeans = require "mercado.kmeans"
**   kmeans.matrix(data [, opts])        --> Matrix  (#m rows, m:cols(), m:get(i, j), m:names(), m:totable())
**   kmeans.fit(data, k [, opts])        --> model
**     opts: n_init = 10 restarts (the lowest inertia wins; ties: the earliest), max_iter = 300, tol = 1e-4 (a
**     restart stops when the squared centre shift is <= tol * mean column variance, as scikit-learn, or when no
**     label changes), seed = 42, standardize = false (z-scores with the sample standard deviation; a constant
**     column becomes 0), init = {{...}, ...} (k starting centres in the fitted units; one restart),
**     polish = true (then the kept restart goes on from where tol stopped it until no label changes, within
**     max_iter iterations in all: more Lloyd steps, so a lower or equal inertia; false stops as scikit-learn),
**     history = false (record the inertia after each assignment step of the kept restart), threads (default
**     mercado_threads()). Seeding is greedy k-means++ (2 + floor(ln k) candidates per step, as scikit-learn).
**     Results are exact Lloyd iterations (Hamerly's bounds only skip work) and identical for any thread count:
**     restarts run in parallel, one thread each (so n_init = 1 uses one core). A cluster left empty is re-seeded
**     with the row farthest from its centre (and the rows equal to it).
**     model = {k, d, n, columns = {names}, labels = Column<int32> (cluster 0..k-1 per row), centroids = {{...}}
**     (fitted units), centroids_original = {{...}} (data units), standardize, mean = {...}, std = {...} (only
**     when standardizing), inertia (fitted units), n_iter (of the kept restart, polish included), polish_iter,
**     converged, best_run (1-based), inertia_runs = {...} and n_iter_runs = {...} (each restart before the
**     polish), inertia_history = {...} (with history), seed, n_init, max_iter, tol}
**   kmeans.predict(model, data [, opts])  --> Column<int32>: nearest centroid (lowest index on ties) after the
**     model's scaling; a Table's columns default to model.columns.
**   kmeans.silhouette(data, labels [, opts])  --> score, rows_used
**     Mean silhouette (Euclidean), exact O(m^2) on all rows up to opts.sample = 20000 rows, else on a seeded
**     sample of that many rows drawn without replacement (opts.seed = 42; sample = 0: always exact); a row alone
**     in its cluster scores 0 (scikit-learn's convention); opts.standardize as in fit. labels: an integer Column
**     or array (any values). The exact score computes m^2 distances, split over the threads.
**   kmeans.elbow(data [, opts])  --> {{k = 2, inertia = ..., n_iter = ..., converged = ...}, ...}
**     fits k = opts.k_min (2) .. opts.k_max (10) with fit's options.
**
** Misuse raises naming the argument; data problems return nil, message: "column 'x' has a non-finite value (nan)
** at row 7", "k = 5 is more than the number of distinct rows", "silhouette needs between 2 and n-1 distinct
** labels".
** Long loops run on mercado_threads() threads and stop on Ctrl-C or a task timeout (the usual interruption error).
*/
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "colstore.h"
#include "colstore_lua.h"
#include "kmeans.h"
#include "lauxlib.h"
#include "lua.h"
#include "mercado_runtime.h"

#define MATRIX_MT "mercado.Matrix"
#define MAX_COLS 256

typedef struct km_matrix {
  int64_t n;
  int d;
  double x[];
} km_matrix;

/* ---- small helpers ---- */

/* Pushes a GC-owned scratch buffer of n elements of size sz. */
static void *scratch(lua_State *L, int64_t n, size_t sz) {
  if (n < 0 || (uint64_t)n > (SIZE_MAX - 1) / sz) luaL_error(L, "not enough memory");
  return lua_newuserdatauv(L, (size_t)n * sz + 1, 0);
}

/* Field name of the table at idx as an integer >= lo, or dflt when absent. */
static lua_Integer opt_int(lua_State *L, int idx, const char *name, lua_Integer dflt, lua_Integer lo) {
  if (idx == 0 || lua_getfield(L, idx, name) == LUA_TNIL) {
    if (idx != 0) lua_pop(L, 1);
    return dflt;
  }
  int isint;
  lua_Integer v = lua_tointegerx(L, -1, &isint);
  if (!isint || v < lo) luaL_argerror(L, idx, lua_pushfstring(L, "option '%s' must be an integer >= %I", name, lo));
  lua_pop(L, 1);
  return v;
}

static double opt_num(lua_State *L, int idx, const char *name, double dflt) {
  if (idx == 0 || lua_getfield(L, idx, name) == LUA_TNIL) {
    if (idx != 0) lua_pop(L, 1);
    return dflt;
  }
  int isnum;
  double v = lua_tonumberx(L, -1, &isnum);
  if (!isnum || !(v >= 0.0) || isinf(v))
    luaL_argerror(L, idx, lua_pushfstring(L, "option '%s' must be a finite number >= 0", name));
  lua_pop(L, 1);
  return v;
}

/* Field name of the table at idx as a boolean, or dflt when absent. */
static int opt_bool(lua_State *L, int idx, const char *name, int dflt) {
  if (idx == 0) return dflt;
  int v = lua_getfield(L, idx, name) == LUA_TNIL ? dflt : lua_toboolean(L, -1);
  lua_pop(L, 1);
  return v;
}

/* Options table at arg (0 if absent). */
static int opts_index(lua_State *L, int arg) {
  if (lua_isnoneornil(L, arg)) return 0;
  luaL_checktype(L, arg, LUA_TTABLE);
  return arg;
}

static int fail(lua_State *L, int rc) {
  if (rc == KM_ECANCELLED) return mercado_raise_interrupt(L);
  if (rc == KM_ENOMEM) return luaL_error(L, "not enough memory");
  lua_pushnil(L);
  lua_pushstring(L, km_strerror(rc));
  return 2;
}

/* ---- Matrix userdata ---- */

/* Pushes a new Matrix of n rows and d columns (values uninitialised) with names (the table at names_idx, or
   "1".."d" when 0). */
static km_matrix *new_matrix(lua_State *L, int64_t n, int d, int names_idx) {
  if (names_idx != 0) names_idx = lua_absindex(L, names_idx);
  if (n < 0 || (uint64_t)n > (SIZE_MAX - sizeof(km_matrix)) / sizeof(double) / (uint64_t)d)
    luaL_error(L, "not enough memory");
  km_matrix *m = lua_newuserdatauv(L, sizeof *m + (size_t)n * d * sizeof(double), 1);
  m->n = n;
  m->d = d;
  luaL_setmetatable(L, MATRIX_MT);
  if (names_idx != 0) {
    lua_pushvalue(L, names_idx);
  } else {
    lua_createtable(L, d, 0);
    for (int f = 0; f < d; f++) {
      lua_pushfstring(L, "%d", f + 1);
      lua_rawseti(L, -2, f + 1);
    }
  }
  lua_setiuservalue(L, -2, 1);
  return m;
}

static km_matrix *check_matrix(lua_State *L, int idx) {
  return luaL_checkudata(L, idx, MATRIX_MT);
}

/* Fills m from numeric columns (the same length, checked by the caller). */
static void matrix_from_columns(km_matrix *m, cs_column **cols) {
  for (int f = 0; f < m->d; f++) {
    const cs_column *c = cols[f];
    double *x = m->x + f;
    switch (c->type) {
      case CS_FLOAT64: for (int64_t i = 0; i < m->n; i++) x[i * m->d] = c->v.f64[i]; break;
      case CS_INT64: for (int64_t i = 0; i < m->n; i++) x[i * m->d] = (double)c->v.i64[i]; break;
      default: for (int64_t i = 0; i < m->n; i++) x[i * m->d] = (double)c->v.i32[i]; break;
    }
  }
}

/* Pushes a Matrix made of the columns cols named names (a new array of names is built). */
static km_matrix *push_from_columns(lua_State *L, cs_column **cols, const char **names, int d) {
  if (d < 1) luaL_error(L, "no numeric column to cluster");
  for (int f = 1; f < d; f++)
    if (cols[f]->n != cols[0]->n)
      luaL_error(L, "column '%s' has %I rows, '%s' has %I", names[f], (lua_Integer)cols[f]->n, names[0],
                 (lua_Integer)cols[0]->n);
  lua_createtable(L, d, 0);
  for (int f = 0; f < d; f++) {
    lua_pushstring(L, names[f]);
    lua_rawseti(L, -2, f + 1);
  }
  km_matrix *m = new_matrix(L, cols[0]->n, d, -1);
  lua_remove(L, -2);
  matrix_from_columns(m, cols);
  return m;
}

/* Pushes a Matrix made of an array of Columns at idx (names from the array at names_idx, or "1".."d"). */
static km_matrix *push_from_column_array(lua_State *L, int idx, int names_idx) {
  cs_column *cols[MAX_COLS];
  const char *names[MAX_COLS];
  char buf[MAX_COLS][16];
  int d = (int)lua_rawlen(L, idx);
  if (d > MAX_COLS) luaL_argerror(L, idx, lua_pushfstring(L, "at most %d columns", MAX_COLS));
  for (int f = 0; f < d; f++) {
    lua_rawgeti(L, idx, f + 1);
    cols[f] = cs_lua_tocolumn(L, -1);
    if (cols[f] == NULL || !cs_type_is_numeric(cols[f]->type))
      luaL_argerror(L, idx, lua_pushfstring(L, "data[%d] is not a numeric Column", f + 1));
    lua_pop(L, 1); /* the array keeps the column alive */
    snprintf(buf[f], sizeof buf[f], "%d", f + 1);
    names[f] = buf[f];
    if (names_idx != 0 && lua_rawgeti(L, names_idx, f + 1) == LUA_TSTRING) names[f] = lua_tostring(L, -1);
    if (names_idx != 0) lua_pop(L, 1); /* the names array keeps the string alive */
  }
  return push_from_columns(L, cols, names, d);
}

/* Pushes a Matrix made of the array of rows at idx. */
static km_matrix *push_from_rows(lua_State *L, int idx) {
  int64_t n = (int64_t)lua_rawlen(L, idx);
  if (n < 1) luaL_argerror(L, idx, "data has no rows");
  lua_rawgeti(L, idx, 1);
  int d = (int)lua_rawlen(L, -1);
  lua_pop(L, 1);
  if (d < 1 || d > MAX_COLS) luaL_argerror(L, idx, lua_pushfstring(L, "data rows need 1 to %d values", MAX_COLS));
  km_matrix *m = new_matrix(L, n, d, 0);
  for (int64_t i = 0; i < n; i++) {
    if (lua_rawgeti(L, idx, (lua_Integer)i + 1) != LUA_TTABLE || (int)lua_rawlen(L, -1) != d)
      luaL_argerror(L, idx, lua_pushfstring(L, "data row %I is not an array of %d numbers", (lua_Integer)i + 1, d));
    for (int f = 0; f < d; f++) {
      lua_rawgeti(L, -1, f + 1);
      int isnum;
      m->x[i * d + f] = lua_tonumberx(L, -1, &isnum);
      if (!isnum)
        luaL_argerror(L, idx, lua_pushfstring(L, "data row %I value %d is not a number", (lua_Integer)i + 1, f + 1));
      lua_pop(L, 1);
    }
    lua_pop(L, 1);
  }
  return m;
}

/* Pushes the Matrix for a Table at arg: columns named by opts.columns, else by the array at dflt_cols, else all
   numeric ones. */
static km_matrix *push_from_table(lua_State *L, int arg, int opts, int dflt_cols) {
  cs_column *cols[MAX_COLS];
  const char *names[MAX_COLS];
  int names_idx = dflt_cols;
  if (opts != 0 && lua_getfield(L, opts, "columns") != LUA_TNIL) names_idx = lua_gettop(L);
  int d = cs_lua_numeric_columns(L, arg, names_idx, cols, names, MAX_COLS);
  return push_from_columns(L, cols, names, d); /* stack: [columns] matrix */
}

/* The data at arg as a Matrix pushed on the stack (a Matrix argument is pushed again). A Table's columns come
   from opts.columns, or from the array of names at dflt_cols (0: all numeric columns). */
static km_matrix *push_data(lua_State *L, int arg, int opts, int dflt_cols) {
  int top = lua_gettop(L), names_idx = 0;
  if (luaL_testudata(L, arg, MATRIX_MT)) {
    lua_pushvalue(L, arg);
    return lua_touserdata(L, -1);
  }
  if (cs_lua_totable(L, arg)) {
    push_from_table(L, arg, opts, dflt_cols);
  } else {
    if (!lua_istable(L, arg)) luaL_typeerror(L, arg, "Table, array of Columns, array of rows or Matrix");
    lua_rawgeti(L, arg, 1);
    int columns = cs_lua_tocolumn(L, -1) != NULL;
    if (!columns) {
      push_from_rows(L, arg);
    } else {
      if (opts != 0 && lua_getfield(L, opts, "names") == LUA_TTABLE) names_idx = lua_gettop(L);
      push_from_column_array(L, arg, names_idx);
    }
  }
  if (lua_gettop(L) > top + 1) { /* drop what the conversion left below the matrix */
    lua_replace(L, top + 1);
    lua_settop(L, top + 1);
  } /* stack: ... matrix */
  return lua_touserdata(L, -1);
}

/* Pushes the name of column f of the Matrix at idx. */
static const char *column_name(lua_State *L, int idx, int f) {
  lua_getiuservalue(L, idx, 1);
  lua_rawgeti(L, -1, f + 1);
  lua_remove(L, -2);
  return lua_tostring(L, -1);
}

/* If the Matrix at idx has no rows or a NaN or infinity, pushes nil and a message (naming the column and row);
   returns 2 then, else 0. */
static int push_nonfinite(lua_State *L, int idx, const km_matrix *m) {
  int64_t row;
  int col;
  if (m->n < 1) {
    lua_pushnil(L);
    lua_pushliteral(L, "data has no rows");
    return 2;
  }
  if (!km_find_nonfinite(m->x, m->n, m->d, &row, &col)) return 0;
  double v = m->x[row * m->d + col];
  const char *name = column_name(L, idx, col);
  lua_pushnil(L);
  lua_pushfstring(L, "column '%s' has a non-finite value (%s) at row %I", name,
                  isnan(v) ? "nan" : v > 0 ? "inf" : "-inf", (lua_Integer)row + 1);
  return 2;
}

static int m_names(lua_State *L);

/* ---- fitting ---- */

/* Reads opts.init (k arrays of d numbers) into a pushed scratch buffer, or returns NULL (nothing pushed). */
static double *check_init(lua_State *L, int opts, int k, int d) {
  if (opts == 0 || lua_getfield(L, opts, "init") == LUA_TNIL) {
    if (opts != 0) lua_pop(L, 1);
    return NULL;
  }
  int t = lua_gettop(L);
  if (!lua_istable(L, t) || (int)lua_rawlen(L, t) != k)
    luaL_argerror(L, opts, lua_pushfstring(L, "option 'init' must be an array of %d centres", k));
  double *c = scratch(L, (int64_t)k * d, sizeof *c);
  for (int j = 0; j < k; j++) {
    if (lua_rawgeti(L, t, j + 1) != LUA_TTABLE || (int)lua_rawlen(L, -1) != d)
      luaL_argerror(L, opts, lua_pushfstring(L, "option 'init': centre %d is not an array of %d numbers", j + 1, d));
    for (int f = 0; f < d; f++) {
      lua_rawgeti(L, -1, f + 1);
      int isnum;
      c[(int64_t)j * d + f] = lua_tonumberx(L, -1, &isnum);
      if (!isnum || !isfinite(c[(int64_t)j * d + f]))
        luaL_argerror(L, opts, lua_pushfstring(L, "option 'init': centre %d value %d is not a finite number", j + 1,
                                               f + 1));
      lua_pop(L, 1);
    }
    lua_pop(L, 1);
  }
  lua_remove(L, t);
  return c;
}

static void fit_params(lua_State *L, int opts, int k, km_params *p) {
  km_params_default(p);
  p->k = k;
  p->n_init = (int)opt_int(L, opts, "n_init", 10, 1);
  p->max_iter = (int)opt_int(L, opts, "max_iter", 300, 1);
  p->tol = opt_num(L, opts, "tol", 1e-4);
  p->seed = (uint64_t)opt_int(L, opts, "seed", 42, LUA_MININTEGER);
  p->threads = (int)opt_int(L, opts, "threads", mercado_threads(), 1);
  p->polish = opt_bool(L, opts, "polish", 1);
  p->cancelled = mercado_interrupted;
  if (p->n_init > 100000 || p->max_iter > 100000000)
    luaL_argerror(L, opts, "option 'n_init' (<= 100000) or 'max_iter' (<= 100000000) too large");
}

/* The data to fit: the Matrix at idx itself, or a standardized copy pushed with its means and deviations. */
typedef struct fit_data {
  const double *x;
  double *mean, *sd;
  int64_t n;
  int d, standardize;
} fit_data;

/* The data of the Matrix at midx, standardized if opts say so: in place when the Matrix was made from the
   argument at arg, in a copy when it is the caller's own Matrix. */
static void prepare(lua_State *L, int arg, int midx, int opts, fit_data *fd) {
  km_matrix *m = lua_touserdata(L, midx);
  fd->n = m->n;
  fd->d = m->d;
  fd->x = m->x;
  fd->standardize = opt_bool(L, opts, "standardize", 0);
  fd->mean = fd->sd = NULL;
  if (!fd->standardize) return;
  int own = !lua_rawequal(L, arg, midx);
  double *x = scratch(L, (own ? 0 : m->n * m->d) + 2 * m->d, sizeof *x);
  fd->mean = x;
  fd->sd = x + m->d;
  if (own) {
    x = m->x;
  } else {
    x = fd->sd + m->d;
    memcpy(x, m->x, (size_t)(m->n * m->d) * sizeof *x);
  }
  km_standardize(x, m->n, m->d, fd->mean, fd->sd);
  fd->x = x;
}

static void push_numbers(lua_State *L, const double *v, int64_t n) {
  lua_createtable(L, (int)n, 0);
  for (int64_t i = 0; i < n; i++) {
    lua_pushnumber(L, v[i]);
    lua_rawseti(L, -2, (lua_Integer)i + 1);
  }
}

static void push_ints(lua_State *L, const int *v, int64_t n) {
  lua_createtable(L, (int)n, 0);
  for (int64_t i = 0; i < n; i++) {
    lua_pushinteger(L, v[i]);
    lua_rawseti(L, -2, (lua_Integer)i + 1);
  }
}

/* Pushes k rows of d values; with fd standardizing and original set, in data units (c * sd + mean). */
static void push_centres(lua_State *L, const double *C, int k, const fit_data *fd, int original) {
  lua_createtable(L, k, 0);
  for (int j = 0; j < k; j++) {
    lua_createtable(L, fd->d, 0);
    for (int f = 0; f < fd->d; f++) {
      double v = C[(int64_t)j * fd->d + f];
      if (original && fd->standardize) v = v * fd->sd[f] + fd->mean[f];
      lua_pushnumber(L, v);
      lua_rawseti(L, -2, f + 1);
    }
    lua_rawseti(L, -2, j + 1);
  }
}

typedef struct fit_out {
  double *C, *run_inertia, *hist;
  int *n_iter;
  km_result r;
} fit_out;

/* Sets model fields describing the run (stack: ... model). */
static void set_run_fields(lua_State *L, const km_params *p, const fit_out *o) {
  int runs = p->init != NULL ? 1 : p->n_init;
  lua_pushnumber(L, o->r.inertia);
  lua_setfield(L, -2, "inertia");
  lua_pushinteger(L, o->n_iter[o->r.best_run] + o->r.polish_iter);
  lua_setfield(L, -2, "n_iter");
  lua_pushinteger(L, o->r.polish_iter);
  lua_setfield(L, -2, "polish_iter");
  lua_pushboolean(L, o->r.converged);
  lua_setfield(L, -2, "converged");
  lua_pushinteger(L, o->r.best_run + 1);
  lua_setfield(L, -2, "best_run");
  push_numbers(L, o->run_inertia, runs);
  lua_setfield(L, -2, "inertia_runs");
  push_ints(L, o->n_iter, runs);
  lua_setfield(L, -2, "n_iter_runs");
  if (o->hist != NULL) {
    push_numbers(L, o->hist, o->r.history_len);
    lua_setfield(L, -2, "inertia_history");
  }
  lua_pushinteger(L, (lua_Integer)p->seed);
  lua_setfield(L, -2, "seed");
  lua_pushinteger(L, runs);
  lua_setfield(L, -2, "n_init");
  lua_pushinteger(L, p->max_iter);
  lua_setfield(L, -2, "max_iter");
  lua_pushnumber(L, p->tol);
  lua_setfield(L, -2, "tol");
}

/* Pushes the model table; the labels Column is at lidx, the Matrix at midx. */
static void push_model(lua_State *L, int midx, int lidx, const km_params *p, const fit_data *fd, const fit_out *o) {
  lua_createtable(L, 0, 24);
  lua_pushinteger(L, p->k);
  lua_setfield(L, -2, "k");
  lua_pushinteger(L, fd->d);
  lua_setfield(L, -2, "d");
  lua_pushinteger(L, (lua_Integer)fd->n);
  lua_setfield(L, -2, "n");
  lua_pushcfunction(L, m_names); /* a copy of the Matrix's names */
  lua_pushvalue(L, midx);
  lua_call(L, 1, 1);
  lua_setfield(L, -2, "columns");
  lua_pushvalue(L, lidx);
  lua_setfield(L, -2, "labels");
  push_centres(L, o->C, p->k, fd, 0);
  lua_setfield(L, -2, "centroids");
  push_centres(L, o->C, p->k, fd, 1);
  lua_setfield(L, -2, "centroids_original");
  lua_pushboolean(L, fd->standardize);
  lua_setfield(L, -2, "standardize");
  if (fd->standardize) {
    push_numbers(L, fd->mean, fd->d);
    lua_setfield(L, -2, "mean");
    push_numbers(L, fd->sd, fd->d);
    lua_setfield(L, -2, "std");
  }
  set_run_fields(L, p, o);
}

/* Allocates the outputs of one fit as scratch on the stack; labels get a fresh int32 Column at *lidx. */
static void alloc_out(lua_State *L, const km_params *p, const fit_data *fd, int history, fit_out *o, int *lidx) {
  int runs = p->n_init;
  int32_t *labels = cs_lua_newcolumn(L, CS_INT32, fd->n)->v.i32;
  *lidx = lua_gettop(L);
  o->C = scratch(L, (int64_t)p->k * fd->d + 2 * (int64_t)runs + p->max_iter * (int64_t)history, sizeof(double));
  o->run_inertia = o->C + (int64_t)p->k * fd->d;
  o->n_iter = (int *)(o->run_inertia + runs);
  o->hist = history ? o->run_inertia + 2 * (int64_t)runs : NULL;
  memset(&o->r, 0, sizeof o->r);
  o->r.labels = labels;
  o->r.centroids = o->C;
  o->r.n_iter = o->n_iter;
  o->r.run_inertia = o->run_inertia;
}

/* Runs km_fit; returns 0, or pushes nil and a message and returns 2 (raises on interruption / no memory). */
static int run_fit(lua_State *L, const fit_data *fd, km_params *p, fit_out *o) {
  p->history = o->hist;
  int rc = km_fit(fd->x, fd->n, fd->d, p, &o->r);
  if (rc == KM_OK) return 0;
  if (rc == KM_EDISTINCT) {
    lua_pushnil(L);
    lua_pushfstring(L, "k = %d is more than the number of distinct rows", p->k);
    return 2;
  }
  return fail(L, rc);
}

/* kmeans.fit(data, k [, opts]) -> model | nil, message */
static int l_fit(lua_State *L) {
  lua_Integer k = luaL_checkinteger(L, 2);
  int opts = opts_index(L, 3), lidx, nr;
  luaL_argcheck(L, k >= 1 && k <= 1000000, 2, "k must be between 1 and 1000000");
  km_matrix *m = push_data(L, 1, opts, 0);
  int midx = lua_gettop(L);
  if ((nr = push_nonfinite(L, midx, m)) != 0) return nr;
  km_params p;
  fit_params(L, opts, (int)k, &p);
  fit_data fd;
  prepare(L, 1, midx, opts, &fd);
  p.init = check_init(L, opts, (int)k, fd.d);
  fit_out o;
  alloc_out(L, &p, &fd, opt_bool(L, opts, "history", 0), &o, &lidx);
  if ((nr = run_fit(L, &fd, &p, &o)) != 0) return nr;
  push_model(L, midx, lidx, &p, &fd, &o);
  return 1;
}

/* kmeans.elbow(data [, opts]) -> {{k, inertia, n_iter, converged}, ...} | nil, message */
static int l_elbow(lua_State *L) {
  int opts = opts_index(L, 2), lidx, nr;
  lua_Integer kmin = opt_int(L, opts, "k_min", 2, 1), kmax = opt_int(L, opts, "k_max", 10, 1);
  if (kmax < kmin || kmax > 100000) luaL_argerror(L, 2, "options need k_min <= k_max <= 100000");
  km_matrix *m = push_data(L, 1, opts, 0);
  int midx = lua_gettop(L);
  if ((nr = push_nonfinite(L, midx, m)) != 0) return nr;
  km_params p;
  fit_params(L, opts, (int)kmax, &p);
  fit_data fd;
  prepare(L, 1, midx, opts, &fd);
  fit_out o;
  alloc_out(L, &p, &fd, 0, &o, &lidx);
  lua_createtable(L, (int)(kmax - kmin + 1), 0);
  for (lua_Integer k = kmin; k <= kmax; k++) {
    p.k = (int)k;
    if ((nr = run_fit(L, &fd, &p, &o)) != 0) return nr;
    lua_createtable(L, 0, 4);
    lua_pushinteger(L, k);
    lua_setfield(L, -2, "k");
    lua_pushnumber(L, o.r.inertia);
    lua_setfield(L, -2, "inertia");
    lua_pushinteger(L, o.n_iter[o.r.best_run] + o.r.polish_iter);
    lua_setfield(L, -2, "n_iter");
    lua_pushboolean(L, o.r.converged);
    lua_setfield(L, -2, "converged");
    lua_rawseti(L, -2, k - kmin + 1);
  }
  return 1;
}

/* ---- prediction ---- */

/* Reads the array at idx (d finite numbers) into v; what and j (> 0 for an entry of centroids) name it in errors
   about the model (argument 1). */
static void read_vector(lua_State *L, int idx, const char *what, lua_Integer j, double *v, int d) {
  const char *name = j > 0 ? lua_pushfstring(L, "%s[%I]", what, j) : lua_pushstring(L, what);
  if (!lua_istable(L, idx) || (int)lua_rawlen(L, idx) != d)
    luaL_argerror(L, 1, lua_pushfstring(L, "model.%s must be an array of %d numbers", name, d));
  for (int f = 0; f < d; f++) {
    lua_rawgeti(L, idx, f + 1);
    int isnum;
    v[f] = lua_tonumberx(L, -1, &isnum);
    if (!isnum || !isfinite(v[f]))
      luaL_argerror(L, 1, lua_pushfstring(L, "model.%s[%d] is not a finite number", name, f + 1));
    lua_pop(L, 1);
  }
  lua_pop(L, 1); /* name */
}

/* Reads the model's k centroids of d values into C (k*d). */
static void model_centroids(lua_State *L, int model, lua_Integer k, int d, double *C) {
  if (lua_getfield(L, model, "centroids") != LUA_TTABLE || (lua_Integer)lua_rawlen(L, -1) != k)
    luaL_argerror(L, 1, lua_pushfstring(L, "model.centroids must hold k = %I centres", k));
  for (lua_Integer j = 0; j < k; j++) {
    lua_rawgeti(L, -1, j + 1);
    read_vector(L, lua_gettop(L), "centroids", j + 1, C + j * d, d);
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
}

/* Reads model field name (an array of d numbers) into v. */
static void model_vector(lua_State *L, int model, const char *name, double *v, int d) {
  lua_getfield(L, model, name);
  read_vector(L, lua_gettop(L), name, 0, v, d);
  lua_pop(L, 1);
}

/* Scales the rows of x in place like the model (z-scores; a zero deviation gives 0). */
static void scale_rows(double *x, int64_t n, int d, const double *mean, const double *sd) {
  for (int64_t i = 0; i < n; i++)
    for (int f = 0; f < d; f++) x[i * d + f] = sd[f] > 0.0 ? (x[i * d + f] - mean[f]) / sd[f] : 0.0;
}

/* kmeans.predict(model, data [, opts]) -> Column<int32> | nil, message */
static int l_predict(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  int opts = opts_index(L, 3), nr, cols = 0;
  lua_getfield(L, 1, "k");
  lua_Integer k = lua_tointeger(L, -1);
  if (k < 1) luaL_argerror(L, 1, "not a k-means model (no k)");
  if (lua_getfield(L, 1, "columns") == LUA_TTABLE) cols = lua_gettop(L); /* default columns of a Table */
  km_matrix *m = push_data(L, 2, opts, cols);
  int midx = lua_gettop(L), d = m->d;
  if (m->n > 0 && (nr = push_nonfinite(L, midx, m)) != 0) return nr; /* no rows: an empty Column */
  double *C = scratch(L, k * d + 2 * (int64_t)d, sizeof *C), *mean = C + k * d, *sd = mean + d, *x = m->x;
  model_centroids(L, 1, k, d, C);
  lua_getfield(L, 1, "standardize");
  if (lua_toboolean(L, -1)) {
    model_vector(L, 1, "mean", mean, d);
    model_vector(L, 1, "std", sd, d);
    x = scratch(L, m->n * d, sizeof *x);
    memcpy(x, m->x, (size_t)(m->n * d) * sizeof *x);
    scale_rows(x, m->n, d, mean, sd);
  }
  cs_column *out = cs_lua_newcolumn(L, CS_INT32, m->n);
  km_predict(x, m->n, d, C, (int)k, out->v.i32);
  return 1;
}

/* ---- silhouette ---- */

/* Reads labels (an integer Column or array) of n rows into a pushed scratch buffer. */
static int32_t *check_labels(lua_State *L, int arg, int64_t n) {
  const cs_column *c = cs_lua_tocolumn(L, arg);
  int32_t *v;
  if (c != NULL) {
    if (c->type != CS_INT32 && c->type != CS_INT64) luaL_argerror(L, arg, "labels must be an integer Column");
    if (c->n != n)
      luaL_argerror(L, arg, lua_pushfstring(L, "%I labels for %I rows", (lua_Integer)c->n, (lua_Integer)n));
    if (c->type == CS_INT32) return c->v.i32;
    v = scratch(L, n, sizeof *v);
    for (int64_t i = 0; i < n; i++) {
      if (c->v.i64[i] < INT32_MIN || c->v.i64[i] > INT32_MAX) luaL_argerror(L, arg, "label out of int32 range");
      v[i] = (int32_t)c->v.i64[i];
    }
    return v;
  }
  luaL_checktype(L, arg, LUA_TTABLE);
  if ((int64_t)lua_rawlen(L, arg) != n)
    luaL_argerror(L, arg, lua_pushfstring(L, "%I labels for %I rows", (lua_Integer)lua_rawlen(L, arg), (lua_Integer)n));
  v = scratch(L, n, sizeof *v);
  for (int64_t i = 0; i < n; i++) {
    lua_rawgeti(L, arg, (lua_Integer)i + 1);
    int isint;
    lua_Integer x = lua_tointegerx(L, -1, &isint);
    if (!isint || x < INT32_MIN || x > INT32_MAX)
      luaL_argerror(L, arg, lua_pushfstring(L, "label %I is not an int32 integer", (lua_Integer)i + 1));
    v[i] = (int32_t)x;
    lua_pop(L, 1);
  }
  return v;
}

/* kmeans.silhouette(data, labels [, opts]) -> score, rows_used | nil, message */
static int l_silhouette(lua_State *L) {
  int opts = opts_index(L, 3), nr;
  km_matrix *m = push_data(L, 1, opts, 0);
  int midx = lua_gettop(L);
  int32_t *labels = check_labels(L, 2, m->n);
  if ((nr = push_nonfinite(L, midx, m)) != 0) return nr;
  fit_data fd;
  prepare(L, 1, midx, opts, &fd);
  km_silhouette_params sp;
  sp.sample = opt_int(L, opts, "sample", 20000, 0);
  sp.seed = (uint64_t)opt_int(L, opts, "seed", 42, LUA_MININTEGER);
  sp.threads = (int)opt_int(L, opts, "threads", mercado_threads(), 1);
  sp.cancelled = mercado_interrupted;
  if (sp.sample == 0) sp.sample = fd.n;
  double score;
  int64_t used;
  int rc = km_silhouette(fd.x, fd.n, fd.d, labels, &sp, &score, &used);
  if (rc != KM_OK) return fail(L, rc);
  lua_pushnumber(L, score);
  lua_pushinteger(L, (lua_Integer)used);
  return 2;
}

/* ---- Matrix methods ---- */

/* kmeans.matrix(data [, opts]) -> Matrix */
static int l_matrix(lua_State *L) {
  int opts = opts_index(L, 2);
  push_data(L, 1, opts, 0);
  return 1;
}

static int m_len(lua_State *L) {
  lua_pushinteger(L, (lua_Integer)check_matrix(L, 1)->n);
  return 1;
}

static int m_cols(lua_State *L) {
  lua_pushinteger(L, check_matrix(L, 1)->d);
  return 1;
}

/* m:get(i, j) -> value at row i, column j (1-based). */
static int m_get(lua_State *L) {
  km_matrix *m = check_matrix(L, 1);
  lua_Integer i = luaL_checkinteger(L, 2), j = luaL_checkinteger(L, 3);
  luaL_argcheck(L, i >= 1 && i <= m->n, 2, "row out of range");
  luaL_argcheck(L, j >= 1 && j <= m->d, 3, "column out of range");
  lua_pushnumber(L, m->x[(i - 1) * m->d + (j - 1)]);
  return 1;
}

static int m_names(lua_State *L) {
  check_matrix(L, 1);
  lua_getiuservalue(L, 1, 1);
  lua_createtable(L, (int)lua_rawlen(L, -1), 0);
  for (lua_Integer f = 1; f <= (lua_Integer)lua_rawlen(L, -2); f++) {
    lua_rawgeti(L, -2, f);
    lua_rawseti(L, -2, f);
  }
  return 1;
}

static int m_totable(lua_State *L) {
  km_matrix *m = check_matrix(L, 1);
  lua_createtable(L, (int)m->n, 0);
  for (int64_t i = 0; i < m->n; i++) {
    push_numbers(L, m->x + i * m->d, m->d);
    lua_rawseti(L, -2, (lua_Integer)i + 1);
  }
  return 1;
}

static int m_tostring(lua_State *L) {
  km_matrix *m = check_matrix(L, 1);
  lua_pushfstring(L, "Matrix(%I x %d)", (lua_Integer)m->n, m->d);
  return 1;
}

static const luaL_Reg matrix_methods[] = {
  {"rows", m_len}, {"cols", m_cols}, {"get", m_get}, {"names", m_names}, {"totable", m_totable}, {NULL, NULL},
};

static const luaL_Reg kmeans_funcs[] = {
  {"matrix", l_matrix},         {"fit", l_fit},     {"predict", l_predict},
  {"silhouette", l_silhouette}, {"elbow", l_elbow}, {NULL, NULL},
};

int luaopen_mercado_kmeans(lua_State *L);

int luaopen_mercado_kmeans(lua_State *L) {
  lua_getglobal(L, "require"); /* Columns need the colstore's metatables */
  lua_pushliteral(L, "mercado.colstore");
  lua_call(L, 1, 0);
  if (luaL_newmetatable(L, MATRIX_MT)) {
    luaL_newlib(L, matrix_methods);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, m_len);
    lua_setfield(L, -2, "__len");
    lua_pushcfunction(L, m_tostring);
    lua_setfield(L, -2, "__tostring");
  }
  lua_pop(L, 1);
  luaL_newlib(L, kmeans_funcs);
  return 1;
}
