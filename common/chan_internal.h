/*
 * chan_internal.h - hooks between core modules; not part of the public API.
 */
#ifndef COMMON_CHAN_INTERNAL_H
#define COMMON_CHAN_INTERNAL_H

#include "common/chan.h"

/* Registers fn(arg) to run once when c's last reference is released, before
 * c is freed (time_after uses it to cancel its timer). One finalizer per
 * channel; a second call replaces the first. */
void chan_set_finalizer(chan_t *c, void (*fn)(void *arg), void *arg);

#endif
