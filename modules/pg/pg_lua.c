/* pg_lua.c: mercado.pg (placeholder until the module lands; replaced by the module's binding). */
#include "lauxlib.h"
int luaopen_mercado_pg(lua_State *L);
int luaopen_mercado_pg(lua_State *L) {
  lua_newtable(L);
  return 1;
}
