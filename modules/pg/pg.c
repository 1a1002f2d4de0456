/* pg.c: connections, commands and COPY for mercado.pg over libpq, with waits that poll a cancel callback. */
#include "pg.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { WAIT_MS = 100 };

/* Copies src into dst on one line: each line break (with the indentation after it) becomes one space, trailing
   blanks go. */
static void copy_text(char *dst, size_t size, const char *src) {
  size_t n = 0;
  if (size == 0) return;
  for (const char *p = src ? src : ""; *p && n + 1 < size; p++) {
    if (*p == '\n' || *p == '\r') {
      while (p[1] == '\n' || p[1] == '\r' || p[1] == '\t' || p[1] == ' ') p++;
      dst[n++] = ' ';
    } else {
      dst[n++] = *p;
    }
  }
  while (n > 0 && (dst[n - 1] == ' ' || dst[n - 1] == '\t')) n--;
  dst[n] = '\0';
}

static void scrub_error(const pg_conn *c, pg_error *err) {
  const char *const *s = (const char *const *)c->secrets;
  pg_scrub(err->message, sizeof err->message, s, c->nsecrets);
  pg_scrub(err->detail, sizeof err->detail, s, c->nsecrets);
  pg_scrub(err->hint, sizeof err->hint, s, c->nsecrets);
  pg_scrub(err->context, sizeof err->context, s, c->nsecrets);
}

static int conn_bad(const pg_conn *c) { return c->conn == NULL || PQstatus(c->conn) == CONNECTION_BAD; }

/* A client-side error: state and message, connection_lost from the connection's state. */
static void set_client_error(const pg_conn *c, pg_error *err, const char *state, const char *msg) {
  memset(err, 0, sizeof *err);
  snprintf(err->sqlstate, sizeof err->sqlstate, "%s", state);
  copy_text(err->message, sizeof err->message, msg);
  err->connection_lost = c->conn != NULL && PQstatus(c->conn) == CONNECTION_BAD;
  scrub_error(c, err);
}

void pg_error_set(pg_conn *c, const PGresult *r, pg_error *err) {
  memset(err, 0, sizeof *err);
  const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
  const char *primary = r ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : NULL;
  if (!primary || !*primary) primary = r ? PQresultErrorMessage(r) : NULL;
  if (!primary || !*primary) primary = c->conn ? PQerrorMessage(c->conn) : "connection is closed";
  if (!primary || !*primary) primary = "unknown error";
  copy_text(err->message, sizeof err->message, primary);
  if (r) {
    copy_text(err->detail, sizeof err->detail, PQresultErrorField(r, PG_DIAG_MESSAGE_DETAIL));
    copy_text(err->hint, sizeof err->hint, PQresultErrorField(r, PG_DIAG_MESSAGE_HINT));
    copy_text(err->context, sizeof err->context, PQresultErrorField(r, PG_DIAG_CONTEXT));
  }
  /* after FATAL or PANIC the server closes the connection, even if libpq has not noticed yet */
  const char *severity = r ? PQresultErrorField(r, PG_DIAG_SEVERITY_NONLOCALIZED) : NULL;
  err->connection_lost = conn_bad(c) || (severity && (!strcmp(severity, "FATAL") || !strcmp(severity, "PANIC")));
  if (!state || !*state) state = err->connection_lost ? "08006" : "XX000";
  snprintf(err->sqlstate, sizeof err->sqlstate, "%s", state);
  scrub_error(c, err);
}

int pg_check(pg_conn *c, pg_error *err) {
  if (!c->conn) {
    set_client_error(c, err, "08003", "connection is closed");
    return -1;
  }
  if (PQstatus(c->conn) != CONNECTION_OK) {
    char why[900], msg[1024];
    const char *m = PQerrorMessage(c->conn);
    if (strncmp(m, "FATAL:  ", 8) == 0) m += 8;
    snprintf(why, sizeof why, "%.*s", (int)strcspn(m, "\n"), m);  /* its first line */
    snprintf(msg, sizeof msg, why[0] ? "connection lost (%s)" : "connection lost%s", why);
    set_client_error(c, err, "08006", msg);
    err->connection_lost = 1;
    return -1;
  }
  return 0;
}

/* ---- waiting ---- */

static double now_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Waits up to ms for the socket. Returns 1 ready, 0 timed out or interrupted by a signal, -1 no socket/error. */
static int wait_socket(PGconn *conn, int for_write, int ms) {
  int fd = PQsocket(conn);
  if (fd < 0) return -1;
  struct pollfd p = {fd, (short)(for_write ? POLLOUT : POLLIN), 0};
  int r = poll(&p, 1, ms);
  if (r < 0) return errno == EINTR ? 0 : -1;
  return r > 0;
}

static void send_cancel(pg_conn *c) {
  char buf[256];
  PGcancel *k = PQgetCancel(c->conn);
  if (!k) return;
  PQcancel(k, buf, (int)sizeof buf);
  PQfreeCancel(k);
}

/* Polls the cancel callback; sends one cancel request the first time it asks. */
static void poll_cancel(pg_conn *c, pg_cancel_fn cancelled, int *interrupted) {
  if (cancelled && !*interrupted && cancelled()) {
    send_cancel(c);
    *interrupted = 1;
  }
}

/* Waits until PQgetResult will not block (or the connection failed: PQgetResult then reports it). */
static void wait_idle(pg_conn *c, pg_cancel_fn cancelled, int *interrupted) {
  while (PQisBusy(c->conn)) {
    poll_cancel(c, cancelled, interrupted);
    if (wait_socket(c->conn, 0, WAIT_MS) < 0) return;
    if (!PQconsumeInput(c->conn)) return;
  }
}

/* Leaves an unexpected COPY state so that the connection stays usable. */
static void leave_copy(pg_conn *c, ExecStatusType st) {
  if (st == PGRES_COPY_IN) {
    PQputCopyEnd(c->conn, "COPY FROM STDIN needs conn:copy_from");
  } else if (st == PGRES_COPY_OUT) {
    char *buf;
    int n;
    while ((n = PQgetCopyData(c->conn, &buf, 0)) > 0) PQfreemem(buf);
  }
}

/* Reads every result of the command in flight. Returns the last successful one (the caller clears it), or NULL
   with err filled from the first failure. */
static PGresult *collect(pg_conn *c, pg_cancel_fn cancelled, int interrupted, pg_error *err) {
  PGresult *last = NULL;
  int failed = 0;
  for (;;) {
    wait_idle(c, cancelled, &interrupted);
    PGresult *r = PQgetResult(c->conn);
    if (!r) break;
    ExecStatusType st = PQresultStatus(r);
    if (st == PGRES_COPY_IN || st == PGRES_COPY_OUT || st == PGRES_COPY_BOTH) {
      if (!failed) {
        set_client_error(c, err, "0A000",
                         st == PGRES_COPY_IN ? "COPY FROM STDIN needs conn:copy_from"
                                             : "COPY TO STDOUT is not supported here (use conn:query_table)");
        failed = 1;
      }
      PQclear(r);
      if (st == PGRES_COPY_BOTH) break;
      leave_copy(c, st);
      continue;
    }
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK && st != PGRES_EMPTY_QUERY) {
      if (!failed) pg_error_set(c, r, err);
      failed = 1;
      PQclear(r);
      continue;
    }
    PQclear(last);
    last = r;
  }
  if (!failed && !last) {
    pg_error_set(c, NULL, err);
    failed = 1;
  }
  if (failed) {
    PQclear(last);
    err->cancelled = interrupted;
    if (interrupted && !err->connection_lost) snprintf(err->sqlstate, sizeof err->sqlstate, "57014");
    return NULL;
  }
  return last;
}

/* Discards whatever the command in flight still returns. */
static void drain(pg_conn *c) {
  PGresult *r;
  int interrupted = 1;
  for (;;) {
    wait_idle(c, NULL, &interrupted);
    if ((r = PQgetResult(c->conn)) == NULL) break;
    ExecStatusType st = PQresultStatus(r);
    PQclear(r);
    if (st == PGRES_COPY_BOTH) break;
    leave_copy(c, st);
  }
}

/* ---- connections ---- */

static void add_secret(pg_conn *c, const char *s) {
  if (!s || !*s || c->nsecrets == PG_MAX_SECRETS) return;
  for (int i = 0; i < c->nsecrets; i++)
    if (strcmp(c->secrets[i], s) == 0) return;
  char *copy = strdup(s);
  if (copy) c->secrets[c->nsecrets++] = copy;
}

/* The password written in conninfo (as libpq decodes it and as written) and the one in PGPASSWORD. */
static void collect_secrets(pg_conn *c, const char *conninfo) {
  char raw[512];
  pg_raw_password(conninfo, raw, sizeof raw);
  add_secret(c, raw);
  memset(raw, 0, sizeof raw);
  PQconninfoOption *opts = PQconninfoParse(conninfo, NULL);
  for (PQconninfoOption *o = opts; o && o->keyword; o++)
    if (strcmp(o->keyword, "password") == 0) add_secret(c, o->val);
  PQconninfoFree(opts);
  add_secret(c, getenv("PGPASSWORD"));
}

/* connect_timeout as libpq resolved it (conninfo or PGCONNECT_TIMEOUT), in seconds; 0 = none. */
static double connect_timeout(PGconn *conn) {
  double t = 0;
  PQconninfoOption *opts = PQconninfo(conn);
  for (PQconninfoOption *o = opts; o && o->keyword; o++)
    if (strcmp(o->keyword, "connect_timeout") == 0 && o->val && *o->val) t = atof(o->val);
  PQconninfoFree(opts);
  return t > 0 && t < 2 ? 2 : t;  /* libpq's own minimum */
}

static void quiet_notices(void *arg, const char *message) {
  (void)arg;
  (void)message;
}

/* Drives PQconnectPoll to the end. Returns 0, or -1 with err. */
static int connect_poll(pg_conn *c, pg_cancel_fn cancelled, pg_error *err) {
  double timeout = connect_timeout(c->conn);
  double deadline = timeout > 0 ? now_seconds() + timeout : 0;
  PostgresPollingStatusType st = PGRES_POLLING_WRITING;
  while (st != PGRES_POLLING_OK) {
    if (st == PGRES_POLLING_FAILED) {
      add_secret(c, PQpass(c->conn));
      set_client_error(c, err, "08001", PQerrorMessage(c->conn));
      return -1;
    }
    if (cancelled && cancelled()) {
      set_client_error(c, err, "57014", "connection attempt interrupted");
      err->cancelled = 1;
      return -1;
    }
    if (deadline > 0 && now_seconds() > deadline) {
      set_client_error(c, err, "08001", "connection attempt timed out (connect_timeout)");
      return -1;
    }
    if (wait_socket(c->conn, st == PGRES_POLLING_WRITING, WAIT_MS) == 0) continue;
    st = PQconnectPoll(c->conn);
  }
  return 0;
}

int pg_connect(pg_conn *c, const char *conninfo, pg_cancel_fn cancelled, pg_error *err) {
  static const char *const keywords[] = {"client_encoding", "fallback_application_name", "dbname", NULL};
  const char *values[] = {"UTF8", "mercado", conninfo ? conninfo : "", NULL};
  memset(c, 0, sizeof *c);
  collect_secrets(c, values[2]);
  c->conn = PQconnectStartParams(keywords, values, 1);
  if (!c->conn) {
    set_client_error(c, err, "08001", "out of memory");
    return -1;
  }
  if (PQstatus(c->conn) == CONNECTION_BAD) {
    set_client_error(c, err, "08001", PQerrorMessage(c->conn));
    goto fail;
  }
  if (connect_poll(c, cancelled, err) != 0) goto fail;
  add_secret(c, PQpass(c->conn));
  PQsetNoticeProcessor(c->conn, quiet_notices, NULL);
  PGresult *r = pg_exec(c, "SET DateStyle TO 'ISO, YMD'; SET extra_float_digits TO 3", 0, NULL, 1, cancelled, err);
  if (!r) goto fail;
  PQclear(r);
  return 0;
fail:
  PQfinish(c->conn);
  c->conn = NULL;
  return -1;
}

void pg_close(pg_conn *c) {
  if (c->conn) PQfinish(c->conn);
  c->conn = NULL;
  for (int i = 0; i < c->nsecrets; i++) {
    memset(c->secrets[i], 0, strlen(c->secrets[i]));
    free(c->secrets[i]);
    c->secrets[i] = NULL;
  }
  c->nsecrets = 0;
}

/* ---- commands ---- */

PGresult *pg_exec(pg_conn *c, const char *sql, int nparams, const char *const *values, int multi,
                  pg_cancel_fn cancelled, pg_error *err) {
  if (pg_check(c, err) != 0) return NULL;
  int sent = nparams == 0 && multi ? PQsendQuery(c->conn, sql)
                                   : PQsendQueryParams(c->conn, sql, nparams, NULL, values, NULL, NULL, 0);
  if (!sent) {
    pg_error_set(c, NULL, err);
    return NULL;
  }
  return collect(c, cancelled, 0, err);
}

PGresult *pg_describe(pg_conn *c, const char *sql, pg_cancel_fn cancelled, pg_error *err) {
  if (pg_check(c, err) != 0) return NULL;
  if (!PQsendPrepare(c->conn, "", sql, 0, NULL)) {
    pg_error_set(c, NULL, err);
    return NULL;
  }
  PGresult *r = collect(c, cancelled, 0, err);
  if (!r) return NULL;
  PQclear(r);
  if (!PQsendDescribePrepared(c->conn, "")) {
    pg_error_set(c, NULL, err);
    return NULL;
  }
  return collect(c, cancelled, 0, err);
}

int pg_query_rows(pg_conn *c, int nparams, const char *const *values, int (*on_row)(void *ud, const PGresult *r),
                  void *ud, pg_cancel_fn cancelled, pg_error *err) {
  if (pg_check(c, err) != 0) return -1;
  if (!PQsendQueryPrepared(c->conn, "", nparams, values, NULL, NULL, 1)) {
    pg_error_set(c, NULL, err);
    return -1;
  }
  PQsetSingleRowMode(c->conn);
  int interrupted = 0, failed = 0, stopped = 0;
  for (;;) {
    wait_idle(c, cancelled, &interrupted);
    PGresult *r = PQgetResult(c->conn);
    if (!r) break;
    ExecStatusType st = PQresultStatus(r);
    if (st == PGRES_SINGLE_TUPLE) {
      if (!failed && !stopped && on_row(ud, r) != 0) {
        stopped = 1;
        send_cancel(c);
      }
    } else if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK && !failed && !stopped) {
      pg_error_set(c, r, err);
      failed = 1;
    }
    PQclear(r);
  }
  if (stopped) return -2;
  if (failed) {
    err->cancelled = interrupted;
    if (interrupted && !err->connection_lost) snprintf(err->sqlstate, sizeof err->sqlstate, "57014");
    return -1;
  }
  return 0;
}

int pg_copy_out(pg_conn *c, const char *copy_sql, int (*on_data)(void *ud, const char *data, int len), void *ud,
                pg_cancel_fn cancelled, pg_error *err) {
  if (pg_check(c, err) != 0) return -1;
  if (!PQsendQuery(c->conn, copy_sql)) {
    pg_error_set(c, NULL, err);
    return -1;
  }
  int interrupted = 0, stopped = 0;
  wait_idle(c, cancelled, &interrupted);
  PGresult *r = PQgetResult(c->conn);
  if (!r || PQresultStatus(r) != PGRES_COPY_OUT) {
    pg_error_set(c, r, err);
    PQclear(r);
    drain(c);
    return -1;
  }
  PQclear(r);
  for (;;) {
    char *buf = NULL;
    int n = PQgetCopyData(c->conn, &buf, 1);
    if (n > 0) {
      if (!stopped && on_data(ud, buf, n) != 0) {
        stopped = 1;
        send_cancel(c);
      }
      PQfreemem(buf);
    } else if (n == 0) {
      poll_cancel(c, cancelled, &interrupted);
      if (wait_socket(c->conn, 0, WAIT_MS) < 0 || !PQconsumeInput(c->conn)) break;
    } else {
      break;
    }
  }
  r = collect(c, cancelled, interrupted, err);
  if (stopped) {
    PQclear(r);
    return -2;
  }
  if (!r) return -1;
  PQclear(r);
  return 0;
}

/* ---- COPY FROM STDIN ---- */

int pg_copy_in_begin(pg_conn *c, const char *copy_sql, pg_cancel_fn cancelled, pg_error *err) {
  if (pg_check(c, err) != 0) return -1;
  if (!PQsendQuery(c->conn, copy_sql)) {
    pg_error_set(c, NULL, err);
    return -1;
  }
  int interrupted = 0;
  wait_idle(c, cancelled, &interrupted);
  PGresult *r = PQgetResult(c->conn);
  if (r && PQresultStatus(r) == PGRES_COPY_IN) {
    PQclear(r);
    return 0;
  }
  if (r && PQresultStatus(r) == PGRES_COMMAND_OK) set_client_error(c, err, "42601", "not a COPY FROM STDIN");
  else pg_error_set(c, r, err);
  PQclear(r);
  drain(c);
  return -1;
}

int pg_copy_in_put(pg_conn *c, const char *buf, size_t len, pg_error *err) {
  if (!c->conn) return pg_check(c, err);
  PQconsumeInput(c->conn);  /* lets libpq notice an error the server sent meanwhile */
  while (len > 0) {
    int n = len > (size_t)INT_MAX / 2 ? INT_MAX / 2 : (int)len;
    if (PQputCopyData(c->conn, buf, n) != 1) {
      pg_error_set(c, NULL, err);
      return -1;
    }
    buf += n;
    len -= (size_t)n;
  }
  return 0;
}

int pg_copy_in_end(pg_conn *c, const char *abort_msg, pg_cancel_fn cancelled, int64_t *rows, pg_error *err) {
  *rows = 0;
  if (!c->conn) return pg_check(c, err);
  PQputCopyEnd(c->conn, abort_msg);  /* fails harmlessly when the server already left copy mode */
  PGresult *r = collect(c, cancelled, 0, err);
  if (!r) return -1;
  *rows = strtoll(PQcmdTuples(r), NULL, 10);
  PQclear(r);
  return 0;
}

int pg_copy_in_file(pg_conn *c, const char *path, size_t chunk, pg_cancel_fn cancelled, int64_t *rows,
                    pg_error *err) {
  char msg[1200];
  *rows = 0;
  FILE *f = fopen(path, "rb");
  if (!f) {
    snprintf(msg, sizeof msg, "cannot open %s: %s", path, strerror(errno));
    set_client_error(c, err, "58P01", msg);
    PQputCopyEnd(c->conn, msg);
    drain(c);
    return -1;
  }
  char *buf = malloc(chunk);
  const char *abort_msg = NULL;
  int put_failed = 0, was_cancelled = 0;
  size_t n;
  if (!buf) abort_msg = "out of memory";
  while (buf && (n = fread(buf, 1, chunk, f)) > 0) {
    if (cancelled && cancelled()) {
      abort_msg = "interrupted";
      was_cancelled = 1;
      break;
    }
    if (pg_copy_in_put(c, buf, n, err) != 0) {
      put_failed = 1;
      break;
    }
  }
  if (!abort_msg && !put_failed && ferror(f)) {
    snprintf(msg, sizeof msg, "cannot read %s: %s", path, strerror(errno));
    abort_msg = msg;
  }
  free(buf);
  fclose(f);
  int rc = pg_copy_in_end(c, abort_msg, cancelled, rows, err);
  if (abort_msg) {
    set_client_error(c, err, was_cancelled ? "57014" : "58030", abort_msg);
    err->cancelled = was_cancelled;
    return -1;
  }
  return rc;
}

int pg_copy_in_encoded(pg_conn *c, pg_enc *e, char *buf, size_t cap, pg_cancel_fn cancelled, int64_t *rows,
                       pg_error *err) {
  char msg[256];
  const char *abort_msg = NULL, *state = NULL;
  int put_failed = 0;
  *rows = 0;
  for (;;) {
    if (cancelled && cancelled()) {
      abort_msg = "interrupted", state = "57014";
      break;
    }
    int64_t n = pg_enc_fill(e, buf, cap);
    if (n == 0) break;
    if (n == -1) {
      snprintf(msg, sizeof msg, "row %lld does not fit in a %zu-byte COPY buffer", (long long)e->next + 1, cap);
      abort_msg = msg, state = "54000";
      break;
    }
    if (n == -2) {
      snprintf(msg, sizeof msg, "row %lld: the value of column %d is out of range for its type",
               (long long)e->bad_row + 1, e->bad_col + 1);
      abort_msg = msg, state = "22003";
      break;
    }
    if (pg_copy_in_put(c, buf, (size_t)n, err) != 0) {
      put_failed = 1;
      break;
    }
  }
  int rc = pg_copy_in_end(c, abort_msg, cancelled, rows, err);
  if (abort_msg) {
    set_client_error(c, err, state, abort_msg);
    err->cancelled = state[0] == '5' && state[1] == '7';
    return -1;
  }
  return put_failed ? -1 : rc;
}
