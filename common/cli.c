/*
 * cli.c - number parsing for the lessons' command lines.
 */
#include "common/cli.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

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
    if (end == text || *end != '\0') {
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
