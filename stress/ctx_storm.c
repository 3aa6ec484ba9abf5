/*
 * ctx_storm.c - stress: context trees built, canceled, timed out and
 * released from many threads at once.
 *
 *     build/stress/ctx_storm [--contexts N] [--trees R] [--threads T]
 *
 * R times: a tree of N contexts grows under a root (cancelable, or, every
 * other tree, with a deadline of 20-120 ms that fires mid-storm). Builders
 * add children under random nodes: cancelable, value, already-past
 * deadline, a deadline of 0-100 ms (firing while the storm goes on) or an
 * hour (never firing, so cancel must disarm it). At the same time
 * cancelers cancel random nodes (mostly recent ones, so the tree is not
 * all dead at once) and now and then release one, and two watchers wait
 * in selects on the done channels of every node. Then the root is
 * canceled.
 *
 * Invariants:
 *   - a child of a done parent is done at once with the parent's reason;
 *   - once the root is canceled, every node is done (checked at once, so a
 *     missed cancel is named, not just a watcher that never wakes);
 *   - once done, a node's reason never changes (every reading agrees), and
 *     is ETIMEDOUT only if the node or an ancestor has a deadline;
 *   - when a watcher sees a done channel closed, ctx_err is already set;
 *     every node's done channel is seen closed exactly once by its watcher;
 *   - a value node shares its parent's done channel and carries its value;
 *   - after everything is released: no goroutine, allocation or timer left
 *     (a released child left in its parent's list would also make the final
 *     cancel touch freed memory, which ASan reports).
 */
#include <stdatomic.h>

#include "common/context.h"
#include "common/go.h"
#include "common/sync.h"
#include "stress/stress.h"

enum { STRIPES = 64, WATCH_WINDOW = 32 };
enum { K_CANCEL, K_VALUE, K_PAST, K_SHORT, K_LONG, K_KINDS };

#define HOUR (3600 * TIME_SECOND)

static char value_key; /* keys compare by address */

typedef struct {
    _Atomic(ctx_t *) ctx;   /* NULL until built, and again once released early */
    atomic_bool      built; /* ctx was stored (it may be NULL again later) */
    int64_t          parent;
    int              kind;
    atomic_int       first_err; /* the first non-zero reason anyone read */
    atomic_int       seen_done; /* times its watcher saw done closed */
} node_t;

typedef struct {
    int64_t         n, threads;
    node_t         *nodes;
    pthread_mutex_t stripes[STRIPES];
    atomic_llong    next_slot;
    atomic_bool     stop_cancelers;
    atomic_long     cancels, releases, timed_out, born_done;
    waitgroup_t     builders, cancelers, watchers;
} tree_t;

typedef struct {
    tree_t *t;
    int64_t id;
} role_t;

/* Records a reading of node i's reason: the first non-zero one must stay. */
static void note_err(tree_t *t, int64_t i, int err)
{
    if (err == 0)
        return;
    STRESS_CHECK(err == ECANCELED || err == ETIMEDOUT, "node %" PRId64 ": ctx_err %d", i, err);
    int expected = 0;
    if (!atomic_compare_exchange_strong(&t->nodes[i].first_err, &expected, err))
        STRESS_CHECK(expected == err, "node %" PRId64 ": reason changed from %d to %d", i, expected,
                     err);
}

/* A reference on node i, or NULL if it is not built yet or was released. */
static ctx_t *grab(tree_t *t, int64_t i)
{
    pthread_mutex_t *m = &t->stripes[i % STRIPES];
    pthread_mutex_lock(m);
    ctx_t *c = ctx_retain(atomic_load(&t->nodes[i].ctx));
    pthread_mutex_unlock(m);
    return c;
}

static void builder(void *arg)
{
    role_t  *r = arg;
    tree_t  *t = r->t;
    uint64_t rng = 0xB111D ^ ((uint64_t)r->id << 20);
    for (;;) {
        int64_t i = atomic_fetch_add(&t->next_slot, 1);
        if (i >= t->n)
            break;
        int64_t p;
        ctx_t  *parent = NULL;
        while (parent == NULL) {
            p = (int64_t)stress_below(&rng, (uint64_t)i);
            while (!atomic_load(&t->nodes[p].built)) /* claimed, not filled yet */
                go_yield();
            parent = grab(t, p);
        }
        /* Mostly nodes that stay live for a while, so that cancels race with
         * growth; a few already past, a few firing within 100 ms. */
        static const int weights[K_KINDS] = {40, 25, 3, 12, 20};
        int              roll = (int)stress_below(&rng, 100), kind = 0;
        while (roll >= weights[kind])
            roll -= weights[kind++];
        int     parent_err = ctx_err(parent);
        int64_t parent_deadline = INT64_MAX;
        bool    parent_has_deadline = ctx_deadline(parent, &parent_deadline);
        ctx_t  *c = NULL;
        switch (kind) {
        case K_CANCEL:
            c = ctx_with_cancel(parent);
            break;
        case K_VALUE:
            c = ctx_with_value(parent, &value_key, (void *)(intptr_t)i);
            break;
        case K_PAST:
            c = ctx_with_deadline(parent, time_now() - 1);
            break;
        case K_SHORT:
            c = ctx_with_timeout(parent, (duration_t)stress_below(&rng, 100 * TIME_MILLISECOND));
            break;
        default:
            c = ctx_with_timeout(parent, HOUR);
            break;
        }
        STRESS_CHECK(c != NULL, "constructor of kind %d failed: errno %d", kind, errno);
        int err = ctx_err(c);
        if (parent_err != 0)
            STRESS_CHECK(err == parent_err,
                         "node %" PRId64 " under a done parent (%d) has reason %d", i, parent_err,
                         err);
        /* A past deadline makes the child done at once, unless the parent's
         * deadline is earlier still: then, as in Go, the parent's timer does
         * it, and it may not have fired yet. */
        if (kind == K_PAST && !(parent_has_deadline && parent_deadline < time_now()))
            STRESS_CHECK(err != 0, "a past deadline did not make node %" PRId64 " done", i);
        if (kind == K_VALUE) {
            STRESS_CHECK(ctx_value(c, &value_key) == (void *)(intptr_t)i, "value lost");
            STRESS_CHECK(ctx_done(c) == ctx_done(parent), "a value node has its own done");
        }
        int64_t d;
        if (parent_has_deadline)
            STRESS_CHECK(ctx_deadline(c, &d) && d <= parent_deadline,
                         "node %" PRId64 " has a later deadline than its parent", i);
        note_err(t, i, err);
        if (parent_err != 0)
            atomic_fetch_add(&t->born_done, 1);
        t->nodes[i].parent = p;
        t->nodes[i].kind = kind;
        atomic_store(&t->nodes[i].ctx, c);
        atomic_store(&t->nodes[i].built, true);
        ctx_release(parent);
    }
    waitgroup_done(&t->builders);
}

static void canceler(void *arg)
{
    role_t  *r = arg;
    tree_t  *t = r->t;
    uint64_t rng = 0xCA9CE1 ^ ((uint64_t)r->id << 24);
    while (!atomic_load(&t->stop_cancelers)) {
        int64_t filled = atomic_load(&t->next_slot);
        if (filled > t->n)
            filled = t->n;
        /* Mostly the newest half (small subtrees), sometimes anywhere: a
         * tree canceled near its root at once would only grow dead leaves. */
        int64_t from = stress_below(&rng, 32) == 0 ? 1 : filled / 2 + 1;
        int64_t i =
            from + (int64_t)stress_below(&rng, (uint64_t)(filled > from ? filled - from : 1));
        if (i >= t->n)
            continue;
        if (stress_below(&rng, 16) == 0) { /* release it early: its watcher holds its own */
            pthread_mutex_t *m = &t->stripes[i % STRIPES];
            pthread_mutex_lock(m);
            ctx_t *c = atomic_exchange(&t->nodes[i].ctx, NULL);
            pthread_mutex_unlock(m);
            if (c) {
                note_err(t, i, ctx_err(c));
                ctx_release(c);
                atomic_fetch_add(&t->releases, 1);
            }
            continue;
        }
        ctx_t *c = grab(t, i);
        if (c == NULL) {
            go_yield();
            continue;
        }
        ctx_cancel(c);
        int err = ctx_err(c);
        if (t->nodes[i].kind != K_VALUE) /* canceling a value node does nothing */
            STRESS_CHECK(err != 0 && chan_try_recv(ctx_done(c), NULL) == EPIPE,
                         "node %" PRId64 " not done after ctx_cancel (err %d)", i, err);
        note_err(t, i, err);
        atomic_fetch_add(&t->cancels, 1);
        ctx_release(c);
    }
    waitgroup_done(&t->cancelers);
}

/* Waits on the done channels of nodes id, id + 2, id + 4, ..., a window of
 * them at a time, and checks each is seen closed once, with its reason set. */
static void watcher(void *arg)
{
    role_t     *r = arg;
    tree_t     *t = r->t;
    chan_case_t cases[WATCH_WINDOW];
    int64_t     slot[WATCH_WINDOW];
    ctx_t      *held[WATCH_WINDOW];
    int         n = 0;
    int64_t     next = r->id;
    while (n > 0 || next < t->n) {
        while (n < WATCH_WINDOW && next < t->n) {
            while (!atomic_load(&t->nodes[next].built))
                go_yield();
            ctx_t *c = grab(t, next);
            if (c) {
                held[n] = c;
                slot[n] = next;
                cases[n++] = chan_case_recv(ctx_done(c), NULL);
            }
            next += 2;
        }
        if (n == 0)
            break;
        int k = chan_select(cases, (size_t)n);
        STRESS_CHECK(k >= 0 && k < n, "select returned %d", k);
        STRESS_CHECK(cases[k].err == EPIPE, "a done channel delivered a value");
        int err = ctx_err(held[k]);
        STRESS_CHECK(err != 0, "node %" PRId64 ": done is closed but ctx_err is 0", slot[k]);
        note_err(t, slot[k], err);
        atomic_fetch_add(&t->nodes[slot[k]].seen_done, 1);
        ctx_release(held[k]);
        n--;
        held[k] = held[n];
        slot[k] = slot[n];
        cases[k] = cases[n];
    }
    waitgroup_done(&t->watchers);
}

static bool has_deadline_on_path(tree_t *t, int64_t i)
{
    for (;; i = t->nodes[i].parent) {
        if (t->nodes[i].kind == K_PAST || t->nodes[i].kind == K_SHORT || t->nodes[i].kind == K_LONG)
            return true;
        if (i == 0)
            return false;
    }
}

static void one_tree(int64_t n, int64_t threads, int64_t round, uint64_t *rng, tree_t *t)
{
    *t = (tree_t){.n = n, .threads = threads};
    t->nodes = calloc((size_t)n, sizeof *t->nodes);
    STRESS_CHECK(t->nodes != NULL, "out of memory");
    for (int i = 0; i < STRIPES; i++)
        pthread_mutex_init(&t->stripes[i], NULL);
    bool   timed_root = round % 2 == 1;
    ctx_t *root =
        timed_root
            ? ctx_with_timeout(NULL, 20 * TIME_MILLISECOND +
                                         (duration_t)stress_below(rng, 100 * TIME_MILLISECOND))
            : ctx_with_cancel(NULL);
    STRESS_CHECK(root != NULL, "root");
    t->nodes[0].kind = timed_root ? K_SHORT : K_CANCEL;
    atomic_store(&t->nodes[0].ctx, root);
    atomic_store(&t->nodes[0].built, true);
    atomic_store(&t->next_slot, 1);
    waitgroup_init(&t->builders);
    waitgroup_init(&t->cancelers);
    waitgroup_init(&t->watchers);

    int64_t builders = threads / 2 > 0 ? threads / 2 : 1, cancelers = threads - builders;
    role_t *roles = calloc((size_t)(threads + 2), sizeof *roles);
    STRESS_CHECK(roles != NULL, "out of memory");
    waitgroup_add(&t->builders, builders);
    waitgroup_add(&t->cancelers, cancelers);
    waitgroup_add(&t->watchers, 2);
    for (int64_t i = 0; i < threads + 2; i++) {
        char name[32];
        void (*fn)(void *) = i < builders ? builder : i < threads ? canceler : watcher;
        roles[i] = (role_t){t, i < builders ? i : i < threads ? i - builders : i - threads};
        snprintf(name, sizeof name, "%s %" PRId64,
                 fn == builder    ? "builder"
                 : fn == canceler ? "canceler"
                                  : "watcher",
                 roles[i].id);
        int rc = go_named(name, fn, &roles[i]);
        STRESS_CHECK(rc == 0, "go_named failed: %d", rc);
    }
    waitgroup_wait(&t->builders);
    atomic_store(&t->stop_cancelers, true);
    waitgroup_wait(&t->cancelers);
    ctx_cancel(root);
    note_err(t, 0, ctx_err(root));

    /* Nobody else touches the slots now. Every node must be done already:
     * a cancel that missed one would otherwise show only as a watcher
     * waiting for ever. */
    for (int64_t i = 0; i < n; i++) {
        ctx_t *c = atomic_load(&t->nodes[i].ctx);
        if (c == NULL)
            continue;
        int err = ctx_err(c);
        STRESS_CHECK(err != 0,
                     "node %" PRId64 " (kind %d, parent %" PRId64
                     ") is not done after the root was canceled",
                     i, t->nodes[i].kind, t->nodes[i].parent);
        STRESS_CHECK(chan_try_recv(ctx_done(c), NULL) == EPIPE,
                     "node %" PRId64 ": err set but done open", i);
        note_err(t, i, err);
        if (err == ETIMEDOUT) {
            STRESS_CHECK(has_deadline_on_path(t, i),
                         "node %" PRId64 " timed out with no deadline on its path", i);
            atomic_fetch_add(&t->timed_out, 1);
        }
    }
    waitgroup_wait(&t->watchers);
    for (int64_t i = 0; i < n; i++) {
        node_t *node = &t->nodes[i];
        ctx_t  *c = atomic_load(&node->ctx);
        if (c != NULL)
            STRESS_CHECK(atomic_load(&node->seen_done) == 1,
                         "node %" PRId64 ": its watcher saw done closed %d times", i,
                         atomic_load(&node->seen_done));
        ctx_release(c);
    }
    waitgroup_destroy(&t->builders);
    waitgroup_destroy(&t->cancelers);
    waitgroup_destroy(&t->watchers);
    for (int i = 0; i < STRIPES; i++)
        pthread_mutex_destroy(&t->stripes[i]);
    free(roles);
    free(t->nodes);
}

int main(int argc, char **argv)
{
    int64_t         n = 10000, trees = 20, threads = 16, limit = 300;
    stress_option_t opts[] = {
        {"contexts", &n, 2, 10000000, "contexts in each tree"},
        {"trees", &trees, 1, 100000, "trees built and torn down, one after another"},
        {"threads", &threads, 2, 256, "builders and cancelers (half each)"},
        {"limit-s", &limit, 1, 86400, "fail if the whole program takes longer (seconds)"},
    };
    stress_parse("ctx_storm",
                 "Context trees canceled, timed out and released from many threads while they "
                 "grow.",
                 argc, argv, opts, sizeof opts / sizeof opts[0]);
    stress_watchdog_start(limit);
    leak_snapshot_t base = leak_snapshot();
    double          t0 = stress_seconds();
    uint64_t        rng = 42;
    long            cancels = 0, releases = 0, timed_out = 0, born_done = 0;
    for (int64_t round = 0; round < trees; round++) {
        tree_t t;
        one_tree(n, threads, round, &rng, &t);
        cancels += atomic_load(&t.cancels);
        releases += atomic_load(&t.releases);
        timed_out += atomic_load(&t.timed_out);
        born_done += atomic_load(&t.born_done);
        stress_check_clean(&base);
    }
    stress_watchdog_stop();
    printf("stress ctx_storm: OK: %" PRId64 " trees of %" PRId64 " contexts, %" PRId64
           " threads, %ld cancels, %ld early releases, %ld timed out, %ld born under a done "
           "parent; each done once, all released: %.2f s\n",
           trees, n, threads, cancels, releases, timed_out, born_done, stress_seconds() - t0);
    return 0;
}
