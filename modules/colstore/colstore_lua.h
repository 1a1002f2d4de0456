/*
** colstore_lua.h: how other native modules take and return colstore columns and tables.
** A Column userdata ("mercado.Column") holds one reference to a cs_column; a Table userdata ("mercado.Table")
** owns a cs_table. Both are freed by __gc/__close.
*/
#ifndef MERCADO_COLSTORE_LUA_H
#define MERCADO_COLSTORE_LUA_H

#include "colstore.h"
#include "lua.h"

#define CS_COLUMN_MT "mercado.Column"
#define CS_TABLE_MT "mercado.Table"

/* The column at idx, or raises a type error naming the argument. */
cs_column *cs_lua_checkcolumn(lua_State *L, int idx);
/* The column at idx, or NULL if it is not a Column. */
cs_column *cs_lua_tocolumn(lua_State *L, int idx);
/* The table at idx, or raises / NULL. */
cs_table *cs_lua_checktable(lua_State *L, int idx);
cs_table *cs_lua_totable(lua_State *L, int idx);

/* Pushes a new Column userdata owning a fresh column of n rows (values uninitialised).
   Raises "not enough memory" on failure; the userdata frees the column if a later error unwinds the stack. */
cs_column *cs_lua_newcolumn(lua_State *L, cs_type type, int64_t n);
/* Pushes a Column userdata taking over one reference to c (NULL c raises "not enough memory"). */
void cs_lua_pushcolumn(lua_State *L, cs_column *c);
/* Pushes an empty Table userdata with room for ncols columns; add columns with cs_lua_table_add. */
cs_table *cs_lua_newtable(lua_State *L, int ncols);
/* Adds the column at idx (a Column userdata) to the table at tidx under name; raises if lengths differ. */
void cs_lua_table_add(lua_State *L, int tidx, const char *name, int idx);

/* A named numeric column given as a Column or a Table's column name: used by modules that accept
   "a table's numeric columns". Returns the columns of tbl named in the array at names_idx (or all numeric ones if
   names_idx is 0) in *cols (up to max); raises naming the column if one is missing or not numeric. */
int cs_lua_numeric_columns(lua_State *L, int tidx, int names_idx, cs_column **cols, const char **names, int max);

#endif
