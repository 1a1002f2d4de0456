/*
** interrupt.c: cancellation and timeouts. A signal or a passed deadline sets a flag; a Lua count hook raises a
** structured error in running Lua code, and native loops poll mercado_interrupted().
** This file holds the process's only global state: signal handlers and worker threads cannot reach a lua_State.
*/
#include "interrupt.h"

#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "lauxlib.h"
#include "mercado_runtime.h"

static lua_State *volatile hooked_state;   /* the state whose code a signal interrupts */
static volatile sig_atomic_t signal_count; /* SIGINT/SIGTERM received */
static volatile sig_atomic_t last_signal;
static volatile sig_atomic_t cancel_pending;
static volatile sig_atomic_t acknowledged; /* a cancellation was handled: the next signal kills */
static volatile sig_atomic_t count_only;
static _Atomic double deadline;            /* monotonic seconds; 0 = none */

#define HOOK_COUNT 1000

double interrupt_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int mercado_interrupted(void) {
  if (cancel_pending) return MERCADO_CANCELLED;
  double d = atomic_load(&deadline);
  if (d > 0 && interrupt_now() >= d) return MERCADO_TIMED_OUT;
  return MERCADO_RUNNING;
}

int mercado_raise_interrupt(lua_State *L) {
  int why = mercado_interrupted();
  lua_createtable(L, 0, 2);
  lua_pushstring(L, why == MERCADO_TIMED_OUT ? "timeout" : "cancelled");
  lua_setfield(L, -2, "kind");
  lua_pushstring(L, why == MERCADO_TIMED_OUT ? "timed out"
                    : why == MERCADO_CANCELLED ? "cancelled by signal" : "interrupted");
  lua_setfield(L, -2, "message");
  return lua_error(L);
}

/* The hook: raises the interruption inside whatever Lua code runs. While it stays pending it fires again at the
   next count, so code that catches the error with pcall cannot swallow it. */
static void interrupt_hook(lua_State *L, lua_Debug *ar) {
  (void)ar;
  if (mercado_interrupted() != MERCADO_RUNNING) mercado_raise_interrupt(L);
}

static void arm_hook(lua_State *L) {
  if (L) lua_sethook(L, interrupt_hook, LUA_MASKCOUNT, HOOK_COUNT);
}

static void on_signal(int sig) {
  signal_count++;
  last_signal = sig;
  if (count_only) return;
  if (cancel_pending || acknowledged) { /* second signal: give up on a clean stop */
    signal(sig, SIG_DFL);
    raise(sig);
    return;
  }
  cancel_pending = 1;
  lua_State *L = hooked_state;
  if (L) lua_sethook(L, interrupt_hook, LUA_MASKCALL | LUA_MASKRET | LUA_MASKCOUNT, 1);
}

void interrupt_install(lua_State *L) {
  struct sigaction sa;
  hooked_state = L;
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0; /* no SA_RESTART: blocking reads return EINTR so the REPL and sleeps notice */
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
}

void interrupt_clear(int forget) {
  cancel_pending = 0;
  acknowledged = !forget;
  if (hooked_state) {
    if (atomic_load(&deadline) > 0) arm_hook(hooked_state);
    else lua_sethook(hooked_state, NULL, 0, 0);
  }
}

int interrupt_signal_count(void) { return signal_count; }
int interrupt_last_signal(void) { return last_signal; }
void interrupt_set_mode(int only_count) { count_only = only_count; }

double interrupt_set_deadline(lua_State *L, double d) {
  double old = atomic_exchange(&deadline, d);
  if (d > 0) arm_hook(L);
  else if (!cancel_pending) lua_sethook(L, NULL, 0, 0);
  return old;
}

int mercado_threads(void) {
  static atomic_int cached;
  int n = atomic_load(&cached);
  if (n > 0) return n;
  const char *env = getenv("MERCADO_THREADS");
  n = env ? atoi(env) : (int)sysconf(_SC_NPROCESSORS_ONLN);
  if (n < 1) n = 1;
  if (n > 64) n = 64;
  atomic_store(&cached, n);
  return n;
}
