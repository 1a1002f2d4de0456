/* lua-cjson.h: entry point of lua-cjson (upstream ships no header; this mirrors the one Debian's dh-lua generates). */
#ifndef LUA_CJSON_H
#define LUA_CJSON_H

#include "lua.h"

/* Pushes the cjson module table; raises a Lua error only on memory exhaustion. */
extern int luaopen_cjson(lua_State *L);

#endif
