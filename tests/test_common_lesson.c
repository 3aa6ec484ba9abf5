/*
 * test_common_lesson.c - the lesson harness (common/lesson.h): the option
 * table read by both the parser and the usage, the harness's own options,
 * bad input refused with status 2 and nothing changed, the trace outputs,
 * and lesson_end's exit status; and, across the five lesson programs, that
 * a short letter means one thing everywhere.
 *
 * lesson_begin and lesson_end write to stdout and stderr, so each call runs
 * with both redirected to temporary files (capture_t).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/lesson.h"
#include "common/trace.h"
#include "tests/support/support.h"
#include "tests/support/trace_check.h"

/* ------------------------------------------------------------ capturing */

typedef struct {
    FILE *files[2]; /* what fds 1 and 2 write to meanwhile */
    int   saved[2];
    char *text[2]; /* after capture_end: stdout's and stderr's text */
} capture_t;

static void capture_begin(capture_t *c)
{
    fflush(stdout);
    fflush(stderr);
    for (int i = 0; i < 2; i++) {
        c->files[i] = tmpfile();
        cr_assert_not_null(c->files[i]);
        c->saved[i] = dup(i + 1);
        dup2(fileno(c->files[i]), i + 1);
    }
}

static void capture_end(capture_t *c)
{
    fflush(stdout);
    fflush(stderr);
    for (int i = 0; i < 2; i++) {
        dup2(c->saved[i], i + 1);
        close(c->saved[i]);
        long size = ftell(c->files[i]);
        c->text[i] = calloc(1, (size_t)size + 1);
        rewind(c->files[i]);
        cr_assert_eq(fread(c->text[i], 1, (size_t)size, c->files[i]), (size_t)size);
        fclose(c->files[i]);
    }
}

static void capture_free(capture_t *c)
{
    free(c->text[0]);
    free(c->text[1]);
}

/* ------------------------------------------------------------ a lesson */

typedef struct {
    int64_t         count;
    bool            verbose;
    const char     *name;
    lesson_option_t options[4];
    lesson_t        lesson;
} fixture_t;

static void fixture_init(fixture_t *f, bool with_leak)
{
    memset(f, 0, sizeof *f);
    f->count = 5;
    const lesson_option_t options[] = {
        LESSON_INT("count", 'c', "N", &f->count, 1, 10, "how many"),
        LESSON_FLAG("verbose", 'v', &f->verbose, "say more"),
        LESSON_STRING("name", 0, "NAME", &f->name, "who is asking"),
        LESSON_END,
    };
    memcpy(f->options, options, sizeof options);
    f->lesson = (lesson_t){
        .name = "lesson-test",
        .about = "A lesson for the tests.\n",
        .options = f->options,
        .leak_help = with_leak ? "leak on purpose" : NULL,
        .epilogue = "The end.\n",
    };
}

typedef struct {
    bool      go_on;
    int       status;
    capture_t io;
} begun_t;

/* lesson_begin on "<dir>/lesson-test" and args (NULL-terminated). */
static begun_t begin(fixture_t *f, const char *const args[])
{
    char *argv[16] = {"/some/dir/lesson-test"};
    int   argc = 1;
    for (; args[argc - 1] != NULL; argc++)
        argv[argc] = (char *)args[argc - 1];
    begun_t b = {.status = -1};
    capture_begin(&b.io);
    b.go_on = lesson_begin(&f->lesson, argc, argv, &b.status);
    capture_end(&b.io);
    return b;
}

/* ------------------------------------------------------------ parsing */

Test(lesson, values_are_stored_and_defaults_kept, .timeout = 30)
{
    support_begin();
    fixture_t f;
    fixture_init(&f, true);
    begun_t b = begin(&f, (const char *[]){"--count", "7", "-v", "--name=ann", NULL});
    cr_assert(b.go_on);
    cr_assert_eq(b.status, 0);
    cr_assert_eq(f.count, 7);
    cr_assert(f.verbose);
    cr_assert_str_eq(f.name, "ann");
    cr_assert_not(f.lesson.leak);
    cr_assert_str_eq(f.lesson.prog, "lesson-test", "the program's name without its directory");
    cr_assert_str_eq(b.io.text[0], "");
    cr_assert_str_eq(b.io.text[1], "");
    capture_free(&b.io);

    fixture_init(&f, true);
    b = begin(&f, (const char *[]){"-c3", "--leak", NULL});
    cr_assert(b.go_on);
    cr_assert_eq(f.count, 3);
    cr_assert_not(f.verbose);
    cr_assert_null(f.name);
    cr_assert(f.lesson.leak);
    for (int i = 0; i < LESSON_MAX_OUTPUTS; i++)
        cr_assert_null(f.lesson.outputs[i], "no trace output asked for");
    cr_assert_not(trace_enabled());
    capture_free(&b.io);
    support_end();
}

Test(lesson, help_lists_every_option_beside_its_help, .timeout = 30)
{
    support_begin();
    const char *forms[] = {"--help", "-h"};
    for (int i = 0; i < 2; i++) {
        fixture_t f;
        fixture_init(&f, true);
        begun_t b = begin(&f, (const char *[]){"--count", "9", forms[i], NULL});
        cr_assert_not(b.go_on);
        cr_assert_eq(b.status, 0);
        const char *out = b.io.text[0];
        const char *lines[] = {
            "Usage: lesson-test [OPTION]...\nA lesson for the tests.\n",
            "  -c, --count N     how many (1-10, default 5)\n", /* the default, not the 9 */
            "  -v, --verbose     say more\n",
            "      --name NAME   who is asking\n",
            "      --timeline    at exit, draw",
            "      --trace FILE  at exit, write",
            "      --html FILE   at exit, write the timeline as a web page",
            "      --leak        leak on purpose\n",
            "  -h, --help        show this help and exit\n",
            "\nThe end.\n",
        };
        for (size_t l = 0; l < sizeof lines / sizeof lines[0]; l++)
            cr_assert_not_null(strstr(out, lines[l]), "%s: no '%s' in:\n%s", forms[i], lines[l],
                               out);
        cr_assert_str_eq(b.io.text[1], "", "nothing on stderr");
        capture_free(&b.io);
    }
    support_end();
}

Test(lesson, bad_input_is_refused_with_status_2, .timeout = 30)
{
    support_begin();
    struct {
        const char *args[3];
        const char *message;
    } cases[] = {
        {{"--count", "11", NULL}, "lesson-test: --count: '11' must be between 1 and 10\n"},
        {{"-c", "x", NULL}, "lesson-test: --count: 'x' is not a number\n"},
        {{"--count", NULL}, "lesson-test: --count needs a value\n"},
        {{"-x", NULL}, "lesson-test: unknown option '-x'\n"},
        {{"--verbose=1", NULL}, "lesson-test: unknown option '--verbose=1'\n"},
        {{"stray", NULL}, "lesson-test: unexpected argument 'stray'\n"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        fixture_t f;
        fixture_init(&f, false);
        begun_t b = begin(&f, cases[i].args);
        cr_assert_not(b.go_on, "%s", cases[i].args[0]);
        cr_assert_eq(b.status, 2, "%s", cases[i].args[0]);
        cr_assert_eq(f.count, 5, "%s changed the count", cases[i].args[0]);
        cr_assert_str_eq(b.io.text[0], "", "%s: something on stdout", cases[i].args[0]);
        const char *err = b.io.text[1];
        cr_assert_eq(strncmp(err, cases[i].message, strlen(cases[i].message)), 0,
                     "%s: stderr starts with:\n%s", cases[i].args[0], err);
        cr_assert_not_null(strstr(err, "\nUsage: lesson-test"), "no usage:\n%s", err);
        capture_free(&b.io);
    }
    support_end();
}

Test(lesson, no_leak_option_without_a_leak_demo, .timeout = 30)
{
    support_begin();
    fixture_t f;
    fixture_init(&f, false);
    begun_t b = begin(&f, (const char *[]){"--leak", NULL});
    cr_assert_eq(b.status, 2);
    cr_assert_null(strstr(b.io.text[1], "--leak "), "--leak listed:\n%s", b.io.text[1]);
    capture_free(&b.io);
    support_end();
}

Test(lesson, usage_error_reports_and_returns_2, .timeout = 30)
{
    support_begin();
    fixture_t f;
    fixture_init(&f, true);
    begun_t b = begin(&f, (const char *[]){"--timeline", NULL});
    cr_assert(b.go_on);
    cr_assert(trace_enabled());
    capture_free(&b.io);
    capture_begin(&b.io);
    int status = lesson_usage_error(&f.lesson, "--timeline and nothing else?");
    capture_end(&b.io);
    cr_assert_eq(status, 2);
    cr_assert_str_eq(b.io.text[0], "");
    const char *expected = "lesson-test: --timeline and nothing else?\nUsage: ";
    cr_assert_eq(strncmp(b.io.text[1], expected, strlen(expected)), 0, "%s", b.io.text[1]);
    cr_assert_not(trace_enabled(), "tracing stays on after a usage error");
    capture_free(&b.io);
    support_end();
}

/* ------------------------------------------------------------ the end */

/* lesson_begin with args, then lesson_end(err); returns the exit status
 * and the output of the end in *io. */
static int run_to_end(const char *const args[], int err, bool leak_memory, capture_t *io)
{
    fixture_t f;
    fixture_init(&f, true);
    begun_t b = begin(&f, args);
    cr_assert(b.go_on);
    capture_free(&b.io);
    void *leaked = leak_memory ? goc_malloc(16) : NULL;
    capture_begin(io);
    trace_begin("a span");
    trace_end();
    int status = lesson_end(&f.lesson, err);
    capture_end(io);
    goc_free(leaked);
    return status;
}

Test(lesson, end_writes_the_outputs_and_says_clean, .timeout = 30)
{
    support_begin();
    char path[64], page_path[64];
    support_temp_file(path, sizeof path);
    support_temp_file(page_path, sizeof page_path);
    capture_t io;
    int       status = run_to_end(
              (const char *[]){"--timeline", "--trace", path, "--html", page_path, NULL}, 0, false, &io);
    cr_assert_eq(status, 0, "stderr:\n%s", io.text[1]);
    const char *timeline = strstr(io.text[0], "Timeline: ");
    const char *written = strstr(io.text[0], "Trace written to ");
    const char *page_written = strstr(io.text[0], "Timeline page written to ");
    const char *clean = strstr(io.text[0], CLEAN_SHUTDOWN_LINE);
    cr_assert(timeline && written && page_written && clean && timeline < written &&
                  written < page_written && page_written < clean,
              "timeline, then the trace file, then the page, then the clean line:\n%s", io.text[0]);
    char *page = tc_read_file(page_path);
    cr_assert_not_null(page, "no page");
    cr_assert_not_null(strstr(page, "\"a span\""), "the span recorded is in the page");
    free(page);
    unlink(page_path);
    cr_assert_str_eq(io.text[1], "");
    cr_assert_not(trace_enabled(), "tracing is reset at the end");
    char      *json = tc_read_file(path);
    tc_trace_t trace;
    cr_assert_not_null(json, "no trace file");
    cr_assert(tc_parse(json, &trace), "invalid JSON: %s", trace.error);
    cr_assert_eq(tc_count(&trace, "X", "a span"), 1, "the span recorded is in the file");
    tc_free(&trace);
    free(json);
    unlink(path);
    capture_free(&io);
    support_end();
}

Test(lesson, end_fails_on_error_unwritable_trace_or_leak, .timeout = 30)
{
    support_begin();
    capture_t io;
    cr_assert_eq(run_to_end((const char *[]){NULL}, ENOMEM, false, &io), 1);
    cr_assert_not_null(strstr(io.text[1], "lesson-test: the run failed: "), "%s", io.text[1]);
    cr_assert_not_null(strstr(io.text[0], CLEAN_SHUTDOWN_LINE), "shutdown was clean:\n%s",
                       io.text[0]);
    capture_free(&io);

    const char *unwritable[] = {"--trace", "/nonexistent/dir/trace.json", NULL};
    cr_assert_eq(run_to_end(unwritable, 0, false, &io), 1);
    cr_assert_not_null(strstr(io.text[1], "lesson-test: cannot write the trace to "), "%s",
                       io.text[1]);
    capture_free(&io);

    cr_assert_eq(run_to_end((const char *[]){NULL}, 0, true, &io), 1);
    cr_assert_not_null(strstr(io.text[1], "leak check failed"), "%s", io.text[1]);
    cr_assert_null(strstr(io.text[0], "Clean shutdown"), "%s", io.text[0]);
    capture_free(&io);
    support_end();
}

/* ------------------------------------------------------------ every lesson */

/* Every lesson's --help: the harness's options are there, and each short
 * letter goes with the same long option in all of them. */
Test(lesson, a_short_letter_means_one_thing_in_every_lesson, .timeout = 60)
{
    const char *lessons[] = {"01-worker-pool", "02-fan-in-fan-out", "03-semaphore", "04-context",
                             "05-pipeline"};
    char        meaning[128][32] = {{0}};
    char        first_seen[128][32] = {{0}};
    for (size_t i = 0; i < sizeof lessons / sizeof lessons[0]; i++) {
        run_result_t r = run_program(lessons[i], (const char *[]){"--help", NULL});
        cr_assert_eq(r.exit_code, 0, "%s --help", lessons[i]);
        const char *common[] = {"      --timeline ", "      --trace FILE ", "      --leak ",
                                "  -h, --help "};
        for (size_t c = 0; c < sizeof common / sizeof common[0]; c++)
            cr_assert_not_null(strstr(r.out, common[c]), "%s: no '%s'", lessons[i], common[c]);
        size_t letters = 0;
        for (const char *p = strstr(r.out, "\n  -"); p; p = strstr(p + 1, "\n  -")) {
            unsigned char letter = (unsigned char)p[4];
            char          name[32] = "";
            cr_assert_eq(sscanf(p + 5, ", --%31[a-z-]", name), 1, "%s: %.40s", lessons[i], p + 1);
            cr_assert_lt(letter, 128);
            if (meaning[letter][0] == '\0') {
                snprintf(meaning[letter], sizeof meaning[letter], "%s", name);
                snprintf(first_seen[letter], sizeof first_seen[letter], "%s", lessons[i]);
            }
            cr_assert_str_eq(meaning[letter], name, "-%c is --%s in %s but --%s in %s", letter,
                             meaning[letter], first_seen[letter], name, lessons[i]);
            letters++;
        }
        cr_assert_geq(letters, 1, "%s: no short option at all (not even -h)", lessons[i]);
        run_result_free(&r);
    }
}
