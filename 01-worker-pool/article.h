/*
 * article.h - lesson 01: the article's worker pool, its bug kept on purpose,
 * for --leak and --article-bug (see article.c; compare it with
 * worker_pool.c, the pool done right).
 */
#ifndef ARTICLE_01_H
#define ARTICLE_01_H

#include <stdbool.h>
#include <stdint.h>

/* Runs the article's pool: `workers` workers that each offer their channel
 * once, `tasks` tasks through a queue of capacity `queue`, each working
 * work_ms. Main gives up once no result has come for a while and returns
 * without shutting anything down: the goroutines, channels and memory are
 * left for the exit-time leak check to find. With wait_forever, main waits
 * for its results for ever, as the article's does, and the runtime's
 * deadlock report ends the program. Returns 0, or ENOMEM. */
int article_pool(int64_t workers, int64_t tasks, int64_t queue, int64_t work_ms, bool wait_forever);

#endif
