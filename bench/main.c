/*
 * main.c - build/bench: runs the workloads of BENCH.md (and the extras of
 * issue 8) and prints one line per workload,
 *
 *     workload=<name> n=<N> ns_per_op=<float> ops_per_s=<float>
 *
 * then, when running everything, the memory report (memory=<what> bytes=<N>).
 * Repetition, medians and the comparison with Go are the scripts' job
 * (scripts/bench.sh, scripts/bench-go.sh): one run of this program is one
 * sample.
 *
 * Exit status: 0, 1 if a workload failed or left something running or
 * allocated, 2 for bad usage.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "bench/bench.h"
#include "common/cli.h"
#include "common/leak.h"

#define PROG "bench"
#define MAX_N INT64_C(1000000000) /* values travel as int */
#define MEMORY_COUNT INT64_C(10000)

const bench_workload_t bench_workloads[] = {
    {"buf_spsc", 10000000, wl_buf_spsc, "one int through a cap-1024 channel, 1 -> 1"},
    {"buf_mpmc", 10000000, wl_buf_mpmc, "one int through a cap-1024 channel, 4 -> 4"},
    {"unbuf_pingpong", 1000000, wl_unbuf_pingpong, "one round trip on two unbuffered channels"},
    {"select2", 4000000, wl_select2, "one int received by a 2-case select"},
    {"pool", 1000000, wl_pool, "one task through a pool of 4 workers"},
    {"pipeline", 1000000, wl_pipeline, "one input through 4 stages on unbuffered channels"},
    {"ctx_cancel", 1000000, wl_ctx_cancel, "one child context made, canceled, released"},
    {"sema_uncontended", 10000000, wl_sema_uncontended, "one acquire+release, 1 thread"},
    {"sema_contended", 1000000, wl_sema_contended, "one acquire+release, 4 threads, 2 tokens"},
    {"ref_spsc_ring", 10000000, wl_ref_spsc_ring, "one int through a lock-free ring (reference)"},
    {"pool16", 1000000, wl_pool16, "one task through a pool of 16 workers"},
    {"timers_100k", 100000, wl_timers, "one time_after armed and released, 100k pending"},
    {"ref_cacheline", 1000000, wl_ref_cacheline,
     "one cache line to the other core and back (reference)"},
    {"textbook_spsc", 1000000, wl_textbook_spsc,
     "one int through the mutex+condvar channel, cap 1024, 1 -> 1"},
    {"textbook_pingpong", 100000, wl_textbook_pingpong,
     "one round trip on two mutex+condvar unbuffered channels"},
    {NULL, 0, NULL, NULL},
};

static void usage(FILE *out)
{
    fprintf(out,
            "usage: %s [WORKLOAD] [--n N]\n"
            "       %s memory [--n COUNT]\n"
            "       %s --list | --help\n"
            "\n"
            "Runs every workload (or only WORKLOAD) once and prints one line each:\n"
            "  workload=<name> n=<N> ns_per_op=<float> ops_per_s=<float>\n"
            "Running everything also prints the memory report (memory=<what> bytes=<N>).\n"
            "\n"
            "  --n N     operations per workload (1..%" PRId64 "; default: the workload's N)\n"
            "  --list    print the workload names, one a line\n"
            "  --help    print this help\n"
            "\n"
            "Workloads (default N, one operation):\n",
            PROG, PROG, PROG, MAX_N);
    for (const bench_workload_t *w = bench_workloads; w->name != NULL; w++)
        fprintf(out, "  %-17s %9" PRId64 "  %s\n", w->name, w->default_n, w->op);
    fprintf(out, "  %-17s %9" PRId64 "  bytes per object, averaged over COUNT live ones\n",
            "memory", MEMORY_COUNT);
}

/* Prints "bench: <what> '<detail>'" (unless what is NULL: the message was
 * printed already), then the usage, to stderr; returns the exit status 2. */
static int bad_usage(const char *what, const char *detail)
{
    if (what != NULL)
        fprintf(stderr, "%s: %s '%s'\n", PROG, what, detail);
    usage(stderr);
    return 2;
}

static int run_one(const bench_workload_t *w, int64_t n)
{
    int64_t elapsed = 0;
    int     rc = w->run(n, &elapsed);
    if (rc != 0) {
        fprintf(stderr, "%s: %s failed: %s\n", PROG, w->name, strerror(rc));
        return 1;
    }
    if (elapsed < 1)
        elapsed = 1; /* a clock tick finer than the work: say 1 ns, not infinity */
    double ns_per_op = (double)elapsed / (double)n;
    printf("workload=%s n=%" PRId64 " ns_per_op=%.2f ops_per_s=%.1f\n", w->name, n, ns_per_op,
           1e9 / ns_per_op);
    fflush(stdout);
    return 0;
}

int main(int argc, char **argv)
{
    static const struct option options[] = {
        {"n", required_argument, NULL, 'n'},
        {"list", no_argument, NULL, 'l'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int64_t n = 0; /* 0: each workload's own N */
    int     opt;
    opterr = 0; /* we word the messages ourselves */
    while ((opt = getopt_long(argc, argv, ":n:h", options, NULL)) != -1) {
        switch (opt) {
        case 'n':
            if (cli_parse_int(PROG, "--n", optarg, 1, MAX_N, &n) != 0)
                return bad_usage(NULL, NULL);
            break;
        case 'l':
            for (const bench_workload_t *w = bench_workloads; w->name != NULL; w++)
                printf("%s\n", w->name);
            return 0;
        case 'h':
            usage(stdout);
            return 0;
        case ':':
            return bad_usage("missing value for", argv[optind - 1]);
        default:
            return bad_usage("unknown option", argv[optind - 1]);
        }
    }
    if (argc - optind > 1)
        return bad_usage("too many arguments, starting at", argv[optind + 1]);
    const char *only = optind < argc ? argv[optind] : NULL;

    const bench_workload_t *chosen = NULL;
    bool                    memory_only = only != NULL && strcmp(only, "memory") == 0;
    if (only != NULL && !memory_only) {
        for (const bench_workload_t *w = bench_workloads; w->name != NULL; w++)
            if (strcmp(w->name, only) == 0)
                chosen = w;
        if (chosen == NULL)
            return bad_usage("unknown workload", only);
    }

    leak_snapshot_t before = leak_snapshot();
    int             status = 0;
    if (chosen != NULL) {
        status = run_one(chosen, n > 0 ? n : chosen->default_n);
    } else if (!memory_only) {
        for (const bench_workload_t *w = bench_workloads; w->name != NULL && status == 0; w++)
            status = run_one(w, n > 0 ? n : w->default_n);
    }
    if ((status == 0 && only == NULL) || memory_only)
        status = bench_memory_report(n > 0 ? n : MEMORY_COUNT) != 0;

    if (leak_check(&before, 0, stderr) != 0) {
        fprintf(stderr, "%s: goroutines or allocations were left behind\n", PROG);
        return 1;
    }
    return status;
}
