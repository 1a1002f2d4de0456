/*
** fpgrowth_lua.c: mercado.fpgrowth, frequent itemsets, association rules and rule-based recommendations. The
** algorithms live in fpgrowth.c & co. (plain C); this file converts arguments and results.
**
**   local fpg = require "mercado.fpgrowth"
**   fpg.mine(baskets, min_support [, opts])  --> Itemsets, or nil, message when opts.max_itemsets is exceeded
**     baskets: a list<int32> Column (or an array of arrays of integers, for small inputs); an item repeated inside
**     a basket counts once. min_support: a fraction in (0, 1] of the baskets (an itemset is frequent when its count
**     is >= ceil(min_support * N), computed so that 0.1 of 30 is 3), or an integral count > 1.
**     opts: max_len (longest itemset, default none), max_itemsets (default 10,000,000: a safety bound against a
**     threshold so low that the result would not fit in memory), threads (default mercado_threads()).
**     Itemsets come in canonical order (by size, then items ascending), identical for any thread count.
**   Itemsets: #s, s:get(i) --> {items = {...ascending}, count = c, support = c / N}, s:top(n) (count desc, then
**     items lexicographically asc), s:count_of(items) --> count or nil, s:baskets() --> N, s:min_count(),
**     s:to_csv() --> "items,count,support\n..." (items space-separated), s:write_csv(path) --> true | nil, err (the
**     same text written atomically, streamed: no copy of it in memory), s:columns() --> Table
**     {items list<int32>, count int64, support float64}.
**   fpg.rules(itemsets, min_confidence [, opts])  --> Rules
**     Rules A -> B with A u B frequent, confidence >= min_confidence and |B| <= opts.max_consequent (default 1:
**     single-item consequents as Spark and arules). Measures with c(X) the count of X and N baskets:
**     support = c(AuB)/N, confidence = c(AuB)/c(A), lift = confidence/(c(B)/N),
**     leverage = support - c(A)c(B)/N^2, conviction = (1 - c(B)/N)/(1 - confidence), infinite when confidence = 1.
**     Canonical order: lift desc, confidence desc, support desc, antecedent then consequent lexicographically asc.
**   Rules: #r, r:get(i) --> {antecedent = {...}, consequent = {...}, count, support, confidence, lift, leverage,
**     conviction} (conviction is nil when infinite), r:top(n [, by]) with by = "lift" (default), "confidence",
**     "support", "leverage" or "conviction" (ties: lift, confidence, support desc, antecedent, consequent asc),
**     r:to_csv() --> "antecedent,consequent,support,confidence,lift,leverage,conviction\n..." (items
**     space-separated, shortest round-trip floats, conviction "inf" when infinite), r:write_csv(path) --> true | nil,
**     err (the same text written atomically and streamed, for large rule sets), r:baskets().
**   fpg.recommend_customers(rules, owned [, opts])  --> Table, one row per (customer, rank):
**     row (int64, 1-based row of owned), rank (int32, 1..top), product (int32), score (lift * confidence),
**     confidence, lift, support (float64), rule (int64, 1-based index in rules), based_on (list<int32>: the rule's
**     antecedent); with opts.ids (an int32/int64 Column aligned with owned) a first column customer_id.
**     owned: a list<int32> Column (or an array of arrays) of each customer's products. Candidates are the
**     consequent items of rules whose antecedent is owned, not owned themselves; a product's score is its best
**     rule's lift * confidence (ties: higher confidence, higher support, lower rule index); a customer's products
**     are ranked by score desc, then product id asc. Customers without candidates have no rows.
**     opts: top (5), max_rules (use only the first max_rules rules, i.e. the best by lift; default all), threads.
**   fpg.recommend_products(rules [, opts])  --> {{product_id = a, recommendations = {{product_id = b, confidence,
**     lift, support, score, rule}, ...}}, ...}: per antecedent item a, the best rule per consequent item b (same
**     score and ties), ranked by score, confidence, support desc, then b asc, the first opts.top (5) kept; sources
**     ordered by number of recommendations desc, then id asc; opts.max_rules as above, opts.max_products (all).
**   fpg.save_cache(path, key, itemsets, rules) --> true | nil, err: a binary copy of both (atomic write);
**   fpg.load_cache(path, key) --> itemsets, rules | nil when path holds no valid cache for exactly that key.
** Misuse raises naming the argument; long loops stop on Ctrl-C or a task timeout (the usual interruption error).
*/
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "colstore.h"
#include "colstore_lua.h"
#include "fpgrowth.h"
#include "hugepages.h"
#include "json.h"
#include "lauxlib.h"
#include "lua.h"
#include "mercado_runtime.h"
#include "parallel.h"

#define ITEMSETS_MT "mercado.Itemsets"
#define RULES_MT "mercado.Rules"
#define BOX_MT "mercado.fpgrowth.box"
#define DEFAULT_MAX_ITEMSETS 10000000

typedef struct itemsets_ud {
  fp_itemsets s;
} itemsets_ud;

typedef struct rules_ud {
  fp_rules r;
} rules_ud;

/* ---- small helpers ---- */

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

static int opts_index(lua_State *L, int arg) {
  if (lua_isnoneornil(L, arg)) return 0;
  luaL_checktype(L, arg, LUA_TTABLE);
  return arg;
}

/* Raises for a failed core call (interruptions through the runtime). */
static int fail(lua_State *L, const char *fn, fp_status st) {
  if (st == FP_ECANCELLED) return mercado_raise_interrupt(L);
  return luaL_error(L, "fpgrowth.%s: %s", fn, fp_strerror(st));
}

/* A GC-owned holder for a core result while it is turned into Lua values. */
typedef struct box {
  void (*release)(void *);
  union {
    fp_recs recs;
    fp_product_recs prod;
  } u;
} box;

static int box_gc(lua_State *L) {
  box *b = luaL_checkudata(L, 1, BOX_MT);
  if (b->release) b->release(&b->u);
  b->release = NULL;
  return 0;
}

static box *push_box(lua_State *L, void (*release)(void *)) {
  box *b = lua_newuserdatauv(L, sizeof *b, 0);
  memset(b, 0, sizeof *b);
  luaL_setmetatable(L, BOX_MT);
  b->release = release;
  return b;
}

static void release_recs(void *p) { fp_recs_free(p); }
static void release_prod(void *p) { fp_product_recs_free(p); }

/* A list argument: a list<int32> Column, or an array of arrays copied into GC-owned scratch (left on the stack). */
static fp_lists check_lists(lua_State *L, int arg, const char *what) {
  fp_lists l = {0, NULL, NULL};
  cs_column *c = cs_lua_tocolumn(L, arg);
  if (c) {
    if (c->type != CS_LIST)
      luaL_argerror(L, arg, lua_pushfstring(L, "%s must be a list<int32> Column, got %s", what,
                                            cs_type_name(c->type)));
    l.n = c->n;
    l.offsets = c->offsets;
    l.items = c->items;
    lua_pushnil(L); /* keep the stack shape of the other branch */
    return l;
  }
  if (!lua_istable(L, arg))
    luaL_argerror(L, arg, lua_pushfstring(L, "%s must be a list<int32> Column or an array of arrays", what));
  lua_Integer n = luaL_len(L, arg), total = 0;
  for (lua_Integer i = 1; i <= n; i++) {
    if (lua_rawgeti(L, arg, i) != LUA_TTABLE)
      luaL_argerror(L, arg, lua_pushfstring(L, "%s[%I] is not an array", what, i));
    total += luaL_len(L, -1);
    lua_pop(L, 1);
  }
  int64_t *off = lua_newuserdatauv(L, sizeof(int64_t) * (size_t)(n + 1) + sizeof(int32_t) * (size_t)total, 0);
  int32_t *items = (int32_t *)(off + n + 1);
  off[0] = 0;
  for (lua_Integer i = 1, k = 0; i <= n; i++) {
    lua_rawgeti(L, arg, i);
    lua_Integer len = luaL_len(L, -1);
    for (lua_Integer j = 1; j <= len; j++) {
      int isint;
      lua_rawgeti(L, -1, j);
      lua_Integer v = lua_tointegerx(L, -1, &isint);
      if (!isint || v < INT32_MIN || v > INT32_MAX)
        luaL_argerror(L, arg, lua_pushfstring(L, "%s[%I][%I] is not a 32-bit integer", what, i, j));
      items[k++] = (int32_t)v;
      lua_pop(L, 1);
    }
    off[i] = k;
    lua_pop(L, 1);
  }
  l.n = n;
  l.offsets = off;
  l.items = items;
  return l;
}

static void push_int_list(lua_State *L, const int32_t *a, int64_t n) {
  lua_createtable(L, (int)n, 0);
  for (int64_t i = 0; i < n; i++) {
    lua_pushinteger(L, a[i]);
    lua_rawseti(L, -2, i + 1);
  }
}

/* ---- Itemsets ---- */

static fp_itemsets *check_itemsets(lua_State *L, int idx) {
  itemsets_ud *u = luaL_checkudata(L, idx, ITEMSETS_MT);
  if (!u->s.offsets) luaL_argerror(L, idx, "itemsets are closed");
  return &u->s;
}

static int itemsets_gc(lua_State *L) {
  itemsets_ud *u = luaL_checkudata(L, 1, ITEMSETS_MT);
  fp_itemsets_free(&u->s);
  return 0;
}

static int itemsets_len(lua_State *L) {
  lua_pushinteger(L, (lua_Integer)check_itemsets(L, 1)->n);
  return 1;
}

static int itemsets_tostring(lua_State *L) {
  itemsets_ud *u = luaL_checkudata(L, 1, ITEMSETS_MT);
  if (!u->s.offsets) lua_pushliteral(L, "Itemsets (closed)");
  else
    lua_pushfstring(L, "Itemsets (%I itemsets of %I baskets, min count %I)", (lua_Integer)u->s.n,
                    (lua_Integer)u->s.nbaskets, (lua_Integer)u->s.min_count);
  return 1;
}

static void push_itemset(lua_State *L, const fp_itemsets *s, int64_t i) {
  lua_createtable(L, 0, 3);
  push_int_list(L, s->items + s->offsets[i], s->offsets[i + 1] - s->offsets[i]);
  lua_setfield(L, -2, "items");
  lua_pushinteger(L, (lua_Integer)s->counts[i]);
  lua_setfield(L, -2, "count");
  lua_pushnumber(L, (double)s->counts[i] / (double)s->nbaskets);
  lua_setfield(L, -2, "support");
}

static int itemsets_get(lua_State *L) {
  fp_itemsets *s = check_itemsets(L, 1);
  lua_Integer i = luaL_checkinteger(L, 2);
  luaL_argcheck(L, i >= 1 && i <= s->n, 2, "itemset index out of range");
  push_itemset(L, s, i - 1);
  return 1;
}

static int itemsets_top(lua_State *L) {
  fp_itemsets *s = check_itemsets(L, 1);
  lua_Integer n = luaL_checkinteger(L, 2);
  luaL_argcheck(L, n >= 0, 2, "count must be >= 0");
  if (n > s->n) n = s->n;
  int64_t *idx = lua_newuserdatauv(L, sizeof(int64_t) * (size_t)(n + 1), 0);
  int64_t k = fp_itemsets_top(s, n, idx);
  lua_createtable(L, (int)k, 0);
  for (int64_t i = 0; i < k; i++) {
    push_itemset(L, s, idx[i]);
    lua_rawseti(L, -2, i + 1);
  }
  return 1;
}

static int cmp_int32(const void *a, const void *b) {
  int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
  return (x > y) - (x < y);
}

static int itemsets_count_of(lua_State *L) {
  fp_itemsets *s = check_itemsets(L, 1);
  luaL_checktype(L, 2, LUA_TTABLE);
  lua_Integer n = luaL_len(L, 2);
  int32_t *a = lua_newuserdatauv(L, sizeof(int32_t) * (size_t)(n + 1), 0);
  for (lua_Integer i = 1; i <= n; i++) {
    int isint;
    lua_rawgeti(L, 2, i);
    lua_Integer v = lua_tointegerx(L, -1, &isint);
    if (!isint || v < INT32_MIN || v > INT32_MAX) return luaL_argerror(L, 2, "items must be 32-bit integers");
    a[i - 1] = (int32_t)v;
    lua_pop(L, 1);
  }
  qsort(a, (size_t)n, sizeof *a, cmp_int32);
  int64_t m = 0;
  for (int64_t i = 0; i < n; i++)
    if (m == 0 || a[m - 1] != a[i]) a[m++] = a[i];
  if (fp_itemsets_index(s) != FP_OK) return fail(L, "count_of", FP_ENOMEM);
  int64_t i = m ? fp_itemsets_find(s, a, m) : -1;
  if (i < 0) lua_pushnil(L);
  else lua_pushinteger(L, (lua_Integer)s->counts[i]);
  return 1;
}

static int itemsets_baskets(lua_State *L) {
  lua_pushinteger(L, (lua_Integer)check_itemsets(L, 1)->nbaskets);
  return 1;
}

static int itemsets_min_count(lua_State *L) {
  lua_pushinteger(L, (lua_Integer)check_itemsets(L, 1)->min_count);
  return 1;
}

static int itemsets_to_csv(lua_State *L) {
  fp_itemsets *s = check_itemsets(L, 1);
  luaL_Buffer b;
  luaL_buffinitsize(L, &b, (size_t)(s->n + 1) * 48);
  luaL_addstring(&b, fp_itemsets_csv_header);
  for (int64_t i = 0; i < s->n; i++)
    luaL_addsize(&b, fp_itemsets_csv_row(s, i, luaL_prepbuffsize(&b, fp_itemsets_csv_room(s, i))));
  luaL_pushresult(&b);
  return 1;
}

/* s:write_csv(path) / r:write_csv(path): true, or nil and a message. */
static int itemsets_write_csv(lua_State *L) {
  fp_itemsets *s = check_itemsets(L, 1);
  const char *path = luaL_checkstring(L, 2);
  char err[512];
  if (fp_itemsets_write_csv(s, path, err, sizeof err) != 0) {
    lua_pushnil(L);
    lua_pushstring(L, err);
    return 2;
  }
  lua_pushboolean(L, 1);
  return 1;
}

static int itemsets_columns(lua_State *L) {
  fp_itemsets *s = check_itemsets(L, 1);
  cs_lua_newtable(L, 3); /* stack: s tbl */
  cs_column *items = cs_lua_newcolumn(L, CS_LIST, s->n);
  int32_t *copy = malloc(sizeof(int32_t) * (size_t)(s->offsets[s->n] + 1));
  if (!copy) return luaL_error(L, "fpgrowth: not enough memory");
  memcpy(copy, s->items, sizeof(int32_t) * (size_t)s->offsets[s->n]);
  cs_column_set_items(items, copy);
  memcpy(items->offsets, s->offsets, sizeof(int64_t) * (size_t)(s->n + 1));
  cs_lua_table_add(L, -2, "items", -1);
  lua_pop(L, 1);
  cs_column *count = cs_lua_newcolumn(L, CS_INT64, s->n);
  memcpy(count->v.i64, s->counts, sizeof(int64_t) * (size_t)s->n);
  cs_lua_table_add(L, -2, "count", -1);
  lua_pop(L, 1);
  cs_column *support = cs_lua_newcolumn(L, CS_FLOAT64, s->n);
  for (int64_t i = 0; i < s->n; i++) support->v.f64[i] = (double)s->counts[i] / (double)s->nbaskets;
  cs_lua_table_add(L, -2, "support", -1);
  lua_pop(L, 1);
  return 1;
}

/* fpg.mine(baskets, min_support [, opts]) */
static int l_mine(lua_State *L) {
  lua_settop(L, 3);
  fp_lists b = check_lists(L, 1, "baskets"); /* stack: baskets minsup [opts] scratch */
  double ms = luaL_checknumber(L, 2);
  int opts = opts_index(L, 3);
  int64_t minc;
  if (ms > 0 && ms <= 1) minc = fp_min_count(ms, b.n);
  else if (ms > 1 && ms == floor(ms) && ms < 9e15) minc = (int64_t)ms;
  else return luaL_argerror(L, 2, "min_support must be a fraction in (0, 1] or an integral count > 1");
  fp_mine_opts o = {.min_count = minc,
                    .max_len = (int)opt_int(L, opts, "max_len", 0, 0),
                    .max_itemsets = opt_int(L, opts, "max_itemsets", DEFAULT_MAX_ITEMSETS, 1),
                    .threads = (int)opt_int(L, opts, "threads", mercado_threads(), 1),
                    .cancelled = mercado_interrupted};
  if (o.max_len > 1000000) o.max_len = 0;
  itemsets_ud *u = lua_newuserdatauv(L, sizeof *u, 0);
  memset(u, 0, sizeof *u);
  luaL_setmetatable(L, ITEMSETS_MT);
  fp_status st = fp_mine(&b, &o, &u->s);
  if (st == FP_ELIMIT) {
    lua_pushnil(L);
    lua_pushfstring(L,
                    "fpgrowth.mine: more than %I frequent itemsets (max_itemsets) at min_support %f (count >= %I of "
                    "%I baskets); raise min_support, or opts.max_itemsets if memory allows",
                    (lua_Integer)o.max_itemsets, ms, (lua_Integer)minc, (lua_Integer)b.n);
    return 2;
  }
  if (st != FP_OK) return fail(L, "mine", st);
  return 1;
}

/* ---- Rules ---- */

static fp_rules *check_rules(lua_State *L, int idx) {
  rules_ud *u = luaL_checkudata(L, idx, RULES_MT);
  if (!u->r.a_off) luaL_argerror(L, idx, "rules are closed");
  return &u->r;
}

static int rules_gc(lua_State *L) {
  rules_ud *u = luaL_checkudata(L, 1, RULES_MT);
  fp_rules_free(&u->r);
  return 0;
}

static int rules_len(lua_State *L) {
  lua_pushinteger(L, (lua_Integer)check_rules(L, 1)->n);
  return 1;
}

static int rules_tostring(lua_State *L) {
  rules_ud *u = luaL_checkudata(L, 1, RULES_MT);
  if (!u->r.a_off) lua_pushliteral(L, "Rules (closed)");
  else lua_pushfstring(L, "Rules (%I rules over %I baskets)", (lua_Integer)u->r.n, (lua_Integer)u->r.nbaskets);
  return 1;
}

static void push_rule(lua_State *L, const fp_rules *r, int64_t i) {
  lua_createtable(L, 0, 8);
  push_int_list(L, r->a_items + r->a_off[i], r->a_off[i + 1] - r->a_off[i]);
  lua_setfield(L, -2, "antecedent");
  push_int_list(L, r->c_items + r->c_off[i], r->c_off[i + 1] - r->c_off[i]);
  lua_setfield(L, -2, "consequent");
  lua_pushinteger(L, (lua_Integer)r->count[i]);
  lua_setfield(L, -2, "count");
  lua_pushnumber(L, r->support[i]);
  lua_setfield(L, -2, "support");
  lua_pushnumber(L, r->confidence[i]);
  lua_setfield(L, -2, "confidence");
  lua_pushnumber(L, r->lift[i]);
  lua_setfield(L, -2, "lift");
  lua_pushnumber(L, r->leverage[i]);
  lua_setfield(L, -2, "leverage");
  if (isfinite(r->conviction[i])) {
    lua_pushnumber(L, r->conviction[i]);
    lua_setfield(L, -2, "conviction");
  }
}

static int rules_get(lua_State *L) {
  fp_rules *r = check_rules(L, 1);
  lua_Integer i = luaL_checkinteger(L, 2);
  luaL_argcheck(L, i >= 1 && i <= r->n, 2, "rule index out of range");
  push_rule(L, r, i - 1);
  return 1;
}

static int rules_top(lua_State *L) {
  static const char *const keys[] = {"lift", "confidence", "support", "leverage", "conviction", NULL};
  static const fp_rule_key codes[] = {FP_BY_LIFT, FP_BY_CONFIDENCE, FP_BY_SUPPORT, FP_BY_LEVERAGE, FP_BY_CONVICTION};
  fp_rules *r = check_rules(L, 1);
  lua_Integer n = luaL_checkinteger(L, 2);
  luaL_argcheck(L, n >= 0, 2, "count must be >= 0");
  fp_rule_key key = codes[luaL_checkoption(L, 3, "lift", keys)];
  if (n > r->n) n = r->n;
  int64_t *idx = lua_newuserdatauv(L, sizeof(int64_t) * (size_t)(n + 1), 0);
  int64_t k = fp_rules_top(r, key, n, idx);
  lua_createtable(L, (int)k, 0);
  for (int64_t i = 0; i < k; i++) {
    push_rule(L, r, idx[i]);
    lua_rawseti(L, -2, i + 1);
  }
  return 1;
}

static int rules_to_csv(lua_State *L) {
  fp_rules *r = check_rules(L, 1);
  luaL_Buffer b; /* sized for about 4 items and 5 numbers of 20 characters a rule */
  luaL_buffinitsize(L, &b, (size_t)(r->n + 1) * 128);
  luaL_addstring(&b, fp_rules_csv_header);
  for (int64_t i = 0; i < r->n; i++)
    luaL_addsize(&b, fp_rules_csv_row(r, i, luaL_prepbuffsize(&b, fp_rules_csv_room(r, i))));
  luaL_pushresult(&b);
  return 1;
}

static int rules_write_csv(lua_State *L) {
  fp_rules *r = check_rules(L, 1);
  const char *path = luaL_checkstring(L, 2);
  char err[512];
  if (fp_rules_write_csv(r, path, err, sizeof err) != 0) {
    lua_pushnil(L);
    lua_pushstring(L, err);
    return 2;
  }
  lua_pushboolean(L, 1);
  return 1;
}

static int rules_baskets(lua_State *L) {
  lua_pushinteger(L, (lua_Integer)check_rules(L, 1)->nbaskets);
  return 1;
}

/* fpg.rules(itemsets, min_confidence [, opts]) */
static int l_rules(lua_State *L) {
  fp_itemsets *s = check_itemsets(L, 1);
  double mc = luaL_checknumber(L, 2);
  luaL_argcheck(L, mc >= 0 && mc <= 1, 2, "min_confidence must be in [0, 1]");
  int opts = opts_index(L, 3);
  lua_Integer maxc = opt_int(L, opts, "max_consequent", 1, 1);
  fp_rules_opts o = {.min_confidence = mc, .max_consequent = maxc > 1000000 ? 1000000 : (int)maxc,
                     .cancelled = mercado_interrupted};
  rules_ud *u = lua_newuserdatauv(L, sizeof *u, 0);
  memset(u, 0, sizeof *u);
  luaL_setmetatable(L, RULES_MT);
  fp_status st = fp_rules_generate(s, &o, &u->r);
  if (st != FP_OK) return fail(L, "rules", st);
  return 1;
}

/* ---- cache ---- */

/* fpg.save_cache(path, key, itemsets, rules) -> true | nil, err */
static int l_save_cache(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  size_t klen;
  const char *key = luaL_checklstring(L, 2, &klen);
  luaL_argcheck(L, klen > 0 && klen < 64, 2, "key must have 1 to 63 characters");
  fp_itemsets *s = check_itemsets(L, 3);
  rules_ud *u = luaL_checkudata(L, 4, RULES_MT);
  char err[512];
  if (fp_cache_write(path, key, s, &u->r, err, sizeof err) != 0) {
    lua_pushnil(L);
    lua_pushstring(L, err);
    return 2;
  }
  lua_pushboolean(L, 1);
  return 1;
}

/* fpg.load_cache(path, key) -> itemsets, rules | nil (no valid cache for that key) */
static int l_load_cache(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  const char *key = luaL_checkstring(L, 2);
  itemsets_ud *su = lua_newuserdatauv(L, sizeof *su, 0);
  memset(su, 0, sizeof *su);
  luaL_setmetatable(L, ITEMSETS_MT);
  rules_ud *ru = lua_newuserdatauv(L, sizeof *ru, 0);
  memset(ru, 0, sizeof *ru);
  luaL_setmetatable(L, RULES_MT);
  if (fp_cache_read(path, key, &su->s, &ru->r) != 0) return 0;
  return 2;
}

/* ---- recommendations ---- */

static void rec_opts(lua_State *L, int opts, fp_rec_opts *o) {
  lua_Integer top = opt_int(L, opts, "top", 5, 1);
  o->top = top > 1000000 ? 1000000 : (int)top;
  o->max_rules = opt_int(L, opts, "max_rules", 0, 0);
  o->threads = (int)opt_int(L, opts, "threads", mercado_threads(), 1);
  o->cancelled = mercado_interrupted;
}

/* The columns of recommend_customers' table for rows [lo, hi), filled by one thread: everything about a
   recommendation but its customer, rank and product comes from its rule. */
typedef struct recs_fill {
  const fp_recs *x;
  const fp_rules *r;
  const cs_column *ids; /* the customers' ids, or NULL */
  cs_column *id, *row, *rank, *product, *score, *confidence, *lift, *support, *rule, *based;
  int64_t lo, hi, at;   /* at: the first based_on item of row lo */
} recs_fill;

static void *fill_recs(void *arg) {
  recs_fill *f = arg;
  const fp_recs *x = f->x;
  const fp_rules *r = f->r;
  int64_t k = f->at;
  for (int64_t i = f->lo; i < f->hi; i++) {
    int64_t q = x->rule[i];
    if (f->id && f->ids->type == CS_INT32) f->id->v.i32[i] = f->ids->v.i32[x->row[i]];
    else if (f->id) f->id->v.i64[i] = f->ids->v.i64[x->row[i]];
    f->row->v.i64[i] = x->row[i] + 1;
    f->rank->v.i32[i] = x->rank[i];
    f->product->v.i32[i] = x->product[i];
    f->score->v.f64[i] = r->lift[q] * r->confidence[q];
    f->confidence->v.f64[i] = r->confidence[q];
    f->lift->v.f64[i] = r->lift[q];
    f->support->v.f64[i] = r->support[q];
    f->rule->v.i64[i] = q + 1;
    for (int64_t j = r->a_off[q]; j < r->a_off[q + 1]; j++) f->based->items[k++] = r->a_items[j];
    f->based->offsets[i + 1] = k;
  }
  return NULL;
}

/* Adds a new column of n rows named name to the table at tidx; returns it. */
static cs_column *add_column(lua_State *L, int tidx, const char *name, cs_type type, int64_t n) {
  cs_column *c = cs_lua_newcolumn(L, type, n);
  cs_lua_table_add(L, tidx, name, -1);
  lua_pop(L, 1);
  return c;
}

/* fpg.recommend_customers(rules, owned [, opts]) */
static int l_recommend_customers(lua_State *L) {
  lua_settop(L, 3);
  fp_rules *r = check_rules(L, 1);
  fp_lists owned = check_lists(L, 2, "owned"); /* stack: rules owned [opts] scratch */
  int opts = opts_index(L, 3);
  fp_rec_opts o;
  rec_opts(L, opts, &o);
  cs_column *ids = NULL;
  if (opts && lua_getfield(L, opts, "ids") != LUA_TNIL) {
    ids = cs_lua_tocolumn(L, -1);
    if (!ids || (ids->type != CS_INT32 && ids->type != CS_INT64) || ids->n != owned.n)
      return luaL_argerror(L, 3, "option 'ids' must be an int32 or int64 Column as long as owned");
  }
  lua_pop(L, opts ? 1 : 0);
  box *bx = push_box(L, release_recs);
  fp_recs *x = &bx->u.recs;
  fp_status st = fp_recommend_customers(r, &owned, &o, x);
  if (st != FP_OK) return fail(L, "recommend_customers", st);
  int64_t n = x->n;
  cs_lua_newtable(L, 10);
  int tidx = lua_gettop(L);
  recs_fill cols = {.x = x, .r = r, .ids = ids};
  if (ids) cols.id = add_column(L, tidx, "customer_id", ids->type, n);
  cols.row = add_column(L, tidx, "row", CS_INT64, n);
  cols.rank = add_column(L, tidx, "rank", CS_INT32, n);
  cols.product = add_column(L, tidx, "product", CS_INT32, n);
  cols.score = add_column(L, tidx, "score", CS_FLOAT64, n);
  cols.confidence = add_column(L, tidx, "confidence", CS_FLOAT64, n);
  cols.lift = add_column(L, tidx, "lift", CS_FLOAT64, n);
  cols.support = add_column(L, tidx, "support", CS_FLOAT64, n);
  cols.rule = add_column(L, tidx, "rule", CS_INT64, n);
  cols.based = add_column(L, tidx, "based_on", CS_LIST, n);
  /* the rows in parts, one per thread, each knowing where its based_on items start */
  int nt = n < 65536 ? 1 : o.threads < 1 ? 1 : o.threads > MC_MAX_PARTS ? MC_MAX_PARTS : o.threads;
  recs_fill part[MC_MAX_PARTS];
  int64_t total = 0, i = 0;
  for (int t = 0; t < nt; t++) {
    part[t] = cols;
    part[t].lo = n * t / nt, part[t].hi = n * (t + 1) / nt, part[t].at = total;
    for (; i < part[t].hi; i++) total += r->a_off[x->rule[i] + 1] - r->a_off[x->rule[i]];
  }
  int32_t *items = mc_malloc_huge(sizeof(int32_t) * (size_t)(total + 1));
  if (!items) return luaL_error(L, "fpgrowth.recommend_customers: not enough memory");
  cs_column_set_items(cols.based, items);
  mc_parallel(nt, fill_recs, part, sizeof *part);
  return 1;
}

/* fpg.recommend_products(rules [, opts]) */
static int l_recommend_products(lua_State *L) {
  fp_rules *r = check_rules(L, 1);
  int opts = opts_index(L, 2);
  fp_rec_opts o;
  rec_opts(L, opts, &o);
  lua_Integer maxp = opt_int(L, opts, "max_products", 0, 0);
  box *bx = push_box(L, release_prod);
  fp_product_recs *x = &bx->u.prod;
  fp_status st = fp_recommend_products(r, &o, x);
  if (st != FP_OK) return fail(L, "recommend_products", st);
  int64_t ns = maxp > 0 && maxp < x->nsources ? maxp : x->nsources;
  lua_createtable(L, (int)ns, 0);
  for (int64_t i = 0; i < ns; i++) {
    lua_createtable(L, 0, 2);
    lua_pushinteger(L, x->sources[i]);
    lua_setfield(L, -2, "product_id");
    lua_createtable(L, (int)(x->rec_off[i + 1] - x->rec_off[i]), 0);
    for (int64_t k = x->rec_off[i]; k < x->rec_off[i + 1]; k++) {
      lua_createtable(L, 0, 6);
      lua_pushinteger(L, x->product[k]);
      lua_setfield(L, -2, "product_id");
      lua_pushnumber(L, x->confidence[k]);
      lua_setfield(L, -2, "confidence");
      lua_pushnumber(L, x->lift[k]);
      lua_setfield(L, -2, "lift");
      lua_pushnumber(L, x->support[k]);
      lua_setfield(L, -2, "support");
      lua_pushnumber(L, x->score[k]);
      lua_setfield(L, -2, "score");
      lua_pushinteger(L, (lua_Integer)x->rule[k] + 1);
      lua_setfield(L, -2, "rule");
      lua_rawseti(L, -2, k - x->rec_off[i] + 1);
    }
    lua_setfield(L, -2, "recommendations");
    lua_rawseti(L, -2, i + 1);
  }
  return 1;
}

/* ---- registration ---- */

static const luaL_Reg itemsets_methods[] = {
  {"get", itemsets_get},         {"top", itemsets_top},
  {"count_of", itemsets_count_of}, {"baskets", itemsets_baskets},
  {"min_count", itemsets_min_count}, {"to_csv", itemsets_to_csv},
  {"write_csv", itemsets_write_csv}, {"columns", itemsets_columns},
  {"close", itemsets_gc},        {NULL, NULL},
};

static const luaL_Reg rules_methods[] = {
  {"get", rules_get},         {"top", rules_top},       {"to_csv", rules_to_csv}, {"write_csv", rules_write_csv},
  {"baskets", rules_baskets}, {"close", rules_gc},      {NULL, NULL},
};

static const luaL_Reg fpgrowth_funcs[] = {
  {"mine", l_mine},
  {"rules", l_rules},
  {"recommend_customers", l_recommend_customers},
  {"recommend_products", l_recommend_products},
  {"save_cache", l_save_cache},
  {"load_cache", l_load_cache},
  {NULL, NULL},
};

static void new_metatable(lua_State *L, const char *name, const luaL_Reg *methods, lua_CFunction gc,
                          lua_CFunction len, lua_CFunction tostring) {
  luaL_newmetatable(L, name);
  lua_newtable(L); /* the methods */
  luaL_setfuncs(L, methods, 0);
  lua_setfield(L, -2, "__index");
  lua_pushcfunction(L, gc);
  lua_setfield(L, -2, "__gc");
  lua_pushcfunction(L, gc);
  lua_setfield(L, -2, "__close");
  lua_pushcfunction(L, len);
  lua_setfield(L, -2, "__len");
  lua_pushcfunction(L, tostring);
  lua_setfield(L, -2, "__tostring");
  lua_pop(L, 1);
}

/* Opens mercado.fpgrowth: a table of functions; registers the Itemsets and Rules metatables. */
int luaopen_mercado_fpgrowth(lua_State *L);
int luaopen_mercado_fpgrowth(lua_State *L) {
  new_metatable(L, ITEMSETS_MT, itemsets_methods, itemsets_gc, itemsets_len, itemsets_tostring);
  new_metatable(L, RULES_MT, rules_methods, rules_gc, rules_len, rules_tostring);
  luaL_newmetatable(L, BOX_MT);
  lua_pushcfunction(L, box_gc);
  lua_setfield(L, -2, "__gc");
  lua_pop(L, 1);
  luaL_newlib(L, fpgrowth_funcs);
  return 1;
}
