/*
 * cli.c - number parsing for the lessons' command lines.
 *
 * Protocol: a parser either stores a value that passed every check
 * (a whole number, in range, no trailing text) and returns 0, or leaves
 * *out untouched, says on stderr what was wrong with which flag, and
 * returns EINVAL: bad input changes nothing. No state, no
 * threads; it uses nothing else of the core (layer 1).
 */
#include "common/cli.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cli_parse_int(const char *prog, const char *flag, const char *text, int64_t min, int64_t max,
                  int64_t *out)
{
    if (text == NULL || *text == '\0') {
        fprintf(stderr, "%s: %s: a number is required\n", prog, flag);
        return EINVAL;
    }
    char *end = NULL;
    errno = 0;
    long long value = strtoll(text, &end, 10);
    if (end == text || *end != '\0' || isspace((unsigned char)*text)) {
        fprintf(stderr, "%s: %s: '%s' is not a number\n", prog, flag, text);
        return EINVAL;
    }
    if (errno == ERANGE || value < min || value > max) {
        fprintf(stderr, "%s: %s: '%s' must be between %" PRId64 " and %" PRId64 "\n", prog, flag,
                text, min, max);
        return EINVAL;
    }
    *out = (int64_t)value;
    return 0;
}

const char *cli_program_name(const char *argv0)
{
    const char *slash = strrchr(argv0, '/');
    return slash ? slash + 1 : argv0;
}

int cli_option_error(const char *prog, int c, char *const argv[])
{
    /* A long option is named by its argument as typed; a short one (maybe
     * inside a bundle like -wq) by optopt, which is then its letter. */
    const char *typed = argv[optind - 1];
    char        letter[3] = {'-', (char)optopt, '\0'};
    const char *name = strncmp(typed, "--", 2) == 0 || optopt == 0 ? typed : letter;
    if (c == ':')
        fprintf(stderr, "%s: %s needs a value\n", prog, name);
    else
        fprintf(stderr, "%s: unknown option '%s'\n", prog, name);
    return EINVAL;
}
