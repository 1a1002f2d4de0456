/*
** interrupt.h: the host side of interruption: signal handlers, the task deadline and the Lua hook that turns them
** into errors inside running Lua code (as lua.c does for Ctrl-C).
*/
#ifndef MERCADO_INTERRUPT_H
#define MERCADO_INTERRUPT_H

#include "lua.h"

/* Installs SIGINT/SIGTERM handlers that request cancellation of the running code of L. A second signal while a
   cancellation is pending restores the default action, so a stuck process can still be killed. */
void interrupt_install(lua_State *L);
/* Stops raising a pending cancellation. forget = 1 (the REPL, between statements): the next signal cancels again;
   forget = 0 (a flow that handled its cancellation): the next signal kills the process. */
void interrupt_clear(int forget);
/* Number of SIGINT/SIGTERM received so far, and the last one. */
int interrupt_signal_count(void);
int interrupt_last_signal(void);
/* Seconds on the monotonic clock. */
double interrupt_now(void);
/* Sets the deadline (monotonic seconds, 0 = none) and returns the previous one; arms the count hook. */
double interrupt_set_deadline(lua_State *L, double deadline);
/* Sets how the next signals are handled: 0 = cancel the running code (default), 1 = only count them
   (the scheduler decides what to do). */
void interrupt_set_mode(int count_only);

#endif
