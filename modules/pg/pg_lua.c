/*
** pg_lua.c: mercado.pg, PostgreSQL from Lua: connections ("mercado.PgConn"), queries with $n parameters,
** transactions, COPY FROM STDIN from a file, a reader function or a colstore table (binary, encoded in C, optionally
** on a worker thread: conn:copy_table), and query results as colstore tables.
**
** Errors are raised as tables {kind = "error", message = "pg: <SQLSTATE> <text>", sqlstate, detail, hint,
** context, connection_lost} (tostring gives the message). pg.connect returns nil, message, sqlstate instead.
** No message ever holds the connection's password.
*/
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "colstore_lua.h"
#include "host.h"
#include "lauxlib.h"
#include "mercado_runtime.h"
#include "pg.h"

#define CONN_MT "mercado.PgConn"
#define RESULT_MT "mercado.PgResult"
#define BUILDER_MT "mercado.PgBuilder"
#define ERROR_MT "mercado.Error"
#define JOB_MT "mercado.PgCopyJob"
#define COPY_CHUNK ((size_t)1 << 20)

enum { OID_BOOL = 16, OID_INT8 = 20, OID_INT2 = 21, OID_INT4 = 23, OID_FLOAT4 = 700, OID_FLOAT8 = 701,
       OID_NUMERIC = 1700 };

struct copy_job;

typedef struct lconn {
  pg_conn c;
  struct copy_job *job; /* an asynchronous copy_table owning the connection until job:wait() */
  int depth;       /* transaction() nesting: inner levels use savepoints */
  char label[256]; /* user@host:port/dbname, for tostring */
} lconn;

/* ---- errors ---- */

/* Pushes err as an error table. */
static void push_error(lua_State *L, const pg_error *err) {
  lua_createtable(L, 0, 8);
  lua_pushliteral(L, "error");
  lua_setfield(L, -2, "kind");
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  lua_pushfstring(L, "pg: %s %s", err->sqlstate, err->message);
  luaL_addvalue(&b);
  if (err->detail[0]) {
    luaL_addstring(&b, " (");
    luaL_addstring(&b, err->detail);
    luaL_addchar(&b, ')');
  }
  if (strncmp(err->context, "COPY ", 5) == 0) {
    luaL_addstring(&b, " [");
    luaL_addstring(&b, err->context);
    luaL_addchar(&b, ']');
  }
  luaL_pushresult(&b);
  lua_setfield(L, -2, "message");
  lua_pushstring(L, err->sqlstate);
  lua_setfield(L, -2, "sqlstate");
  const char *fields[][2] = {{"detail", err->detail}, {"hint", err->hint}, {"context", err->context}};
  for (int i = 0; i < 3; i++)
    if (fields[i][1][0]) {
      lua_pushstring(L, fields[i][1]);
      lua_setfield(L, -2, fields[i][0]);
    }
  lua_pushboolean(L, err->connection_lost);
  lua_setfield(L, -2, "connection_lost");
  if (luaL_getmetatable(L, ERROR_MT) == LUA_TTABLE) lua_setmetatable(L, -2);
  else lua_pop(L, 1);
}

/* Raises err (or the runtime's interruption when the cancel callback stopped the operation). */
static int raise_error(lua_State *L, const pg_error *err) {
  if (err->cancelled && mercado_interrupted()) return mercado_raise_interrupt(L);
  push_error(L, err);
  return lua_error(L);
}

/* Raises a client-side error with a SQLSTATE. */
static int raise_client(lua_State *L, lconn *lc, const char *state, const char *msg) {
  pg_error err;
  memset(&err, 0, sizeof err);
  snprintf(err.sqlstate, sizeof err.sqlstate, "%s", state);
  snprintf(err.message, sizeof err.message, "%s", msg);
  pg_scrub(err.message, sizeof err.message, (const char *const *)lc->c.secrets, lc->c.nsecrets);
  err.connection_lost = lc->c.conn != NULL && PQstatus(lc->c.conn) == CONNECTION_BAD;
  return raise_error(L, &err);
}

/* ---- GC-owned holders (nothing malloc'd is live across a raise) ---- */

static int result_gc(lua_State *L) {
  PGresult **r = luaL_checkudata(L, 1, RESULT_MT);
  PQclear(*r);
  *r = NULL;
  return 0;
}

/* Pushes an empty holder for a PGresult, cleared when collected. */
static PGresult **new_result(lua_State *L) {
  PGresult **r = lua_newuserdatauv(L, sizeof *r, 0);
  *r = NULL;
  luaL_setmetatable(L, RESULT_MT);
  return r;
}

static int builder_gc(lua_State *L) {
  pg_tb **tb = luaL_checkudata(L, 1, BUILDER_MT);
  pg_tb_free(*tb);
  *tb = NULL;
  return 0;
}

/* ---- arguments ---- */

static lconn *check_conn(lua_State *L) { return luaL_checkudata(L, 1, CONN_MT); }

/* The connection at 1, open and usable, or raises 08003/08006 (or 55006 while an asynchronous copy owns it). */
static lconn *check_open(lua_State *L) {
  lconn *lc = check_conn(L);
  if (lc->job) raise_client(L, lc, "55006", "the connection is busy with an asynchronous copy_table (call job:wait())");
  pg_error err;
  if (pg_check(&lc->c, &err) != 0) raise_error(L, &err);
  return lc;
}

/* Text of a float that reads back as the same double. */
static void format_float(char *buf, size_t size, double v) {
  if (isnan(v)) snprintf(buf, size, "NaN");
  else if (isinf(v)) snprintf(buf, size, v > 0 ? "Infinity" : "-Infinity");
  else
    for (int prec = 15; prec <= 17; prec++) {
      snprintf(buf, size, "%.*g", prec, v);
      if (strtod(buf, NULL) == v) break;
    }
}

/* Converts arguments first..last into text parameters (nil = SQL NULL). Replaces numbers and booleans by their
   text in place, so every value stays alive on the stack; the array itself is a GC-owned userdata pushed on top. */
static const char **check_params(lua_State *L, int first, int last, int *n) {
  *n = last >= first ? last - first + 1 : 0;
  for (int i = first; i <= last; i++) {
    char buf[64];
    switch (lua_type(L, i)) {
      case LUA_TNIL: case LUA_TSTRING: break;
      case LUA_TBOOLEAN:
        lua_pushstring(L, lua_toboolean(L, i) ? "true" : "false");
        lua_replace(L, i);
        break;
      case LUA_TNUMBER:
        if (lua_isinteger(L, i)) lua_pushfstring(L, "%I", (lua_Integer)lua_tointeger(L, i));
        else {
          format_float(buf, sizeof buf, lua_tonumber(L, i));
          lua_pushstring(L, buf);
        }
        lua_replace(L, i);
        break;
      default:
        luaL_argerror(L, i, lua_pushfstring(L, "parameter $%d must be nil, a boolean, a number or a string, not %s",
                                            i - first + 1, luaL_typename(L, i)));
    }
    size_t len;
    const char *s = lua_tolstring(L, i, &len);
    if (s && strlen(s) != len)
      luaL_argerror(L, i, lua_pushfstring(L, "parameter $%d contains a NUL byte", i - first + 1));
  }
  const char **vals = lua_newuserdatauv(L, sizeof(char *) * (size_t)(*n > 0 ? *n : 1), 0);
  for (int i = 0; i < *n; i++) vals[i] = lua_tostring(L, first + i);
  return vals;
}

/* ---- pg.connect / pg.redact ---- */

static void make_label(lconn *lc) {
  PGconn *c = lc->c.conn;
  const char *host = PQhost(c);
  snprintf(lc->label, sizeof lc->label, "%s@%s:%s/%s", PQuser(c), host && host[0] == '/' ? "(socket)" : host,
           PQport(c), PQdb(c));
}

/* pg.connect([conninfo]): an open connection, or nil, message, sqlstate (connection refused, bad password...). */
static int pg_lua_connect(lua_State *L) {
  const char *conninfo = luaL_optstring(L, 1, "");
  lconn *lc = lua_newuserdatauv(L, sizeof *lc, 0);
  memset(lc, 0, sizeof *lc);
  luaL_setmetatable(L, CONN_MT);
  pg_error err;
  if (pg_connect(&lc->c, conninfo, mercado_interrupted, &err) != 0) {
    pg_close(&lc->c);
    if (err.cancelled && mercado_interrupted()) return mercado_raise_interrupt(L);
    lua_pushnil(L);
    lua_pushfstring(L, "pg: %s %s", err.sqlstate, err.message);
    lua_pushstring(L, err.sqlstate);
    return 3;
  }
  make_label(lc);
  return 1;
}

/* pg.redact(conninfo): the conninfo with its password masked, for logs and run records. */
static int pg_lua_redact(lua_State *L) {
  size_t len;
  const char *s = luaL_checklstring(L, 1, &len);
  luaL_Buffer b;
  char *out = luaL_buffinitsize(L, &b, len + 64);
  pg_redact(s, out, len + 64);
  luaL_pushresultsize(&b, strlen(out));
  return 1;
}

/* ---- query / exec ---- */

/* Pushes one value as its Lua type: integers, numbers, booleans, other types as text. */
static void push_value(lua_State *L, const PGresult *r, int row, int col) {
  const char *v = PQgetvalue(r, row, col);
  switch (PQftype(r, col)) {
    case OID_INT2: case OID_INT4: case OID_INT8:
      lua_pushinteger(L, (lua_Integer)strtoll(v, NULL, 10));
      break;
    case OID_FLOAT4: case OID_FLOAT8: case OID_NUMERIC:
      lua_pushnumber(L, (lua_Number)strtod(v, NULL));
      break;
    case OID_BOOL:
      lua_pushboolean(L, v[0] == 't');
      break;
    default:
      lua_pushlstring(L, v, (size_t)PQgetlength(r, row, col));
  }
}

/* Pushes the rows of r: an array of tables keyed by column name (NULL = absent), plus n and fields. */
static void push_rows(lua_State *L, const PGresult *r) {
  int nrows = PQntuples(r), nf = PQnfields(r);
  lua_createtable(L, nrows, 2);
  lua_createtable(L, nf, 0);
  for (int j = 0; j < nf; j++) {
    lua_pushstring(L, PQfname(r, j));
    lua_rawseti(L, -2, j + 1);
  }
  lua_setfield(L, -2, "fields");
  lua_pushinteger(L, nrows);
  lua_setfield(L, -2, "n");
  for (int i = 0; i < nrows; i++) {
    lua_createtable(L, 0, nf);
    for (int j = 0; j < nf; j++) {
      if (PQgetisnull(r, i, j)) continue;
      push_value(L, r, i, j);
      lua_setfield(L, -2, PQfname(r, j));
    }
    lua_rawseti(L, -2, i + 1); /* stack: ... rows */
  }
}

/* Runs the statement at 2 with parameters 3..top; leaves the result holder on the stack. */
static PGresult *run(lua_State *L, lconn *lc, int multi) {
  const char *sql = luaL_checkstring(L, 2);
  int n;
  const char **vals = check_params(L, 3, lua_gettop(L), &n);
  PGresult **r = new_result(L);
  pg_error err;
  *r = pg_exec(&lc->c, sql, n, vals, multi, mercado_interrupted, &err);
  if (!*r) raise_error(L, &err);
  return *r;
}

/* conn:query(sql, ...): rows of a statement with $1.. parameters; raises on SQL or connection errors. */
static int conn_query(lua_State *L) {
  lconn *lc = check_open(L);
  push_rows(L, run(L, lc, 0));
  return 1;
}

/* conn:exec(sql, ...): affected rows (0 for statements without a count); several statements when no parameters. */
static int conn_exec(lua_State *L) {
  lconn *lc = check_open(L);
  PGresult *r = run(L, lc, 1);
  lua_pushinteger(L, (lua_Integer)strtoll(PQcmdTuples(r), NULL, 10));
  return 1;
}

/* Runs a transaction-control statement; returns 0 or -1 with err. */
static int control(lconn *lc, const char *sql, pg_error *err) {
  PGresult *r = pg_exec(&lc->c, sql, 0, NULL, 1, NULL, err);
  if (!r) return -1;
  PQclear(r);
  return 0;
}

/* conn:transaction(fn, ...): runs fn(...) inside BEGIN/COMMIT (a savepoint when nested) and returns its results;
   on any error rolls back and re-raises the same error value. */
static int conn_transaction(lua_State *L) {
  lconn *lc = check_open(L);
  luaL_checktype(L, 2, LUA_TFUNCTION);
  int nested = PQtransactionStatus(lc->c.conn) != PQTRANS_IDLE;
  char begin[64], commit[64], rollback[96];
  int level = lc->depth + 1;
  if (nested) {
    snprintf(begin, sizeof begin, "SAVEPOINT mercado_sp_%d", level);
    snprintf(commit, sizeof commit, "RELEASE SAVEPOINT mercado_sp_%d", level);
    snprintf(rollback, sizeof rollback, "ROLLBACK TO SAVEPOINT mercado_sp_%d; RELEASE SAVEPOINT mercado_sp_%d",
             level, level);
  } else {
    snprintf(begin, sizeof begin, "BEGIN");
    snprintf(commit, sizeof commit, "COMMIT");
    snprintf(rollback, sizeof rollback, "ROLLBACK");
  }
  pg_error err;
  if (control(lc, begin, &err) != 0) return raise_error(L, &err);
  lc->depth = level;
  int status = host_pcall(L, lua_gettop(L) - 2, LUA_MULTRET); /* stack: conn results... | conn error */
  lc->depth = level - 1;
  if (status != LUA_OK) {
    if (lc->c.conn && PQstatus(lc->c.conn) == CONNECTION_OK) control(lc, rollback, &err);
    return lua_error(L);
  }
  if (pg_check(&lc->c, &err) != 0) return raise_error(L, &err);
  if (PQtransactionStatus(lc->c.conn) == PQTRANS_INERROR) {
    control(lc, rollback, &err);
    return raise_client(L, lc, "25P02",
                        "transaction function returned after a failed statement; the transaction was rolled back");
  }
  if (control(lc, commit, &err) != 0) {
    if (lc->c.conn && PQtransactionStatus(lc->c.conn) == PQTRANS_INERROR) control(lc, rollback, &err);
    return raise_error(L, &err);
  }
  return lua_gettop(L) - 1;
}

/* ---- copy_from ---- */

/* Adds name as a quoted identifier ("a""b"). */
static void add_ident(luaL_Buffer *b, const char *s, size_t n) {
  luaL_addchar(b, '"');
  for (size_t i = 0; i < n; i++) {
    if (s[i] == '"') luaL_addchar(b, '"');
    luaL_addchar(b, s[i]);
  }
  luaL_addchar(b, '"');
}

/* Adds s as an escape-string literal (E'...', quotes and backslashes doubled). */
static void add_literal(luaL_Buffer *b, const char *s) {
  luaL_addstring(b, "E'");
  for (; *s; s++) {
    if (*s == '\'' || *s == '\\') luaL_addchar(b, *s);
    luaL_addchar(b, *s);
  }
  luaL_addchar(b, '\'');
}

static const char *opt_string(lua_State *L, int opts, const char *name, const char *def) {
  if (opts == 0) return def;
  lua_getfield(L, opts, name);
  const char *s = def;
  if (!lua_isnil(L, -1)) {
    if (lua_type(L, -1) != LUA_TSTRING) luaL_error(L, "copy_from: opts.%s must be a string", name);
    s = lua_tostring(L, -1);
  }
  lua_pop(L, 1); /* the string stays referenced by opts */
  return s;
}

/* Pushes "COPY table(cols) FROM STDIN WITH (...)" from arguments 2 (table), 3 (columns or nil) and opts. */
static void push_copy_sql(lua_State *L, int opts) {
  size_t tlen;
  const char *table = luaL_checklstring(L, 2, &tlen);
  const char *format = opt_string(L, opts, "format", "text");
  const char *delim = opt_string(L, opts, "delimiter", NULL);
  const char *null = opt_string(L, opts, "null", NULL);
  if (strcmp(format, "text") != 0 && strcmp(format, "csv") != 0)
    luaL_error(L, "copy_from: opts.format must be \"text\" or \"csv\", not \"%s\"", format);
  if (delim && strlen(delim) != 1) luaL_error(L, "copy_from: opts.delimiter must be one character");
  int header = 0;
  if (opts) {
    lua_getfield(L, opts, "header");
    header = lua_toboolean(L, -1);
    lua_pop(L, 1);
  }
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  luaL_addstring(&b, "COPY ");
  const char *dot = memchr(table, '.', tlen);
  if (dot) {
    add_ident(&b, table, (size_t)(dot - table));
    luaL_addchar(&b, '.');
    add_ident(&b, dot + 1, tlen - (size_t)(dot - table) - 1);
  } else {
    add_ident(&b, table, tlen);
  }
  if (!lua_isnoneornil(L, 3)) {
    luaL_checktype(L, 3, LUA_TTABLE);
    lua_Integer n = luaL_len(L, 3);
    luaL_argcheck(L, n > 0, 3, "columns must be a non-empty array of names or nil");
    luaL_addchar(&b, '(');
    for (lua_Integer i = 1; i <= n; i++) {
      if (lua_geti(L, 3, i) != LUA_TSTRING) luaL_argerror(L, 3, "columns must be an array of strings");
      size_t len;
      const char *col = lua_tolstring(L, -1, &len);
      lua_pop(L, 1); /* still referenced by the columns table */
      if (i > 1) luaL_addstring(&b, ", ");
      add_ident(&b, col, len);
    }
    luaL_addchar(&b, ')');
  }
  luaL_addstring(&b, " FROM STDIN WITH (FORMAT ");
  luaL_addstring(&b, format);
  if (delim) {
    luaL_addstring(&b, ", DELIMITER ");
    add_literal(&b, delim);
  }
  if (null) {
    luaL_addstring(&b, ", NULL ");
    add_literal(&b, null);
  }
  if (header) luaL_addstring(&b, ", HEADER true");
  luaL_addchar(&b, ')');
  luaL_pushresult(&b);
}

/* Text of the error value on top, for the server's COPY abort message. */
static const char *error_text(lua_State *L) {
  if (lua_type(L, -1) == LUA_TTABLE) {
    lua_getfield(L, -1, "message");
    const char *s = lua_tostring(L, -1);
    lua_pop(L, 1); /* the string stays referenced by the error table */
    if (s) return s;
  }
  const char *s = lua_tostring(L, -1);
  return s ? s : "reader failed";
}

/* Streams the chunks returned by the function at fidx into the open COPY. Returns rows copied; raises on error. */
static lua_Integer copy_from_function(lua_State *L, lconn *lc, int fidx) {
  pg_error err;
  int64_t rows = 0;
  for (;;) {
    lua_pushvalue(L, fidx);
    if (host_pcall(L, 0, 1) != LUA_OK) { /* stack: ... error */
      pg_copy_in_end(&lc->c, error_text(L), NULL, &rows, &err);
      lua_error(L);
    }
    if (lua_isnil(L, -1)) break;
    if (lua_type(L, -1) != LUA_TSTRING) {
      pg_copy_in_end(&lc->c, "reader returned a non-string", NULL, &rows, &err);
      luaL_error(L, "copy_from: the reader must return strings (or nil at the end), not %s", luaL_typename(L, -1));
    }
    size_t len;
    const char *chunk = lua_tolstring(L, -1, &len);
    if (len > 0 && pg_copy_in_put(&lc->c, chunk, len, &err) != 0) break;
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
  if (pg_copy_in_end(&lc->c, NULL, mercado_interrupted, &rows, &err) != 0) raise_error(L, &err);
  return (lua_Integer)rows;
}

/* conn:copy_from(table, columns|nil, path|reader, [opts]): COPY FROM STDIN of a file (streamed in 1 MiB chunks)
   or of the strings a reader function returns until nil. opts: format ("text"|"csv"), delimiter, header, null.
   Returns the rows copied; on any failure the server aborts the COPY (nothing is stored) and it raises. */
static int conn_copy_from(lua_State *L) {
  lconn *lc = check_open(L);
  int st = lua_type(L, 4);
  luaL_argexpected(L, st == LUA_TSTRING || st == LUA_TFUNCTION, 4, "file path or reader function");
  int opts = 0;
  if (!lua_isnoneornil(L, 5)) {
    luaL_checktype(L, 5, LUA_TTABLE);
    opts = 5;
  }
  lua_settop(L, 5);
  push_copy_sql(L, opts);
  pg_error err;
  if (pg_copy_in_begin(&lc->c, lua_tostring(L, -1), mercado_interrupted, &err) != 0) return raise_error(L, &err);
  if (st == LUA_TFUNCTION) {
    lua_pushinteger(L, copy_from_function(L, lc, 4));
    return 1;
  }
  int64_t rows = 0;
  if (pg_copy_in_file(&lc->c, lua_tostring(L, 4), COPY_CHUNK, mercado_interrupted, &rows, &err) != 0)
    return raise_error(L, &err);
  lua_pushinteger(L, (lua_Integer)rows);
  return 1;
}

/* ---- copy_table ---- */

/* An asynchronous copy_table: a worker thread streams the encoder through the connection. The job userdata keeps
   the connection, the table, the column specs and the buffer alive (user values) and retains the columns. */
typedef struct copy_job {
  lconn *lc;
  pg_enc enc;
  char *buf;
  size_t cap;
  pthread_t thread;
  int running;
  int rc;
  int64_t rows;
  pg_error err;
} copy_job;

static void *copy_job_main(void *ud) {
  copy_job *j = ud;
  j->rc = pg_copy_in_encoded(&j->lc->c, &j->enc, j->buf, j->cap, mercado_interrupted, &j->rows, &j->err);
  return NULL;
}

/* Waits for the worker thread (if it still runs) and gives the connection back; idempotent. */
static void copy_job_join(copy_job *j) {
  if (!j->running) return;
  pthread_join(j->thread, NULL);
  j->running = 0;
  if (j->lc->job == j) j->lc->job = NULL;
  for (int i = 0; i < j->enc.ncols; i++)
    if (j->enc.cols[i].col) cs_column_release((cs_column *)j->enc.cols[i].col);
}

/* job:wait(): the rows copied; raises the COPY's error (nothing was stored then). */
static int job_wait(lua_State *L) {
  copy_job *j = luaL_checkudata(L, 1, JOB_MT);
  copy_job_join(j);
  if (j->rc != 0) return raise_error(L, &j->err);
  lua_pushinteger(L, (lua_Integer)j->rows);
  return 1;
}

static int job_gc(lua_State *L) {
  copy_job_join(luaL_checkudata(L, 1, JOB_MT));
  return 0;
}

static int job_tostring(lua_State *L) {
  copy_job *j = luaL_checkudata(L, 1, JOB_MT);
  lua_pushfstring(L, "mercado.PgCopyJob (%s)", j->running ? "running" : "finished");
  return 1;
}

/* Adds a possibly schema-qualified table name as quoted identifiers. */
static void add_table_name(luaL_Buffer *b, const char *name, size_t len) {
  const char *dot = memchr(name, '.', len);
  if (dot) {
    add_ident(b, name, (size_t)(dot - name));
    luaL_addchar(b, '.');
    add_ident(b, dot + 1, len - (size_t)(dot - name) - 1);
  } else {
    add_ident(b, name, len);
  }
}

/* Reads opts.columns (names, or {target, source} pairs; default: the table's columns) and opts.row_number into
   the arrays at tidx (target names) and sidx (source names). Returns the number of columns, row number included. */
static int copy_columns(lua_State *L, cs_table *t, int opts, int tidx, int sidx) {
  int n = 0;
  if (opts && lua_getfield(L, opts, "columns") != LUA_TNIL) {
    luaL_argcheck(L, lua_istable(L, -1), 4, "opts.columns must be an array of names or {target, source} pairs");
    lua_Integer len = luaL_len(L, -1);
    for (lua_Integer i = 1; i <= len; i++) {
      lua_geti(L, -1, i); /* stack: ... columns entry */
      if (lua_istable(L, -1)) {
        lua_geti(L, -1, 1);
        lua_geti(L, -2, 2);
      } else {
        lua_pushvalue(L, -1);
        lua_pushvalue(L, -1);
      }
      if (lua_type(L, -1) != LUA_TSTRING || lua_type(L, -2) != LUA_TSTRING)
        luaL_argerror(L, 4, "opts.columns must be an array of names or {target, source} pairs");
      lua_rawseti(L, sidx, n + 1);
      lua_rawseti(L, tidx, ++n);
      lua_pop(L, 1);
    }
  } else {
    for (int i = 0; i < t->ncols; i++) {
      lua_pushstring(L, t->names[i]);
      lua_pushvalue(L, -1);
      lua_rawseti(L, sidx, n + 1);
      lua_rawseti(L, tidx, ++n);
    }
  }
  lua_pop(L, opts ? 1 : 0);
  luaL_argcheck(L, n > 0, 4, "no columns to copy");
  if (opts && lua_getfield(L, opts, "row_number") != LUA_TNIL) {
    luaL_argcheck(L, lua_type(L, -1) == LUA_TSTRING, 4, "opts.row_number must be a column name");
    lua_rawseti(L, tidx, n + 1);
    return n + 1;
  }
  if (opts) lua_pop(L, 1);
  return n;
}

/* conn:copy_table(table, tbl, [opts]): COPY FROM STDIN (FORMAT binary) of a colstore table, encoded in C: the
   columns (opts.columns: names, or {target, source} pairs; default the table's) converted to the target columns'
   types, opts.row_number = a target column receiving opts.row_start (1), +1, ... ; opts.list_sep (" ") joins list
   items into text; opts.freeze adds FREEZE. Returns the rows copied, or with opts.async = true a job whose
   job:wait() returns them: a worker thread copies while Lua goes on (nothing else may use the connection until
   then). Any failure aborts the COPY (nothing stored) and raises. */
static int conn_copy_table(lua_State *L) {
  lconn *lc = check_open(L);
  size_t tlen;
  const char *table = luaL_checklstring(L, 2, &tlen);
  cs_table *t = cs_lua_checktable(L, 3);
  int opts = 0;
  if (!lua_isnoneornil(L, 4)) {
    luaL_checktype(L, 4, LUA_TTABLE);
    opts = 4;
  }
  lua_settop(L, 4);
  lua_newtable(L); /* 5: target names */
  lua_newtable(L); /* 6: source names */
  int ncols = copy_columns(L, t, opts, 5, 6);
  int has_rowno = (int)lua_rawlen(L, 6) < ncols;
  lua_Integer row0 = 1;
  char sep = ' ';
  int freeze = 0, async = 0;
  if (opts) {
    lua_getfield(L, opts, "row_start");
    row0 = luaL_optinteger(L, -1, 1);
    lua_getfield(L, opts, "list_sep");
    const char *s = luaL_optstring(L, -1, " ");
    luaL_argcheck(L, strlen(s) == 1, 4, "opts.list_sep must be one character");
    sep = s[0];
    lua_getfield(L, opts, "freeze");
    freeze = lua_toboolean(L, -1);
    lua_getfield(L, opts, "async");
    async = lua_toboolean(L, -1);
    lua_settop(L, 6);
  }
  pg_enc_col *cols = lua_newuserdatauv(L, sizeof(pg_enc_col) * (size_t)ncols, 0); /* 7 */
  for (int i = 0; i < ncols; i++) {
    cols[i].col = NULL;
    cols[i].list_sep = sep;
    if (has_rowno && i == ncols - 1) break;
    lua_rawgeti(L, 6, i + 1);
    const char *src = lua_tostring(L, -1);
    int k = cs_table_find(t, src);
    if (k < 0) return luaL_error(L, "copy_table: the table has no column '%s'", src);
    cols[i].col = t->cols[k];
    lua_pop(L, 1);
  }
  /* 8: the target column list; 9: SELECT to describe them; 10: the COPY statement */
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  for (int i = 1; i <= ncols; i++) {
    lua_rawgeti(L, 5, i);
    size_t len;
    const char *name = lua_tolstring(L, -1, &len);
    lua_pop(L, 1); /* the names table keeps it alive */
    if (i > 1) luaL_addstring(&b, ", ");
    add_ident(&b, name, len);
  }
  luaL_pushresult(&b);
  luaL_buffinit(L, &b);
  luaL_addstring(&b, "SELECT ");
  lua_pushvalue(L, 8);
  luaL_addvalue(&b);
  luaL_addstring(&b, " FROM ");
  add_table_name(&b, table, tlen);
  luaL_pushresult(&b);
  luaL_buffinit(L, &b);
  luaL_addstring(&b, "COPY ");
  add_table_name(&b, table, tlen);
  luaL_addstring(&b, " (");
  lua_pushvalue(L, 8);
  luaL_addvalue(&b);
  luaL_addstring(&b, freeze ? ") FROM STDIN (FORMAT binary, FREEZE)" : ") FROM STDIN (FORMAT binary)");
  luaL_pushresult(&b);
  pg_error err;
  PGresult **desc = new_result(L); /* 11 */
  *desc = pg_describe(&lc->c, lua_tostring(L, 9), mercado_interrupted, &err);
  if (!*desc) return raise_error(L, &err);
  for (int i = 0; i < ncols; i++) {
    char why[256];
    cols[i].type = PQftype(*desc, i);
    if (pg_enc_check(&cols[i], why, sizeof why) != 0)
      return luaL_error(L, "copy_table: column %s: %s", PQfname(*desc, i), why);
  }
  size_t cap = COPY_CHUNK;
  char *buf = lua_newuserdatauv(L, cap, 0); /* 12 */
  int64_t n = t->n < 0 ? 0 : t->n;
  if (!async) {
    pg_enc enc;
    pg_enc_init(&enc, cols, ncols, n, (int64_t)row0);
    if (pg_copy_in_begin(&lc->c, lua_tostring(L, 10), mercado_interrupted, &err) != 0) return raise_error(L, &err);
    int64_t rows = 0;
    if (pg_copy_in_encoded(&lc->c, &enc, buf, cap, mercado_interrupted, &rows, &err) != 0) return raise_error(L, &err);
    lua_pushinteger(L, (lua_Integer)rows);
    return 1;
  }
  copy_job *j = lua_newuserdatauv(L, sizeof *j, 4); /* 13 */
  memset(j, 0, sizeof *j);
  luaL_setmetatable(L, JOB_MT);
  int uv[4] = {1, 3, 7, 12}; /* conn, table, column specs, buffer */
  for (int i = 0; i < 4; i++) {
    lua_pushvalue(L, uv[i]);
    lua_setiuservalue(L, 13, i + 1);
  }
  j->lc = lc, j->buf = buf, j->cap = cap;
  pg_enc_init(&j->enc, cols, ncols, n, (int64_t)row0);
  if (pg_copy_in_begin(&lc->c, lua_tostring(L, 10), mercado_interrupted, &err) != 0) return raise_error(L, &err);
  for (int i = 0; i < ncols; i++)
    if (cols[i].col) cs_column_retain((cs_column *)cols[i].col);
  if (pthread_create(&j->thread, NULL, copy_job_main, j) != 0) {
    for (int i = 0; i < ncols; i++)
      if (cols[i].col) cs_column_release((cs_column *)cols[i].col);
    pg_copy_in_end(&lc->c, "cannot start a thread", NULL, &j->rows, &err);
    return luaL_error(L, "copy_table: cannot start a thread");
  }
  j->running = 1;
  lc->job = j;
  return 1;
}

/* ---- query_table ---- */

/* The list separator opts.list_columns gives column name (0: not a list). */
static char list_sep(lua_State *L, int opts, const char *name) {
  if (!opts) return 0;
  char sep = 0;
  if (lua_getfield(L, opts, "list_columns") == LUA_TTABLE) {
    int t = lua_getfield(L, -1, name);
    if (t != LUA_TNIL) {
      size_t len = 0;
      const char *s = t == LUA_TSTRING ? lua_tolstring(L, -1, &len) : NULL;
      if (!s || len != 1)
        luaL_error(L, "query_table: list_columns.%s must be a one-character separator", name);
      sep = s[0];
    }
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
  return sep;
}

/* Whether opts.allow_null (true, or a set/array of column names) allows NULLs in column name. */
static int allow_null(lua_State *L, int opts, const char *name) {
  if (!opts) return 0;
  int ok = 0;
  int t = lua_getfield(L, opts, "allow_null");
  if (t == LUA_TBOOLEAN) {
    ok = lua_toboolean(L, -1);
  } else if (t == LUA_TTABLE) {
    lua_getfield(L, -1, name); /* set form: {name = true} */
    ok = lua_toboolean(L, -1);
    lua_pop(L, 1);
    lua_Integer len = luaL_len(L, -1); /* array form: {"a", "b"} */
    for (lua_Integer i = 1; !ok && i <= len; i++) {
      lua_geti(L, -1, i);
      ok = lua_type(L, -1) == LUA_TSTRING && strcmp(lua_tostring(L, -1), name) == 0;
      lua_pop(L, 1);
    }
  } else if (t != LUA_TNIL) {
    luaL_error(L, "query_table: opts.allow_null must be a boolean or a list of column names");
  }
  lua_pop(L, 1);
  return ok;
}

/* Raises if opts.list_columns is not a table or names a column the result lacks. */
static void check_list_names(lua_State *L, int opts, const PGresult *desc) {
  if (!opts) return;
  int t = lua_getfield(L, opts, "list_columns");
  if (t != LUA_TTABLE) {
    if (t != LUA_TNIL) luaL_error(L, "query_table: opts.list_columns must be a table {column = separator}");
    lua_pop(L, 1);
    return;
  }
  lua_pushnil(L);
  while (lua_next(L, -2)) {
    lua_pop(L, 1); /* stack: ... list_columns key */
    const char *k = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
    int found = 0;
    for (int i = 0; k && !found && i < PQnfields(desc); i++) found = strcmp(PQfname(desc, i), k) == 0;
    if (!found)
      luaL_error(L, "query_table: list_columns names %s, which is not a column of the result",
                 k ? k : luaL_typename(L, -1));
  }
  lua_pop(L, 1);
}

/* Pushes "COPY (\n<sql>\n) TO STDOUT (FORMAT binary)" without the statement's trailing semicolons. */
static void push_copy_out_sql(lua_State *L, const char *sql) {
  size_t n = strlen(sql);
  while (n > 0 && (sql[n - 1] == ';' || sql[n - 1] == ' ' || sql[n - 1] == '\n' || sql[n - 1] == '\t' ||
                   sql[n - 1] == '\r'))
    n--;
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  luaL_addstring(&b, "COPY (\n");
  luaL_addlstring(&b, sql, n);
  luaL_addstring(&b, "\n) TO STDOUT (FORMAT binary)");
  luaL_pushresult(&b);
}

/* Declares the builder's columns from the statement description. */
static void declare_columns(lua_State *L, pg_tb *tb, const PGresult *desc, int opts) {
  int nf = PQnfields(desc);
  for (int i = 0; i < nf; i++) {
    const char *name = PQfname(desc, i);
    for (int j = 0; j < i; j++)
      if (strcmp(PQfname(desc, j), name) == 0)
        luaL_error(L, "query_table: two result columns are named %s (give them distinct aliases)", name);
    if (pg_tb_column(tb, i, name, PQftype(desc, i), list_sep(L, opts, name), allow_null(L, opts, name)) != 0)
      luaL_error(L, "query_table: %s", pg_tb_error(tb));
  }
}

/* Pushes the colstore table and the info table {rows, nulls = {column = count}}. */
static void push_table(lua_State *L, pg_tb *tb, int ncols) {
  cs_lua_newtable(L, ncols);
  int t = lua_gettop(L);
  lua_createtable(L, 0, 2);
  lua_pushinteger(L, (lua_Integer)pg_tb_rows(tb));
  lua_setfield(L, -2, "rows");
  lua_newtable(L);
  for (int i = 0; i < ncols; i++) {
    if (pg_tb_nulls(tb, i) == 0) continue;
    lua_pushinteger(L, (lua_Integer)pg_tb_nulls(tb, i));
    lua_setfield(L, -2, pg_tb_name(tb, i));
  }
  lua_setfield(L, -2, "nulls"); /* stack: ... table info */
  for (int i = 0; i < ncols; i++) {
    cs_lua_pushcolumn(L, pg_tb_take(tb, i));
    cs_lua_table_add(L, t, pg_tb_name(tb, i), lua_gettop(L));
    lua_pop(L, 1);
  }
}

/* conn:query_table(sql, ..., [opts]): the result as a colstore table, built in C from binary values (COPY TO
   STDOUT without parameters, single-row mode with them). A trailing table argument is opts: list_columns =
   {name = sep} (text of integers -> list<int32>), allow_null = true | {names} (NULL -> 0, "" or empty list).
   Returns table, {rows = n, nulls = {column = count}}. Raises on unsupported types, NULLs and bad list items. */
static int conn_query_table(lua_State *L) {
  lconn *lc = check_open(L);
  const char *sql = luaL_checkstring(L, 2);
  int top = lua_gettop(L), opts = 0;
  if (top >= 3 && lua_type(L, top) == LUA_TTABLE) opts = top--;
  int n;
  const char **vals = check_params(L, 3, top, &n);
  pg_error err;
  PGresult **desc = new_result(L);
  *desc = pg_describe(&lc->c, sql, mercado_interrupted, &err);
  if (!*desc) return raise_error(L, &err);
  int nf = PQnfields(*desc);
  if (nf == 0) return luaL_error(L, "query_table: the statement returns no columns");
  if (PQnparams(*desc) != n)
    return luaL_error(L, "query_table: the statement has %d parameters, %d given", PQnparams(*desc), n);
  check_list_names(L, opts, *desc);
  pg_tb **tbh = lua_newuserdatauv(L, sizeof *tbh, 0);
  *tbh = NULL;
  luaL_setmetatable(L, BUILDER_MT);
  if ((*tbh = pg_tb_new(nf)) == NULL) return luaL_error(L, "query_table: not enough memory");
  declare_columns(L, *tbh, *desc, opts);
  int rc;
  if (n == 0) {
    push_copy_out_sql(L, sql);
    rc = pg_copy_out(&lc->c, lua_tostring(L, -1), pg_tb_copy_data, *tbh, mercado_interrupted, &err);
    if (rc == 0 && !pg_tb_complete(*tbh)) return luaL_error(L, "query_table: the COPY stream ended early");
  } else {
    rc = pg_query_rows(&lc->c, n, vals, pg_tb_result_row, *tbh, mercado_interrupted, &err);
  }
  if (rc == -2) return luaL_error(L, "query_table: %s", pg_tb_error(*tbh));
  if (rc != 0) return raise_error(L, &err);
  push_table(L, *tbh, nf);
  return 2;
}

/* ---- lifetime ---- */

/* conn:close(): closes the connection (after an asynchronous copy still running); idempotent (also __gc and
   __close). */
static int conn_close(lua_State *L) {
  lconn *lc = check_conn(L);
  if (lc->job) copy_job_join(lc->job);
  pg_close(&lc->c);
  return 0;
}

/* conn:is_open(): whether the connection is open and usable (false after close or a lost connection). */
static int conn_is_open(lua_State *L) {
  lconn *lc = check_conn(L);
  lua_pushboolean(L, lc->c.conn != NULL && PQstatus(lc->c.conn) == CONNECTION_OK);
  return 1;
}

static int conn_tostring(lua_State *L) {
  lconn *lc = check_conn(L);
  lua_pushfstring(L, "mercado.PgConn (%s)", lc->c.conn ? lc->label : "closed");
  return 1;
}

static const luaL_Reg conn_methods[] = {
  {"query", conn_query},
  {"exec", conn_exec},
  {"transaction", conn_transaction},
  {"copy_from", conn_copy_from},
  {"copy_table", conn_copy_table},
  {"query_table", conn_query_table},
  {"is_open", conn_is_open},
  {"close", conn_close},
  {NULL, NULL}
};

static const luaL_Reg conn_meta[] = {
  {"__gc", conn_close},
  {"__close", conn_close},
  {"__tostring", conn_tostring},
  {"__index", NULL},
  {NULL, NULL}
};

static const luaL_Reg job_methods[] = {
  {"wait", job_wait},
  {NULL, NULL}
};

static const luaL_Reg job_meta[] = {
  {"__gc", job_gc},
  {"__close", job_gc},
  {"__tostring", job_tostring},
  {"__index", NULL},
  {NULL, NULL}
};

static const luaL_Reg pg_funcs[] = {
  {"connect", pg_lua_connect},
  {"redact", pg_lua_redact},
  {NULL, NULL}
};

int luaopen_mercado_pg(lua_State *L) {
  luaL_requiref(L, "mercado.colstore", luaopen_mercado_colstore, 0); /* query_table's results need its metatables */
  lua_pop(L, 1);
  luaL_newmetatable(L, CONN_MT);
  luaL_setfuncs(L, conn_meta, 0);
  luaL_newlibtable(L, conn_methods);
  luaL_setfuncs(L, conn_methods, 0);
  lua_setfield(L, -2, "__index");
  lua_pop(L, 1);
  luaL_newmetatable(L, RESULT_MT);
  lua_pushcfunction(L, result_gc);
  lua_setfield(L, -2, "__gc");
  lua_pop(L, 1);
  luaL_newmetatable(L, JOB_MT);
  luaL_setfuncs(L, job_meta, 0);
  luaL_newlibtable(L, job_methods);
  luaL_setfuncs(L, job_methods, 0);
  lua_setfield(L, -2, "__index");
  lua_pop(L, 1);
  luaL_newmetatable(L, BUILDER_MT);
  lua_pushcfunction(L, builder_gc);
  lua_setfield(L, -2, "__gc");
  lua_pop(L, 1);
  luaL_newlib(L, pg_funcs);
  return 1;
}
