/*
** main.c: the mercado executable. Builds the host state and hands the command line to the embedded CLI
** (runtime/lua/cli.lua), which returns the exit code: 0 success, 1 flow failed, 2 usage error, 130 interrupted.
*/
#include <stdio.h>
#include <stdlib.h>

#include "host.h"
#include "hugepages.h"
#include "lauxlib.h"

int main(int argc, char **argv) {
  mc_retain_freed_memory();
  const char *huge = getenv("MERCADO_HUGE_PAGES");
  if (mc_huge_pages_configure(huge) != 0)
    fprintf(stderr, "mercado: MERCADO_HUGE_PAGES=%s is not one of auto, on, off; using auto\n", huge);
  lua_State *L = host_new();
  if (!L) {
    fprintf(stderr, "mercado: cannot create the Lua state (out of memory)\n");
    return 1;
  }
  int code = 1;
  lua_getglobal(L, "require");
  lua_pushliteral(L, "mercado.cli");
  if (host_pcall(L, 1, 1) == LUA_OK) {
    lua_getfield(L, -1, "main");
    lua_createtable(L, argc, 0);
    for (int i = 0; i < argc; i++) {
      lua_pushstring(L, argv[i]);
      lua_rawseti(L, -2, i);
    }
    if (host_pcall(L, 1, 1) == LUA_OK) {
      code = (int)luaL_optinteger(L, -1, 0);
      lua_settop(L, 0);
      lua_close(L);
      return code;
    }
  }
  /* an error escaped the CLI: report it with its traceback */
  lua_getfield(L, -1, "kind");
  int cancelled = lua_isstring(L, -1) && lua_tostring(L, -1)[0] == 'c';
  lua_getfield(L, -2, "message");
  lua_getfield(L, -3, "traceback");
  fprintf(stderr, "mercado: %s\n", lua_tostring(L, -2) ? lua_tostring(L, -2) : "error");
  if (!cancelled && getenv("MERCADO_DEBUG") && lua_isstring(L, -1)) fprintf(stderr, "%s\n", lua_tostring(L, -1));
  lua_close(L);
  return cancelled ? 130 : 1;
}
