/* host.h: the Lua state mercado runs everything in, and the one protected entry into Lua. */
#ifndef MERCADO_HOST_H
#define MERCADO_HOST_H

#include "lua.h"

/* Creates the state: standard libraries, cjson, lfs, every mercado.* module in package.preload (native ones and the
   embedded Lua sources), and the interrupt handlers. Returns NULL when out of memory. */
lua_State *host_new(void);

/* Calls the function below its nargs arguments with a message handler that turns any error into a table
   {kind, message, traceback} (kind "error", "timeout" or "cancelled"). Returns LUA_OK with nresults values,
   or an error status with the error table on the stack. The only lua_pcall in mercado. */
int host_pcall(lua_State *L, int nargs, int nresults);

/* Registered module openers. */
int luaopen_mercado_json(lua_State *L);
int luaopen_mercado_sys(lua_State *L);
int luaopen_mercado_params(lua_State *L);
int luaopen_mercado_colstore(lua_State *L);
int luaopen_mercado_stats(lua_State *L);
int luaopen_mercado_kmeans(lua_State *L);
int luaopen_mercado_fpgrowth(lua_State *L);
int luaopen_mercado_gen(lua_State *L);
int luaopen_mercado_pg(lua_State *L);
int luaopen_mercado_cron(lua_State *L);

/* Embedded Lua sources (generated at build time from runtime/lua/). */
typedef struct host_embedded {
  const char *module;
  const char *chunkname;
  const char *source;
  unsigned long size;
} host_embedded;
extern const host_embedded host_embedded_sources[];

#endif
