/* pg_scrub.c: keeps passwords out of every message mercado.pg shows (conninfo keywords, URIs, known secrets). */
#include "pg.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char MASK[] = "***";

/* Output buffer that truncates instead of overflowing. */
typedef struct out_buf {
  char *p;
  size_t len, cap;
} out_buf;

static void out_put(out_buf *o, const char *s, size_t n) {
  if (o->len + 1 >= o->cap) return;
  size_t room = o->cap - 1 - o->len;
  if (n > room) n = room;
  memcpy(o->p + o->len, s, n);
  o->len += n;
  o->p[o->len] = '\0';
}

static int ci_prefix(const char *s, const char *word) {
  for (; *word; s++, word++)
    if (tolower((unsigned char)*s) != *word) return 0;
  return 1;
}

/* Length of a keyword value starting at s: a quoted '...' (backslash escapes) or a run up to a blank or '"'. */
static size_t value_len(const char *s) {
  const char *p = s;
  if (*p == '\'') {
    for (p++; *p && *p != '\''; p++)
      if (*p == '\\' && p[1]) p++;
    return (size_t)(p - s) + (*p == '\'');
  }
  while (*p && !isspace((unsigned char)*p) && *p != '"') p++;
  return (size_t)(p - s);
}

/* At s = "password", returns the length of "password = " (up to the value) or 0 if no '=' follows. */
static size_t keyword_len(const char *s) {
  const char *p = s + 8;
  while (*p == ' ' || *p == '\t') p++;
  if (*p != '=') return 0;
  p++;
  while (*p == ' ' || *p == '\t') p++;
  return (size_t)(p - s);
}

/* At s just after "://", returns the length of "user:" and the password's length in *pwlen (0: none). */
static size_t uri_userinfo(const char *s, size_t *pwlen) {
  size_t end = strcspn(s, "/?#\" \t\r\n");
  const char *at = NULL;
  for (size_t i = 0; i < end; i++)
    if (s[i] == '@') at = s + i;
  *pwlen = 0;
  if (!at) return 0;
  const char *colon = memchr(s, ':', (size_t)(at - s));
  if (!colon) return 0;
  *pwlen = (size_t)(at - colon - 1);
  return (size_t)(colon + 1 - s);
}

/* One pass for the keyword and URI forms. */
static void scrub_forms(const char *in, out_buf *o) {
  const char *p = in;
  while (*p) {
    size_t k, pw;
    if ((*p == 'p' || *p == 'P') && ci_prefix(p, "password") && (k = keyword_len(p)) > 0) {
      out_put(o, p, k);
      out_put(o, MASK, 3);
      p += k + value_len(p + k);
    } else if (p[0] == ':' && p[1] == '/' && p[2] == '/' && (k = uri_userinfo(p + 3, &pw)) > 0) {
      out_put(o, p, 3 + k);
      out_put(o, MASK, 3);
      p += 3 + k + pw;
    } else {
      out_put(o, p, 1);
      p++;
    }
  }
}

/* One pass replacing every occurrence of secret. */
static void scrub_secret(const char *in, const char *secret, out_buf *o) {
  size_t n = strlen(secret);
  const char *p = in, *hit;
  while ((hit = strstr(p, secret)) != NULL) {
    out_put(o, p, (size_t)(hit - p));
    out_put(o, MASK, 3);
    p = hit + n;
  }
  out_put(o, p, strlen(p));
}

void pg_scrub(char *s, size_t size, const char *const *secrets, int nsecrets) {
  if (!s || size == 0) return;
  char *tmp = malloc(size);
  if (!tmp) {
    snprintf(s, size, "%s", "(message hidden: out of memory while removing passwords)");
    return;
  }
  for (int i = 0; i < nsecrets; i++) {
    if (!secrets[i] || strlen(secrets[i]) < 3) continue;
    out_buf o = {tmp, 0, size};
    tmp[0] = '\0';
    scrub_secret(s, secrets[i], &o);
    memcpy(s, tmp, o.len + 1);
  }
  out_buf o = {tmp, 0, size};
  tmp[0] = '\0';
  scrub_forms(s, &o);
  memcpy(s, tmp, o.len + 1);
  free(tmp);
}

void pg_raw_password(const char *conninfo, char *out, size_t size) {
  if (size == 0) return;
  out[0] = '\0';
  for (const char *p = conninfo ? conninfo : ""; *p; p++) {
    size_t k, n;
    const char *v = NULL;
    if ((*p == 'p' || *p == 'P') && ci_prefix(p, "password") && (k = keyword_len(p)) > 0) {
      v = p + k;
      n = value_len(v);
      if (n >= 2 && v[0] == '\'') { /* without its quotes */
        v++;
        n -= 1 + (v[n - 2] == '\'');
      }
    } else if (p[0] == ':' && p[1] == '/' && p[2] == '/' && (k = uri_userinfo(p + 3, &n)) > 0) {
      v = p + 3 + k;
    }
    if (v && n > 0) {
      snprintf(out, size, "%.*s", (int)n, v);
      return;
    }
  }
}

void pg_redact(const char *conninfo, char *out, size_t size) {
  if (size == 0) return;
  snprintf(out, size, "%s", conninfo ? conninfo : "");
  const char *secret = NULL;
  PQconninfoOption *opts = conninfo ? PQconninfoParse(conninfo, NULL) : NULL;
  for (PQconninfoOption *o = opts; o && o->keyword; o++)
    if (strcmp(o->keyword, "password") == 0 && o->val && o->val[0]) secret = o->val;
  pg_scrub(out, size, &secret, secret ? 1 : 0);
  PQconninfoFree(opts);
}
