/*
 * article.c - lesson 05: the mistake the article's pipeline invites, kept
 * on purpose for --leak: a consumer that stops early and walks away.
 *
 * main is the sink here: it takes a few values and stops reading, WITHOUT
 * canceling the context (pipeline_sink_run cancels when it stops early;
 * this does not). Every stage upstream is then blocked for ever on a send
 * nobody will receive: the generator, square and keep odd are all leaked,
 * and the leak check at exit names them.
 */
#include "05-pipeline/article.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>

#include "05-pipeline/pipeline.h"
#include "common/trace.h"

int article_walk_away(ctx_t *ctx, int64_t n, int64_t take, int64_t sink_ms)
{
    printf("--leak: Sink1 (main) takes %" PRId64 " values, then stops reading WITHOUT canceling.\n",
           take);
    chan_t *odd = pipeline_keep_odd(ctx, pipeline_square(ctx, pipeline_generate(ctx, n)));
    if (odd == NULL)
        return errno;
    int64_t received = 0, value;
    while (received < take) {
        trace_wait("receive");
        int rc = chan_recv(odd, &value);
        trace_end();
        if (rc != 0)
            break; /* the pipeline ran dry first: nothing will leak */
        received++;
        trace_begin("visit %" PRId64, value);
        printf("Sink1 received: %" PRId64 "\n", value);
        time_sleep(sink_ms * TIME_MILLISECOND);
        trace_end();
    }
    printf("Sink1 finished: %" PRId64 " value%s, and walked away (no ctx_cancel)\n", received,
           received == 1 ? "" : "s");
    chan_release(odd); /* letting go of a channel does not tell its sender anything */
    return 0;
}
