/*
** host.c: builds the Lua state (standard libraries, cjson, lfs, mercado.* modules, embedded Lua sources) and
** provides host_pcall, the single protected entry from C into Lua (message handler with traceback, as lua.c).
*/
#include "host.h"

#include <dlfcn.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mercado_config.h"

#include "hugepages.h"
#include "interrupt.h"
#include "lauxlib.h"
#include "lfs.h"
#include "lua-cjson.h"
#include "lualib.h"

#define ERROR_MT "mercado.Error"

/* __tostring of error tables: their message. */
static int error_tostring(lua_State *L) {
  lua_getfield(L, 1, "message");
  if (!lua_isstring(L, -1)) {
    lua_pop(L, 1);
    lua_pushliteral(L, "error");
  }
  return 1;
}

/* Message handler: any error value becomes a table {kind, message, traceback} with the ERROR_MT metatable. */
static int msghandler(lua_State *L) {
  if (lua_type(L, 1) == LUA_TTABLE) {
    lua_getfield(L, 1, "kind");
    if (lua_isnil(L, -1)) {
      lua_pushliteral(L, "error");
      lua_setfield(L, 1, "kind");
    }
    lua_pop(L, 1);
    lua_getfield(L, 1, "message");
    if (lua_isnil(L, -1)) {
      lua_pushstring(L, luaL_tolstring(L, 1, NULL));
      lua_setfield(L, 1, "message");
      lua_pop(L, 1);
    }
    lua_pop(L, 1);
    lua_settop(L, 1);
  } else {
    const char *msg = lua_tostring(L, 1);
    if (msg == NULL) {
      if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING) msg = lua_tostring(L, -1);
      else msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
    }
    lua_createtable(L, 0, 3);
    lua_pushliteral(L, "error");
    lua_setfield(L, -2, "kind");
    lua_pushstring(L, msg);
    lua_setfield(L, -2, "message");
    lua_replace(L, 1);
    lua_settop(L, 1);
  }
  lua_getfield(L, 1, "traceback");
  if (lua_isnil(L, -1)) {
    luaL_traceback(L, L, NULL, 1);
    lua_setfield(L, 1, "traceback");
  }
  lua_pop(L, 1);
  if (!lua_getmetatable(L, 1)) {
    luaL_setmetatable(L, ERROR_MT);
  } else {
    lua_pop(L, 1);
  }
  return 1;
}

int host_pcall(lua_State *L, int nargs, int nresults) {
  int base = lua_gettop(L) - nargs;
  lua_pushcfunction(L, msghandler);
  lua_insert(L, base);
  int status = lua_pcall(L, nargs, nresults, base);
  lua_remove(L, base);
  return status;
}

/* Loader for an embedded Lua module: compiles its source under its original chunk name. */
static int load_embedded(lua_State *L) {
  const host_embedded *e = lua_touserdata(L, lua_upvalueindex(1));
  if (luaL_loadbuffer(L, e->source, e->size, e->chunkname) != LUA_OK) return lua_error(L);
  lua_pushstring(L, e->module);
  lua_call(L, 1, 1);
  return 1;
}

static void preload(lua_State *L, const char *name, lua_CFunction open) {
  luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
  lua_pushcfunction(L, open);
  lua_setfield(L, -2, name);
  lua_pop(L, 1);
}

static const struct {
  const char *name;
  lua_CFunction open;
} native_modules[] = {
  {"cjson", luaopen_cjson},
  {"lfs", luaopen_lfs},
  {"mercado.json", luaopen_mercado_json},
  {"mercado.sys", luaopen_mercado_sys},
  {"mercado.params", luaopen_mercado_params},
  {"mercado.colstore", luaopen_mercado_colstore},
  {"mercado.stats", luaopen_mercado_stats},
  {"mercado.kmeans", luaopen_mercado_kmeans},
  {"mercado.fpgrowth", luaopen_mercado_fpgrowth},
  {"mercado.gen", luaopen_mercado_gen},
  {"mercado.cron", luaopen_mercado_cron},
};

/* Loader of mercado.pg: opens the shared module (it links libpq) from $MERCADO_MODULE_DIR, next to the binary
   (../<libdir>/mercado when installed, ../modules/pg in a build tree) or the configured install directory. */
static int load_pg_module(lua_State *L) {
  char exe[PATH_MAX], path[PATH_MAX + 64];
  const char *env = getenv("MERCADO_MODULE_DIR");
  const char *dirs[4] = {env, NULL, NULL, MERCADO_MODULE_DIR};
  char d1[PATH_MAX + 64], d2[PATH_MAX + 64];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n > 0) {
    exe[n] = '\0';
    char *slash = strrchr(exe, '/');
    if (slash) *slash = '\0';
    snprintf(d1, sizeof d1, "%s/../%s/mercado", exe, MERCADO_LIBDIR_REL);
    snprintf(d2, sizeof d2, "%s/../modules/pg", exe);
    dirs[1] = d1, dirs[2] = d2;
  }
  luaL_Buffer tried;
  luaL_buffinit(L, &tried);
  for (int i = 0; i < 4; i++) {
    if (!dirs[i] || !dirs[i][0]) continue;
    snprintf(path, sizeof path, "%s/mercado_pg.so", dirs[i]);
    if (access(path, R_OK) != 0) {
      luaL_addstring(&tried, "\n\tno file ");
      luaL_addstring(&tried, path);
      continue;
    }
    void *lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!lib) return luaL_error(L, "mercado.pg: cannot load %s: %s", path, dlerror());
    lua_CFunction open = (lua_CFunction)(uintptr_t)dlsym(lib, "luaopen_mercado_pg");
    if (!open) return luaL_error(L, "mercado.pg: %s has no luaopen_mercado_pg", path);
    return open(L); /* the library stays loaded for the life of the process */
  }
  luaL_pushresult(&tried);
  return luaL_error(L, "mercado.pg: the PostgreSQL module is not installed:%s", lua_tostring(L, -1));
}

static int open_host(lua_State *L) {
  luaL_openlibs(L);
  luaL_newmetatable(L, ERROR_MT);
  lua_pushcfunction(L, error_tostring);
  lua_setfield(L, -2, "__tostring");
  lua_pop(L, 1);
  for (size_t i = 0; i < sizeof native_modules / sizeof native_modules[0]; i++)
    preload(L, native_modules[i].name, native_modules[i].open);
  preload(L, "mercado.pg", load_pg_module);
  luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
  for (const host_embedded *e = host_embedded_sources; e->module; e++) {
    lua_pushlightuserdata(L, (void *)e);
    lua_pushcclosure(L, load_embedded, 1);
    lua_setfield(L, -2, e->module);
  }
  lua_pop(L, 1);
  return 0;
}

/* Lua's allocator: realloc and free as luaL_newstate's, with large blocks (big strings, scratch arrays of the
   native modules) on huge pages. */
static void *host_alloc(void *ud, void *ptr, size_t osize, size_t nsize) {
  (void)ud, (void)osize;
  if (nsize == 0) {
    free(ptr);
    return NULL;
  }
  return mc_realloc_huge(ptr, nsize);
}

lua_State *host_new(void) {
  lua_State *L = luaL_newstate();
  if (!L) return NULL;
  lua_setallocf(L, host_alloc, NULL); /* blocks from either are malloc blocks: the switch is seamless */
  lua_pushcfunction(L, open_host);
  if (host_pcall(L, 0, 0) != LUA_OK) {
    lua_close(L);
    return NULL;
  }
  interrupt_install(L);
  return L;
}
