/*
 * report.h - what lesson 05's program says about its pipeline: its shape
 * before the run, and after it how each sink ended (see report.c).
 */
#ifndef PIPELINE_REPORT_H
#define PIPELINE_REPORT_H

#include <stdbool.h>
#include <stdint.h>

#include "05-pipeline/pipeline.h"

/* Prints the pipeline the flags chose, as one line: generate 0..n-1, the
 * square stage (on `workers` goroutines), keep odd, and one sink, or two
 * sharing one channel, or two behind a tee. */
void report_pipeline(int64_t n, int64_t workers, int sinks, bool tee);

/* Prints how each of the `count` sinks ended (input closed, canceled, or it
 * took what it wanted), how the two sinks split or shared the odd squares of
 * 0..n-1, how many of the n numbers the square stage handled, and that the
 * pipeline completed. */
void report_sinks(const pipeline_sink_t *sinks, int count, bool tee, int64_t n, int64_t squared);

#endif
