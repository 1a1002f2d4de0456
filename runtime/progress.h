/* progress.h: host control of the progress line (modules use mercado_runtime.h). */
#ifndef MERCADO_PROGRESS_H
#define MERCADO_PROGRESS_H
/* Enables drawing (it still only draws on a terminal); --quiet turns it off. */
void progress_set_enabled(int on);
#endif
