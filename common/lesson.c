/*
 * lesson.c - the lesson harness (see lesson.h): one option table read by
 * both the parser and the usage, the trace outputs, and the end of a run.
 *
 * Invariants:
 *   - The usage and the parser walk the same rows (the lesson's options,
 *     then the harness's), so an option cannot be accepted without being
 *     documented, or documented without being accepted.
 *   - Bad input changes nothing the caller can see except the targets of the
 *     options parsed before it, and the program exits 2 right after.
 *   - The trace outputs live in one table, trace_outputs[]: lesson_begin
 *     turns tracing on if any of them was asked for, lesson_end writes each
 *     one asked for, in table order, then resets tracing. One more output is
 *     one more row and its writer.
 */
#include "common/lesson.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "common/cli.h"
#include "common/trace.h"

/* ------------------------------------------------------------ trace outputs */

typedef struct {
    const char *name;  /* the option, without "--" */
    const char *value; /* its value's name, or NULL for a flag */
    const char *help;
    int (*write)(const char *prog, const char *value); /* 0 or an errno, reported already */
} trace_output_t;

static int write_timeline(const char *prog, const char *value)
{
    (void)prog, (void)value;
    trace_print_timeline(stdout, 100);
    fflush(stdout);
    return 0;
}

static int write_json(const char *prog, const char *path)
{
    return trace_write_file(prog, TRACE_FORMAT_JSON, path);
}

static int write_html(const char *prog, const char *path)
{
    return trace_write_file(prog, TRACE_FORMAT_HTML, path);
}

static const trace_output_t trace_outputs[] = {
    {"timeline", NULL, "at exit, draw what each goroutine did over time", write_timeline},
    {"trace", "FILE",
     "at exit, write the spans as Chrome trace JSON to FILE\n(open it in https://ui.perfetto.dev)",
     write_json},
    {"html", "FILE",
     "at exit, write the timeline as a web page to FILE\n"
     "(a lane per goroutine, an arrow per hand-off; opens offline)",
     write_html},
};
#define N_OUTPUTS (sizeof trace_outputs / sizeof trace_outputs[0])
_Static_assert(N_OUTPUTS <= LESSON_MAX_OUTPUTS, "lesson_t.outputs has no room for every output");

/* ------------------------------------------------------------ the rows */

/* One option as the parser and the usage see it: a lesson's own, or one of
 * the harness's, which act on the lesson_t itself. */
typedef enum { ROW_LESSON, ROW_OUTPUT, ROW_LEAK, ROW_HELP } row_role_t;

typedef struct {
    lesson_option_t opt;
    row_role_t      role;
    size_t          index; /* ROW_LESSON: in lesson->options; ROW_OUTPUT: in trace_outputs */
} row_t;

#define MAX_ROWS (LESSON_MAX_OPTIONS + N_OUTPUTS + 2)

/* Fills rows with every option of the program, in usage order. */
static size_t collect_rows(const lesson_t *lesson, row_t rows[MAX_ROWS])
{
    size_t n = 0;
    for (size_t i = 0; lesson->options && lesson->options[i].name && i < LESSON_MAX_OPTIONS; i++)
        rows[n++] = (row_t){lesson->options[i], ROW_LESSON, i};
    for (size_t i = 0; i < N_OUTPUTS; i++) {
        const trace_output_t *o = &trace_outputs[i];
        rows[n++] = (row_t){{o->name, 0, o->value, o->value ? LESSON_OPT_STRING : LESSON_OPT_FLAG,
                             NULL, 0, 0, o->help},
                            ROW_OUTPUT,
                            i};
    }
    if (lesson->leak_help != NULL)
        rows[n++] = (row_t){LESSON_FLAG("leak", 0, NULL, lesson->leak_help), ROW_LEAK, 0};
    rows[n++] = (row_t){LESSON_FLAG("help", 'h', NULL, "show this help and exit"), ROW_HELP, 0};
    return n;
}

/* "  -w, --workers N" or "      --timeline": the left column of the usage. */
static int option_label(char *buf, size_t size, const lesson_option_t *opt)
{
    char letter[5] = "    ";
    if (opt->letter)
        snprintf(letter, sizeof letter, "-%c, ", opt->letter);
    return snprintf(buf, size, "  %s--%s%s%s", letter, opt->name, opt->value ? " " : "",
                    opt->value ? opt->value : "");
}

static void print_usage(const lesson_t *lesson, FILE *out)
{
    row_t  rows[MAX_ROWS];
    size_t n = collect_rows(lesson, rows);
    int    column = 0;
    char   label[80];
    for (size_t i = 0; i < n; i++) {
        int len = option_label(label, sizeof label, &rows[i].opt);
        column = len > column ? len : column;
    }
    column += 2;

    fprintf(out, "Usage: %s [OPTION]...\n%s\n", lesson->prog, lesson->about ? lesson->about : "");
    for (size_t i = 0; i < n; i++) {
        const lesson_option_t *opt = &rows[i].opt;
        option_label(label, sizeof label, opt);
        fprintf(out, "%-*s", column, label);
        /* Continuation lines of the help start under its first line. */
        for (const char *p = opt->help ? opt->help : ""; *p; p++) {
            fputc(*p, out);
            if (*p == '\n' && p[1] != '\0')
                fprintf(out, "%*s", column, "");
        }
        if (rows[i].role == ROW_LESSON && opt->kind == LESSON_OPT_INT) {
            /* A default outside the range means "not given"; the help says
             * what that does. */
            int64_t def = lesson->defaults[rows[i].index];
            fprintf(out, " (%" PRId64 "-%" PRId64, opt->min, opt->max);
            if (def >= opt->min && def <= opt->max)
                fprintf(out, ", default %" PRId64, def);
            fputc(')', out);
        }
        fputc('\n', out);
    }
    if (lesson->epilogue)
        fprintf(out, "\n%s", lesson->epilogue);
}

/* ------------------------------------------------------------ parsing */

/* What getopt_long returns for row i: its letter, or a code past any char. */
static int row_code(const row_t *rows, size_t i)
{
    return rows[i].opt.letter ? rows[i].opt.letter : 256 + (int)i;
}

/* Stores what getopt_long found for row r. Returns 0 or EINVAL (reported). */
static int apply(lesson_t *lesson, const row_t *r, const char *arg)
{
    const lesson_option_t *opt = &r->opt;
    switch (r->role) {
    case ROW_OUTPUT:
        lesson->outputs[r->index] = arg ? arg : "";
        return 0;
    case ROW_LEAK:
        lesson->leak = true;
        return 0;
    case ROW_HELP:
        return 0; /* handled by the caller */
    case ROW_LESSON:
        break;
    }
    char flag[64];
    snprintf(flag, sizeof flag, "--%s", opt->name);
    switch (opt->kind) {
    case LESSON_OPT_INT:
        return cli_parse_int(lesson->prog, flag, arg, opt->min, opt->max, opt->target);
    case LESSON_OPT_FLAG:
        *(bool *)opt->target = true;
        return 0;
    case LESSON_OPT_STRING:
        *(const char **)opt->target = arg;
        return 0;
    }
    return EINVAL;
}

/* Returns 0 to run, -1 after --help, EINVAL after bad input (reported). */
static int parse(lesson_t *lesson, int argc, char **argv)
{
    row_t         rows[MAX_ROWS];
    size_t        n = collect_rows(lesson, rows);
    struct option longopts[MAX_ROWS + 1];
    char          shortopts[2 * MAX_ROWS + 2] = ":"; /* ':' first: we print our own messages */
    size_t        s = 1;
    for (size_t i = 0; i < n; i++) {
        bool takes_value = rows[i].opt.value != NULL;
        longopts[i] =
            (struct option){rows[i].opt.name, takes_value ? required_argument : no_argument, NULL,
                            row_code(rows, i)};
        if (rows[i].opt.letter) {
            shortopts[s++] = rows[i].opt.letter;
            if (takes_value)
                shortopts[s++] = ':';
        }
    }
    longopts[n] = (struct option){NULL, 0, NULL, 0};
    shortopts[s] = '\0';

    opterr = 0;
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
        size_t i = 0;
        while (i < n && row_code(rows, i) != c)
            i++;
        if (i == n) /* '?' unknown, ':' missing value */
            return cli_option_error(lesson->prog, c, argv);
        if (rows[i].role == ROW_HELP)
            return -1;
        int err = apply(lesson, &rows[i], optarg);
        if (err != 0)
            return err;
    }
    if (optind < argc) {
        fprintf(stderr, "%s: unexpected argument '%s'\n", lesson->prog, argv[optind]);
        return EINVAL;
    }
    return 0;
}

bool lesson_begin(lesson_t *lesson, int argc, char **argv, int *status)
{
    lesson->prog = cli_program_name(argc > 0 ? argv[0] : lesson->name);
    lesson->leak = false;
    memset(lesson->outputs, 0, sizeof lesson->outputs);
    size_t n = 0;
    for (; lesson->options && lesson->options[n].name; n++)
        if (n < LESSON_MAX_OPTIONS && lesson->options[n].kind == LESSON_OPT_INT)
            lesson->defaults[n] = *(const int64_t *)lesson->options[n].target;
    if (n > LESSON_MAX_OPTIONS) { /* the lesson's bug, not the user's: say so, run nothing */
        fprintf(stderr, "%s: %zu options, more than LESSON_MAX_OPTIONS (%d)\n", lesson->prog, n,
                LESSON_MAX_OPTIONS);
        *status = 2;
        return false;
    }

    int rc = parse(lesson, argc, argv);
    if (rc != 0) {
        print_usage(lesson, rc < 0 ? stdout : stderr);
        *status = rc < 0 ? 0 : 2;
        return false;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    for (size_t i = 0; i < N_OUTPUTS; i++)
        if (lesson->outputs[i] != NULL)
            trace_enable();
    lesson->start = leak_snapshot();
    *status = 0;
    return true;
}

int lesson_usage_error(const lesson_t *lesson, const char *message)
{
    trace_reset(); /* lesson_begin may have turned it on; nothing was recorded */
    fprintf(stderr, "%s: %s\n", lesson->prog, message);
    print_usage(lesson, stderr);
    return 2;
}

int lesson_end(lesson_t *lesson, int err)
{
    fflush(stdout);
    if (err != 0)
        fprintf(stderr, "%s: the run failed: %s\n", lesson->prog, strerror(err));
    int failed = err != 0;
    if (trace_enabled()) {
        for (size_t i = 0; i < N_OUTPUTS; i++)
            if (lesson->outputs[i] != NULL)
                failed |= trace_outputs[i].write(lesson->prog, lesson->outputs[i]) != 0;
        trace_reset();
    }
    fflush(stdout);
    if (leak_check(&lesson->start, 0, stderr) != 0)
        return 1;
    printf("Clean shutdown: every goroutine returned, every allocation freed.\n");
    return failed ? 1 : 0;
}
