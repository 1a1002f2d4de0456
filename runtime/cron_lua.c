/*
** cron_lua.c: mercado.cron, the scheduler's cron expressions and intervals (core: cron.c, syntax in cron.h).
**   cron.parse(text)              -> a mercado.Cron | nil, message naming the field and the token
**   c:next(after [, zone])        -> first fire time (integer seconds since the epoch) strictly after `after`,
**                                    zone "local" (default, the TZ of the process) or "utc" | nil, message
**   cron.interval(text)           -> seconds ("30s", "2m", "1h", "1d", "1h30m") | nil, message
*/
#include <math.h>
#include <string.h>

#include "cron.h"
#include "lauxlib.h"

#define CRON_MT "mercado.Cron"

int luaopen_mercado_cron(lua_State *L);

/* cron.parse(text) -> Cron | nil, err */
static int cron_lua_parse(lua_State *L) {
  size_t len;
  const char *text = luaL_checklstring(L, 1, &len);
  cron_expr e;
  char err[CRON_ERR_MAX];
  if (cron_parse(text, len, &e, err) != 0) {
    lua_pushnil(L);
    lua_pushstring(L, err);
    return 2;
  }
  cron_expr *u = lua_newuserdatauv(L, sizeof *u, 1);
  *u = e;
  lua_pushvalue(L, 1);
  lua_setiuservalue(L, -2, 1); /* the text, for tostring */
  luaL_setmetatable(L, CRON_MT);
  return 1;
}

/* c:next(after [, "local"|"utc"]) -> integer seconds | nil, err */
static int cron_lua_next(lua_State *L) {
  const cron_expr *e = luaL_checkudata(L, 1, CRON_MT);
  double after = luaL_checknumber(L, 2);
  static const char *const zones[] = {"local", "utc", "UTC", NULL};
  int z = luaL_checkoption(L, 3, "local", zones);
  if (!isfinite(after)) return luaL_argerror(L, 2, "a finite time expected");
  int64_t next;
  if (cron_next(e, (int64_t)floor(after), z == 0 ? CRON_LOCAL : CRON_UTC, &next) != 0) {
    lua_pushnil(L);
    lua_pushfstring(L, "no fire time within %d years of the given time", CRON_HORIZON_YEARS);
    return 2;
  }
  lua_pushinteger(L, (lua_Integer)next);
  return 1;
}

static int cron_lua_tostring(lua_State *L) {
  luaL_checkudata(L, 1, CRON_MT);
  lua_getiuservalue(L, 1, 1);
  lua_pushfstring(L, "mercado.Cron(%s)", lua_tostring(L, -1));
  return 1;
}

/* cron.interval(text) -> seconds | nil, err */
static int cron_lua_interval(lua_State *L) {
  size_t len;
  const char *text = luaL_checklstring(L, 1, &len);
  int64_t s;
  char err[CRON_ERR_MAX];
  if (cron_parse_interval(text, len, &s, err) != 0) {
    lua_pushnil(L);
    lua_pushstring(L, err);
    return 2;
  }
  lua_pushinteger(L, (lua_Integer)s);
  return 1;
}

static const luaL_Reg cron_methods[] = {
  {"next", cron_lua_next},
  {NULL, NULL},
};

static const luaL_Reg cron_funcs[] = {
  {"parse", cron_lua_parse},
  {"interval", cron_lua_interval},
  {NULL, NULL},
};

int luaopen_mercado_cron(lua_State *L) {
  if (luaL_newmetatable(L, CRON_MT)) {
    luaL_newlib(L, cron_methods);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, cron_lua_tostring);
    lua_setfield(L, -2, "__tostring");
  }
  lua_pop(L, 1);
  luaL_newlib(L, cron_funcs);
  return 1;
}
