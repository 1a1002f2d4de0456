/*
** pg.h: mercado.pg's core: libpq connections with interruptible waits, error reports scrubbed of passwords,
** COPY streaming in both directions, and colstore columns built straight from binary query results.
** Plain C over libpq; no Lua here (the binding lives in pg_lua.c).
*/
#ifndef MERCADO_PG_H
#define MERCADO_PG_H

#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "colstore.h"

/* Polled while waiting on the server: nonzero asks to stop (NULL = never). */
typedef int (*pg_cancel_fn)(void);

/* Why an operation failed. Every text in it has been scrubbed of the connection's passwords. */
typedef struct pg_error {
  char sqlstate[6];     /* the server's SQLSTATE, a client-side one (08xxx, 57014, 22xxx) or "" */
  int connection_lost;  /* the connection is unusable now */
  int cancelled;        /* stopped because the cancel callback asked */
  char message[2048];   /* primary message, without severity or trailing newline */
  char detail[1024];
  char hint[512];
  char context[1024];
} pg_error;

enum { PG_MAX_SECRETS = 4 };

/* A connection and the passwords that must never appear in a message. */
typedef struct pg_conn {
  PGconn *conn;
  char *secrets[PG_MAX_SECRETS];
  int nsecrets;
} pg_conn;

/* ---- scrubbing (pg_scrub.c) ---- */

/* Rewrites s (a NUL-terminated string in a buffer of size bytes) with every "password=<value>" (any case, quoted
   or not), every URI "scheme://user:<password>@" and every occurrence of a secret of 3 or more bytes replaced by
   "***". Truncates rather than overflows; never fails (without memory it blanks the whole text). */
void pg_scrub(char *s, size_t size, const char *const *secrets, int nsecrets);
/* Copies the password written in conninfo as it stands there (a keyword value without its quotes, or a URI's
   still percent-encoded one) into out; "" if none. Finds it even where libpq cannot parse the conninfo. */
void pg_raw_password(const char *conninfo, char *out, size_t size);
/* Writes conninfo without its password (keyword or URI form) into out; safe to log. */
void pg_redact(const char *conninfo, char *out, size_t size);

/* ---- connections and commands (pg.c) ---- */

/* Opens a connection (conninfo in keyword or URI form; libpq's PG* environment fills what it omits; "" uses only
   the environment). Sets client_encoding UTF8, DateStyle ISO and extra_float_digits 3. Returns 0, or -1 with err
   filled (SQLSTATE 08001, or 57014 when cancelled) and c->conn NULL. Always pair with pg_close. */
int pg_connect(pg_conn *c, const char *conninfo, pg_cancel_fn cancelled, pg_error *err);
/* Closes the connection and wipes the secrets; idempotent. */
void pg_close(pg_conn *c);
/* 0 when the connection is open and usable, else -1 with err (08003 closed, 08006 lost). */
int pg_check(pg_conn *c, pg_error *err);
/* Fills err from a failed result (or from the connection's message when r is NULL). */
void pg_error_set(pg_conn *c, const PGresult *r, pg_error *err);

/* Runs sql (with nparams text parameters, NULL values are SQL NULL; several statements allowed when nparams is
   0 and multi is set) and returns the last result (PGRES_COMMAND_OK or PGRES_TUPLES_OK, text format) for the
   caller to PQclear, or NULL with err. */
PGresult *pg_exec(pg_conn *c, const char *sql, int nparams, const char *const *values, int multi,
                  pg_cancel_fn cancelled, pg_error *err);
/* Prepares sql as the unnamed statement and describes it: returns the description (PQnfields, PQftype,
   PQnparams) for the caller to PQclear, or NULL with err. */
PGresult *pg_describe(pg_conn *c, const char *sql, pg_cancel_fn cancelled, pg_error *err);

/* Runs the unnamed prepared statement in single-row mode with binary results, calling on_row(ud, r) for each
   row (r holds one row; on_row must not keep it). on_row returns 0 to go on or -1 to stop (the caller's error).
   Returns 0, -1 with err filled, or -2 when on_row stopped (the query is cancelled and drained). */
int pg_query_rows(pg_conn *c, int nparams, const char *const *values, int (*on_row)(void *ud, const PGresult *r),
                  void *ud, pg_cancel_fn cancelled, pg_error *err);

/* Runs copy_sql (a COPY ... TO STDOUT) and calls on_data(ud, data, len) with each CopyData message.
   Same returns as pg_query_rows. */
int pg_copy_out(pg_conn *c, const char *copy_sql, int (*on_data)(void *ud, const char *data, int len), void *ud,
                pg_cancel_fn cancelled, pg_error *err);

/* COPY FROM STDIN in three steps: begin (runs copy_sql, expects copy-in mode), put (sends a chunk; -1 when the
   server has left copy mode, e.g. after an error: call end to learn why), end (finishes; with abort_msg set the
   server aborts the COPY and nothing is stored). end stores the rows copied in *rows and returns 0, or -1 with
   err (when aborting, err holds the server's answer). */
int pg_copy_in_begin(pg_conn *c, const char *copy_sql, pg_cancel_fn cancelled, pg_error *err);
int pg_copy_in_put(pg_conn *c, const char *buf, size_t len, pg_error *err);
int pg_copy_in_end(pg_conn *c, const char *abort_msg, pg_cancel_fn cancelled, int64_t *rows, pg_error *err);
/* Streams a file through an open COPY FROM STDIN in chunks of chunk bytes and ends it (aborting it when reading
   fails or cancelled() turns true). Returns 0 with *rows, or -1 with err. */
int pg_copy_in_file(pg_conn *c, const char *path, size_t chunk, pg_cancel_fn cancelled, int64_t *rows,
                    pg_error *err);

/* ---- binary COPY from columns (pg_encode.c) ---- */

/* One column of a binary COPY FROM stream: a colstore column, or NULL for row numbers (row0, row0 + 1, ...). */
typedef struct pg_enc_col {
  const cs_column *col;
  Oid type;       /* the target column's type */
  char list_sep;  /* separator of list items written as text */
} pg_enc_col;

/* An encoder's position in the stream. */
typedef struct pg_enc {
  const pg_enc_col *cols;
  int ncols;
  int64_t nrows, row0, next;
  int state;        /* 0: header pending, 1: rows, 2: trailer written */
  int64_t bad_row;  /* after pg_enc_fill returned -2: the row and column whose value does not fit its type */
  int bad_col;
} pg_enc;

/* 0 when column c's values can be written as its target type (int2/int4/int8 and float8 from integers, float8/
   float4 from floats, date from dates, text from anything), else -1 with the reason in why. */
int pg_enc_check(const pg_enc_col *c, char *why, size_t whysize);
/* Starts an encoder of nrows rows of ncols columns (cols must stay valid while it is used). */
void pg_enc_init(pg_enc *e, const pg_enc_col *cols, int ncols, int64_t nrows, int64_t row0);
/* Fills buf with the next whole rows of the stream (the header first, the trailer last). Returns the bytes
   written, 0 once the stream is complete, -1 when one row does not fit in cap bytes, -2 when a value does not fit
   its type (an integer beyond int2/int4: e->bad_row, e->bad_col). */
int64_t pg_enc_fill(pg_enc *e, char *buf, size_t cap);

/* Streams an encoder through an open COPY FROM STDIN (FORMAT binary) in chunks of cap bytes of buf and ends it
   (aborting it when encoding fails or cancelled() turns true). Returns 0 with *rows, or -1 with err (SQLSTATE
   22003 for a value out of range, 54000 for a row larger than the buffer, 57014 when cancelled). */
int pg_copy_in_encoded(pg_conn *c, pg_enc *e, char *buf, size_t cap, pg_cancel_fn cancelled, int64_t *rows,
                       pg_error *err);

/* ---- columns from query results (pg_table.c) ---- */

typedef struct pg_tb pg_tb;

/* A builder of ncols columns; NULL when out of memory. */
pg_tb *pg_tb_new(int ncols);
void pg_tb_free(pg_tb *tb);
/* Declares column i: its name, PostgreSQL type OID, list separator (nonzero: a text column of integers becoming
   list<int32>) and whether NULLs are allowed (stored as 0, "" or an empty list, and counted). Returns 0, or -1
   with the reason in pg_tb_error (unsupported type, list on a non-text column). */
int pg_tb_column(pg_tb *tb, int i, const char *name, Oid type, char list_sep, int allow_null);
/* Parses one CopyData message of COPY ... TO STDOUT (FORMAT binary). Returns 0 or -1 (pg_tb_error). */
int pg_tb_copy_data(void *tb, const char *data, int len);
/* Appends the row of a single-row-mode binary result. Returns 0 or -1 (pg_tb_error). */
int pg_tb_result_row(void *tb, const PGresult *r);
/* Appends one value of column col (len < 0: NULL) in PostgreSQL's binary format; call pg_tb_end_row after the
   last column. Returns 0 or -1 (pg_tb_error). */
int pg_tb_value(pg_tb *tb, int col, const char *v, int len);
void pg_tb_end_row(pg_tb *tb);
/* Whether a binary COPY stream ended with its trailer (a complete result). */
int pg_tb_complete(const pg_tb *tb);
const char *pg_tb_error(const pg_tb *tb);
int64_t pg_tb_rows(const pg_tb *tb);
int64_t pg_tb_nulls(const pg_tb *tb, int col);
const char *pg_tb_name(const pg_tb *tb, int col);
/* Hands column col over as a colstore column (the builder forgets it). NULL when out of memory. */
cs_column *pg_tb_take(pg_tb *tb, int col);

/* Days since 1970-01-01 of a PostgreSQL binary date (days since 2000-01-01); -1 for infinite or out of range. */
int pg_date_from_pg(int32_t pgdays, int32_t *days);
/* The double nearest to a PostgreSQL binary numeric; -1 if malformed (NaN and infinities are accepted). */
int pg_numeric_to_double(const char *v, int len, double *out);
/* Parses "1 2 3" (items separated by runs of sep, spaces or tabs) into items; returns the count, or -1 with the
   offending token in bad (at most badsize bytes). items must hold len/2+1 values. */
int64_t pg_parse_int_list(const char *s, int len, char sep, int32_t *items, char *bad, size_t badsize);

#endif
