/*
 * report.c - lesson 05's program, the lines it prints about the pipeline as
 * a whole: the shape it builds (report_pipeline) and, once the sinks have
 * returned, what each one got and how far the square stage ran
 * (report_sinks). Only printing: kept out of main.c so that main.c reads as
 * the pipeline being built, run and shut down.
 */
#include "05-pipeline/report.h"

#include <inttypes.h>
#include <stdio.h>

void report_pipeline(int64_t n, int64_t workers, int sinks, bool tee)
{
    printf("Pipeline: generate 0..%" PRId64 " -> square", n - 1);
    if (workers > 1)
        printf(" (%" PRId64 " goroutines, order not kept)", workers);
    printf(" -> keep odd -> ");
    if (sinks == 1)
        printf("Sink1\n");
    else if (tee)
        printf("tee -> Sink1 and Sink2 (broadcast: both get every value)\n");
    else
        printf("Sink1 and Sink2 on one channel (they compete for the values)\n");
}

void report_sinks(const pipeline_sink_t *sinks, int count, bool tee, int64_t n, int64_t squared)
{
    for (int i = 0; i < count; i++) {
        const pipeline_sink_t *s = &sinks[i];
        const char            *why = s->err != 0 ? "stopped by the cancel"
                                     : (s->take > 0 && s->received == s->take)
                                         ? "took what it wanted, canceled the pipeline"
                                         : "input closed";
        printf("%s finished: %" PRId64 " value%s, %s\n", s->name, s->received,
               s->received == 1 ? "" : "s", why);
    }
    int64_t odd_squares = n / 2; /* i*i is odd exactly when i is */
    if (count == 2 && !tee)
        printf("Sinks together: %" PRId64 " + %" PRId64 " = %" PRId64 " of the %" PRId64
               " odd squares; each went to one sink\n",
               sinks[0].received, sinks[1].received, sinks[0].received + sinks[1].received,
               odd_squares);
    else if (tee)
        printf("Tee: Sink1 got %" PRId64 ", Sink2 got %" PRId64 " of the %" PRId64 " odd squares\n",
               sinks[0].received, sinks[1].received, odd_squares);
    printf("Square stage handled %" PRId64 " of %" PRId64 " generated numbers\n", squared, n);
    printf("Pipeline completed.\n");
}
