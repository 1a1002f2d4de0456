/* cron_lua.c: mercado.cron (placeholder until the scheduler lands). */
#include "lauxlib.h"
int luaopen_mercado_cron(lua_State *L);
int luaopen_mercado_cron(lua_State *L) {
  lua_newtable(L);
  return 1;
}
