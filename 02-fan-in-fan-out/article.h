/*
 * article.h - lesson 02: the article's fan-out/fan-in program, its bug kept
 * on purpose, for --leak and --article-bug (see article.c; compare it with
 * fan.c and main.c, the pattern done right).
 */
#ifndef ARTICLE_02_H
#define ARTICLE_02_H

#include <stdbool.h>
#include <stdint.h>

/* Runs the article's program: `workers` workers square the jobs 1..jobs
 * (work_ms each) and return WITHOUT closing their result channels, so the
 * merged channel never closes. Main gives up once no result has come for a
 * while, leaving the merger for the exit-time leak check to find; with
 * wait_forever it ranges over the merged channel for ever, as the article's
 * does, and the runtime's deadlock report ends the program. Returns 0, or
 * an errno value if something could not be started. */
int article_fan(int64_t workers, int64_t jobs, int64_t work_ms, bool wait_forever);

#endif
