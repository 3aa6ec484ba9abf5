/*
 * chan_ops.c - the fuzz harness's channel and select operations: each one
 * asks the model what Go would do, does it on the real channel (blocking
 * only when the model says it will not block), and checks the outcome and
 * every byte received.
 */
#include <errno.h>
#include <string.h>

#include "fuzz/harness.h"

/* The bytes of the element that carries id: never all zero for id > 0. */
static void encode(uint64_t id, size_t elem, uint8_t *buf)
{
    for (size_t i = 0; i < elem; i++)
        buf[i] = (uint8_t)(id >> (8 * (i % 8))) ^ (uint8_t)(0x5a + i);
}

static void check_received(int rc, uint64_t id, size_t elem, const uint8_t *buf)
{
    uint8_t want[MAX_ELEM] = {0};
    if (rc == 0)
        encode(id, elem, want);
    CHECK(memcmp(buf, want, elem) == 0, "received the wrong bytes (rc %d, expected id %llu)", rc,
          (unsigned long long)id);
}

void op_make(unsigned slot)
{
    static const size_t elems[] = {0, 1, 8, MAX_ELEM}, caps[] = {0, 1, 2, MODEL_MAX_CAP};
    size_t              elem = elems[next() % 4], cap = caps[next() % 4];
    if (h.mc[slot].live)
        return;
    h.chan[slot] = chan_make(elem, cap);
    CHECK(h.chan[slot] != NULL, "chan_make(%zu, %zu) failed", elem, cap);
    h.mc[slot] = (model_chan_t){.live = true, .refs = 1, .elem = elem, .cap = cap};
}

void op_send(unsigned slot, unsigned flags)
{
    model_chan_t *m = &h.mc[slot];
    uint8_t       buf[MAX_ELEM];
    uint64_t      id = ++h.next_id;
    encode(id, m->elem, buf);
    int want = model_send_outcome(m);
    int rc = (flags & 1) && want != EAGAIN ? chan_send(h.chan[slot], buf)
                                           : chan_try_send(h.chan[slot], buf);
    CHECK(rc == want, "send on slot %u: %d, the model says %d", slot, rc, want);
    model_send(m, id);
}

void op_recv(unsigned slot, unsigned flags)
{
    model_chan_t *m = &h.mc[slot];
    uint8_t       buf[MAX_ELEM];
    memset(buf, 0xAA, sizeof buf);
    int      want = model_recv_outcome(m);
    void    *out = (flags & 2) ? NULL : buf;
    int      rc = (flags & 1) && want != EAGAIN ? chan_recv(h.chan[slot], out)
                                                : chan_try_recv(h.chan[slot], out);
    uint64_t id;
    CHECK(rc == want, "receive on slot %u: %d, the model says %d", slot, rc, want);
    model_recv(m, &id);
    if (out && rc != EAGAIN)
        check_received(rc, id, m->elem, buf);
}

void op_release(unsigned slot)
{
    chan_release(h.chan[slot]);
    if (--h.mc[slot].refs == 0) {
        h.mc[slot].live = false;
        h.chan[slot] = NULL;
    }
}

/* A select over up to 6 cases (or, if asked, those repeated past 64 so the
 * core allocates its bookkeeping): channel sends and receives, receives on
 * context done channels, nil cases, and now and then an invalid one. */
void op_select(unsigned flags)
{
    chan_case_t cases[MAX_CASES];
    uint8_t     bufs[MAX_CASES][MAX_ELEM];
    uint64_t    ids[MAX_CASES];
    int         target[MAX_CASES]; /* channel slot, N_CHANS + ctx slot, or -1 */
    bool        ready[MAX_CASES];
    size_t      n = 1 + next() % 6, base = n, any_ready = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned t = next(), c = t % (N_CHANS + N_CTX + 1);
        bool     send = t & 0x80;
        target[i] = -1;
        ready[i] = false;
        ids[i] = 0;
        memset(bufs[i], 0xAA, MAX_ELEM);
        if (c < N_CHANS && h.mc[c].live) {
            target[i] = (int)c;
            ids[i] = ++h.next_id;
            if (send)
                encode(ids[i], h.mc[c].elem, bufs[i]);
            cases[i] =
                send ? chan_case_send(h.chan[c], bufs[i]) : chan_case_recv(h.chan[c], bufs[i]);
            ready[i] =
                (send ? model_send_outcome(&h.mc[c]) : model_recv_outcome(&h.mc[c])) != EAGAIN;
        } else if (c >= N_CHANS && c < N_CHANS + N_CTX && h.ctx[c - N_CHANS]) {
            unsigned x = c - N_CHANS; /* a done channel: only ever received from */
            target[i] = (int)(N_CHANS + x);
            cases[i] = chan_case_recv(ctx_done(h.ctx[x]), NULL);
            ready[i] = model_ctx_err(&h.tree, h.node[x]) != 0;
        } else {
            cases[i] = send ? chan_case_send(NULL, bufs[i]) : chan_case_recv(NULL, bufs[i]);
        }
    }
    for (; (flags & 4) && n <= 64; n++) { /* the same cases again: over 64 in all */
        cases[n] = cases[n % base];
        target[n] = target[n % base];
        ready[n] = ready[n % base];
        ids[n] = ids[n % base];
    }
    for (size_t i = 0; i < n; i++)
        any_ready += ready[i];

    if (flags & 8) { /* an invalid op anywhere refuses the whole select */
        cases[n - 1].op = (chan_op_t)(flags & 0x10 ? 0 : 9);
        errno = 0;
        int k = chan_try_select(cases, n);
        CHECK(k == -1 && errno == EINVAL, "an invalid case: %d, errno %d", k, errno);
        return; /* nothing was done: the model does nothing */
    }
    errno = 0;
    int k = (flags & 1) && any_ready ? chan_select(cases, n) : chan_try_select(cases, n);
    if (!any_ready) {
        CHECK(k == -1 && errno == EAGAIN, "nothing ready, yet select returned %d (errno %d)", k,
              errno);
        return;
    }
    CHECK(k >= 0 && (size_t)k < n && ready[k], "select chose case %d, which is not ready", k);
    if (target[k] >= N_CHANS) {
        CHECK(cases[k].err == EPIPE, "a done channel's case: err %d", cases[k].err);
        return;
    }
    model_chan_t *m = &h.mc[target[k]];
    if (cases[k].op == CHAN_SEND) {
        int want = model_send(m, ids[k]);
        CHECK(cases[k].err == want, "send case: err %d, the model says %d", cases[k].err, want);
    } else {
        uint64_t id;
        int      want = model_recv(m, &id);
        CHECK(cases[k].err == want, "receive case: err %d, the model says %d", cases[k].err, want);
        check_received(want, id, m->elem, cases[k].elem);
    }
}
