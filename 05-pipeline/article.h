/*
 * article.h - lesson 05: the consumer that walks away, kept on purpose for
 * --leak (see article.c; compare it with pipeline_sink_run in pipeline.c,
 * which cancels the pipeline when it stops early).
 */
#ifndef ARTICLE_05_H
#define ARTICLE_05_H

#include <stdint.h>

#include "common/context.h"

/* Builds generate 0..n-1 -> square -> keep odd under ctx, takes `take`
 * values as the sink (printing "Sink1 received: V" and pausing sink_ms
 * after each), then stops reading WITHOUT canceling ctx: every stage
 * upstream stays blocked, for the exit-time leak check to find. The caller
 * must not cancel ctx either. Returns 0, or the errno of a stage that could
 * not start. */
int article_walk_away(ctx_t *ctx, int64_t n, int64_t take, int64_t sink_ms);

#endif
