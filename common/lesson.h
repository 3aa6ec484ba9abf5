/*
 * lesson.h - the part every lesson program shares: its command line, its
 * trace outputs and its last word on shutdown, so that a lesson's main.c is
 * only the program's story.
 *
 * A lesson describes its options in a table, each row beside its help text:
 *
 *     int64_t workers = 3;
 *     lesson_option_t options[] = {
 *         LESSON_INT("workers", 'w', "N", &workers, 1, 1024, "worker goroutines"),
 *         LESSON_END,
 *     };
 *     lesson_t lesson = {.name = "01-worker-pool", .about = "...", .options = options,
 *                        .leak_help = "..."};
 *     int status;
 *     if (!lesson_begin(&lesson, argc, argv, &status))
 *         return status;                  // --help (0) or bad input (2)
 *     int err = run(workers);             // the story: 0 or an errno value
 *     return lesson_end(&lesson, err);    // trace outputs, leak check, exit status
 *
 * What the harness adds to every lesson, so that no lesson repeats it:
 *   --help / -h    the usage, built from the table, on stdout; exit 0
 *   --timeline     at exit, the ASCII timeline on stdout    } the trace
 *   --trace FILE   at exit, the Chrome trace JSON in FILE   } outputs
 *   --html FILE    at exit, the timeline page in FILE       }
 *   --leak         sets lesson.leak, if the lesson has a leak demo
 * and, at the end, the leak check against a snapshot taken before the story
 * began, then "Clean shutdown: ..." on stdout.
 *
 * Bad input, the same in every lesson: a message naming the program and
 * what was wrong ("01-worker-pool: --workers: 'x' is not a number"), the
 * usage on stderr, exit status 2, nothing on stdout.
 *
 * Short letters mean one thing across all lessons: -w workers, -t tasks,
 * -q queue, -m work-ms (work per item, in ms), -j jobs, -o ordered, -h help.
 * A new one must not reuse a letter for something else.
 *
 * The one return convention: the story returns 0 or an errno value (the
 * core's convention); lesson_end turns it into the exit status.
 * Exit status: 0 the story succeeded and the shutdown was clean; 1 it failed,
 * a trace output could not be written, or something was left running or
 * allocated (every --leak demo, on purpose); 2 bad command line. (The
 * runtime's deadlock report exits 2 as well.)
 */
#ifndef COMMON_LESSON_H
#define COMMON_LESSON_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "common/leak.h"

typedef enum {
    LESSON_OPT_INT,    /* --name N: a decimal in [min, max] into an int64_t */
    LESSON_OPT_FLAG,   /* --name: sets a bool to true */
    LESSON_OPT_STRING, /* --name VALUE: points a const char * at the argument */
} lesson_opt_kind_t;

typedef struct {
    const char       *name;   /* long name, without the "--"; NULL ends the table */
    char              letter; /* short option, or 0 for none */
    const char       *value;  /* what the value is called in the help ("N"); NULL for a flag */
    lesson_opt_kind_t kind;
    void             *target; /* int64_t *, bool * or const char **; its value is the default */
    int64_t           min, max;
    const char       *help; /* one line or several ('\n'); an int's range and default are
                             * added (a default outside the range: "not given") */
} lesson_option_t;

#define LESSON_INT(name, letter, value, target, min, max, help)                                    \
    {                                                                                              \
        (name), (letter), (value), LESSON_OPT_INT, (target), (min), (max), (help)                  \
    }
#define LESSON_FLAG(name, letter, target, help)                                                    \
    {                                                                                              \
        (name), (letter), NULL, LESSON_OPT_FLAG, (target), 0, 0, (help)                            \
    }
#define LESSON_STRING(name, letter, value, target, help)                                           \
    {                                                                                              \
        (name), (letter), (value), LESSON_OPT_STRING, (target), 0, 0, (help)                       \
    }
#define LESSON_END                                                                                 \
    {                                                                                              \
        NULL, 0, NULL, LESSON_OPT_FLAG, NULL, 0, 0, NULL                                           \
    }

/* Room for the values of the trace outputs (lesson.c has one row per
 * output: --timeline, --trace FILE, ...), and for a lesson's own options. */
#define LESSON_MAX_OUTPUTS 4
#define LESSON_MAX_OPTIONS 24

typedef struct {
    /* Filled in by the lesson. */
    const char            *name;    /* "01-worker-pool": the program's name if argv[0] is missing */
    const char            *about;   /* what the program does, for the usage; lines end in '\n' */
    const lesson_option_t *options; /* the lesson's own options, ended by LESSON_END: at most
                                     * LESSON_MAX_OPTIONS, none named like the harness's */
    const char *leak_help;          /* help for --leak; NULL: this lesson has no --leak */
    const char *epilogue;           /* printed after the options (exit status, ...); may be NULL */

    /* Filled in by lesson_begin. */
    const char *prog; /* argv[0] without its directory, for messages */
    bool        leak; /* --leak was given */
    const char
        *outputs[LESSON_MAX_OUTPUTS]; /* per trace output: its FILE, "" for a flag, or NULL */
    leak_snapshot_t start;            /* what was running before the story began */
    int64_t         defaults[LESSON_MAX_OPTIONS]; /* each int option's default, for the usage */
} lesson_t;

/* Parses argv against lesson->options and the harness's own options. On
 * --help, prints the usage on stdout and returns false with *status 0; on
 * bad input, prints what was wrong and the usage on stderr and returns false
 * with *status 2; in both cases nothing else has changed. Otherwise: stores
 * every value given, makes stdout line-buffered (each line shows as it
 * happens, even through a pipe), enables tracing if a trace output was
 * asked for, takes the leak snapshot, and returns true. */
bool lesson_begin(lesson_t *lesson, int argc, char **argv, int *status);

/* For checks that involve several options, right after lesson_begin and
 * before the story starts: prints "<prog>: <message>" and the usage on
 * stderr, and turns tracing off again. Returns 2, the status to exit with. */
int lesson_usage_error(const lesson_t *lesson, const char *message);

/* Ends the program: if err is not 0, reports "<prog>: <what failed>" on
 * stderr; writes every trace output asked for; checks that every goroutine
 * started since lesson_begin has returned and every allocation was freed,
 * naming what is left if not; and prints the clean-shutdown line if so.
 * Returns the exit status (see the top of this file). */
int lesson_end(lesson_t *lesson, int err);

#endif
