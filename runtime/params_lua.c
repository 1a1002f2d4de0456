/*
** params_lua.c: mercado.params, literal parsing of parameter values for the flow engine (runtime/lua/params.lua
** holds the declarations, bounds and messages; the text-to-value step is here so it can be fuzzed).
**   params.parse(type, text [, elemtype]) -> value | nil, reason
**     type: "int", "number", "bool", "string", "path", "list" (elemtype: int, number, bool, string, path)
**   params.split_assignment(text) -> name, value | nil, reason
*/
#include <string.h>

#include "lauxlib.h"
#include "params.h"

static const char *const param_types[] = {"int", "number", "bool", "string", "path", "enum", "list", NULL};
enum { P_INT, P_NUMBER, P_BOOL, P_STRING, P_PATH, P_ENUM, P_LIST };

/* Pushes the parsed scalar; returns 1, or 0 with the reason in err. */
static int push_scalar(lua_State *L, int type, const char *s, size_t len, char *err) {
  switch (type) {
    case P_INT: {
      int64_t v;
      if (params_parse_int(s, len, &v, err) != 0) return 0;
      lua_pushinteger(L, (lua_Integer)v);
      return 1;
    }
    case P_NUMBER: {
      double v;
      if (params_parse_number(s, len, &v, err) != 0) return 0;
      lua_pushnumber(L, v);
      return 1;
    }
    case P_BOOL: {
      int v;
      if (params_parse_bool(s, len, &v, err) != 0) return 0;
      lua_pushboolean(L, v);
      return 1;
    }
    default:
      if (memchr(s, '\0', len)) {
        strcpy(err, "NUL byte in value");
        return 0;
      }
      lua_pushlstring(L, s, len);
      return 1;
  }
}

typedef struct list_state {
  lua_State *L;
  int elemtype;
  lua_Integer n;
  char err[PARAMS_ERR_MAX];
} list_state;

static int list_item(void *ud, const char *text, size_t len) {
  list_state *st = ud;
  if (len == 0) {
    strcpy(st->err, "empty list item");
    return 1;
  }
  if (!push_scalar(st->L, st->elemtype, text, len, st->err)) return 1;
  lua_rawseti(st->L, -2, ++st->n);
  return 0;
}

static int params_parse(lua_State *L) {
  int type = luaL_checkoption(L, 1, NULL, param_types);
  size_t len;
  const char *s = luaL_checklstring(L, 2, &len);
  char err[PARAMS_ERR_MAX] = "";
  if (type == P_LIST) {
    list_state st = {L, luaL_checkoption(L, 3, "string", param_types), 0, ""};
    if (st.elemtype == P_LIST || st.elemtype == P_ENUM) return luaL_argerror(L, 3, "lists hold scalars");
    char *scratch = lua_newuserdatauv(L, len + 1, 0);
    lua_newtable(L); /* stack: scratch list */
    if (params_split_list(s, len, scratch, list_item, &st) != 0) {
      lua_pushnil(L);
      lua_pushstring(L, st.err);
      return 2;
    }
    return 1;
  }
  if (!push_scalar(L, type, s, len, err)) {
    lua_pushnil(L);
    lua_pushstring(L, err);
    return 2;
  }
  return 1;
}

static int params_split(lua_State *L) {
  size_t len, nlen;
  const char *s = luaL_checklstring(L, 1, &len);
  char err[PARAMS_ERR_MAX];
  if (params_split_assignment(s, len, &nlen, err) != 0) {
    lua_pushnil(L);
    lua_pushstring(L, err);
    return 2;
  }
  lua_pushlstring(L, s, nlen);
  lua_pushlstring(L, s + nlen + 1, len - nlen - 1);
  return 2;
}

static const luaL_Reg params_funcs[] = {
  {"parse", params_parse},
  {"split_assignment", params_split},
  {NULL, NULL},
};

int luaopen_mercado_params(lua_State *L) {
  luaL_newlib(L, params_funcs);
  return 1;
}
