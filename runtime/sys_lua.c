/*
** sys_lua.c: mercado.sys, the operating-system services flows and the embedded runtime use:
** atomic writes, directories, clocks and interruptible sleep, protected calls with timeouts (the task runner's
** entry into Lua), process facts for the run ledger, file locks, globbing, hashing, child processes, and the
** terminal (isatty, line editing for the REPL).
** Expected failures return nil, message; misuse raises.
*/
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fsutil.h"
#include "host.h"
#include "hugepages.h"
#include "interrupt.h"
#include "lauxlib.h"
#include "mercado_config.h"
#include "mercado_runtime.h"
#include "progress.h"

#if MERCADO_HAVE_LIBEDIT
#include <editline/readline.h>
#endif

#define LOCK_MT "mercado.Lock"

static int push_fail(lua_State *L, const char *msg) {
  lua_pushnil(L);
  lua_pushstring(L, msg);
  return 2;
}

/* sys.write_atomic(path, data [, {sync = false}]) -> true | nil, err
   sync (default true) makes the new content durable before the rename; without it the write is still
   all-or-nothing if the process dies. */
static int sys_write_atomic(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  size_t len;
  const char *data = luaL_checklstring(L, 2, &len);
  int sync = 1;
  if (lua_istable(L, 3)) {
    lua_getfield(L, 3, "sync");
    sync = lua_isnil(L, -1) || lua_toboolean(L, -1);
  }
  char err[512];
  if (fs_write_atomic(path, data, len, sync, err, sizeof err) != 0) return push_fail(L, err);
  lua_pushboolean(L, 1);
  return 1;
}

/* sys.append(path, data) -> true | nil, err: one write with O_APPEND (a log line lands whole). */
static int sys_append(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  size_t len;
  const char *data = luaL_checklstring(L, 2, &len);
  int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0666);
  if (fd < 0) return push_fail(L, lua_pushfstring(L, "cannot open %s: %s", path, strerror(errno)));
  size_t off = 0;
  while (off < len) {
    ssize_t n = write(fd, data + off, len - off);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int e = errno;
      close(fd);
      return push_fail(L, lua_pushfstring(L, "cannot write %s: %s", path, strerror(e)));
    }
    off += (size_t)n;
  }
  close(fd);
  lua_pushboolean(L, 1);
  return 1;
}

/* sys.mkdirs(path) -> true | nil, err */
static int sys_mkdirs(lua_State *L) {
  char err[512];
  if (fs_mkdirs(luaL_checkstring(L, 1), err, sizeof err) != 0) return push_fail(L, err);
  lua_pushboolean(L, 1);
  return 1;
}

/* sys.sha256_file(path) -> hex, size | nil, err */
static int sys_sha256_file(lua_State *L) {
  char hex[65], err[512];
  int64_t size;
  if (fs_sha256_file(luaL_checkstring(L, 1), hex, &size, err, sizeof err) != 0) return push_fail(L, err);
  lua_pushstring(L, hex);
  lua_pushinteger(L, (lua_Integer)size);
  return 2;
}

/* sys.sha256(string) -> hex */
static int sys_sha256(lua_State *L) {
  size_t len;
  const char *s = luaL_checklstring(L, 1, &len);
  sha256_ctx c;
  unsigned char d[32];
  char hex[65];
  sha256_init(&c);
  sha256_update(&c, s, len);
  sha256_final(&c, d);
  for (int i = 0; i < 32; i++) sprintf(hex + 2 * i, "%02x", d[i]);
  lua_pushstring(L, hex);
  return 1;
}

/* sys.now() -> wall-clock seconds since the epoch (float, microseconds). */
static int sys_now(lua_State *L) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  lua_pushnumber(L, (double)ts.tv_sec + (double)(ts.tv_nsec / 1000) * 1e-6);
  return 1;
}

/* sys.monotonic() -> seconds on a clock that never jumps. */
static int sys_monotonic(lua_State *L) {
  lua_pushnumber(L, interrupt_now());
  return 1;
}

/* sys.isotime(t [, utc]) -> "2026-11-28T00:20:28.123456" (local time unless utc; "+00:00" suffix when utc). */
static int sys_isotime(lua_State *L) {
  double t = luaL_checknumber(L, 1);
  int utc = lua_toboolean(L, 2);
  time_t secs = (time_t)t;
  long usec = (long)((t - (double)secs) * 1e6 + 0.5);
  if (usec >= 1000000) secs++, usec -= 1000000;
  struct tm tm;
  if (utc) gmtime_r(&secs, &tm);
  else localtime_r(&secs, &tm);
  char out[64];
  size_t n = strftime(out, sizeof out, "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(out + n, sizeof out - n, ".%06ld%s", usec, utc ? "+00:00" : "");
  lua_pushstring(L, out);
  return 1;
}

/* sys.sleep(seconds): sleeps unless interrupted; an interruption raises the cancellation error. */
static int sys_sleep(lua_State *L) {
  double s = luaL_checknumber(L, 1), end = interrupt_now() + s;
  for (;;) {
    if (mercado_interrupted() != MERCADO_RUNNING) return mercado_raise_interrupt(L);
    double left = end - interrupt_now();
    if (left <= 0) break;
    if (left > 0.05) left = 0.05;
    struct timespec ts = {(time_t)left, (long)((left - (double)(time_t)left) * 1e9)};
    nanosleep(&ts, NULL);
  }
  return 0;
}

/* sys.call(opts, fn, ...) -> true, results... | false, err
   Runs fn through host_pcall; a cancellation (Ctrl-C, SIGTERM) comes back as err.kind == "cancelled" and is
   acknowledged, so the caller must pass it on (the flow engine records it and re-raises). opts.timeout (seconds) bounds it: the deadline interrupts Lua code through the hook
   and native loops through mercado_interrupted(). Nested calls keep the earliest deadline. */
static int sys_call(lua_State *L) {
  double timeout = 0;
  if (!lua_isnoneornil(L, 1)) {
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_getfield(L, 1, "timeout");
    timeout = luaL_optnumber(L, -1, 0);
    lua_pop(L, 1);
    if (timeout < 0) return luaL_argerror(L, 1, "timeout must be >= 0");
  }
  luaL_checktype(L, 2, LUA_TFUNCTION);
  int nargs = lua_gettop(L) - 2;
  lua_remove(L, 1); /* stack: fn args... */
  double previous = 0;
  int armed = 0;
  if (timeout > 0) {
    double now = interrupt_now(), d = now + timeout;
    previous = interrupt_set_deadline(L, 0);
    if (previous > 0 && previous < d) d = previous;
    interrupt_set_deadline(L, d);
    armed = 1;
  }
  int status = host_pcall(L, nargs, LUA_MULTRET);
  if (armed) interrupt_set_deadline(L, previous);
  if (status != LUA_OK && mercado_interrupted() == MERCADO_CANCELLED) {
    /* the cancellation now travels as this return value: stop the hook from raising it again, so the caller can
       record it; a further signal kills the process (see interrupt.h) */
    interrupt_clear(0);
  }
  lua_pushboolean(L, status == LUA_OK);
  lua_insert(L, 1);
  return lua_gettop(L);
}

/* sys.interrupted() -> nil | "cancelled" | "timeout" */
static int sys_interrupted(lua_State *L) {
  int why = mercado_interrupted();
  if (why == MERCADO_RUNNING) lua_pushnil(L);
  else lua_pushstring(L, why == MERCADO_CANCELLED ? "cancelled" : "timeout");
  return 1;
}

/* sys.clear_interrupt([forget]): acknowledges a cancellation (see interrupt.h). */
static int sys_clear_interrupt(lua_State *L) {
  interrupt_clear(lua_toboolean(L, 1));
  return 0;
}

/* sys.signals() -> number of SIGINT/SIGTERM received, last signal name */
static int sys_signals(lua_State *L) {
  lua_pushinteger(L, interrupt_signal_count());
  int s = interrupt_last_signal();
  lua_pushstring(L, s == SIGINT ? "SIGINT" : s == SIGTERM ? "SIGTERM" : "none");
  return 2;
}

/* sys.signal_mode("cancel" | "count"): whether signals cancel the running code or are only counted. */
static int sys_signal_mode(lua_State *L) {
  static const char *const modes[] = {"cancel", "count", NULL};
  interrupt_set_mode(luaL_checkoption(L, 1, NULL, modes));
  return 0;
}

static int sys_set_progress(lua_State *L) {
  progress_set_enabled(lua_toboolean(L, 1));
  return 0;
}

static int sys_threads(lua_State *L) {
  lua_pushinteger(L, mercado_threads());
  return 1;
}

/* sys.huge_pages() -> whether large arrays use transparent huge pages, and why (see runtime/hugepages.c) */
static int sys_huge_pages(lua_State *L) {
  const char *reason;
  lua_pushboolean(L, mc_huge_pages(&reason));
  lua_pushstring(L, reason);
  return 2;
}

/* sys.free_page_reporting() -> whether the kernel reports free memory to a hypervisor (virtio-balloon) */
static int sys_free_page_reporting(lua_State *L) {
  lua_pushboolean(L, mc_free_page_reporting(NULL));
  return 1;
}

static int sys_isatty(lua_State *L) {
  lua_pushboolean(L, isatty((int)luaL_optinteger(L, 1, 2)));
  return 1;
}

static int sys_getpid(lua_State *L) {
  lua_pushinteger(L, getpid());
  return 1;
}

static int sys_hostname(lua_State *L) {
  char h[256];
  if (gethostname(h, sizeof h) != 0) strcpy(h, "unknown");
  h[sizeof h - 1] = '\0';
  lua_pushstring(L, h);
  return 1;
}

/* sys.proc_start(pid) -> start time of the process in clock ticks since boot, or nil if it does not exist.
   Together with the pid it identifies a process even after pid reuse. */
static int sys_proc_start(lua_State *L) {
  char path[64], buf[1024];
  snprintf(path, sizeof path, "/proc/%lld/stat", (long long)luaL_checkinteger(L, 1));
  FILE *f = fopen(path, "r");
  if (!f) return 0;
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = '\0';
  char *p = strrchr(buf, ')'); /* the command name may contain spaces */
  if (!p) return 0;
  unsigned long long start = 0;
  int field = 2;
  for (char *tok = strtok(p + 1, " "); tok; tok = strtok(NULL, " ")) {
    if (++field == 22) {
      start = strtoull(tok, NULL, 10);
      break;
    }
  }
  lua_pushinteger(L, (lua_Integer)start);
  return 1;
}

/* sys.exe_path() -> absolute path of the running executable */
static int sys_exe_path(lua_State *L) {
  char p[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", p, sizeof p - 1);
  if (n < 0) return push_fail(L, strerror(errno));
  p[n] = '\0';
  lua_pushstring(L, p);
  return 1;
}

/* sys.realpath(path) -> absolute path | nil, err */
static int sys_realpath(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  char out[PATH_MAX];
  if (!realpath(path, out)) return push_fail(L, lua_pushfstring(L, "%s: %s", path, strerror(errno)));
  lua_pushstring(L, out);
  return 1;
}

/* sys.glob(pattern) -> sorted array of matching paths (empty when none) | nil, err */
static int sys_glob(lua_State *L) {
  const char *pat = luaL_checkstring(L, 1);
  glob_t g;
  int rc = glob(pat, 0, NULL, &g);
  if (rc != 0 && rc != GLOB_NOMATCH) {
    globfree(&g);
    return push_fail(L, lua_pushfstring(L, "cannot expand %s", pat));
  }
  lua_createtable(L, rc == 0 ? (int)g.gl_pathc : 0, 0);
  if (rc == 0)
    for (size_t i = 0; i < g.gl_pathc; i++) {
      lua_pushstring(L, g.gl_pathv[i]);
      lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
  globfree(&g);
  return 1;
}

/* sys.stat(path) -> {type = "file"|"directory"|"other", size, mtime} | nil, err (follows symlinks) */
static int sys_stat(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  struct stat st;
  if (stat(path, &st) != 0) return push_fail(L, lua_pushfstring(L, "%s: %s", path, strerror(errno)));
  lua_createtable(L, 0, 3);
  lua_pushstring(L, S_ISREG(st.st_mode) ? "file" : S_ISDIR(st.st_mode) ? "directory" : "other");
  lua_setfield(L, -2, "type");
  lua_pushinteger(L, (lua_Integer)st.st_size);
  lua_setfield(L, -2, "size");
  lua_pushnumber(L, (double)st.st_mtim.tv_sec + (double)st.st_mtim.tv_nsec * 1e-9);
  lua_setfield(L, -2, "mtime");
  return 1;
}

/* sys.access(path, "w") -> true | nil, err: whether the directory or file is writable (or readable with "r"). */
static int sys_access(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  const char *mode = luaL_optstring(L, 2, "r");
  int m = strchr(mode, 'w') ? W_OK : R_OK;
  if (access(path, m) != 0) return push_fail(L, lua_pushfstring(L, "%s: %s", path, strerror(errno)));
  lua_pushboolean(L, 1);
  return 1;
}

/* ---- locks: flock(2) on a file; the kernel releases it when the holder dies, so a crash never wedges it ---- */

typedef struct lock_ud {
  int fd;
} lock_ud;

/* sys.try_lock(path) -> lock | nil, "held by pid N" | nil, err. The lock file records the holder's pid. */
static int sys_try_lock(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  lock_ud *u = lua_newuserdatauv(L, sizeof *u, 0);
  u->fd = -1;
  luaL_setmetatable(L, LOCK_MT);
  int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
  if (fd < 0) return push_fail(L, lua_pushfstring(L, "cannot open lock %s: %s", path, strerror(errno)));
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    char holder[32] = "";
    ssize_t n = pread(fd, holder, sizeof holder - 1, 0);
    holder[n > 0 ? n : 0] = '\0';
    close(fd);
    return push_fail(L, lua_pushfstring(L, "held by pid %s", holder[0] ? holder : "?"));
  }
  char pid[32];
  int n = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
  if (ftruncate(fd, 0) == 0 && pwrite(fd, pid, (size_t)n, 0) < 0) { /* the pid is informative only */
  }
  u->fd = fd;
  return 1;
}

static int lock_release(lua_State *L) {
  lock_ud *u = luaL_checkudata(L, 1, LOCK_MT);
  if (u->fd >= 0) {
    close(u->fd); /* closing drops the flock */
    u->fd = -1;
  }
  return 0;
}

/* ---- child processes ---- */

/* sys.spawn(argv [, {stdin = string, stdout = path, stderr = path, env = {K = V}}]) -> pid | nil, err.
   With opts.stdin the string is written to the child's standard input, which is then closed. */
static int sys_spawn(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  int argc = (int)luaL_len(L, 1);
  if (argc < 1) return luaL_argerror(L, 1, "empty argv");
  const char **argv = lua_newuserdatauv(L, sizeof(char *) * (size_t)(argc + 1), 0);
  for (int i = 1; i <= argc; i++) {
    lua_rawgeti(L, 1, i);
    argv[i - 1] = luaL_checkstring(L, -1);
    lua_pop(L, 1); /* strings stay alive: the table holds them */
  }
  argv[argc] = NULL;
  const char *input = NULL, *out = NULL, *errp = NULL;
  size_t inlen = 0;
  if (lua_istable(L, 2)) {
    lua_getfield(L, 2, "stdin");
    input = lua_tolstring(L, -1, &inlen);
    lua_getfield(L, 2, "stdout");
    out = lua_tostring(L, -1);
    lua_getfield(L, 2, "stderr");
    errp = lua_tostring(L, -1);
  }
  int pipefd[2] = {-1, -1};
  if (input && pipe2(pipefd, O_CLOEXEC) != 0) return push_fail(L, strerror(errno));
  fflush(NULL);
  pid_t pid = fork();
  if (pid < 0) return push_fail(L, strerror(errno));
  if (pid == 0) {
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    signal(SIGPIPE, SIG_DFL);
    if (input) dup2(pipefd[0], 0);
    else {
      int nul = open("/dev/null", O_RDONLY);
      if (nul >= 0) dup2(nul, 0);
    }
    if (out) {
      int fd = open(out, O_WRONLY | O_CREAT | O_APPEND, 0666);
      if (fd >= 0) dup2(fd, 1);
    }
    if (errp) {
      int fd = open(errp, O_WRONLY | O_CREAT | O_APPEND, 0666);
      if (fd >= 0) dup2(fd, 2);
    }
    if (lua_istable(L, 2)) {
      lua_getfield(L, 2, "env");
      if (lua_istable(L, -1)) {
        lua_pushnil(L);
        while (lua_next(L, -2)) {
          if (lua_type(L, -2) == LUA_TSTRING && lua_isstring(L, -1))
            setenv(lua_tostring(L, -2), lua_tostring(L, -1), 1);
          lua_pop(L, 1);
        }
      }
    }
    execvp(argv[0], (char *const *)argv);
    fprintf(stderr, "mercado: cannot run %s: %s\n", argv[0], strerror(errno));
    _exit(127);
  }
  if (input) {
    close(pipefd[0]);
    void (*old)(int) = signal(SIGPIPE, SIG_IGN); /* a child that ignores its input must not kill us */
    size_t off = 0;
    while (off < inlen) {
      ssize_t n = write(pipefd[1], input + off, inlen - off);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      off += (size_t)n;
    }
    close(pipefd[1]);
    signal(SIGPIPE, old);
  }
  lua_pushinteger(L, pid);
  return 1;
}

/* sys.wait(pid [, timeout]) -> "exited", code | "signaled", signum | "running" (timeout passed) | nil, err.
   Waiting is interruptible: a cancellation returns "running" so the caller can decide. */
static int sys_wait(lua_State *L) {
  pid_t pid = (pid_t)luaL_checkinteger(L, 1);
  double timeout = luaL_optnumber(L, 2, -1), end = interrupt_now() + timeout;
  for (;;) {
    int st;
    pid_t r = waitpid(pid, &st, WNOHANG);
    if (r == pid) {
      if (WIFEXITED(st)) {
        lua_pushliteral(L, "exited");
        lua_pushinteger(L, WEXITSTATUS(st));
      } else {
        lua_pushliteral(L, "signaled");
        lua_pushinteger(L, WTERMSIG(st));
      }
      return 2;
    }
    if (r < 0 && errno != EINTR) return push_fail(L, strerror(errno));
    if ((timeout >= 0 && interrupt_now() >= end) || mercado_interrupted() == MERCADO_CANCELLED) {
      lua_pushliteral(L, "running");
      return 1;
    }
    struct timespec ts = {0, 20 * 1000 * 1000};
    nanosleep(&ts, NULL);
  }
}

/* sys.kill(pid, "INT"|"TERM"|"KILL"|0) -> true | nil, err */
static int sys_kill(lua_State *L) {
  pid_t pid = (pid_t)luaL_checkinteger(L, 1);
  int sig = 0;
  if (lua_type(L, 2) == LUA_TSTRING) {
    const char *s = lua_tostring(L, 2);
    sig = strcmp(s, "INT") == 0 ? SIGINT : strcmp(s, "TERM") == 0 ? SIGTERM : strcmp(s, "KILL") == 0 ? SIGKILL : -1;
    if (sig < 0) return luaL_argerror(L, 2, "expected INT, TERM or KILL");
  }
  if (kill(pid, sig) != 0) return push_fail(L, strerror(errno));
  lua_pushboolean(L, 1);
  return 1;
}

/* ---- terminal line editing (REPL) ---- */

/* sys.readline([prompt]) -> line | nil at end of input | false when interrupted by Ctrl-C.
   Without a prompt nothing is printed (input from a pipe). */
static int sys_readline(lua_State *L) {
  const char *prompt = luaL_optstring(L, 1, NULL);
#if MERCADO_HAVE_LIBEDIT
  if (isatty(STDIN_FILENO)) {
    int before = interrupt_signal_count();
    char *line = readline(prompt ? prompt : "");
    if (!line) {
      if (interrupt_signal_count() != before) {
        lua_pushboolean(L, 0);
        return 1;
      }
      return 0;
    }
    lua_pushstring(L, line);
    free(line);
    return 1;
  }
#endif
  if (prompt) {
    fputs(prompt, stdout);
    fflush(stdout);
  }
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  int got = 0;
  for (;;) {
    int c = getchar();
    if (c == EOF) {
      if (ferror(stdin) && errno == EINTR) {
        clearerr(stdin);
        lua_pushboolean(L, 0);
        return 1;
      }
      break;
    }
    got = 1;
    if (c == '\n') break;
    luaL_addchar(&b, (char)c);
  }
  if (!got) return 0;
  luaL_pushresult(&b);
  return 1;
}

static int sys_add_history(lua_State *L) {
  const char *line = luaL_checkstring(L, 1);
#if MERCADO_HAVE_LIBEDIT
  add_history(line);
#else
  (void)line;
#endif
  return 0;
}

static int sys_history_file(lua_State *L) {
  const char *op = luaL_checkstring(L, 1), *path = luaL_checkstring(L, 2);
#if MERCADO_HAVE_LIBEDIT
  if (strcmp(op, "read") == 0) read_history(path);
  else {
    write_history(path);
    history_truncate_file(path, 1000);
  }
#else
  (void)op, (void)path;
#endif
  return 0;
}

static int sys_version(lua_State *L) {
  lua_pushstring(L, MERCADO_VERSION);
  return 1;
}

/* sys.install_flows_dir() -> the installed flows directory, and the source tree's (for a binary run from its
   build directory) */
static int sys_flows_dir(lua_State *L) {
  lua_pushstring(L, MERCADO_FLOWS_DIR);
  lua_pushstring(L, MERCADO_SOURCE_FLOWS);
  return 2;
}

static const luaL_Reg sys_funcs[] = {
  {"write_atomic", sys_write_atomic}, {"append", sys_append},
  {"mkdirs", sys_mkdirs},             {"sha256_file", sys_sha256_file},
  {"sha256", sys_sha256},             {"now", sys_now},
  {"monotonic", sys_monotonic},       {"isotime", sys_isotime},
  {"sleep", sys_sleep},               {"call", sys_call},
  {"interrupted", sys_interrupted},   {"clear_interrupt", sys_clear_interrupt},
  {"signals", sys_signals},           {"signal_mode", sys_signal_mode},
  {"set_progress", sys_set_progress}, {"threads", sys_threads},
  {"huge_pages", sys_huge_pages},     {"free_page_reporting", sys_free_page_reporting},
  {"isatty", sys_isatty},             {"getpid", sys_getpid},
  {"hostname", sys_hostname},         {"proc_start", sys_proc_start},
  {"exe_path", sys_exe_path},         {"realpath", sys_realpath},
  {"glob", sys_glob},                 {"stat", sys_stat},
  {"access", sys_access},             {"try_lock", sys_try_lock},
  {"spawn", sys_spawn},               {"wait", sys_wait},
  {"kill", sys_kill},                 {"readline", sys_readline},
  {"add_history", sys_add_history},   {"history_file", sys_history_file},
  {"version", sys_version},           {"install_flows_dir", sys_flows_dir},
  {NULL, NULL},
};

int luaopen_mercado_sys(lua_State *L) {
  if (luaL_newmetatable(L, LOCK_MT)) {
    lua_pushcfunction(L, lock_release);
    lua_setfield(L, -2, "__gc");
    lua_pushcfunction(L, lock_release);
    lua_setfield(L, -2, "__close");
    lua_newtable(L);
    lua_pushcfunction(L, lock_release);
    lua_setfield(L, -2, "release");
    lua_setfield(L, -2, "__index");
  }
  lua_pop(L, 1);
  luaL_newlib(L, sys_funcs);
  return 1;
}
