/*
 * cli.h - small helpers the lessons share for their command lines.
 *
 * Every lesson parses its flags with getopt_long and these, so bad input is
 * reported the same way everywhere: a message naming the flag and what was
 * wrong, then the usage, then exit status 2.
 */
#ifndef COMMON_CLI_H
#define COMMON_CLI_H

#include <stdint.h>
#include <stdio.h>

/* Parses text as a decimal integer in [min, max] for option `flag` (used in
 * the message, e.g. "--workers"). Returns 0 and sets *out, or EINVAL after
 * printing "<prog>: --workers: '<text>' is not a number" / "must be between
 * MIN and MAX" to stderr. Rejects empty text, trailing junk and overflow. */
int cli_parse_int(const char *prog, const char *flag, const char *text, int64_t min, int64_t max,
                  int64_t *out);

/* The program's name for messages: argv0 without its directory. */
const char *cli_program_name(const char *argv0);

/* Reports what getopt_long just rejected, for an optstring that starts with
 * ':'. c is what getopt_long returned: ':' for an option missing its value,
 * anything else for an unknown option (or a value given to a flag that takes
 * none). Names the option as the user typed it: "<prog>: --tasks needs a
 * value", "<prog>: unknown option '--help=x'". Returns EINVAL. */
int cli_option_error(const char *prog, int c, char *const argv[]);

#endif
