/* The portfolio backend ("portfolio"): two backends, each in a thread of its own, get
 * every query; the first definite answer (sat or unsat) wins and the other is
 * interrupted if it can be (Z3 can; cvc5 1.0.3 cannot and runs on to its per-query
 * timeout). A member still busy with an earlier query misses the new one (counted), so
 * a slow member never makes the portfolio slower than the other alone. Nor does one
 * that overruns its timeout (cvc5 1.0.3's preprocessing of deep terms does not look at
 * tlimit-per): past twice the timeout the query is undecided and the member is left to
 * finish it alone (counted as overrun).
 *
 * Members: "portfolio" has the two SC_PORTFOLIO_MEMBERS names (symhv/sidecar.h);
 * "z3+cvc5", "z3+bitwuzla" and "bitwuzla+cvc5" name theirs, where built. "bitwuzla" and
 * "cvc5" alone are portfolios of one: the same thread and deadline guard a solver that
 * does not always look at its own time limit (Bitwuzla 0.2.0's CNF encoding, cvc5's
 * preprocessing): past the deadline the query is undecided and the caller goes on.
 *
 * An interruptible member that has not ended shortly after its interrupt (Bitwuzla in
 * its CNF encoding) is stuck: queries given meanwhile are not waited for (undecided if
 * no other member takes them), and at destroy it is left to finish alone as a member
 * without interrupt is.
 *
 * Ownership: only the caller (one thread at a time, as for every backend) gives jobs,
 * and gives one to a member only when it is idle; a job's constraint array and model
 * belong to the member's slot and are replaced at the next job, so the worker never
 * frees anything. The expressions themselves are immutable and never move, so a member
 * may read them while the interpreter builds new ones.
 *
 * Destroying: an interruptible member (Z3) is interrupted and joined. One that is not
 * (cvc5) and is still on an abandoned query is waited for only until it has read all it
 * needs of the expressions (its solving hook), then left to finish alone: its thread
 * frees its own slot and solver, and the last of the caller and such threads frees the
 * portfolio (refs). So the caller may free the expression context right after.
 *
 * Lock: one mutex per portfolio (struct portfolio.lock) guards the slots; no other lock
 * is taken under it except what a member's interrupt takes inside its own solver. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <time.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "solver_backend.h"

#define NMEMBERS_MAX 2
/* How long an interrupted member is given to end before it counts as stuck. */
#define INTERRUPT_GRACE_MS 200
/* Members that cannot be interrupted (cvc5) and still run a query given up on, in the
 * whole process (each FINISH makes a portfolio): past this, such a member gets no new
 * query, so a guest whose terms cvc5 preprocesses for minutes cannot start one such
 * thread per concolic run. An atomic: read and changed by every portfolio's threads,
 * under no common lock. */
#define MAX_OVERRUNNING 1
static _Atomic unsigned overrunning;

struct member {
    const struct sx_solver_backend *ops;
    void *impl;
    pthread_t thread;
    bool started;             /* the thread exists */
    bool created;             /* under the lock: the thread tried to make its solver */
    /* under the portfolio's lock: */
    bool busy;                /* a job is given and not finished */
    bool running;             /* the worker has taken it */
    bool solving;             /* past reading the expressions (its solving hook) */
    bool detached;            /* left to finish alone at destroy: frees its own slot */
    const struct sx_progress *progress; /* the one its solver was given */
    uint64_t job;             /* the query number it runs or ran */
    const struct sx_expr **c; /* its copy of the query */
    size_t n, c_cap;
    struct sx_model *model;   /* its model, seeded from the caller's */
    enum sx_sat result;
    uint64_t finished;        /* order of finishing, for who was first */
    uint64_t wins, missed;    /* queries it answered first; queries it was still busy for */
    uint64_t overrun;         /* queries given up on past the deadline while it ran */
    bool overrunning;         /* under the lock: runs on a query given up on, counted in
                                 `overrunning` (members without interrupt only) */
    bool stuck;               /* under the lock: interrupted and still running past the
                                 grace (members with interrupt only) */
    struct portfolio *p;
};

struct portfolio {
    struct sx_ctx *ctx;
    unsigned timeout_ms;
    pthread_mutex_t lock;
    pthread_cond_t work, done;
    bool stop;
    unsigned refs;      /* the caller's until destroy, plus each detached member's */
    uint64_t job, finish_seq;
    uint64_t undecided; /* queries no member answered */
    const struct sx_progress *progress; /* set_progress's; each member takes it itself */
    unsigned n;         /* members: 1 or 2 */
    struct member m[NMEMBERS_MAX];
};

static void free_portfolio(struct portfolio *p)
{
    for (int i = 0; i < NMEMBERS_MAX; i++) {
        free(p->m[i].c);
        sx_model_free(p->m[i].model);
    }
    pthread_cond_destroy(&p->work);
    pthread_cond_destroy(&p->done);
    pthread_mutex_destroy(&p->lock);
    free(p);
}

static void now_solving(void *arg)
{
    struct member *m = arg;
    pthread_mutex_lock(&m->p->lock);
    m->solving = true;
    pthread_cond_broadcast(&m->p->done);
    pthread_mutex_unlock(&m->p->lock);
}

/* A member's solver is made, used and destroyed on its own thread: cvc5 1.0.3 keeps
 * per-thread state (its node manager) that terms made on another thread must not meet. */
static void *worker(void *arg)
{
    struct member *m = arg;
    struct portfolio *p = m->p;
    void *impl = m->ops->create(p->ctx, p->timeout_ms);
    if (impl && m->ops->set_solving_hook)
        m->ops->set_solving_hook(impl, now_solving, m);
    pthread_mutex_lock(&p->lock);
    m->impl = impl;
    m->created = true;
    pthread_cond_broadcast(&p->done);
    for (;;) {
        while (!p->stop && !(m->busy && !m->running))
            pthread_cond_wait(&p->work, &p->lock);
        if (p->stop)
            break;
        m->running = true;
        if (m->progress != p->progress && m->ops->set_progress) {
            m->progress = p->progress;
            m->ops->set_progress(m->impl, m->progress);
        }
        const struct sx_expr *const *c = m->c;
        size_t n = m->n;
        struct sx_model *model = m->model;
        pthread_mutex_unlock(&p->lock);
        enum sx_sat r = m->ops->check(m->impl, c, n, model);
        pthread_mutex_lock(&p->lock);
        m->result = r;
        if (m->overrunning) {
            m->overrunning = false;
            atomic_fetch_sub(&overrunning, 1);
        }
        m->stuck = false;
        m->finished = ++p->finish_seq;
        m->running = false;
        m->solving = false;
        m->busy = false;
        pthread_cond_broadcast(&p->done);
    }
    m->impl = NULL;
    m->busy = false; /* a job given as the portfolio stopped is not run */
    pthread_cond_broadcast(&p->done);
    bool last = false;
    if (m->detached)
        last = --p->refs == 0;
    pthread_mutex_unlock(&p->lock);
    if (impl)
        m->ops->destroy(impl);
    if (last)
        free_portfolio(p);
    return NULL;
}

/* now + ms on the monotonic clock (the condition variables' clock) */
static struct timespec deadline_in(uint64_t ms)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    uint64_t ns = (uint64_t)t.tv_nsec + ms * 1000000u;
    t.tv_sec += (time_t)(ns / 1000000000u);
    t.tv_nsec = (long)(ns % 1000000000u);
    return t;
}

/* After m's interrupt: wait a little for it to end; under the lock. Whether it ended. */
static bool ended_after_interrupt(struct portfolio *p, struct member *m, uint64_t job)
{
    struct timespec grace = deadline_in(INTERRUPT_GRACE_MS);
    while (m->busy && m->job == job)
        if (pthread_cond_timedwait(&p->done, &p->lock, &grace) == ETIMEDOUT)
            break;
    return !(m->busy && m->job == job);
}

static void portfolio_destroy(void *impl)
{
    struct portfolio *p = impl;
    pthread_mutex_lock(&p->lock);
    p->stop = true;
    for (unsigned i = 0; i < p->n; i++)
        if (p->m[i].busy && p->m[i].ops->interrupt)
            p->m[i].ops->interrupt(p->m[i].impl);
    pthread_cond_broadcast(&p->work);
    for (unsigned i = 0; i < p->n; i++) {
        struct member *m = &p->m[i];
        if (!m->started)
            continue;
        while (m->busy && !(m->running && m->solving))
            pthread_cond_wait(&p->done, &p->lock);
        if (m->busy && m->ops->interrupt && ended_after_interrupt(p, m, m->job))
            continue; /* interrupted: joined below */
        if (m->busy) { /* no interrupt, or stuck past it */
            m->detached = true;
            p->refs++;
        }
    }
    pthread_mutex_unlock(&p->lock);
    for (unsigned i = 0; i < p->n; i++) {
        struct member *m = &p->m[i];
        if (m->started && m->detached)
            pthread_detach(m->thread);
        else if (m->started)
            pthread_join(m->thread, NULL);
    }
    pthread_mutex_lock(&p->lock);
    bool last = --p->refs == 0;
    pthread_mutex_unlock(&p->lock);
    if (last)
        free_portfolio(p);
}

/* second: NULL for a portfolio of one */
static void *portfolio_new(struct sx_ctx *ctx, unsigned timeout_ms,
                           const struct sx_solver_backend *first,
                           const struct sx_solver_backend *second)
{
    struct portfolio *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->ctx = ctx;
    p->refs = 1;
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->work, NULL);
    pthread_condattr_t monotonic;
    pthread_condattr_init(&monotonic);
    pthread_condattr_setclock(&monotonic, CLOCK_MONOTONIC); /* the deadlines' clock */
    pthread_cond_init(&p->done, &monotonic);
    pthread_condattr_destroy(&monotonic);
    p->m[0].ops = first;
    p->m[1].ops = second;
    p->n = second ? 2 : 1;
    p->timeout_ms = timeout_ms;
    bool ok = true;
    for (unsigned i = 0; i < p->n && ok; i++) {
        struct member *m = &p->m[i];
        m->p = p;
        ok = pthread_create(&m->thread, NULL, worker, m) == 0;
        m->started = ok;
    }
    pthread_mutex_lock(&p->lock); /* each member's solver, made on its thread */
    for (unsigned i = 0; i < p->n && ok; i++) {
        while (!p->m[i].created)
            pthread_cond_wait(&p->done, &p->lock);
        ok = p->m[i].impl != NULL;
    }
    pthread_mutex_unlock(&p->lock);
    if (!ok) {
        portfolio_destroy(p);
        return NULL;
    }
    return p;
}

/* Give query (c, n) to idle member m; under the lock. */
static void give(struct portfolio *p, struct member *m, const struct sx_expr *const *c, size_t n,
                 const struct sx_model *seed)
{
    if (n > m->c_cap) {
        free(m->c);
        m->c_cap = n;
        m->c = malloc(n * sizeof *m->c);
        if (!m->c)
            abort();
    }
    memcpy(m->c, c, n * sizeof *c);
    m->n = n;
    sx_model_free(m->model);
    m->model = seed ? sx_model_new(p->ctx, seed) : NULL;
    m->job = p->job;
    m->busy = true;
}

static enum sx_sat portfolio_check(void *impl, const struct sx_expr *const *c, size_t n,
                                   struct sx_model *model)
{
    struct portfolio *p = impl;
    pthread_mutex_lock(&p->lock);
    p->job++;
    int given = 0;
    for (;;) {
        bool waited_for = false;
        for (unsigned i = 0; i < p->n; i++) {
            struct member *m = &p->m[i];
            bool may = m->ops->interrupt || atomic_load(&overrunning) < MAX_OVERRUNNING;
            if (!m->busy && may) {
                give(p, m, c, n, model);
                given++;
            }
            waited_for |= m->busy && !m->overrunning && !m->stuck;
        }
        if (given || !waited_for)
            break;
        /* every member still runs an abandoned query: the first to end takes this one */
        pthread_cond_wait(&p->done, &p->lock);
    }
    for (unsigned i = 0; i < p->n; i++)
        if (p->m[i].job != p->job)
            p->m[i].missed++;
    pthread_cond_broadcast(&p->work);

    struct timespec deadline = deadline_in(2 * (uint64_t)p->timeout_ms);
    struct member *winner;
    for (;;) {
        winner = NULL;
        int running = 0;
        for (unsigned i = 0; i < p->n; i++) {
            struct member *m = &p->m[i];
            if (m->job != p->job)
                continue;
            if (m->busy)
                running++;
            else if (m->result != SX_UNKNOWN && (!winner || m->finished < winner->finished))
                winner = m;
        }
        if (winner || !running)
            break;
        if (!p->timeout_ms) {
            pthread_cond_wait(&p->done, &p->lock);
        } else if (pthread_cond_timedwait(&p->done, &p->lock, &deadline) == ETIMEDOUT) {
            for (unsigned i = 0; i < p->n; i++) { /* undecided; the rest runs on alone */
                struct member *m = &p->m[i];
                if (m->job != p->job || !m->busy)
                    continue;
                m->overrun++;
                if (!m->running) {
                    m->busy = false; /* not taken yet: taken back */
                } else if (m->ops->interrupt) {
                    m->ops->interrupt(m->impl);
                    m->stuck = !ended_after_interrupt(p, m, p->job);
                } else if (!m->overrunning) {
                    m->overrunning = true;
                    atomic_fetch_add(&overrunning, 1);
                }
            }
            break;
        }
    }
    enum sx_sat r = SX_UNKNOWN;
    if (winner) {
        r = winner->result;
        winner->wins++;
        for (unsigned i = 0; i < p->n; i++)
            if (p->m[i].job == p->job && p->m[i].running && p->m[i].ops->interrupt)
                p->m[i].ops->interrupt(p->m[i].impl);
        if (r == SX_SAT && model && winner->model)
            for (uint32_t i = 0; i < model->ninputs && i < winner->model->ninputs; i++) {
                uint32_t len = model->lengths[i] < winner->model->lengths[i]
                                   ? model->lengths[i] : winner->model->lengths[i];
                memcpy(model->bytes[i], winner->model->bytes[i], len);
            }
    } else {
        p->undecided++;
    }
    pthread_mutex_unlock(&p->lock);
    return r;
}

/* Each member gives its solver the new progress itself, when it takes its next query
 * (one still on an overrun query is not waited for). */
static void portfolio_set_progress(void *impl, const struct sx_progress *prog)
{
    struct portfolio *p = impl;
    pthread_mutex_lock(&p->lock);
    p->progress = prog;
    pthread_mutex_unlock(&p->lock);
}

static void portfolio_interrupt(void *impl)
{
    struct portfolio *p = impl;
    pthread_mutex_lock(&p->lock);
    for (unsigned i = 0; i < p->n; i++)
        if (p->m[i].running && p->m[i].ops->interrupt)
            p->m[i].ops->interrupt(p->m[i].impl);
    pthread_mutex_unlock(&p->lock);
}

static void portfolio_tally(void *impl, struct sx_member_tally *t)
{
    struct portfolio *p = impl;
    pthread_mutex_lock(&p->lock);
    t->nmembers = p->n;
    for (unsigned i = 0; i < p->n; i++) {
        t->name[i] = p->m[i].ops->name;
        t->first[i] += p->m[i].wins;
        t->missed[i] += p->m[i].missed;
        t->overrun[i] += p->m[i].overrun;
    }
    t->undecided += p->undecided;
    pthread_mutex_unlock(&p->lock);
}

/* The portfolio's members: see SC_PORTFOLIO_MEMBERS. */
static void *portfolio_new_default(struct sx_ctx *ctx, unsigned timeout_ms)
{
#ifdef SYMHV_HAVE_CVC5
    return portfolio_new(ctx, timeout_ms, &sx_backend_z3, &sx_backend_cvc5);
#else
    return portfolio_new(ctx, timeout_ms, &sx_backend_z3, &sx_backend_z3_fresh);
#endif
}

#define PORTFOLIO_OPS(NAME, CREATE)                                                        \
    {                                                                                      \
        .name = NAME, .create = CREATE, .check = portfolio_check,                          \
        .destroy = portfolio_destroy, .set_progress = portfolio_set_progress,              \
        .interrupt = portfolio_interrupt, .tally = portfolio_tally,                        \
    }

const struct sx_solver_backend sx_backend_portfolio = PORTFOLIO_OPS("portfolio",
                                                                    portfolio_new_default);

#ifdef SYMHV_HAVE_CVC5
static void *portfolio_new_cvc5_alone(struct sx_ctx *ctx, unsigned timeout_ms)
{
    return portfolio_new(ctx, timeout_ms, &sx_backend_cvc5, NULL);
}
const struct sx_solver_backend sx_backend_cvc5_guarded = PORTFOLIO_OPS("cvc5",
                                                                       portfolio_new_cvc5_alone);
static void *portfolio_new_z3_cvc5(struct sx_ctx *ctx, unsigned timeout_ms)
{
    return portfolio_new(ctx, timeout_ms, &sx_backend_z3, &sx_backend_cvc5);
}
const struct sx_solver_backend sx_backend_z3_cvc5 = PORTFOLIO_OPS("z3+cvc5", portfolio_new_z3_cvc5);
#endif
#ifdef SYMHV_HAVE_BITWUZLA
static void *portfolio_new_bitwuzla_alone(struct sx_ctx *ctx, unsigned timeout_ms)
{
    return portfolio_new(ctx, timeout_ms, &sx_backend_bitwuzla, NULL);
}
const struct sx_solver_backend sx_backend_bitwuzla_guarded = PORTFOLIO_OPS(
    "bitwuzla", portfolio_new_bitwuzla_alone);
static void *portfolio_new_z3_bitwuzla(struct sx_ctx *ctx, unsigned timeout_ms)
{
    return portfolio_new(ctx, timeout_ms, &sx_backend_z3, &sx_backend_bitwuzla);
}
const struct sx_solver_backend sx_backend_z3_bitwuzla = PORTFOLIO_OPS("z3+bitwuzla",
                                                                      portfolio_new_z3_bitwuzla);
#endif
#if defined SYMHV_HAVE_BITWUZLA && defined SYMHV_HAVE_CVC5
static void *portfolio_new_bitwuzla_cvc5(struct sx_ctx *ctx, unsigned timeout_ms)
{
    return portfolio_new(ctx, timeout_ms, &sx_backend_bitwuzla, &sx_backend_cvc5);
}
const struct sx_solver_backend sx_backend_bitwuzla_cvc5 = PORTFOLIO_OPS("bitwuzla+cvc5",
                                                                        portfolio_new_bitwuzla_cvc5);
#endif
