/*
** json_lua.c: mercado.json, the JSON writer and reader flows use for every output file.
**   json.encode(v [, {indent = 2}])  Python-compatible text: shortest round-trip floats, integers without ".0",
**                                    literal UTF-8, no trailing newline. Objects keep the key order of their shape.
**   json.write(path, v [, {indent = 2, sync = false}])  the same text written to path atomically (temp file,
**                                    fsync unless sync = false, rename), with no Lua string in between;
**                                    true, or nil and "cannot ... PATH: reason".
**   json.shape{"k1", "k2", ...}      a constructor for records with fixed key order; a nil field encodes as null.
**   json.object([t]), json.array([t]) mark a table's kind (an empty table is an array by default).
**   json.null                       the null value (the same light userdata as cjson.null).
**   json.decode(text)               numbers without '.'/'e' decode as Lua integers, others as floats.
** A colstore table (mercado.Table) encodes as an array of row objects, written natively.
*/
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lauxlib.h"
#include "lua.h"

#include "buf.h"
#include "colstore.h"
#include "colstore_lua.h"
#include "fsutil.h"
#include "json.h"
#include "mercado_runtime.h"

#define JSON_OBJECT_MT "mercado.json.object"
#define JSON_ARRAY_MT "mercado.json.array"
#define JSON_MAX_DEPTH 200

typedef struct encoder {
  lua_State *L;
  mc_buf buf;
  int indent; /* 0: compact */
  int depth;
} encoder;

static void enc_value(encoder *e, int idx);

static void enc_newline(encoder *e) {
  if (!e->indent) return;
  buf_addc(&e->buf, '\n');
  for (int i = 0; i < e->depth * e->indent; i++) buf_addc(&e->buf, ' ');
}

/* Raises a Lua error after releasing the buffer (no malloc'd memory may outlive a longjmp). */
static int enc_error(encoder *e, const char *fmt, const char *what) {
  buf_free(&e->buf);
  return luaL_error(e->L, fmt, what);
}

static void enc_number(encoder *e, int idx) {
  lua_State *L = e->L;
  if (lua_isinteger(L, idx)) {
    json_add_int(&e->buf, (int64_t)lua_tointeger(L, idx));
    return;
  }
  char tmp[JSON_DOUBLE_MAX];
  int n = json_format_double(lua_tonumber(L, idx), tmp);
  if (n < 0) enc_error(e, "json.encode: cannot encode %s (not a finite number)", lua_tostring(L, idx));
  buf_add(&e->buf, tmp, (size_t)n);
}

static void enc_key(encoder *e, const char *k, size_t len) {
  json_add_string(&e->buf, k, len);
  buf_add(&e->buf, e->indent ? ": " : ":", e->indent ? 2 : 1);
}

/* Sorts the string keys of the table at idx (those not listed in the order table) into a new array on the stack. */
static int collect_extra_keys(encoder *e, int idx, int order) {
  lua_State *L = e->L;
  lua_newtable(L);
  int keys = lua_gettop(L), n = 0;
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    lua_pop(L, 1);
    if (lua_type(L, -1) == LUA_TNUMBER) {
      lua_pushvalue(L, -1);
      lua_tolstring(L, -1, NULL); /* numeric keys are written as strings, like Python's str(key) */
    } else if (lua_type(L, -1) == LUA_TSTRING) {
      lua_pushvalue(L, -1);
    } else {
      enc_error(e, "json.encode: table key of type %s", luaL_typename(L, -1));
    }
    int listed = 0;
    if (order) {
      lua_pushvalue(L, -1);
      lua_rawget(L, order); /* order maps key -> position too */
      listed = !lua_isnil(L, -1);
      lua_pop(L, 1);
    }
    if (listed) lua_pop(L, 1);
    else lua_rawseti(L, keys, ++n);
  }
  if (n > 1) {
    lua_getglobal(L, "table");
    lua_getfield(L, -1, "sort");
    lua_pushvalue(L, keys);
    lua_call(L, 1, 0); /* keys are all strings: plain byte order */
    lua_pop(L, 1);
  }
  return n;
}

static void enc_field(encoder *e, int idx, int *first) {
  /* stack: key(string) */
  lua_State *L = e->L;
  if (!*first) buf_addc(&e->buf, ',');
  *first = 0;
  enc_newline(e);
  size_t klen;
  const char *k = lua_tolstring(L, -1, &klen);
  enc_key(e, k, klen);
  lua_pushvalue(L, -1);
  if (lua_rawget(L, idx) == LUA_TNIL) { /* maybe stored under an integer key */
    lua_pop(L, 1);
    lua_Integer ik;
    char *end;
    errno = 0;
    ik = strtoll(k, &end, 10);
    if (*end == '\0' && errno == 0) lua_rawgeti(L, idx, ik);
    else lua_pushnil(L);
  }
  enc_value(e, lua_gettop(L));
  lua_pop(L, 1);
}

static void enc_object(encoder *e, int idx, int order) {
  lua_State *L = e->L;
  int first = 1;
  buf_addc(&e->buf, '{');
  e->depth++;
  if (order) {
    lua_Integer n = luaL_len(L, order);
    for (lua_Integer i = 1; i <= n; i++) {
      lua_rawgeti(L, order, i);
      enc_field(e, idx, &first);
      lua_pop(L, 1);
    }
  }
  int n = collect_extra_keys(e, idx, order);
  for (int i = 1; i <= n; i++) {
    lua_rawgeti(L, -1, i);
    enc_field(e, idx, &first);
    lua_pop(L, 1);
  }
  lua_pop(L, 1); /* extra keys */
  e->depth--;
  if (!first) enc_newline(e);
  buf_addc(&e->buf, '}');
}

static void enc_array(encoder *e, int idx) {
  lua_State *L = e->L;
  lua_Integer n = luaL_len(L, idx);
  buf_addc(&e->buf, '[');
  e->depth++;
  for (lua_Integer i = 1; i <= n; i++) {
    if (i > 1) buf_addc(&e->buf, ',');
    enc_newline(e);
    lua_rawgeti(L, idx, i);
    enc_value(e, lua_gettop(L));
    lua_pop(L, 1);
  }
  e->depth--;
  if (n > 0) enc_newline(e);
  buf_addc(&e->buf, ']');
}

/* Decides whether a plain table is an array: marked as one, or a non-empty sequence with no other keys,
   or empty and not marked as an object. */
static int is_array(lua_State *L, int idx, int *order) {
  *order = 0;
  if (lua_getmetatable(L, idx)) {
    int kind = 0;
    lua_getfield(L, -1, "__jsonorder");
    if (lua_istable(L, -1)) {
      lua_remove(L, -2); /* keep only the order table */
      *order = lua_gettop(L);
      return 0;
    }
    lua_pop(L, 1);
    luaL_getmetatable(L, JSON_OBJECT_MT);
    if (lua_rawequal(L, -1, -2)) kind = 2;
    lua_pop(L, 1);
    luaL_getmetatable(L, JSON_ARRAY_MT);
    if (lua_rawequal(L, -1, -2)) kind = 1;
    lua_pop(L, 2);
    if (kind) return kind == 1;
  }
  lua_Integer len = (lua_Integer)lua_rawlen(L, idx);
  lua_pushnil(L);
  if (!lua_next(L, idx)) return 1; /* empty */
  lua_pop(L, 2);
  lua_Integer count = 0;
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    lua_pop(L, 1);
    count++;
    if (!lua_isinteger(L, -1) || lua_tointeger(L, -1) < 1 || lua_tointeger(L, -1) > len) {
      lua_pop(L, 1);
      return 0;
    }
  }
  return count == len;
}

static void enc_value(encoder *e, int idx) {
  lua_State *L = e->L;
  switch (lua_type(L, idx)) {
    case LUA_TNIL: buf_add(&e->buf, "null", 4); break;
    case LUA_TBOOLEAN:
      if (lua_toboolean(L, idx)) buf_add(&e->buf, "true", 4);
      else buf_add(&e->buf, "false", 5);
      break;
    case LUA_TNUMBER: enc_number(e, idx); break;
    case LUA_TSTRING: {
      size_t len;
      const char *s = lua_tolstring(L, idx, &len);
      json_add_string(&e->buf, s, len);
      break;
    }
    case LUA_TLIGHTUSERDATA:
      if (lua_touserdata(L, idx) == NULL) buf_add(&e->buf, "null", 4);
      else enc_error(e, "json.encode: cannot encode %s", "a light userdata");
      break;
    case LUA_TTABLE: {
      if (e->depth >= JSON_MAX_DEPTH) enc_error(e, "json.encode: %s (a cycle?)", "nesting too deep");
      int order;
      luaL_checkstack(L, 8, "json.encode");
      if (is_array(L, idx, &order)) enc_array(e, idx);
      else {
        enc_object(e, idx, order);
        if (order) lua_pop(L, 1);
      }
      break;
    }
    case LUA_TUSERDATA: {
      cs_table *t = cs_lua_totable(L, idx);
      if (t) {
        cs_table_write_json_rows(t, &e->buf, e->indent, e->depth);
        break;
      }
    }
    /* FALLTHROUGH */
    default: enc_error(e, "json.encode: cannot encode a value of type %s", luaL_typename(L, idx));
  }
}

/* Encodes the value at index v (options at index o, if a table) into e->buf; raises on NaN, infinities,
   functions, cycles and lack of memory. Leaves the value on top of the stack. */
static void encode_arg(encoder *e, int v, int o, const char *fn) {
  lua_State *L = e->L;
  luaL_checkany(L, v);
  if (lua_istable(L, o)) {
    lua_getfield(L, o, "indent");
    e->indent = (int)luaL_optinteger(L, -1, 0);
    lua_pop(L, 1);
  }
  lua_pushvalue(L, v);
  buf_init(&e->buf);
  enc_value(e, lua_gettop(L));
  if (!buf_ok(&e->buf)) {
    buf_free(&e->buf);
    luaL_error(L, "%s: out of memory", fn);
  }
}

/* json.encode(value [, opts]) -> string. */
static int json_encode(lua_State *L) {
  encoder e = {L, {0}, 0, 0};
  encode_arg(&e, 1, 2, "json.encode");
  lua_pushlstring(L, e.buf.data ? e.buf.data : "", e.buf.len);
  buf_free(&e.buf);
  return 1;
}

/* json.write(path, value [, opts]) -> true | nil, err. A big output skips the copy into a Lua string, and with
   it as much fresh memory as the file is long. */
static int json_write(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  encoder e = {L, {0}, 0, 0};
  int sync = 1;
  if (lua_istable(L, 3)) {
    lua_getfield(L, 3, "sync");
    sync = lua_isnil(L, -1) || lua_toboolean(L, -1);
    lua_pop(L, 1);
  }
  encode_arg(&e, 2, 3, "json.write");
  char err[512];
  int rc = fs_write_atomic(path, e.buf.data ? e.buf.data : "", e.buf.len, sync, err, sizeof err);
  buf_free(&e.buf);
  if (rc != 0) {
    lua_pushnil(L);
    lua_pushstring(L, err);
    return 2;
  }
  lua_pushboolean(L, 1);
  return 1;
}

/* ---- decoding ---- */

typedef struct decoder {
  lua_State *L;
  const char *s, *p, *end;
  int depth;
} decoder;

static int dec_error(decoder *d, const char *what) {
  return luaL_error(d->L, "json.decode: %s at character %d", what, (int)(d->p - d->s) + 1);
}

static void dec_skip_ws(decoder *d) {
  while (d->p < d->end && (*d->p == ' ' || *d->p == '\t' || *d->p == '\n' || *d->p == '\r')) d->p++;
}

static void dec_value(decoder *d);

static unsigned dec_hex4(decoder *d) {
  unsigned v = 0;
  for (int i = 0; i < 4; i++) {
    char c = d->p < d->end ? *d->p++ : 0;
    v <<= 4;
    if (c >= '0' && c <= '9') v |= (unsigned)(c - '0');
    else if (c >= 'a' && c <= 'f') v |= (unsigned)(c - 'a' + 10);
    else if (c >= 'A' && c <= 'F') v |= (unsigned)(c - 'A' + 10);
    else dec_error(d, "bad \\u escape");
  }
  return v;
}

static void add_utf8(luaL_Buffer *b, unsigned cp) {
  char u[4];
  int n;
  if (cp < 0x80) u[0] = (char)cp, n = 1;
  else if (cp < 0x800) u[0] = (char)(0xC0 | (cp >> 6)), u[1] = (char)(0x80 | (cp & 0x3F)), n = 2;
  else if (cp < 0x10000)
    u[0] = (char)(0xE0 | (cp >> 12)), u[1] = (char)(0x80 | ((cp >> 6) & 0x3F)), u[2] = (char)(0x80 | (cp & 0x3F)), n = 3;
  else
    u[0] = (char)(0xF0 | (cp >> 18)), u[1] = (char)(0x80 | ((cp >> 12) & 0x3F)),
    u[2] = (char)(0x80 | ((cp >> 6) & 0x3F)), u[3] = (char)(0x80 | (cp & 0x3F)), n = 4;
  luaL_addlstring(b, u, (size_t)n);
}

static void dec_string(decoder *d) {
  luaL_Buffer b;
  d->p++; /* opening quote */
  luaL_buffinit(d->L, &b);
  for (;;) {
    if (d->p >= d->end) dec_error(d, "unterminated string");
    char c = *d->p++;
    if (c == '"') break;
    if ((unsigned char)c < 0x20) dec_error(d, "control character in string");
    if (c != '\\') {
      luaL_addchar(&b, c);
      continue;
    }
    c = d->p < d->end ? *d->p++ : 0;
    switch (c) {
      case '"': case '\\': case '/': luaL_addchar(&b, c); break;
      case 'b': luaL_addchar(&b, '\b'); break;
      case 'f': luaL_addchar(&b, '\f'); break;
      case 'n': luaL_addchar(&b, '\n'); break;
      case 'r': luaL_addchar(&b, '\r'); break;
      case 't': luaL_addchar(&b, '\t'); break;
      case 'u': {
        unsigned cp = dec_hex4(d);
        if (cp >= 0xD800 && cp <= 0xDBFF && d->end - d->p >= 6 && d->p[0] == '\\' && d->p[1] == 'u') {
          d->p += 2;
          unsigned lo = dec_hex4(d);
          if (lo >= 0xDC00 && lo <= 0xDFFF) cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          else cp = 0xFFFD;
        } else if (cp >= 0xD800 && cp <= 0xDFFF) {
          cp = 0xFFFD;
        }
        add_utf8(&b, cp);
        break;
      }
      default: dec_error(d, "bad escape");
    }
  }
  luaL_pushresult(&b);
}

static void dec_number(decoder *d) {
  const char *start = d->p;
  int is_float = 0;
  if (d->p < d->end && *d->p == '-') d->p++;
  if (d->p >= d->end || !(*d->p >= '0' && *d->p <= '9')) dec_error(d, "bad number");
  while (d->p < d->end && ((*d->p >= '0' && *d->p <= '9') || *d->p == '.' || *d->p == 'e' || *d->p == 'E' ||
                           *d->p == '+' || *d->p == '-')) {
    if (*d->p == '.' || *d->p == 'e' || *d->p == 'E') is_float = 1;
    d->p++;
  }
  char tmp[64];
  size_t len = (size_t)(d->p - start);
  if (len >= sizeof tmp) dec_error(d, "number too long");
  memcpy(tmp, start, len);
  tmp[len] = '\0';
  char *endp;
  errno = 0;
  if (!is_float) {
    long long v = strtoll(tmp, &endp, 10);
    if (*endp == '\0' && errno == 0) {
      lua_pushinteger(d->L, (lua_Integer)v);
      return;
    }
  }
  double v = strtod(tmp, &endp);
  if (*endp != '\0') dec_error(d, "bad number");
  lua_pushnumber(d->L, v);
}

static void dec_literal(decoder *d, const char *word, int kind) {
  size_t n = strlen(word);
  if ((size_t)(d->end - d->p) < n || memcmp(d->p, word, n) != 0) dec_error(d, "unexpected character");
  d->p += n;
  if (kind == 0) lua_pushlightuserdata(d->L, NULL);
  else lua_pushboolean(d->L, kind == 1);
}

static void dec_container(decoder *d, char close) {
  lua_State *L = d->L;
  if (++d->depth > JSON_MAX_DEPTH) dec_error(d, "nesting too deep");
  luaL_checkstack(L, 6, "json.decode");
  lua_newtable(L);
  luaL_setmetatable(L, close == ']' ? JSON_ARRAY_MT : JSON_OBJECT_MT);
  d->p++;
  dec_skip_ws(d);
  lua_Integer i = 0;
  if (d->p < d->end && *d->p == close) {
    d->p++;
    d->depth--;
    return;
  }
  for (;;) {
    dec_skip_ws(d);
    if (close == '}') {
      if (d->p >= d->end || *d->p != '"') dec_error(d, "expected a key");
      dec_string(d);
      dec_skip_ws(d);
      if (d->p >= d->end || *d->p != ':') dec_error(d, "expected ':'");
      d->p++;
      dec_value(d);
      lua_rawset(L, -3); /* stack: obj */
    } else {
      dec_value(d);
      lua_rawseti(L, -2, ++i); /* stack: arr */
    }
    dec_skip_ws(d);
    if (d->p < d->end && *d->p == ',') {
      d->p++;
      continue;
    }
    if (d->p < d->end && *d->p == close) {
      d->p++;
      break;
    }
    dec_error(d, close == ']' ? "expected ',' or ']'" : "expected ',' or '}'");
  }
  d->depth--;
}

static void dec_value(decoder *d) {
  dec_skip_ws(d);
  if (d->p >= d->end) dec_error(d, "unexpected end of input");
  switch (*d->p) {
    case '{': dec_container(d, '}'); break;
    case '[': dec_container(d, ']'); break;
    case '"': dec_string(d); break;
    case 't': dec_literal(d, "true", 1); break;
    case 'f': dec_literal(d, "false", 2); break;
    case 'n': dec_literal(d, "null", 0); break;
    default: dec_number(d);
  }
}

/* json.decode(text) -> value. Raises "json.decode: <what> at character N" on malformed text. */
static int json_decode(lua_State *L) {
  size_t len;
  const char *s = luaL_checklstring(L, 1, &len);
  decoder d = {L, s, s, s + len, 0};
  if (len >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0) d.p += 3;
  dec_value(&d);
  dec_skip_ws(&d);
  if (d.p != d.end) dec_error(&d, "trailing characters");
  return 1;
}

/* ---- constructors ---- */

static int json_mark(lua_State *L, const char *mt) {
  if (lua_isnoneornil(L, 1)) {
    lua_settop(L, 0);
    lua_newtable(L);
  }
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_settop(L, 1);
  luaL_setmetatable(L, mt);
  return 1;
}
static int json_object(lua_State *L) { return json_mark(L, JSON_OBJECT_MT); }
static int json_array(lua_State *L) { return json_mark(L, JSON_ARRAY_MT); }

/* A shape's constructor: sets the shape's metatable on the given table (or a new one). */
static int shape_call(lua_State *L) {
  /* stack: shape(mt) t */
  if (lua_isnoneornil(L, 2)) {
    lua_settop(L, 1);
    lua_newtable(L);
  }
  luaL_checktype(L, 2, LUA_TTABLE);
  lua_settop(L, 2);
  lua_pushvalue(L, 1);
  lua_setmetatable(L, 2);
  return 1;
}

/* json.shape{"k1", "k2", ...} -> constructor whose records encode their keys in that order. */
static int json_shape(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_Integer n = luaL_len(L, 1);
  lua_newtable(L); /* the shape doubles as the records' metatable */
  lua_newtable(L); /* order: array of keys, plus key -> position */
  for (lua_Integer i = 1; i <= n; i++) {
    lua_rawgeti(L, 1, i);
    if (lua_type(L, -1) != LUA_TSTRING) return luaL_error(L, "json.shape: key %d is not a string", (int)i);
    lua_pushvalue(L, -1);
    lua_rawseti(L, -3, i);
    lua_pushinteger(L, i);
    lua_rawset(L, -3);
  }
  lua_setfield(L, -2, "__jsonorder");
  lua_newtable(L); /* the shape's own metatable makes it callable */
  lua_pushcfunction(L, shape_call);
  lua_setfield(L, -2, "__call");
  lua_setmetatable(L, -2);
  return 1;
}

static const luaL_Reg json_funcs[] = {
  {"encode", json_encode}, {"write", json_write}, {"decode", json_decode}, {"object", json_object},
  {"array", json_array},   {"shape", json_shape},   {NULL, NULL},
};

int luaopen_mercado_json(lua_State *L) {
  luaL_newmetatable(L, JSON_OBJECT_MT);
  lua_pop(L, 1);
  luaL_newmetatable(L, JSON_ARRAY_MT);
  lua_pop(L, 1);
  luaL_newlib(L, json_funcs);
  lua_pushlightuserdata(L, NULL);
  lua_setfield(L, -2, "null");
  return 1;
}
