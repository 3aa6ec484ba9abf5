/*
 * main.c - lesson 04 as a command-line tool: four short runs that show a
 * context stopping work.
 *
 *   1. a task canceled by hand            (the article's example 1)
 *   2. a task stopped by a timeout        (the article's example 2)
 *   3. one request, three workers, each with a sub-task: cancel one worker,
 *      then the whole request; every log line carries the request id
 *   4. a child whose own timeout is later than its parent's: the parent's
 *      deadline wins
 *
 * Each run is a function of examples.c; this file holds the options and the
 * order of the runs. The article draws each task's duration at random
 * (1-5 s). Here durations come from the flags, so every run tells the same
 * story; the defaults make the cancel and the timeouts land in the middle of
 * the work.
 *
 * No example sleeps to let a goroutine finish: each waits for its answer on
 * a channel. At the end the harness (common/lesson.h) proves that every
 * goroutine returned, every timer was disarmed and every allocation was
 * freed. --leak runs two classic context mistakes instead (article.c).
 */
#include "04-context/article.h"
#include "04-context/examples.h"
#include "common/lesson.h"

int main(int argc, char **argv)
{
    /* The article's numbers (a 1-5 s task, cancel and timeout at 2 s) scaled
     * down, and made fixed so that every cancel lands mid-task. */
    int64_t               task_ms = 1500, cancel_after_ms = 600, timeout_ms = 600;
    const lesson_option_t options[] = {
        LESSON_INT("task-ms", 0, "N", &task_ms, 1, 600000,
                   "how long each task takes if left alone, in ms"),
        LESSON_INT("cancel-after-ms", 0, "N", &cancel_after_ms, 1, 600000,
                   "when main cancels in examples 1 and 3, in ms"),
        LESSON_INT("timeout-ms", 0, "N", &timeout_ms, 1, 600000,
                   "the timeout of examples 2 and 4, in ms"),
        LESSON_END,
    };
    lesson_t lesson = {
        .name = "04-context",
        .about = "Shows a context stopping work, in four examples:\n"
                 "  1. a task canceled by hand after --cancel-after-ms\n"
                 "  2. a task given a timeout of --timeout-ms\n"
                 "  3. request req-1: three workers, each with a sub-task; main cancels worker 2\n"
                 "     after --cancel-after-ms, then the whole request --cancel-after-ms later\n"
                 "  4. a child context asking for twice --timeout-ms under a parent with\n"
                 "     --timeout-ms: the parent's earlier deadline wins\n"
                 "Durations are fixed, not random, so every run tells the same story.\n",
        .options = options,
        .leak_help = "instead of the examples, forget a cancel and a timer,\n"
                     "to see the leak check name what is left behind",
    };
    int status;
    if (!lesson_begin(&lesson, argc, argv, &status))
        return status;

    const example_config_t cfg = {task_ms * TIME_MILLISECOND, cancel_after_ms * TIME_MILLISECOND,
                                  timeout_ms * TIME_MILLISECOND};
    int (*const examples[])(const example_config_t *) = {
        example_manual_cancel,
        example_timeout,
        example_request_tree,
        example_inherited_deadline,
    };
    int err = 0;
    if (lesson.leak)
        err = article_context_leaks(cfg.task, cfg.timeout);
    else
        for (size_t i = 0; i < sizeof examples / sizeof examples[0] && err == 0; i++)
            err = examples[i](&cfg);
    return lesson_end(&lesson, err);
}
