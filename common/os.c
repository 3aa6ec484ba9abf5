/*
 * os.c - the platform layer (see os.h for what each function promises).
 *
 * One file, three paths, picked once below: OS_LINUX, OS_APPLE or neither
 * (the portable POSIX path, which -DGOC_OS_PORTABLE forces even on Linux so
 * that it is built and tested here). Each path asks for the feature-test
 * macros it needs before the first system header, so the file builds with
 * plain `cc -std=c11 -pthread`.
 *
 * The emulated futex (portable and macOS): word addresses hash to one of
 * FUTEX_BUCKETS buckets. Invariants, under a bucket's lock: its list holds
 * exactly the waiters that are asleep (or about to be) on words of that
 * bucket and have not been woken; a waiter is unlinked by whoever ends its
 * wait (the waker sets `woken`, a timed-out waiter unlinks itself). A waiter
 * checks *word under the bucket lock before queuing, and a waker changes
 * *word before it takes that lock, so no wake falls between check and sleep.
 * Each waiter has its own condition variable on its own stack, signalled
 * with the bucket lock held, so it is never destroyed while signalled.
 */
#if defined(__linux__) && !defined(GOC_OS_PORTABLE)
#define OS_LINUX 1
#ifndef _GNU_SOURCE /* a -D on the command line wins */
#define _GNU_SOURCE /* gettid, pthread_setname_np, program_invocation_short_name */
#endif
#elif defined(__APPLE__) && !defined(GOC_OS_PORTABLE)
#define OS_APPLE 1
#ifndef _DARWIN_C_SOURCE /* a -D on the command line wins */
#define _DARWIN_C_SOURCE /* pthread_threadid_np, getprogname, the _np waits */
#endif
#else
#ifndef _XOPEN_SOURCE     /* a -D on the command line wins */
#define _XOPEN_SOURCE 700 /* POSIX 2008 with XSI: SA_RESTART */
#endif
#endif

#include "common/os.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#if OS_LINUX
#include <sys/syscall.h>
/* The futex operations, from the kernel's ABI (linux/futex.h), which never
 * changes. Spelled out because the kernel's headers are not always there:
 * musl-gcc does not see them, nor does Alpine without linux-headers. */
enum {
    OS_FUTEX_WAIT_PRIVATE = 0 | 128,        /* FUTEX_WAIT | FUTEX_PRIVATE_FLAG */
    OS_FUTEX_WAKE_PRIVATE = 1 | 128,        /* FUTEX_WAKE | FUTEX_PRIVATE_FLAG */
    OS_FUTEX_WAIT_BITSET_PRIVATE = 9 | 128, /* FUTEX_WAIT_BITSET | FUTEX_PRIVATE_FLAG */
};
#define OS_FUTEX_BITSET_MATCH_ANY 0xffffffffu
#elif OS_APPLE
#include <mach/mach.h>
#endif

#define NS_PER_S 1000000000LL

_Static_assert(sizeof(atomic_int) == sizeof(int) && sizeof(int) == 4,
               "a futex word is a 32-bit int");

const char *os_flavour(void)
{
#if OS_LINUX
    return "linux";
#elif OS_APPLE
    return "macos";
#else
    return "portable";
#endif
}

/* ------------------------------------------------------------ clock */

static struct timespec timespec_of(int64_t ns)
{
    if (ns < 0)
        ns = 0;
    struct timespec ts = {(time_t)(ns / NS_PER_S), (long)(ns % NS_PER_S)};
    return ts;
}

int64_t os_monotonic_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * NS_PER_S + ts.tv_nsec;
}

int64_t os_monotonic_coarse_ns(void)
{
#ifdef CLOCK_MONOTONIC_COARSE
    struct timespec ts;
    if (clock_gettime(CLOCK_MONOTONIC_COARSE, &ts) == 0)
        return (int64_t)ts.tv_sec * NS_PER_S + ts.tv_nsec;
#endif
    return os_monotonic_ns();
}

void os_sleep_until(int64_t deadline_ns)
{
#if OS_LINUX
    struct timespec ts = timespec_of(deadline_ns);
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
        ;
#else
    /* No absolute sleep on macOS: sleep for what is left, and after a
     * signal measure again, so the deadline still holds. */
    for (int64_t now; (now = os_monotonic_ns()) < deadline_ns;) {
        struct timespec ts = timespec_of(deadline_ns - now); /* now < deadline: no overflow */
        nanosleep(&ts, NULL);
    }
#endif
}

#if !OS_APPLE
static pthread_condattr_t monotonic_attr;
static pthread_once_t     monotonic_attr_once = PTHREAD_ONCE_INIT;

static void make_monotonic_attr(void)
{
    pthread_condattr_init(&monotonic_attr);
    pthread_condattr_setclock(&monotonic_attr, CLOCK_MONOTONIC);
}
#endif

int os_cond_init_monotonic(pthread_cond_t *cond)
{
#if OS_APPLE
    return pthread_cond_init(cond, NULL); /* waits are relative: see below */
#else
    pthread_once(&monotonic_attr_once, make_monotonic_attr);
    return pthread_cond_init(cond, &monotonic_attr);
#endif
}

int os_cond_wait_until(pthread_cond_t *cond, pthread_mutex_t *mutex, int64_t deadline_ns)
{
#if OS_APPLE
    /* A relative wait is measured by the kernel on a clock the wall clock
     * does not move; the time left is taken from the monotonic clock. */
    int64_t now = os_monotonic_ns();
    if (now >= deadline_ns)
        return ETIMEDOUT;
    struct timespec ts = timespec_of(deadline_ns - now);
    int             rc = pthread_cond_timedwait_relative_np(cond, mutex, &ts);
#else
    struct timespec ts = timespec_of(deadline_ns);
    int             rc = pthread_cond_timedwait(cond, mutex, &ts);
#endif
    return rc == ETIMEDOUT ? ETIMEDOUT : 0;
}

/* ---------------------------------------------------------- threads */

#if !OS_LINUX && !OS_APPLE
/* Portable: ids are handed out in order of first use, and the initial
 * thread is the one that runs the constructors (before main). */
static atomic_uint_fast64_t   next_thread_id = 1;
static _Thread_local uint64_t my_thread_id;
static _Thread_local char     my_thread_name[16];
static pthread_t              initial_thread;
#endif

/* Threads the process had besides the initial one before main() ran: not
 * the program's but its host's, such as qemu-user's RCU thread when the
 * aarch64 build runs emulated. os_thread_count() leaves them out, so the
 * program's threads are counted alike everywhere. */
static long threads_before_main;
static long count_threads(void);

__attribute__((constructor)) static void remember_the_start(void)
{
#if !OS_LINUX && !OS_APPLE
    initial_thread = pthread_self();
#endif
    long n = count_threads();
    threads_before_main = n > 1 ? n - 1 : 0;
}

uint64_t os_thread_id(void)
{
#if OS_LINUX
    return (uint64_t)syscall(SYS_gettid);
#elif OS_APPLE
    uint64_t        id = 0;
    pthread_threadid_np(NULL, &id);
    return id;
#else
    if (my_thread_id == 0)
        my_thread_id = atomic_fetch_add(&next_thread_id, 1);
    return my_thread_id;
#endif
}

bool os_is_main_thread(void)
{
#if OS_LINUX
    return syscall(SYS_gettid) == getpid();
#elif OS_APPLE
    return pthread_main_np() != 0;
#else
    return pthread_equal(pthread_self(), initial_thread);
#endif
}

void os_thread_set_name(const char *name)
{
    char truncated[16]; /* Linux keeps 15 bytes and the NUL */
    snprintf(truncated, sizeof truncated, "%s", name ? name : "");
#if OS_LINUX
    pthread_setname_np(pthread_self(), truncated);
#elif OS_APPLE
    pthread_setname_np(truncated);
#else
    memcpy(my_thread_name, truncated, sizeof truncated);
#endif
}

bool os_thread_get_name(char *buf, size_t size)
{
    if (buf == NULL || size == 0)
        return false;
    char name[64] = "";
#if OS_LINUX || OS_APPLE
    if (pthread_getname_np(pthread_self(), name, sizeof name) != 0)
        name[0] = '\0';
#else
    memcpy(name, my_thread_name, sizeof my_thread_name);
#endif
    snprintf(buf, size, "%s", name);
    return name[0] != '\0';
}

static atomic_bool thread_count_unknown;

void os_pretend_thread_count_unknown(bool on)
{
    atomic_store(&thread_count_unknown, on);
}

long os_thread_count(void)
{
    if (atomic_load(&thread_count_unknown))
        return -1;
    long n = count_threads();
    if (n < 0)
        return -1;
    return n - threads_before_main > 1 ? n - threads_before_main : 1;
}

/* The core's threads, and a census of starts: a start is begun before
 * pthread_create and ended once the new thread is counted, so a reader who
 * sees begun == ended before and the same begun after its count read
 * /proc (or Mach) while no core thread was half-started. */
static atomic_long          core_threads;
static atomic_uint_fast64_t starts_begun, starts_ended;

int os_core_thread_create(pthread_t *thread, const pthread_attr_t *attr, void *(*start)(void *),
                          void *arg)
{
    atomic_fetch_add(&starts_begun, 1);
    int rc = pthread_create(thread, attr, start, arg);
    if (rc == 0)
        atomic_fetch_add(&core_threads, 1);
    atomic_fetch_add(&starts_ended, 1);
    return rc;
}

void os_core_thread_joined(void)
{
    atomic_fetch_sub(&core_threads, 1);
}

long os_foreign_thread_count(void)
{
    for (;;) {
        uint_fast64_t begun = atomic_load(&starts_begun);
        if (atomic_load(&starts_ended) != begun) {
            sched_yield(); /* a start in flight: it ends within a pthread_create */
            continue;
        }
        long all = os_thread_count();
        long core = atomic_load(&core_threads);
        if (atomic_load(&starts_begun) != begun)
            continue;
        if (all < 0)
            return -1;
        return all > core ? all - core : 0;
    }
}

/* Every thread of the process, or -1. */
static long count_threads(void)
{
#if OS_APPLE
    thread_act_array_t     threads;
    mach_msg_type_number_t count;
    if (task_threads(mach_task_self(), &threads, &count) != KERN_SUCCESS)
        return -1;
    for (mach_msg_type_number_t i = 0; i < count; i++)
        mach_port_deallocate(mach_task_self(), threads[i]);
    vm_deallocate(mach_task_self(), (vm_address_t)threads, count * sizeof *threads);
    return (long)count;
#else
    /* Linux's view of the threads. It is only a directory read, so the
     * portable path tries it too: a system without it (the BSDs) gets -1. */
    DIR *dir = opendir("/proc/self/task");
    if (dir == NULL)
        return -1;
    long           count = 0;
    struct dirent *entry;
    while ((entry = readdir(dir)) != NULL)
        if (entry->d_name[0] != '.')
            count++;
    closedir(dir);
    return count > 0 ? count : -1;
#endif
}

int os_cpu_count(void)
{
#if OS_LINUX
    /* The affinity mask, not the machine: `taskset` and container CPU sets
     * give a process fewer CPUs than the machine has. */
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0)
        return CPU_COUNT(&set);
#endif
    long online = sysconf(_SC_NPROCESSORS_ONLN);
    return online > 0 ? (online > INT_MAX ? INT_MAX : (int)online) : 1;
}

/* --------------------------------------------------------- process */

const char *os_program_name(void)
{
#if OS_LINUX
    const char *name = program_invocation_short_name;
#elif OS_APPLE
    const char *name = getprogname();
#else
    const char *name = NULL; /* POSIX has no way to ask */
#endif
    return name && name[0] ? name : "program";
}

bool os_catch_signal(int signo, void (*handler)(int signo))
{
    struct sigaction current;
    if (sigaction(signo, NULL, &current) != 0 || current.sa_handler != SIG_DFL)
        return false;
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = handler;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESTART;
    return sigaction(signo, &action, NULL) == 0;
}

/* ----------------------------------------------- sleeping on a word */

#if OS_LINUX

/* The futex calls return -1 with errno EAGAIN (word changed), EINTR or
 * ETIMEDOUT; all but the last are the spurious returns os.h allows. */
void os_futex_wait(atomic_int *word, int expected)
{
    syscall(SYS_futex, word, OS_FUTEX_WAIT_PRIVATE, expected, NULL, NULL, 0);
}

bool os_futex_wait_until(atomic_int *word, int expected, int64_t deadline_ns)
{
    /* FUTEX_WAIT_BITSET takes an absolute CLOCK_MONOTONIC deadline. */
    struct timespec ts = timespec_of(deadline_ns);
    long            rc = syscall(SYS_futex, word, OS_FUTEX_WAIT_BITSET_PRIVATE, expected, &ts, NULL,
                                 OS_FUTEX_BITSET_MATCH_ANY);
    return !(rc == -1 && errno == ETIMEDOUT);
}

void os_futex_wake(atomic_int *word, int count)
{
    if (count > 0)
        syscall(SYS_futex, word, OS_FUTEX_WAKE_PRIVATE, count, NULL, NULL, 0);
}

#else

enum { FUTEX_BUCKETS = 64 }; /* a power of two */

typedef struct waiter {
    atomic_int *word;
    pthread_cond_t wake;
    bool woken;
    struct waiter *next;
} waiter_t;

typedef struct {
    pthread_mutex_t lock;
    waiter_t *head; /* oldest first: wakes go in order of arrival */
} bucket_t;

static bucket_t buckets[FUTEX_BUCKETS];
static pthread_once_t buckets_once = PTHREAD_ONCE_INIT;

static void init_buckets(void)
{
    for (int i = 0; i < FUTEX_BUCKETS; i++)
        pthread_mutex_init(&buckets[i].lock, NULL);
}

static bucket_t *bucket_of(atomic_int *word)
{
    pthread_once(&buckets_once, init_buckets);
    uint64_t h = (uint64_t)(uintptr_t)word * 0x9E3779B97F4A7C15ull; /* Fibonacci hashing */
    return &buckets[h >> 58];                                       /* top 6 bits: 64 buckets */
}

static void unlink_waiter(bucket_t *b, waiter_t *w)
{
    for (waiter_t **p = &b->head; *p != NULL; p = &(*p)->next) {
        if (*p == w) {
            *p = w->next;
            return;
        }
    }
}

/* The emulated wait; deadline_ns < 0 means none. False on timeout. */
static bool emulated_wait(atomic_int *word, int expected, int64_t deadline_ns)
{
    bucket_t *b = bucket_of(word);
    pthread_mutex_lock(&b->lock);
    if (atomic_load(word) != expected) {
        pthread_mutex_unlock(&b->lock);
        return true;
    }
    waiter_t w = {.word = word};
    if (os_cond_init_monotonic(&w.wake) != 0) {
        pthread_mutex_unlock(&b->lock);
        return true; /* a spurious return: the caller loops */
    }
    waiter_t **tail = &b->head;
    while (*tail != NULL)
        tail = &(*tail)->next;
    *tail = &w;

    bool timed_out = false;
    while (!w.woken && !timed_out) {
        if (deadline_ns < 0)
            pthread_cond_wait(&w.wake, &b->lock);
        else
            timed_out = os_cond_wait_until(&w.wake, &b->lock, deadline_ns) == ETIMEDOUT;
    }
    if (!w.woken)
        unlink_waiter(b, &w);
    pthread_mutex_unlock(&b->lock);
    pthread_cond_destroy(&w.wake);
    return w.woken || !timed_out;
}

void os_futex_wait(atomic_int *word, int expected)
{
    emulated_wait(word, expected, -1);
}

bool os_futex_wait_until(atomic_int *word, int expected, int64_t deadline_ns)
{
    return emulated_wait(word, expected, deadline_ns < 0 ? 0 : deadline_ns);
}

void os_futex_wake(atomic_int *word, int count)
{
    bucket_t *b = bucket_of(word);
    pthread_mutex_lock(&b->lock);
    for (waiter_t **p = &b->head; *p != NULL && count > 0;) {
        waiter_t *w = *p;
        if (w->word != word) {
            p = &w->next;
            continue;
        }
        *p = w->next;
        w->woken = true;
        pthread_cond_signal(&w->wake); /* under the lock: w outlives the call */
        count--;
    }
    pthread_mutex_unlock(&b->lock);
}

#endif

/* ------------------------------------------------------ guard pages */

#ifdef OS_LINUX
#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL 102 /* Linux 6.13; older headers lack the name */
#endif

/* True if MADV_GUARD_INSTALL really guards: a kernel older than 6.13 says
 * EINVAL, but an emulator (qemu-user) may say yes and do nothing. The
 * test: the kernel copying from a guarded page (write() to a pipe) fails
 * with EFAULT instead of raising a signal. */
static bool guard_regions_work(void)
{
    long  page = sysconf(_SC_PAGESIZE);
    char *probe =
        mmap(NULL, (size_t)page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (probe == MAP_FAILED)
        return false;
    bool works = false;
    int  fds[2];
    if (madvise(probe, (size_t)page, MADV_GUARD_INSTALL) == 0 && pipe(fds) == 0) {
        works = write(fds[1], probe, 1) < 0 && errno == EFAULT;
        close(fds[0]);
        close(fds[1]);
    }
    munmap(probe, (size_t)page);
    return works;
}

static pthread_once_t guard_once = PTHREAD_ONCE_INIT;
static bool           guard_regions;

static void check_guard_regions(void)
{
    guard_regions = guard_regions_work();
}
#endif

bool os_guard_pages_are_free(void)
{
#ifdef OS_LINUX
    pthread_once(&guard_once, check_guard_regions);
    return guard_regions;
#else
    return false;
#endif
}

bool os_guard_pages(void *addr, size_t len)
{
#ifdef OS_LINUX
    pthread_once(&guard_once, check_guard_regions);
    if (guard_regions && madvise(addr, len, MADV_GUARD_INSTALL) == 0)
        return true;
#endif
    return mprotect(addr, len, PROT_NONE) == 0;
}
