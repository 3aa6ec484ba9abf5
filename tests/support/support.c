/*
 * support.c - see support.h.
 */
#include "tests/support/support.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/go.h"
#include "common/goroutine.h"
#include "common/os.h"
#include "common/park.h"
#include "common/timer.h"

#ifndef GOC_BUILD_DIR
#define GOC_BUILD_DIR "build"
#endif

extern char **environ;

static leak_snapshot_t baseline;

void support_begin(void)
{
    baseline = leak_snapshot();
}

void support_end(void)
{
    char  *report = NULL;
    size_t size = 0;
    FILE  *out = open_memstream(&report, &size);
    cr_assert_not_null(out, "open_memstream failed");
    int rc = leak_check(&baseline, 1, out);
    fclose(out);
    if (rc != 0) {
        cr_log_error("%s", report);
        free(report);
        cr_assert_fail("shutdown was not clean (see the report above)");
    }
    free(report);
}

/* The system call number /proc/self/task/TID/syscall shows first, or 0 if
 * the file cannot be read ("running" and "" parse as 0). */
static long syscall_of(int tid, char *text, size_t size)
{
    char  path[64];
    FILE *f = NULL;
    snprintf(path, sizeof path, "/proc/self/task/%d/syscall", tid);
    text[0] = '\0';
    if (tid != 0 && (f = fopen(path, "r")) != NULL) {
        if (!fgets(text, (int)size, f))
            text[0] = '\0';
        fclose(f);
    }
    return atol(text);
}

/* Polls (every 0.2 ms, 10 s at most) until thread *tid shows the same
 * system call, one that is `wanted` (or any if wanted is 0), three times in
 * a row; returns its number, or 0 if it never did. */
static long wait_in_syscall(atomic_int *tid, long wanted)
{
    char text[128], seen[128] = "";
    int  same = 0;
    long number = 0;
    for (int i = 0; i < 50000 && same < 3; i++) {
        number = syscall_of(atomic_load(tid), text, sizeof text);
        bool fits = number != 0 && (wanted == 0 || number == wanted);
        same = fits && strcmp(text, seen) == 0 ? same + 1 : fits;
        snprintf(seen, sizeof seen, "%s", text);
        if (same < 3)
            nanosleep(&(struct timespec){0, 200000}, NULL);
    }
    return same >= 3 ? number : 0;
}

/* The number a thread asleep in the core shows: found once by putting a
 * thread to sleep in os_futex_wait and asking, not assumed, because under
 * an emulator (qemu-user runs the aarch64 tests) /proc shows the host's
 * system call, whose number differs from the target's SYS_futex. */
typedef struct {
    atomic_int tid;
    atomic_int word;
} sleeper_probe_t;

static void *probe_sleeps(void *arg)
{
    sleeper_probe_t *p = arg;
    atomic_store(&p->tid, (int)gettid());
    while (atomic_load(&p->word) == 0)
        os_futex_wait(&p->word, 0);
    return NULL;
}

static long asleep_syscall(void)
{
    static long number; /* 0: not yet known */
    if (number != 0)
        return number;
    sleeper_probe_t probe = {0, 0};
    pthread_t       thread;
    cr_assert_eq(pthread_create(&thread, NULL, probe_sleeps, &probe), 0);
    long found = wait_in_syscall(&probe.tid, 0);
    atomic_store(&probe.word, 1);
    os_futex_wake(&probe.word, INT_MAX);
    pthread_join(thread, NULL);
    cr_assert_neq(found, 0, "a thread asleep in os_futex_wait never showed in /proc");
    number = found;
    return number;
}

void support_wait_blocked(atomic_int *tid)
{
    if (wait_in_syscall(tid, asleep_syscall()) == 0)
        cr_assert_fail("thread %d never blocked", atomic_load(tid));
}

void support_wait_asleep(struct goroutine *g)
{
    uint64_t seen = 0;
    int      same = 0;
    for (int i = 0; i < 50000 && same < 3; i++) {
        uint64_t  sleeps;
        parker_t *p = go_sleep_pin(g, &sleeps);
        bool      asleep = p != NULL && parker_is_sleeping(p);
        go_sleep_unpin(g);
        same = asleep && sleeps == seen ? same + 1 : asleep;
        seen = sleeps;
        if (same < 3)
            nanosleep(&(struct timespec){0, 200000}, NULL);
    }
    if (same < 3)
        cr_assert_fail("goroutine %llu never went to sleep", (unsigned long long)g->id);
}

void support_wait_asleep_at(_Atomic(struct goroutine *) *record)
{
    goroutine_t *g;
    for (int i = 0; i < 50000 && (g = atomic_load(record)) == NULL; i++)
        nanosleep(&(struct timespec){0, 200000}, NULL);
    cr_assert_not_null(g, "the goroutine never published its record");
    support_wait_asleep(g);
}

/* Appends what is readable on fd to *buf; returns 0 at end of file. */
static ssize_t drain_fd(int fd, char **buf, size_t *len)
{
    char    chunk[4096];
    ssize_t n = read(fd, chunk, sizeof chunk);
    if (n > 0) {
        char *grown = realloc(*buf, *len + (size_t)n + 1);
        cr_assert_not_null(grown, "out of memory capturing output");
        memcpy(grown + *len, chunk, (size_t)n);
        *len += (size_t)n;
        grown[*len] = '\0';
        *buf = grown;
    }
    return n < 0 && errno == EINTR ? 1 : n;
}

run_result_t run_program(const char *name, const char *const argv[])
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", GOC_BUILD_DIR, name);

    /* GOC_RUN_WRAPPER (words separated by spaces) runs in front of the
     * program: `make check-aarch64` sets it to qemu-aarch64 and its flags. */
    char        wrapper[512] = "";
    const char *args[96];
    size_t      argc = 0;
    const char *env = getenv("GOC_RUN_WRAPPER");
    snprintf(wrapper, sizeof wrapper, "%s", env ? env : "");
    for (char *save = NULL, *word = strtok_r(wrapper, " ", &save); word && argc < 32;
         word = strtok_r(NULL, " ", &save))
        args[argc++] = word;
    args[argc++] = path;
    for (size_t i = 0; argv && argv[i] && argc < 95; i++)
        args[argc++] = argv[i];
    args[argc] = NULL;

    int out_pipe[2], err_pipe[2];
    cr_assert_eq(pipe(out_pipe), 0, "pipe failed");
    cr_assert_eq(pipe(err_pipe), 0, "pipe failed");

    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, out_pipe[1], STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&actions, err_pipe[1], STDERR_FILENO);
    posix_spawn_file_actions_addclose(&actions, out_pipe[0]);
    posix_spawn_file_actions_addclose(&actions, err_pipe[0]);

    pid_t pid;
    int   rc = posix_spawnp(&pid, args[0], &actions, NULL, (char *const *)args, environ);
    posix_spawn_file_actions_destroy(&actions);
    close(out_pipe[1]);
    close(err_pipe[1]);
    cr_assert_eq(rc, 0, "cannot start %s: %s", path, strerror(rc));

    run_result_t  r = {0, calloc(1, 1), calloc(1, 1)};
    size_t        out_len = 0, err_len = 0;
    struct pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
    int           open_fds = 2;
    while (open_fds > 0) {
        if (poll(fds, 2, -1) < 0 && errno != EINTR)
            break;
        for (int i = 0; i < 2; i++) {
            if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            ssize_t n = i == 0 ? drain_fd(fds[i].fd, &r.out, &out_len)
                               : drain_fd(fds[i].fd, &r.err, &err_len);
            if (n <= 0) {
                close(fds[i].fd);
                fds[i].fd = -1;
                open_fds--;
            }
        }
    }

    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return r;
}

void run_result_free(run_result_t *r)
{
    free(r->out);
    free(r->err);
    r->out = r->err = NULL;
}

bool support_ends_with(const char *text, const char *tail)
{
    size_t len = strlen(text), n = strlen(tail);
    return len >= n && strcmp(text + len - n, tail) == 0;
}

void support_assert_clean_run(const run_result_t *r)
{
    cr_assert_eq(r->exit_code, 0, "exit %d; stderr:\n%s", r->exit_code, r->err);
    cr_assert_str_eq(r->err, "");
    cr_assert(support_ends_with(r->out, CLEAN_SHUTDOWN_LINE),
              "the clean-shutdown line must come last:\n%s", r->out);
}

void support_temp_file(char *path, size_t size)
{
    /* mkstemp's template: it replaces the trailing X's with a unique name. */
    int written = snprintf(path, size, "/tmp/goc-test-XXXXXX");
    cr_assert(written > 0 && (size_t)written < size, "path buffer too small");
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0, "mkstemp failed");
    close(fd);
}

size_t count_lines_containing(const char *text, const char *needle)
{
    size_t count = 0;
    while (text && *text) {
        const char *end = strchr(text, '\n');
        size_t      len = end ? (size_t)(end - text) : strlen(text);
        const char *hit = strstr(text, needle);
        if (hit && hit < text + len)
            count++;
        text += len + (end ? 1 : 0);
    }
    return count;
}

int64_t support_record_allocs(void)
{
    return strcmp(go_runtime(), "mn") == 0 ? 0 : 1;
}

void support_settle(size_t goroutines, int64_t live)
{
    for (int i = 0; i < 2000 && (go_count() > goroutines || alloc_live() > live); i++)
        time_sleep(TIME_MILLISECOND);
}

void support_wait_quiet(size_t goroutines, int64_t live)
{
    support_settle(goroutines, live);
    cr_assert_eq(go_count(), goroutines, "goroutines of a failed start are still running");
    cr_assert_eq(alloc_live(), live, "a failed start leaked");
}

typedef struct {
    void (*fn)(void *arg);
    void *arg;
} thread_start_t;

static void *thread_main(void *p)
{
    thread_start_t start = *(thread_start_t *)p;
    free(p);
    start.fn(start.arg);
    return NULL;
}

#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#endif
#endif

bool support_under_valgrind(void)
{
#ifdef RUNNING_ON_VALGRIND
    return RUNNING_ON_VALGRIND != 0;
#else
    return false;
#endif
}

int support_start_thread(void (*fn)(void *arg), void *arg)
{
    thread_start_t *start = malloc(sizeof *start);
    if (start == NULL)
        return ENOMEM;
    *start = (thread_start_t){fn, arg};
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_t thread;
    int       rc = pthread_create(&thread, &attr, thread_main, start);
    pthread_attr_destroy(&attr);
    if (rc != 0)
        free(start);
    return rc;
}
