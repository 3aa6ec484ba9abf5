/*
 * examples.h - lesson 04's four examples, the runs that main.c tells one
 * after another (see examples.c).
 */
#ifndef EXAMPLES_04_H
#define EXAMPLES_04_H

#include "common/timer.h"

/* The durations every example reads: main's flags, in duration_t. */
typedef struct {
    duration_t task;         /* how long every task takes if left alone */
    duration_t cancel_after; /* when main cancels (examples 1 and 3) */
    duration_t timeout;      /* the timeout of examples 2 and 4 */
} example_config_t;

/* Each example prints its heading and what main sees on stdout, and returns
 * 0 once every goroutine it started has returned and every context it made
 * is canceled and released; or ENOMEM (the errno, for example 3) if it
 * could not start, with nothing left behind. */

/* 1. A task canceled by hand after cfg->cancel_after (the article's example 1). */
int example_manual_cancel(const example_config_t *cfg);

/* 2. A task given a timeout of cfg->timeout (the article's example 2). */
int example_timeout(const example_config_t *cfg);

/* 3. Request req-1, three workers each with a sub-task: main cancels worker 2
 * after cfg->cancel_after, then the whole request cfg->cancel_after later. */
int example_request_tree(const example_config_t *cfg);

/* 4. A child asking for twice cfg->timeout under a parent with cfg->timeout:
 * the parent's earlier deadline wins. */
int example_inherited_deadline(const example_config_t *cfg);

#endif
